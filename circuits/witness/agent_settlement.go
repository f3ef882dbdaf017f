package witness

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"

	"github.com/aep2/aep2/circuits/agent"
)

// AgentSettlement is a parsed agent prove request, mandates grouped by pair
// in nonce order.
type AgentSettlement struct {
	DomainSeparator [32]byte
	VerifierID      uint32
	Token           Address
	NotAfter        uint64
	Pairs           []AgentPair
}

// AgentPair is one (agent key, payee) pair and its mandates.
type AgentPair struct {
	KeyID              uint64
	Key                [32]byte // compressed, as the escrow stores it
	Point              twistededwards.PointAffine
	Payee              Address
	FromNonce, ToNonce uint64
	Total              *big.Int
	Mandates           []AgentMandate
}

// AgentMandate is one signed agent mandate.
type AgentMandate struct {
	Amount    *big.Int
	Nonce     uint64
	Deadline  uint64
	Ref       [32]byte
	Signature [64]byte
}

// ParseAgent decodes and validates the request's encoding (every key a
// point of the prime-order subgroup other than the identity), groups the
// mandates by pair and orders each pair's by nonce. It checks every
// mandate's keyId, payee and token against its pair and the settlement;
// CheckAgent verifies the remaining rules the circuit enforces.
func ParseAgent(req *AgentRequest) (*AgentSettlement, error) {
	s, err := parseAgentHeader(&req.Settlement)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for i := range req.Mandates {
		if err := s.addMandate(i, &req.Mandates[i]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if err := orderByNonce(len(s.Pairs), func(j int) []AgentMandate { return s.Pairs[j].Mandates }); err != nil {
		return nil, err
	}
	return s, nil
}

func parseAgentHeader(js *AgentSettlementJSON) (*AgentSettlement, error) {
	h, err := parseHeaderFields(js.DomainSeparator, js.VerifierID, js.Token, js.NotAfter)
	if err != nil {
		return nil, err
	}
	pairs, err := parsePairs(js.Pairs, parseAgentPair)
	if err != nil {
		return nil, err
	}
	return &AgentSettlement{DomainSeparator: h.DomainSeparator, VerifierID: h.VerifierID, Token: h.Token, NotAfter: h.NotAfter, Pairs: pairs}, nil
}

func parseAgentPair(at string, js *AgentPairJSON) (p AgentPair, err error) {
	if p.KeyID, err = uint64Field(at+".keyId", js.KeyID); err != nil {
		return p, err
	}
	if p.KeyID == 0 {
		return p, &fieldError{at + ".keyId", fmt.Errorf("0 is no key id (the escrow assigns them from 1)")}
	}
	if p.Key, err = bytes32(at+".key", js.Key); err != nil {
		return p, err
	}
	if p.Point, err = agentKey(p.Key); err != nil {
		return p, &fieldError{at + ".key", err}
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
	p.Total, err = decimal(at+".total", js.Total, 8*agent.TotalBytes)
	return p, err
}

// agentKey decompresses a key and requires a non-identity point of the
// prime-order subgroup (docs/agent-keys.md, "The curve and the keys").
func agentKey(key [32]byte) (twistededwards.PointAffine, error) {
	var pt twistededwards.PointAffine
	if _, err := pt.SetBytes(key[:]); err != nil {
		return pt, fmt.Errorf("0x%x is not a compressed Baby Jubjub point: %w", key, err)
	}
	if pt.Bytes() != key {
		return pt, fmt.Errorf("0x%x is not the canonical encoding of its point", key)
	}
	if pt.X.IsZero() || !pt.IsInSubGroup() {
		return pt, fmt.Errorf("0x%x is the identity or outside the prime-order subgroup", key)
	}
	return pt, nil
}

func (s *AgentSettlement) addMandate(i int, js *AgentMandateJSON) error {
	at := fmt.Sprintf("mandates[%d]", i)
	if err := checkPairIndex(at, js.PairIndex, len(s.Pairs)); err != nil {
		return err
	}
	p := &s.Pairs[js.PairIndex]
	keyID, err := uint64Field(at+".keyId", js.KeyID)
	if err != nil {
		return err
	}
	if keyID != p.KeyID {
		return &fieldError{at + ".keyId", fmt.Errorf("%d differs from its pair's %d", keyID, p.KeyID)}
	}
	if err := expectPayeeToken(at, js.Payee, js.Token, p.Payee, s.Token); err != nil {
		return err
	}
	m, err := parseAgentMandate(at, js)
	if err != nil {
		return err
	}
	p.Mandates = append(p.Mandates, m)
	return nil
}

func parseAgentMandate(at string, js *AgentMandateJSON) (m AgentMandate, err error) {
	t, err := parseTerms(at, js.Amount, js.Nonce, js.Deadline, js.Ref, agent.AmountBits)
	if err != nil {
		return m, err
	}
	m.Amount, m.Nonce, m.Deadline, m.Ref = t.Amount, t.Nonce, t.Deadline, t.Ref
	sig, err := hexBytes(at+".signature", js.Signature, 64)
	if err != nil {
		return m, err
	}
	copy(m.Signature[:], sig)
	return m, nil
}

// Count is the number of mandates in the settlement.
func (s *AgentSettlement) Count() int {
	n := 0
	for _, p := range s.Pairs {
		n += len(p.Mandates)
	}
	return n
}

// Check verifies natively every rule the agent circuit enforces.
func (s *AgentSettlement) Check() error {
	for j := range s.Pairs {
		if err := s.checkPair(j); err != nil {
			return fmt.Errorf("%w: settlement.pairs[%d]: %w", ErrInvalid, j, err)
		}
	}
	return nil
}

func (s *AgentSettlement) checkPair(j int) error {
	p := &s.Pairs[j]
	key := &eddsa.PublicKey{A: p.Point}
	return checkMandates(p.FromNonce, p.ToNonce, p.Total, s.NotAfter, agent.AmountBits, p.Mandates, func(m *AgentMandate) error {
		if !VerifyAgent(key, m.Signature, AgentMandateHash(s.DomainSeparator, s.Token, p.KeyID, p.Payee, m)) {
			return fmt.Errorf("signature does not verify under key 0x%x", p.Key)
		}
		return nil
	})
}
