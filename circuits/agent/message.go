package agent

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

var (
	two96  = new(big.Int).Lsh(big.NewInt(1), 96)
	two160 = new(big.Int).Lsh(big.NewInt(1), 160)
	// tagBase is 0x41 · 2^160, tag_token without its token.
	tagBase = new(big.Int).Lsh(big.NewInt(Tag), 160)
)

// settlementState is the Poseidon2 Merkle–Damgård state after the message
// prefix every mandate of the settlement shares: ds_hi, ds_lo, tag_token.
func settlementState(perm *poseidon2.Permutation, api frontend.API, ds [2]frontend.Variable, token frontend.Variable) frontend.Variable {
	h := perm.Compress(0, ds[0])
	h = perm.Compress(h, ds[1])
	return perm.Compress(h, api.Add(tagBase, token))
}

// keyPayee is the message's fourth element, keyId · 2^160 + payee.
func keyPayee(api frontend.API, keyID, payee frontend.Variable) frontend.Variable {
	return api.Add(api.Mul(keyID, two160), payee)
}

// terms is the message's fifth element, nonce · 2^160 + deadline · 2^96 +
// amount; injective for range-checked nonce, deadline < 2^64, amount < 2^96.
func terms(api frontend.API, nonce, deadline, amount frontend.Variable) frontend.Variable {
	return api.Add(api.Mul(nonce, two160), api.Mul(deadline, two96), amount)
}

// mandateHash finishes M from its pair's state: terms, ref_hi, ref_lo.
func mandateHash(perm *poseidon2.Permutation, pairState, terms, refHi, refLo frontend.Variable) frontend.Variable {
	h := perm.Compress(pairState, terms)
	h = perm.Compress(h, refHi)
	return perm.Compress(h, refLo)
}
