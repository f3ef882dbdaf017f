//go:build !purego

#include "textflag.h"

// Poseidon2's rounds (hash.go) with the state in registers: the S-box input x in
// R8–R11, each Montgomery multiplication written in place (no call, no store and
// reload between the three multiplications of an S-box), the other word and the
// constants on the stack. Frame: x saved at 0(SP), b at 32(SP), r at 64(SP), 2r
// at 96(SP), the end of the constants at 128(SP).

#include "montgomery_amd64.h"

// SBOX sets (R8..R11) = (R8..R11)⁵, keeping x at 0(SP) and BP at 176(SP): two
// squarings that skip their final subtraction (a result below 2r is a valid
// input), then the multiplication by x, fully reduced.
#define SBOX \
	MOVQ R8, 0(SP)                          \
	MOVQ R9, 8(SP)                          \
	MOVQ R10, 16(SP)                        \
	MOVQ R11, 24(SP)                        \
	MOVQ BP, 176(SP)                        \
	MONT_SQR_LAZY                           \
	MONT_SQR_LAZY                           \
	MOVQ 176(SP), BP                        \
	MONT_MUL(0(SP), 8(SP), 16(SP), 24(SP))

// LOAD_PLUS_KEY sets (R8..R11) = s + k mod r for s and k in memory.
#define LOAD_PLUS_KEY(s0, s1, s2, s3, k0, k1, k2, k3) \
	MOVQ s0, R12 \
	MOVQ s1, R13 \
	MOVQ s2, R14 \
	MOVQ s3, BX  \
	ADDQ k0, R12 \
	ADCQ k1, R13 \
	ADCQ k2, R14 \
	ADCQ k3, BX  \
	SUB_IF_ABOVE(R12, R13, R14, BX, R8, R9, R10, R11, 64(SP), 72(SP), 80(SP), 88(SP))

