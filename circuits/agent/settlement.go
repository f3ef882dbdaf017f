package agent

import (
	"github.com/consensys/gnark/frontend"

	"github.com/aep2/aep2/circuits/internal/keccakbits"
)

// Sizes of the packed agent settlement (docs/agent-keys.md).
const (
	HeaderBytes = 64 // domain separator (32), verifier id (4), token (20), notAfter (8)
	PairBytes   = 92 // keyId (8), key (32), payee (20), fromNonce (8), toNonce (8), total (16)
)

// headerBits range-checks the header's fields by decomposing them and
// returns the packed header's bits in message order.
func (c *Circuit) headerBits(api frontend.API) []frontend.Variable {
	out := beBits(api, c.DomainSeparator[0], 16)
	out = append(out, beBits(api, c.DomainSeparator[1], 16)...)
	out = append(out, beBits(api, c.VerifierID, 4)...)
	out = append(out, beBits(api, c.Token, 20)...)
	return append(out, beBits(api, c.NotAfter, 8)...)
}

// settlementHash is uint256(keccak256(packed)) mod r over the header and the
// enabled pairs' records. Pairs are enabled as a prefix, so the length is
// HeaderBytes + PairBytes·m for the m with pairEnabled[m−1] = 1 and
// pairEnabled[m] = 0; every disabled record's bits are zero (pairRecords),
// as the keccak gadget requires past the length.
func settlementHash(api frontend.API, header []frontend.Variable, records [][]frontend.Variable, pairEnabled []frontend.Variable) frontend.Variable {
	msg := append([]frontend.Variable{}, header...)
	lengths := make([]int, len(records))
	sel := make([]frontend.Variable, len(records))
	for j, r := range records {
		msg = append(msg, r...)
		lengths[j] = HeaderBytes + PairBytes*(j+1)
		next := frontend.Variable(0)
		if j+1 < len(pairEnabled) {
			next = pairEnabled[j+1]
		}
		sel[j] = api.Sub(pairEnabled[j], next)
	}
	return keccakbits.Sum256(api, msg, lengths, sel)
}
