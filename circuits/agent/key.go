package agent

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/math/cmp"
)

// halfR is (r − 1)/2: X is "lexicographically largest" iff X > halfR.
var halfR = func() *big.Int {
	r, _ := new(big.Int).SetString("21888242871839275222246405745257275088548364400416034343698204186575808495617", 10)
	return r.Rsh(r, 1)
}()

// compressKey returns the 256 bits of a key point's 32-byte compressed form
// (docs/agent-keys.md), in message order: byte i's bits, least significant
// first, at 8i … 8i + 7. The form is Y little-endian with the top bit of the
// last byte set iff X > (r − 1)/2, so bit k < 254 is Y's bit k, bit 254 is
// zero (Y < r < 2^254) and bit 255 is the sign.
//
// Both coordinates are decomposed canonically (bits.ToBinary over the full
// field width checks the bits are below r), so Y < r and the sign bit is the
// comparison of X's canonical value: one point, one encoding.
func compressKey(api frontend.API, k twistededwards.Point) []frontend.Variable {
	y := bits.ToBinary(api, k.Y)
	out := make([]frontend.Variable, 256)
	copy(out, y)
	for i := len(y); i < 255; i++ {
		out[i] = 0
	}
	out[255] = cmp.IsLess(api, halfR, k.X)
	return out
}
