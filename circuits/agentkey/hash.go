package agentkey

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// permutation is gnark-crypto's default BN254 Poseidon2 (t = 2, rF = 6, rP = 50),
// the one behind poseidon2.NewMerkleDamgardHasher and gnark's std/hash/poseidon2.
var permutation = sync.OnceValue(poseidon2.NewDefaultPermutation)

// hashElements is the Merkle–Damgård hash H(e₁, …, e_k) of docs/agent-keys.md:
// h₀ = 0, hᵢ = P(hᵢ₋₁, eᵢ)[1] + eᵢ. It equals poseidon2.NewMerkleDamgardHasher fed
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
