package agentkey

import (
	"hash"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
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

// NewChallengeHasher makes gnark-crypto's eddsa Sign and Verify compute this
// protocol's challenge h = H(A.X, A.Y, R.X, R.Y, M) (docs/agent-keys.md, "The
// signature"): they write R.X, R.Y, A.X, A.Y, M, one 32-byte block each, and it
// absorbs the key's two blocks before R's. Sign and Verify here need none (they
// continue the key's cached state); it lets the tests, the prover's native check
// and the fixtures use gnark-crypto's EdDSA as the reference it is.
func NewChallengeHasher() hash.Hash { return &challengeHasher{} }

type challengeHasher struct{ written []byte }

func (h *challengeHasher) Write(p []byte) (int, error) {
	h.written = append(h.written, p...)
	return len(p), nil
}

func (h *challengeHasher) Sum(b []byte) []byte {
	w := h.written
	if len(w) < 4*fr.Bytes {
		panic("agentkey: the challenge hasher needs R.X, R.Y, A.X, A.Y first, as gnark-crypto's eddsa writes them")
	}
	inner := NewHasher()
	inner.Write(slices.Concat(w[2*fr.Bytes:4*fr.Bytes], w[:2*fr.Bytes], w[4*fr.Bytes:]))
	return inner.Sum(b)
}

func (h *challengeHasher) Reset()         { h.written = h.written[:0] }
func (h *challengeHasher) Size() int      { return fr.Bytes }
func (h *challengeHasher) BlockSize() int { return fr.Bytes }

// keyState is the hash state after a public key's coordinates, the part of every
// challenge H(A.X, A.Y, R.X, R.Y, M) that is the key's alone: a key computes it
// once (PrivateKey, the verification key cache) and each signature continues it
// with R.X, R.Y and M, three compressions instead of five.
func keyState(a *twistededwards.PointAffine) fr.Element {
	return hashElements(a.X, a.Y)
}

// challenge is h = H(A.X, A.Y, R.X, R.Y, M) from A's keyState.
func challenge(keyState fr.Element, r *twistededwards.PointAffine, m *fr.Element) fr.Element {
	return absorb(keyState, r.X, r.Y, *m)
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
	for i := range elements {
		compress(&h, &elements[i])
	}
	return h
}

// roundKeys holds the instance's round constants flat, in the order the rounds
// use them: two per full round, one per partial round.
var roundKeys = func() (keys [2*FullRounds + PartialRounds]fr.Element) {
	params := poseidon2.NewParameters(Width, FullRounds, PartialRounds)
	i := 0
	for _, round := range params.RoundKeys {
		i += copy(keys[i:], round)
	}
	if i != len(keys) {
		panic("agentkey: unexpected Poseidon2 round-key layout")
	}
	return keys
}()

// compress sets h = P(h, e)[1] + e: gnark-crypto's width-2 Permutation written out
// for two words (no slices, no width switch, the linear layers as unreduced sums
// reduced once, branch-free), its rounds in assembly on amd64 with the state in
// registers (poseidon2_amd64.s): 216 multiplications, 144 of them squarings, in
// about 0.55 of gnark-crypto's time on this machine's Zen 1 cores.
func compress(h, e *fr.Element) {
	a, b := *h, *e
	external(&a, &b) // before the first round
	fullRounds(&a, &b, roundKeys[:FullRounds])
	partialRounds(&a, &b)
	fullRounds(&a, &b, roundKeys[FullRounds+PartialRounds:])
	addMod(h, &b, e)
}

// fullRoundsGeneric is fullRounds in Go.
func fullRoundsGeneric(a, b *fr.Element, keys []fr.Element) {
	for i := 0; i < len(keys); i += 2 {
		addMod(a, a, &keys[i])
		addMod(b, b, &keys[i+1])
		sbox(a)
		sbox(b)
		external(a, b)
	}
}

// partialKeys are the partial rounds' constants; partialNext[i] is the constant
// of round i + 1 (zero after the last), which each round adds with its linear
// layer, so that the chain from one S-box to the next is two additions and one
// reduction.
var (
	partialKeys = [PartialRounds]fr.Element(roundKeys[FullRounds : FullRounds+PartialRounds])
	partialNext = func() (next [PartialRounds]fr.Element) {
		copy(next[:], partialKeys[1:])
		return next
	}()
)

// partialRoundsGeneric is partialRounds in Go.
func partialRoundsGeneric(a, b *fr.Element) {
	var x, y, s, b2 fr.Element
	addMod(&x, a, &partialKeys[0])
	for i := range partialNext {
		y = x
		sbox(&y)
		rawAdd(&s, &y, b) // y + b < 2r
		rawAdd(&x, &s, &y)
		rawAdd(&x, &x, &partialNext[i]) // 2y + b + c < 4r
		reduce4(&x)
		rawAdd(&b2, b, b)
		rawAdd(b, &s, &b2) // y + 3b < 4r
		reduce4(b)
	}
	*a = x
}

// external applies M_E = circ(2, 1): (2a + b, a + 2b).
func external(a, b *fr.Element) {
	var s fr.Element
	rawAdd(&s, a, b)
	rawAdd(a, a, &s)
	rawAdd(b, b, &s)
	reduce4(a)
	reduce4(b)
}

// sbox sets x = x⁵.
func sbox(x *fr.Element) {
	var x2 fr.Element
	x2.Square(x)
	x2.Square(&x2)
	x.Mul(x, &x2)
}
