package agent

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// bitRange is a frontend.Rangechecker by bit decomposition: n + 1
// constraints and, unlike gnark's std/rangecheck, no Groth16 commitment
// (which would cost the verifier a second pairing check).
type bitRange struct{ api frontend.API }

func (r bitRange) Check(v frontend.Variable, n int) {
	bits.ToBinary(r.api, v, bits.WithNbDigits(n))
}

// beBits decomposes v into n big-endian bytes (which range-checks v <
// 2^(8n)) and returns their bits in message order: byte i's bits, least
// significant first, at 8i … 8i + 7.
func beBits(api frontend.API, v frontend.Variable, n int) []frontend.Variable {
	le := bits.ToBinary(api, v, bits.WithNbDigits(8*n))
	out := make([]frontend.Variable, 8*n)
	for i := range n {
		copy(out[8*i:8*i+8], le[8*(n-1-i):8*(n-i)])
	}
	return out
}
