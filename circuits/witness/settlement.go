package witness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

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
	if err := orderByNonce(len(s.Pairs), func(j int) []Mandate { return s.Pairs[j].Mandates }); err != nil {
		return nil, err
	}
	return s, nil
}

func parseHeader(js *SettlementJSON) (*Settlement, error) {
	h, err := parseHeaderFields(js.DomainSeparator, js.VerifierID, js.Token, js.NotAfter)
	if err != nil {
		return nil, err
	}
	pairs, err := parsePairs(js.Pairs, parsePair)
	if err != nil {
		return nil, err
	}
	return &Settlement{DomainSeparator: h.DomainSeparator, VerifierID: h.VerifierID, Token: h.Token, NotAfter: h.NotAfter, Pairs: pairs}, nil
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
	if err := checkPairIndex(at, js.PairIndex, len(s.Pairs)); err != nil {
		return err
	}
	p := &s.Pairs[js.PairIndex]
	if err := expectAddress(at+".payer", js.Payer, p.Payer); err != nil {
		return err
	}
	if err := expectPayeeToken(at, js.Payee, js.Token, p.Payee, s.Token); err != nil {
		return err
	}
	m, err := parseMandate(at, js)
	if err != nil {
		return err
	}
	p.Mandates = append(p.Mandates, m)
	return nil
}

func parseMandate(at string, js *MandateJSON) (m Mandate, err error) {
	t, err := parseTerms(at, js.Amount, js.Nonce, js.Deadline, js.Ref, 8*batch.AmountBytes)
	if err != nil {
		return m, err
	}
	m.Amount, m.Nonce, m.Deadline, m.Ref = t.Amount, t.Nonce, t.Deadline, t.Ref
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
	out := packHeader(s.DomainSeparator, s.VerifierID, s.Token, s.NotAfter)
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
	return publicInputOf(s.Packed())
}
