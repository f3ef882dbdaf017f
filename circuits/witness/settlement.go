package witness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/consensys/gnark-crypto/ecc"

	"github.com/aep2/aep2/circuits/batch"
)

// ErrInvalid is wrapped by every error about the request's content.
var ErrInvalid = errors.New("invalid settlement")

// Parse decodes and validates the request's encoding, groups the mandates
// by pair and orders each pair's mandates by nonce. It checks that every
// mandate's payer, payee and token agree with its pair and the settlement;
// Check verifies the remaining rules the circuit enforces.
func Parse(req *Request) (*Settlement, error) {
	s, err := parseHeader(&req.Settlement)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for i := range req.Mandates {
		if err := s.addMandate(i, &req.Mandates[i]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	for j := range s.Pairs {
		ms := s.Pairs[j].Mandates
		if len(ms) == 0 {
			return nil, fmt.Errorf("%w: settlement.pairs[%d] has no mandates", ErrInvalid, j)
		}
		sort.SliceStable(ms, func(a, b int) bool { return ms[a].Nonce < ms[b].Nonce })
	}
	return s, nil
}

func parseHeader(js *SettlementJSON) (*Settlement, error) {
	s := &Settlement{}
	var err error
	if s.DomainSeparator, err = bytes32("settlement.domainSeparator", js.DomainSeparator); err != nil {
		return nil, err
	}
	vid, err := decimal("settlement.verifierId", js.VerifierID, 32)
	if err != nil {
		return nil, err
	}
	s.VerifierID = uint32(vid.Uint64())
	if s.Token, err = address("settlement.token", js.Token); err != nil {
		return nil, err
	}
	if s.NotAfter, err = uint64Field("settlement.notAfter", js.NotAfter); err != nil {
		return nil, err
	}
	if len(js.Pairs) == 0 {
		return nil, fmt.Errorf("settlement.pairs is empty")
	}
	for j := range js.Pairs {
		p, err := parsePair(fmt.Sprintf("settlement.pairs[%d]", j), &js.Pairs[j])
		if err != nil {
			return nil, err
		}
		s.Pairs = append(s.Pairs, p)
	}
	return s, nil
}

func parsePair(at string, js *PairJSON) (p Pair, err error) {
	if p.Payer, err = address(at+".payer", js.Payer); err != nil {
		return p, err
	}
	if p.Payee, err = address(at+".payee", js.Payee); err != nil {
		return p, err
	}
	if p.FromNonce, err = uint64Field(at+".fromNonce", js.FromNonce); err != nil {
		return p, err
	}
	if p.ToNonce, err = uint64Field(at+".toNonce", js.ToNonce); err != nil {
		return p, err
	}
	if p.Total, err = decimal(at+".total", js.Total, 8*batch.TotalBytes); err != nil {
		return p, err
	}
	p.PublicKey, err = publicKey(at+".publicKey", js.PublicKey)
	return p, err
}

func (s *Settlement) addMandate(i int, js *MandateJSON) error {
	at := fmt.Sprintf("mandates[%d]", i)
	if js.PairIndex < 0 || js.PairIndex >= len(s.Pairs) {
		return &fieldError{at + ".pairIndex", fmt.Errorf("%d is not a pair index (have %d pairs)", js.PairIndex, len(s.Pairs))}
	}
	p := &s.Pairs[js.PairIndex]
	if err := expectAddress(at+".payer", js.Payer, p.Payer); err != nil {
		return err
	}
	if err := expectAddress(at+".payee", js.Payee, p.Payee); err != nil {
		return err
	}
	if err := expectAddress(at+".token", js.Token, s.Token); err != nil {
		return err
	}
	m, err := parseMandate(at, js)
	if err != nil {
		return err
	}
	p.Mandates = append(p.Mandates, m)
	return nil
}

func expectAddress(field, got string, want Address) error {
	a, err := address(field, got)
	if err != nil {
		return err
	}
	if a != want {
		return &fieldError{field, fmt.Errorf("%s differs from its pair/settlement (0x%x)", got, want)}
	}
	return nil
}

func parseMandate(at string, js *MandateJSON) (m Mandate, err error) {
	if m.Amount, err = decimal(at+".amount", js.Amount, 8*batch.AmountBytes); err != nil {
		return m, err
	}
	if m.Nonce, err = uint64Field(at+".nonce", js.Nonce); err != nil {
		return m, err
	}
	if m.Deadline, err = uint64Field(at+".deadline", js.Deadline); err != nil {
		return m, err
	}
	if m.Ref, err = bytes32(at+".ref", js.Ref); err != nil {
		return m, err
	}
	sig, err := hexBytes(at+".signature", js.Signature, 65)
	if err != nil {
		return m, err
	}
	m.R, m.S = new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	return m, nil
}

// Count is the number of mandates in the settlement.
func (s *Settlement) Count() int {
	n := 0
	for _, p := range s.Pairs {
		n += len(p.Mandates)
	}
	return n
}

// Packed is the settlement packing pinned in circuits/README.md.
func (s *Settlement) Packed() []byte {
	out := append([]byte{}, s.DomainSeparator[:]...)
	out = binary.BigEndian.AppendUint32(out, s.VerifierID)
	out = append(out, s.Token[:]...)
	out = binary.BigEndian.AppendUint64(out, s.NotAfter)
	for _, p := range s.Pairs {
		out = append(out, p.Payer[:]...)
		out = append(out, p.Payee[:]...)
		out = binary.BigEndian.AppendUint64(out, p.FromNonce)
		out = binary.BigEndian.AppendUint64(out, p.ToNonce)
		out = append(out, p.Total.FillBytes(make([]byte, batch.TotalBytes))...)
	}
	return out
}

// PublicInput is uint256(keccak256(Packed())) mod r.
func (s *Settlement) PublicInput() *big.Int {
	h := batch.Keccak256(s.Packed())
	v := new(big.Int).SetBytes(h[:])
	return v.Mod(v, ecc.BN254.ScalarField())
}
