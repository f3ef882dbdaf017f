// Montgomery multiplication modulo BN254's r, written in place with the operand
// in registers, for poseidon2_amd64.s and edwards_amd64.s. The multiplication is
// the CIOS form with MULX and the ADCX/ADOX carry chains that gnark-crypto's mul
// uses for the same modulus (r < 2^254, so five words never overflow and the
// result is below 2r before one final subtraction). The macros expect r's words
// at 64(SP)..88(SP) and clobber R8–R14, AX, BX, CX, DX and DI.

#define QINV $0xc2e1f593efffffff

// REDUCE adds m·r to (t0..t4), m = t0·(−r⁻¹) mod 2^64, leaving the shifted sum
// in (t1..t4).
#define REDUCE(t0, t1, t2, t3, t4) \
	MOVQ  QINV, DX      \
	IMULQ t0, DX        \
	XORQ  AX, AX        \
	MULXQ 64(SP), AX, DI \
	ADCXQ t0, AX        \
	ADOXQ DI, t1        \
	MULXQ 72(SP), AX, DI \
	ADCXQ AX, t1        \
	ADOXQ DI, t2        \
	MULXQ 80(SP), AX, DI \
	ADCXQ AX, t2        \
	ADOXQ DI, t3        \
	MULXQ 88(SP), AX, DI \
	ADCXQ AX, t3        \
	ADOXQ DI, t4        \
	MOVQ  $0, AX        \
	ADCXQ AX, t4        \
	ADOXQ AX, t4

// MUL_WORD0 sets (R12..CX) = (R8..R11)·b, then reduces: result in (R13, R14, BX, CX).
#define MUL_WORD0(b) \
	MOVQ  b, DX         \
	MULXQ R8, R12, R13  \
	MULXQ R9, AX, R14   \
	ADDQ  AX, R13       \
	MULXQ R10, AX, BX   \
	ADCQ  AX, R14       \
	MULXQ R11, AX, CX   \
	ADCQ  AX, BX        \
	ADCQ  $0, CX        \
	REDUCE(R12, R13, R14, BX, CX)

// MUL_WORD adds (R8..R11)·b to (t0..t3), t4 being free, then reduces: result in (t1..t4).
#define MUL_WORD(b, t0, t1, t2, t3, t4) \
	XORQ  t4, t4        \
	MOVQ  b, DX         \
	MULXQ R8, AX, DI    \
	ADOXQ AX, t0        \
	ADCXQ DI, t1        \
	MULXQ R9, AX, DI    \
	ADOXQ AX, t1        \
	ADCXQ DI, t2        \
	MULXQ R10, AX, DI   \
	ADOXQ AX, t2        \
	ADCXQ DI, t3        \
	MULXQ R11, AX, DI   \
	ADOXQ AX, t3        \
	ADCXQ DI, t4        \
	MOVQ  $0, AX        \
	ADOXQ AX, t4        \
	REDUCE(t0, t1, t2, t3, t4)

// MONT_MUL sets (R8..R11) = (R8..R11)·(b0..b3)·2^−256 mod r.
#define MONT_MUL(b0, b1, b2, b3) \
	MUL_WORD0(b0)                       \
	MUL_WORD(b1, R13, R14, BX, CX, R12) \
	MUL_WORD(b2, R14, BX, CX, R12, R13) \
	MUL_WORD(b3, BX, CX, R12, R13, R14) \
	MOVQ    CX, R8                      \
	MOVQ    R12, R9                     \
	MOVQ    R13, R10                    \
	MOVQ    R14, R11                    \
	SUBQ    64(SP), R8                  \
	SBBQ    72(SP), R9                  \
	SBBQ    80(SP), R10                 \
	SBBQ    88(SP), R11                 \
	CMOVQCS CX, R8                      \
	CMOVQCS R12, R9                     \
	CMOVQCS R13, R10                    \
	CMOVQCS R14, R11

// MONT_MUL_LAZY is MONT_MUL without the final subtraction: the result is below
// 2r, which is enough for another multiplication's input (r < 2^254 = R/4 keeps
// a product of two values below 2r below 2r after reduction).
#define MONT_MUL_LAZY(b0, b1, b2, b3) \
	MUL_WORD0(b0)                       \
	MUL_WORD(b1, R13, R14, BX, CX, R12) \
	MUL_WORD(b2, R14, BX, CX, R12, R13) \
	MUL_WORD(b3, BX, CX, R12, R13, R14) \
	MOVQ    CX, R8                      \
	MOVQ    R12, R9                     \
	MOVQ    R13, R10                    \
	MOVQ    R14, R11

// SUB_IF_ABOVE sets (d0..d3) = (s0..s3) − m if that does not borrow, else
// (s0..s3); m is r (at 64(SP)) or 2r (at 96(SP)).
#define SUB_IF_ABOVE(s0, s1, s2, s3, d0, d1, d2, d3, m0, m1, m2, m3) \
	MOVQ    s0, d0 \
	MOVQ    s1, d1 \
	MOVQ    s2, d2 \
	MOVQ    s3, d3 \
	SUBQ    m0, d0 \
	SBBQ    m1, d1 \
	SBBQ    m2, d2 \
	SBBQ    m3, d3 \
	CMOVQCS s0, d0 \
	CMOVQCS s1, d1 \
	CMOVQCS s2, d2 \
	CMOVQCS s3, d3
