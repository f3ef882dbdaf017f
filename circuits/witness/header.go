package witness

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"

	"github.com/consensys/gnark-crypto/ecc"

	"github.com/aep2/aep2/circuits/batch"
)

// header is the part of a settlement both families share: what the first
// HeaderBytes bytes of its packing hold.
type header struct {
	DomainSeparator [32]byte
	VerifierID      uint32
	Token           Address
	NotAfter        uint64
}

// parseHeaderFields parses the settlement's header fields, named
// settlement.<field> in errors.
func parseHeaderFields(domainSeparator, verifierID, token, notAfter string) (h header, err error) {
	if h.DomainSeparator, err = bytes32("settlement.domainSeparator", domainSeparator); err != nil {
		return h, err
	}
	vid, err := decimal("settlement.verifierId", verifierID, 32)
	if err != nil {
		return h, err
	}
	h.VerifierID = uint32(vid.Uint64())
	if h.Token, err = address("settlement.token", token); err != nil {
		return h, err
	}
	h.NotAfter, err = uint64Field("settlement.notAfter", notAfter)
	return h, err
}

// parsePairs parses every pair record of settlement.pairs, which must not
// be empty.
func parsePairs[J, P any](js []J, parse func(at string, js *J) (P, error)) ([]P, error) {
	if len(js) == 0 {
		return nil, fmt.Errorf("settlement.pairs is empty")
	}
	out := make([]P, 0, len(js))
	for j := range js {
		p, err := parse(fmt.Sprintf("settlement.pairs[%d]", j), &js[j])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// orderByNonce sorts each pair's mandates (mandates(j) of pair j < n) by
// nonce, rejecting a pair that has none.
func orderByNonce[M interface{ terms() mandateTerms }](n int, mandates func(j int) []M) error {
	for j := 0; j < n; j++ {
		ms := mandates(j)
		if len(ms) == 0 {
			return fmt.Errorf("%w: settlement.pairs[%d] has no mandates", ErrInvalid, j)
		}
		sort.SliceStable(ms, func(a, b int) bool { return ms[a].terms().Nonce < ms[b].terms().Nonce })
	}
	return nil
}

// packHeader is the packing's header: domain separator, verifier id, token
// and notAfter, big-endian.
func packHeader(ds [32]byte, verifierID uint32, token Address, notAfter uint64) []byte {
	out := append([]byte{}, ds[:]...)
	out = binary.BigEndian.AppendUint32(out, verifierID)
	out = append(out, token[:]...)
	return binary.BigEndian.AppendUint64(out, notAfter)
}

// publicInputOf is uint256(keccak256(packed)) mod r.
func publicInputOf(packed []byte) *big.Int {
	h := batch.Keccak256(packed)
	v := new(big.Int).SetBytes(h[:])
	return v.Mod(v, ecc.BN254.ScalarField())
}
