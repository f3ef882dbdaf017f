//go:build !purego

#include "textflag.h"

// Point addition with an affine addend (edwards.go, addAffine), the seven
// multiplications and the six modular additions in place. Frame: scratch at
// 0(SP), r at 64(SP), the intermediate values A..H at 128(SP)..352(SP).

#include "montgomery_amd64.h"

// ADD_MOD sets (R8..R11) = x + y mod r for x, y in memory.
#define ADD_MOD(x0, x1, x2, x3, y0, y1, y2, y3) \
	MOVQ x0, R12 \
	MOVQ x1, R13 \
	MOVQ x2, R14 \
	MOVQ x3, BX  \
	ADDQ y0, R12 \
	ADCQ y1, R13 \
	ADCQ y2, R14 \
	ADCQ y3, BX  \
	SUB_IF_ABOVE(R12, R13, R14, BX, R8, R9, R10, R11, 64(SP), 72(SP), 80(SP), 88(SP))

// SUB_MOD sets (R8..R11) = x − y mod r for x, y in memory: r is added back,
// masked by the borrow.
#define SUB_MOD(x0, x1, x2, x3, y0, y1, y2, y3) \
	MOVQ x0, R8    \
	MOVQ x1, R9    \
	MOVQ x2, R10   \
	MOVQ x3, R11   \
	SUBQ y0, R8    \
	SBBQ y1, R9    \
	SBBQ y2, R10   \
	SBBQ y3, R11   \
	SBBQ CX, CX    \
	MOVQ 64(SP), R12 \
	MOVQ 72(SP), R13 \
	MOVQ 80(SP), R14 \
	MOVQ 88(SP), BX  \
	ANDQ CX, R12   \
	ANDQ CX, R13   \
	ANDQ CX, R14   \
	ANDQ CX, BX    \
	ADDQ R12, R8   \
	ADCQ R13, R9   \
	ADCQ R14, R10  \
	ADCQ BX, R11

#define STORE(d0, d1, d2, d3) \
	MOVQ R8, d0  \
	MOVQ R9, d1  \
	MOVQ R10, d2 \
	MOVQ R11, d3

#define LOAD(s0, s1, s2, s3) \
	MOVQ s0, R8  \
	MOVQ s1, R9  \
	MOVQ s2, R10 \
	MOVQ s3, R11

// func addAffineADX(p *extended, q *affineAddend, r *[8]uint64)
//
// p = p + q with extended p = (X, Y, Z, T) at 0, 32, 64, 96 and q = (y + x,
// y − x, 2d·x·y) at 0, 32, 64: A = (Y − X)(y − x), B = (Y + X)(y + x),
// C = T·2dxy, D = 2Z, then (X, Y, T, Z) = (EF, GH, EH, FG) with E = B − A,
// F = D − C, G = D + C, H = B + A. Branch-free.
TEXT ·addAffineADX(SB), NOSPLIT, $384-24
	MOVQ r+16(FP), SI
	MOVQ 0(SI), AX
	MOVQ AX, 64(SP)
	MOVQ 8(SI), AX
	MOVQ AX, 72(SP)
	MOVQ 16(SI), AX
	MOVQ AX, 80(SP)
	MOVQ 24(SI), AX
	MOVQ AX, 88(SP)
	MOVQ p+0(FP), SI
	MOVQ q+8(FP), BP

	// A = (Y − X)(y − x) at 128(SP)
	SUB_MOD(32(SI), 40(SI), 48(SI), 56(SI), 0(SI), 8(SI), 16(SI), 24(SI))
	MONT_MUL(32(BP), 40(BP), 48(BP), 56(BP))
	STORE(128(SP), 136(SP), 144(SP), 152(SP))

	// B = (Y + X)(y + x) at 160(SP)
	ADD_MOD(32(SI), 40(SI), 48(SI), 56(SI), 0(SI), 8(SI), 16(SI), 24(SI))
	MONT_MUL(0(BP), 8(BP), 16(BP), 24(BP))
	STORE(160(SP), 168(SP), 176(SP), 184(SP))

	// C = T·2dxy at 192(SP)
	LOAD(96(SI), 104(SI), 112(SI), 120(SI))
	MONT_MUL(64(BP), 72(BP), 80(BP), 88(BP))
	STORE(192(SP), 200(SP), 208(SP), 216(SP))

	// D = 2Z at 224(SP)
	ADD_MOD(64(SI), 72(SI), 80(SI), 88(SI), 64(SI), 72(SI), 80(SI), 88(SI))
	STORE(224(SP), 232(SP), 240(SP), 248(SP))

	// E = B − A, F = D − C, G = D + C, H = B + A at 256, 288, 320, 352(SP)
	SUB_MOD(160(SP), 168(SP), 176(SP), 184(SP), 128(SP), 136(SP), 144(SP), 152(SP))
	STORE(256(SP), 264(SP), 272(SP), 280(SP))
	SUB_MOD(224(SP), 232(SP), 240(SP), 248(SP), 192(SP), 200(SP), 208(SP), 216(SP))
	STORE(288(SP), 296(SP), 304(SP), 312(SP))
	ADD_MOD(224(SP), 232(SP), 240(SP), 248(SP), 192(SP), 200(SP), 208(SP), 216(SP))
	STORE(320(SP), 328(SP), 336(SP), 344(SP))
	ADD_MOD(160(SP), 168(SP), 176(SP), 184(SP), 128(SP), 136(SP), 144(SP), 152(SP))
	STORE(352(SP), 360(SP), 368(SP), 376(SP))

	// X = EF
	LOAD(256(SP), 264(SP), 272(SP), 280(SP))
	MONT_MUL(288(SP), 296(SP), 304(SP), 312(SP))
	STORE(0(SI), 8(SI), 16(SI), 24(SI))
	// Y = GH
	LOAD(320(SP), 328(SP), 336(SP), 344(SP))
	MONT_MUL(352(SP), 360(SP), 368(SP), 376(SP))
	STORE(32(SI), 40(SI), 48(SI), 56(SI))
	// T = EH
	LOAD(256(SP), 264(SP), 272(SP), 280(SP))
	MONT_MUL(352(SP), 360(SP), 368(SP), 376(SP))
	STORE(96(SI), 104(SI), 112(SI), 120(SI))
	// Z = FG
	LOAD(288(SP), 296(SP), 304(SP), 312(SP))
	MONT_MUL(320(SP), 328(SP), 336(SP), 344(SP))
	STORE(64(SI), 72(SI), 80(SI), 88(SI))
	RET
