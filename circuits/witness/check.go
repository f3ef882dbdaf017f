package witness

import (
	"fmt"
	"math/big"

	"github.com/aep2/aep2/circuits/batch"
)

// Check verifies natively every rule the circuit enforces, so a bad request
// gets a precise error instead of an unsatisfiable witness.
func (s *Settlement) Check() error {
	for j := range s.Pairs {
		if err := s.checkPair(j); err != nil {
			return fmt.Errorf("%w: settlement.pairs[%d]: %w", ErrInvalid, j, err)
		}
	}
	return nil
}

func (s *Settlement) checkPair(j int) error {
	p := &s.Pairs[j]
	if got := AddressOf(p.PublicKey); got != p.Payer {
		return fmt.Errorf("publicKey belongs to 0x%x, not payer 0x%x", got, p.Payer)
	}
	prev, total := p.FromNonce, new(big.Int)
	for k := range p.Mandates {
		m := &p.Mandates[k]
		if m.Nonce <= prev {
			return fmt.Errorf("nonce %d is not above %d (fromNonce or the previous mandate)", m.Nonce, prev)
		}
		if m.Amount.Sign() == 0 {
			return fmt.Errorf("mandate nonce %d: amount is 0; a mandate must pay something", m.Nonce)
		}
		if m.Amount.Sign() < 0 || m.Amount.BitLen() > 8*batch.AmountBytes {
			return fmt.Errorf("mandate nonce %d: amount %s is not below 2^%d", m.Nonce, m.Amount, 8*batch.AmountBytes)
		}
		if m.Deadline < s.NotAfter {
			return fmt.Errorf("mandate nonce %d: deadline %d is before notAfter %d", m.Nonce, m.Deadline, s.NotAfter)
		}
		if err := VerifyLowS(p.PublicKey, Digest(s.DomainSeparator, p, s.Token, m), m.R, m.S); err != nil {
			return fmt.Errorf("mandate nonce %d: %w", m.Nonce, err)
		}
		prev = m.Nonce
		total.Add(total, m.Amount)
	}
	if prev != p.ToNonce {
		return fmt.Errorf("toNonce %d is not the last mandate's nonce %d", p.ToNonce, prev)
	}
	if total.Cmp(p.Total) != 0 {
		return fmt.Errorf("total %s is not the sum of the amounts %s", p.Total, total)
	}
	return nil
}
