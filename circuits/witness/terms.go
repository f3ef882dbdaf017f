package witness

import (
	"fmt"
	"math/big"
)

// mandateTerms are the fields every mandate of either family carries
// besides its pair's and its signature.
type mandateTerms struct {
	Amount          *big.Int
	Nonce, Deadline uint64
	Ref             [32]byte
}

func (m Mandate) terms() mandateTerms      { return mandateTerms{m.Amount, m.Nonce, m.Deadline, m.Ref} }
func (m AgentMandate) terms() mandateTerms { return mandateTerms{m.Amount, m.Nonce, m.Deadline, m.Ref} }

// parseTerms parses a mandate's amount (below 2^amountBits), nonce,
// deadline and ref, named <at>.<field> in errors.
func parseTerms(at, amount, nonce, deadline, ref string, amountBits int) (t mandateTerms, err error) {
	if t.Amount, err = decimal(at+".amount", amount, amountBits); err != nil {
		return t, err
	}
	if t.Nonce, err = uint64Field(at+".nonce", nonce); err != nil {
		return t, err
	}
	if t.Deadline, err = uint64Field(at+".deadline", deadline); err != nil {
		return t, err
	}
	t.Ref, err = bytes32(at+".ref", ref)
	return t, err
}

// checkPairIndex checks that a mandate's pairIndex names one of n pairs.
func checkPairIndex(at string, i, n int) error {
	if i < 0 || i >= n {
		return &fieldError{at + ".pairIndex", fmt.Errorf("%d is not a pair index (have %d pairs)", i, n)}
	}
	return nil
}

// expectPayeeToken checks that a mandate names its pair's payee and the
// settlement's token.
func expectPayeeToken(at, payee, token string, wantPayee, wantToken Address) error {
	if err := expectAddress(at+".payee", payee, wantPayee); err != nil {
		return err
	}
	return expectAddress(at+".token", token, wantToken)
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
