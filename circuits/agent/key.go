package agent

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/math/cmp"
	"github.com/consensys/gnark/std/math/uints"
)

// halfR is (r − 1)/2: X is "lexicographically largest" iff X > halfR.
var halfR = func() *big.Int {
	r, _ := new(big.Int).SetString("21888242871839275222246405745257275088548364400416034343698204186575808495617", 10)
	return r.Rsh(r, 1)
}()

// compressKey returns the 32-byte compressed form of a key point
// (docs/agent-keys.md): Y little-endian, the top bit of the last byte set iff
// X > (r − 1)/2.
//
// Both coordinates are decomposed canonically (bits.ToBinary over the full
// field width checks the bits are below r), so Y < r and the sign bit is the
// comparison of X's canonical value: one point, one encoding. Bit 254 is
// always zero (Y < r < 2^254).
func compressKey(api frontend.API, bapi *uints.Bytes, k twistededwards.Point) []uints.U8 {
	y := bits.ToBinary(api, k.Y)
	sign := cmp.IsLess(api, halfR, k.X)
	out := make([]uints.U8, 32)
	for i := range out {
		acc := frontend.Variable(0)
		for b := range 8 {
			var bit frontend.Variable
			switch idx := 8*i + b; {
			case idx < len(y):
				bit = y[idx]
			case idx == 255:
				bit = sign
			default:
				continue
			}
			acc = api.Add(acc, api.Mul(bit, 1<<b))
		}
		out[i] = bapi.ValueOf(acc)
	}
	return out
}
