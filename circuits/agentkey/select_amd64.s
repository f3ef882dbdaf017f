//go:build !purego

#include "textflag.h"

// func selectAddend(out *affineAddend, table *affineAddend, n int, idx uint64)
//
// out = table[idx] for idx < n, else all zero, reading all n entries (96 bytes
// each) with the same loads whatever idx is: each entry is ANDed with a mask that
// is all ones for the wanted one, and ORed into the accumulators. SSE2 only.
TEXT ·selectAddend(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ table+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ idx+24(FP), DX
	PXOR X0, X0
	PXOR X1, X1
	PXOR X2, X2
	PXOR X3, X3
	PXOR X4, X4
	PXOR X5, X5
	XORQ AX, AX
	TESTQ CX, CX
	JEQ  done

loop:
	// R8 = all ones if AX == DX, else zero, without a branch
	MOVQ AX, BX
	XORQ DX, BX
	MOVQ BX, R8
	NEGQ R8
	ORQ  BX, R8
	SHRQ $63, R8
	SUBQ $1, R8
	MOVQ R8, X6
	PUNPCKLQDQ X6, X6

	MOVOU 0(SI), X7
	PAND  X6, X7
	POR   X7, X0
	MOVOU 16(SI), X7
	PAND  X6, X7
	POR   X7, X1
	MOVOU 32(SI), X7
	PAND  X6, X7
	POR   X7, X2
	MOVOU 48(SI), X7
	PAND  X6, X7
	POR   X7, X3
	MOVOU 64(SI), X7
	PAND  X6, X7
	POR   X7, X4
	MOVOU 80(SI), X7
	PAND  X6, X7
	POR   X7, X5

	ADDQ $96, SI
	INCQ AX
	CMPQ AX, CX
	JLT  loop

done:
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	MOVOU X4, 64(DI)
	MOVOU X5, 80(DI)
	RET