// func partialRoundsADX(x, b *fr.Element, next *fr.Element, n int, r *[8]uint64)
//
// For each of the n rounds: y = x⁵, then (x, b) = (2y + b + next[i], y + 3b) mod r.
TEXT ·partialRoundsADX(SB), NOSPLIT, $184-40
	MOVQ r+32(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 64(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 72(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 80(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 88(SP)
	MOVQ 32(SI), AX
	MOVQ AX, 96(SP)
	MOVQ 40(SI), AX
	MOVQ AX, 104(SP)
	MOVQ 48(SI), AX
	MOVQ AX, 112(SP)
	MOVQ 56(SI), AX
	MOVQ AX, 120(SP)

	MOVQ b+8(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 32(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 40(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 48(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 56(SP)

	MOVQ next+16(FP), BP
	MOVQ n+24(FP), AX
	SHLQ $5, AX
	ADDQ BP, AX
	MOVQ AX, 128(SP)

	MOVQ x+0(FP), SI
	MOVQ 0(SI), R8
	MOVQ 8(SI), R9
	MOVQ 16(SI), R10
	MOVQ 24(SI), R11

	CMPQ BP, 128(SP)
	JEQ  done

round:
	SBOX // y = x⁵ in R8..R11

	// s = y + b in (R12, R13, R14, BX)
	MOVQ R8, R12
	MOVQ R9, R13
	MOVQ R10, R14
	MOVQ R11, BX
	ADDQ 32(SP), R12
	ADCQ 40(SP), R13
	ADCQ 48(SP), R14
	ADCQ 56(SP), BX

	// b' = s + 2b < 4r in (CX, DI, AX, DX)
	MOVQ 32(SP), CX
	MOVQ 40(SP), DI
	MOVQ 48(SP), AX
	MOVQ 56(SP), DX
	ADDQ CX, CX
	ADCQ DI, DI
	ADCQ AX, AX
	ADCQ DX, DX
	ADDQ R12, CX
	ADCQ R13, DI
	ADCQ R14, AX
	ADCQ BX, DX

	// x' = s + y + next < 4r in (R12, R13, R14, BX), reduced into R8..R11
	ADDQ R8, R12
	ADCQ R9, R13
	ADCQ R10, R14
	ADCQ R11, BX
	ADDQ 0(BP), R12
	ADCQ 8(BP), R13
	ADCQ 16(BP), R14
	ADCQ 24(BP), BX
	SUB_IF_ABOVE(R12, R13, R14, BX, R8, R9, R10, R11, 96(SP), 104(SP), 112(SP), 120(SP))
	SUB_IF_ABOVE(R8, R9, R10, R11, R12, R13, R14, BX, 64(SP), 72(SP), 80(SP), 88(SP))
	MOVQ R12, R8
	MOVQ R13, R9
	MOVQ R14, R10
	MOVQ BX, R11

	// b' reduced, through (R12, R13, R14, BX) and back
	SUB_IF_ABOVE(CX, DI, AX, DX, R12, R13, R14, BX, 96(SP), 104(SP), 112(SP), 120(SP))
	SUB_IF_ABOVE(R12, R13, R14, BX, CX, DI, AX, DX, 64(SP), 72(SP), 80(SP), 88(SP))
	MOVQ CX, 32(SP)
	MOVQ DI, 40(SP)
	MOVQ AX, 48(SP)
	MOVQ DX, 56(SP)

	ADDQ $32, BP
	CMPQ BP, 128(SP)
	JNE  round

done:
	MOVQ x+0(FP), SI
	MOVQ R8, 0(SI)
	MOVQ R9, 8(SI)
	MOVQ R10, 16(SI)
	MOVQ R11, 24(SI)
	MOVQ b+8(FP), SI
	MOVQ 32(SP), AX
	MOVQ AX, 0(SI)
	MOVQ 40(SP), AX
	MOVQ AX, 8(SI)
	MOVQ 48(SP), AX
	MOVQ AX, 16(SI)
	MOVQ 56(SP), AX
	MOVQ AX, 24(SI)
	RET

// func fullRoundsADX(a, b *fr.Element, keys *fr.Element, n int, r *[8]uint64)
//
// For each of the n rounds, with keys[2i], keys[2i+1]: a = (a + k₀)⁵, b = (b + k₁)⁵,
// then (a, b) = (2a + b, a + 2b) mod r. Frame as partialRoundsADX's, with a at
// 136(SP).
TEXT ·fullRoundsADX(SB), NOSPLIT, $184-40
	MOVQ r+32(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 64(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 72(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 80(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 88(SP)
	MOVQ 32(SI), AX
	MOVQ AX, 96(SP)
	MOVQ 40(SI), AX
	MOVQ AX, 104(SP)
	MOVQ 48(SI), AX
	MOVQ AX, 112(SP)
	MOVQ 56(SI), AX
	MOVQ AX, 120(SP)

	MOVQ a+0(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 136(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 144(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 152(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 160(SP)
	MOVQ b+8(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 32(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 40(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 48(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 56(SP)

	MOVQ keys+16(FP), BP
	MOVQ n+24(FP), AX
	SHLQ $6, AX
	ADDQ BP, AX
	MOVQ AX, 128(SP)
	CMPQ BP, 128(SP)
	JEQ  fulldone

fullround:
	LOAD_PLUS_KEY(136(SP), 144(SP), 152(SP), 160(SP), 0(BP), 8(BP), 16(BP), 24(BP))
	SBOX
	MOVQ R8, 136(SP)
	MOVQ R9, 144(SP)
	MOVQ R10, 152(SP)
	MOVQ R11, 160(SP)
	LOAD_PLUS_KEY(32(SP), 40(SP), 48(SP), 56(SP), 32(BP), 40(BP), 48(BP), 56(BP))
	SBOX

	// s = a + b < 2r in (R12, R13, R14, BX); a' = a + s, b' = b + s < 3r
	MOVQ R8, R12
	MOVQ R9, R13
	MOVQ R10, R14
	MOVQ R11, BX
	ADDQ 136(SP), R12
	ADCQ 144(SP), R13
	ADCQ 152(SP), R14
	ADCQ 160(SP), BX
	ADDQ R12, R8
	ADCQ R13, R9
	ADCQ R14, R10
	ADCQ BX, R11
	MOVQ 136(SP), CX
	MOVQ 144(SP), DI
	MOVQ 152(SP), AX
	MOVQ 160(SP), DX
	ADDQ R12, CX
	ADCQ R13, DI
	ADCQ R14, AX
	ADCQ BX, DX

	SUB_IF_ABOVE(R8, R9, R10, R11, R12, R13, R14, BX, 96(SP), 104(SP), 112(SP), 120(SP))
	SUB_IF_ABOVE(R12, R13, R14, BX, R8, R9, R10, R11, 64(SP), 72(SP), 80(SP), 88(SP))
	MOVQ R8, 32(SP)
	MOVQ R9, 40(SP)
	MOVQ R10, 48(SP)
	MOVQ R11, 56(SP)
	SUB_IF_ABOVE(CX, DI, AX, DX, R12, R13, R14, BX, 96(SP), 104(SP), 112(SP), 120(SP))
	SUB_IF_ABOVE(R12, R13, R14, BX, CX, DI, AX, DX, 64(SP), 72(SP), 80(SP), 88(SP))
	MOVQ CX, 136(SP)
	MOVQ DI, 144(SP)
	MOVQ AX, 152(SP)
	MOVQ DX, 160(SP)

	ADDQ $64, BP
	CMPQ BP, 128(SP)
	JNE  fullround

fulldone:
	MOVQ a+0(FP), SI
	MOVQ 136(SP), AX
	MOVQ AX, 0(SI)
	MOVQ 144(SP), AX
	MOVQ AX, 8(SI)
	MOVQ 152(SP), AX
	MOVQ AX, 16(SI)
	MOVQ 160(SP), AX
	MOVQ AX, 24(SI)
	MOVQ b+8(FP), SI
	MOVQ 32(SP), AX
	MOVQ AX, 0(SI)
	MOVQ 40(SP), AX
	MOVQ AX, 8(SI)
	MOVQ 48(SP), AX
	MOVQ AX, 16(SI)
	MOVQ 56(SP), AX
	MOVQ AX, 24(SI)
	RET

// func squareLazyADX(z, x *[4]uint64, r *[8]uint64)
// func mulLazyADX(z, x, y *[4]uint64, r *[8]uint64)
//
// The S-box's lazy macros on their own, for the tests: inputs below 2r, the
// result below 2r and congruent to the product times 2^−256.
TEXT ·squareLazyADX(SB), NOSPLIT, $96-24
	MOVQ r+16(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 64(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 72(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 80(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 88(SP)
	MOVQ x+8(FP), SI
	MOVQ 0(SI), R8
	MOVQ 8(SI), R9
	MOVQ 16(SI), R10
	MOVQ 24(SI), R11
	MONT_SQR_LAZY
	MOVQ z+0(FP), SI
	MOVQ R8, 0(SI)
	MOVQ R9, 8(SI)
	MOVQ R10, 16(SI)
	MOVQ R11, 24(SI)
	RET

TEXT ·mulLazyADX(SB), NOSPLIT, $96-32
	MOVQ r+24(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 64(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 72(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 80(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 88(SP)
	MOVQ x+8(FP), SI
	MOVQ 0(SI), R8
	MOVQ 8(SI), R9
	MOVQ 16(SI), R10
	MOVQ 24(SI), R11
	MOVQ y+16(FP), SI
	MONT_MUL_LAZY(0(SI), 8(SI), 16(SI), 24(SI))
	MOVQ z+0(FP), SI
	MOVQ R8, 0(SI)
	MOVQ R9, 8(SI)
	MOVQ R10, 16(SI)
	MOVQ R11, 24(SI)
	RET
