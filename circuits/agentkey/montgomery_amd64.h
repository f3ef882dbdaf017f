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

// MONT_SQR_LAZY sets (R8..R11) = x²·2^−256 mod r, below 2r, for x = (R8..R11) below
// 2r: the CIOS loop with each cross product x_i·x_j (i < j) computed once and
// doubled through the multiplicand (word i multiplies x_i by x_i, 2x_(i+1), …,
// the doubled words in SI, BP and DI): 26 MULX instead of 32. Only word 0 adds a
// large multiple, x₀·(2x − x₀) < 2^64·4r, so the accumulator stays below
// 5r·(1 + 2^−64) < 2^256; the result is below x²/2^256 + r < 2r. Clobbers SI and
// BP as well.
#define MONT_SQR_LAZY \
	MOVQ    R9, SI             \
	SHLQ    $1, SI             \
	MOVQ    R10, BP            \
	SHLQ    $1, BP             \
	MOVQ    R9, DI             \
	SHRQ    $63, DI            \
	ORQ     DI, BP             \
	MOVQ    R11, DI            \
	SHLQ    $1, DI             \
	MOVQ    R10, AX            \
	SHRQ    $63, AX            \
	ORQ     AX, DI             \
	MOVQ    R8, DX             \
	MULXQ   R8, R12, R13       \
	MULXQ   SI, AX, R14        \
	ADDQ    AX, R13            \
	MULXQ   BP, AX, BX         \
	ADCQ    AX, R14            \
	MULXQ   DI, AX, CX         \
	ADCQ    AX, BX             \
	ADCQ    $0, CX             \
	REDUCE(R12, R13, R14, BX, CX) \
	MOVQ    R10, SI            \
	SHLQ    $1, SI             \
	MOVQ    R11, BP            \
	SHLQ    $1, BP             \
	MOVQ    R10, AX            \
	SHRQ    $63, AX            \
	ORQ     AX, BP             \
	XORQ    R12, R12           \
	MOVQ    R9, DX             \
	MULXQ   R9, AX, DI         \
	ADOXQ   AX, R14            \
	ADCXQ   DI, BX             \
	MULXQ   SI, AX, DI         \
	ADOXQ   AX, BX             \
	ADCXQ   DI, CX             \
	MULXQ   BP, AX, DI         \
	ADOXQ   AX, CX             \
	ADCXQ   DI, R12            \
	MOVQ    $0, AX             \
	ADOXQ   AX, R12            \
	REDUCE(R13, R14, BX, CX, R12) \
	MOVQ    R11, SI            \
	SHLQ    $1, SI             \
	XORQ    R13, R13           \
	MOVQ    R10, DX            \
	MULXQ   R10, AX, DI        \
	ADOXQ   AX, CX             \
	ADCXQ   DI, R12            \
	MULXQ   SI, AX, DI         \
	ADOXQ   AX, R12            \
	ADCXQ   DI, R13            \
	MOVQ    $0, AX             \
	ADOXQ   AX, R13            \
	REDUCE(R14, BX, CX, R12, R13) \
	XORQ    R14, R14           \
	MOVQ    R11, DX            \
	MULXQ   R11, AX, DI        \
	ADOXQ   AX, R13            \
	ADCXQ   DI, R14            \
	MOVQ    $0, AX             \
	ADOXQ   AX, R14            \
	REDUCE(BX, CX, R12, R13, R14) \
	MOVQ    CX, R8             \
	MOVQ    R12, R9            \
	MOVQ    R13, R10           \
	MOVQ    R14, R11
