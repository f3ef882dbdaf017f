package agent

import (
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

func init() {
	solver.RegisterHint(bytesBEHint)
}

// bytesBEHint is gadget.BytesBEHint under this package's name: that name is
// the hint's id in the compiled circuit and in the keys cached with it.
func bytesBEHint(q *big.Int, inputs, outputs []*big.Int) error {
	return gadget.BytesBEHint(q, inputs, outputs)
}

// toBytesBE is gadget.ToBytesBE with this package's hint: v as n big-endian
// bytes, range-checked v < 2^(8n), n ≤ 31.
func toBytesBE(api frontend.API, bapi *uints.Bytes, v frontend.Variable, n int) []uints.U8 {
	return gadget.ToBytesBE(api, bapi, bytesBEHint, v, n)
}
