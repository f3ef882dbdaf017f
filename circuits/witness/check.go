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
	return checkMandates(p.FromNonce, p.ToNonce, p.Total, s.NotAfter, 8*batch.AmountBytes, p.Mandates, func(m *Mandate) error {
		return VerifyLowS(p.PublicKey, Digest(s.DomainSeparator, p, s.Token, m), m.R, m.S)
	})
}

// checkMandates checks a pair's mandates against the rules of both
// families: nonces strictly increasing from fromNonce and ending at
// toNonce, every amount in [1, 2^amountBits), no deadline before notAfter,
// amounts summing to total, and every signature (verify).
func checkMandates[M interface{ terms() mandateTerms }](fromNonce, toNonce uint64, total *big.Int, notAfter uint64, amountBits int, ms []M, verify func(*M) error) error {
	prev, sum := fromNonce, new(big.Int)
	for k := range ms {
		m := ms[k].terms()
		if m.Nonce <= prev {
			return fmt.Errorf("nonce %d is not above %d (fromNonce or the previous mandate)", m.Nonce, prev)
		}
		if m.Amount.Sign() == 0 {
			return fmt.Errorf("mandate nonce %d: amount is 0; a mandate must pay something", m.Nonce)
		}
		if m.Amount.Sign() < 0 || m.Amount.BitLen() > amountBits {
			return fmt.Errorf("mandate nonce %d: amount %s is not below 2^%d", m.Nonce, m.Amount, amountBits)
		}
		if m.Deadline < notAfter {
			return fmt.Errorf("mandate nonce %d: deadline %d is before notAfter %d", m.Nonce, m.Deadline, notAfter)
		}
		if err := verify(&ms[k]); err != nil {
			return fmt.Errorf("mandate nonce %d: %w", m.Nonce, err)
		}
		prev = m.Nonce
		sum.Add(sum, m.Amount)
	}
	if prev != toNonce {
		return fmt.Errorf("toNonce %d is not the last mandate's nonce %d", toNonce, prev)
	}
	if sum.Cmp(total) != 0 {
		return fmt.Errorf("total %s is not the sum of the amounts %s", total, sum)
	}
	return nil
}
