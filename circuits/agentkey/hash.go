package agentkey

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	gnarkhash "github.com/consensys/gnark-crypto/hash"
)

// The Poseidon2 instance of docs/agent-keys.md: BN254, width 2, S-box x⁵, with
// the Poseidon2 paper's round numbers for BN254 at 128 bits including its
// security margin (eprint 2023/323, R_F = 8, R_P = 56), not gnark-crypto's
// width-2 default (6, 50), which has no margin. The circuit uses the same
// numbers through gnark's NewPoseidon2FromParameters.
const (
	Width         = 2
	FullRounds    = 8
	PartialRounds = 56
)

// permutation is that instance; its round constants are gnark-crypto's
// Keccak chain seeded with "Poseidon2-BN254[t=2,rF=8,rP=56,d=5]".
var permutation = sync.OnceValue(func() *poseidon2.Permutation {
	return poseidon2.NewPermutation(Width, FullRounds, PartialRounds)
})

// NewHasher is the Merkle–Damgård hasher over that permutation (zero IV, one
// 32-byte block per element): what gnark-crypto's eddsa Sign and Verify take,
// and what gnark's std/hash MerkleDamgardHasher computes in the circuit.
func NewHasher() gnarkhash.StateStorer {
	return gnarkhash.NewMerkleDamgardHasher(permutation(), make([]byte, fr.Bytes))
}

// hashElements is the Merkle–Damgård hash H(e₁, …, e_k) of docs/agent-keys.md:
// h₀ = 0, hᵢ = P(hᵢ₋₁, eᵢ)[1] + eᵢ. It equals NewHasher fed
// each element as a 32-byte block, without the hasher's byte round trips and
// allocations.
func hashElements(elements ...fr.Element) fr.Element {
	var h fr.Element
	return absorb(h, elements...)
}

// absorb continues the hash from state h.
func absorb(h fr.Element, elements ...fr.Element) fr.Element {
	perm := permutation()
	for i := range elements {
		state := [2]fr.Element{h, elements[i]}
		if err := perm.Permutation(state[:]); err != nil {
			panic(err) // width is fixed at 2: unreachable
		}
		h.Add(&state[1], &elements[i])
	}
	return h
}
