package keccakbits

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/consensys/gnark/frontend"
)

// RateBytes is Keccak-256's rate: 136 bytes (17 lanes) absorbed per block.
const RateBytes = 136

// Sum256 is uint256(keccak256(msg[:L])) mod r, the digest read big-endian,
// for a length L in bytes chosen among lengths by the one-hot sel (sel[k] = 1
// iff L = lengths[k]).
//
// msg holds the message bits in order, each byte least significant bit
// first, up to the longest length. The caller must make every bit at or
// past the chosen length zero: the padding pad10*1 is added to the bits
// where each candidate length puts it, weighted by its selector, so a bit
// holding both padding and message would not be boolean. Every block up to
// the longest message's is permuted; the digest is selected from the state
// after the chosen length's last block.
func Sum256(api frontend.API, msg []frontend.Variable, lengths []int, sel []frontend.Variable) frontend.Variable {
	if len(lengths) == 0 || len(lengths) != len(sel) {
		panic(fmt.Sprintf("keccakbits: %d lengths, %d selectors", len(lengths), len(sel)))
	}
	longest := slices.Max(lengths)
	if len(msg) != 8*longest {
		panic(fmt.Sprintf("keccakbits: %d message bits, want %d", len(msg), 8*longest))
	}
	blocks := longest/RateBytes + 1
	padded := make([]frontend.Variable, 8*RateBytes*blocks)
	copy(padded, msg)
	for i := len(msg); i < len(padded); i++ {
		padded[i] = 0
	}
	last := make(map[int]frontend.Variable) // block index → Σ sel of lengths ending there
	for k, n := range lengths {
		end := n / RateBytes // the block holding byte n, the first padding byte
		padded[8*n] = api.Add(padded[8*n], sel[k])
		padded[8*(RateBytes*(end+1)-1)+7] = api.Add(padded[8*(RateBytes*(end+1)-1)+7], sel[k])
		if s, ok := last[end]; ok {
			last[end] = api.Add(s, sel[k])
		} else {
			last[end] = sel[k]
		}
	}
	state := Zero()
	digest := frontend.Variable(0)
	for b := range blocks {
		for i := range RateBytes * 8 {
			lane, z := i/64, i%64
			state[lane][z] = xor(api, state[lane][z], padded[8*RateBytes*b+i])
		}
		Permute(api, &state)
		if s, ok := last[b]; ok {
			if len(last) == 1 {
				return digestValue(api, &state)
			}
			digest = api.Add(digest, api.Mul(s, digestValue(api, &state)))
		}
	}
	return digest
}

// digestValue is the first 32 state bytes (lanes 0–3, little-endian) read
// as a big-endian integer, mod r.
func digestValue(api frontend.API, s *State) frontend.Variable {
	acc := frontend.Variable(0)
	for j := range 32 {
		for t := range 8 {
			bit := s[j/8][8*(j%8)+t]
			weight := new(big.Int).Lsh(big.NewInt(1), uint(8*(31-j)+t))
			acc = api.Add(acc, api.Mul(bit, weight))
		}
	}
	return acc
}
