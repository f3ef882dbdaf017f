package witness_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

// withAmount sets pair 0's first mandate to amount, re-signed, total adjusted.
func withAmount(amount int64) *witness.Settlement {
	s := fixture.Settlement(2, 1)
	p := &s.Pairs[0]
	p.Total.Sub(p.Total, p.Mandates[0].Amount)
	p.Mandates[0].Amount = big.NewInt(amount)
	p.Total.Add(p.Total, p.Mandates[0].Amount)
	fixture.Sign(s, 0, fixture.Key(0))
	return s
}

func TestCheckAmount(t *testing.T) {
	t.Run("zero is rejected", func(t *testing.T) {
		err := withAmount(0).Check()
		if !errors.Is(err, witness.ErrInvalid) || !strings.Contains(err.Error(), "amount is 0") {
			t.Fatalf("want ErrInvalid naming the zero amount, got %v", err)
		}
	})
	t.Run("one is accepted", func(t *testing.T) {
		if err := withAmount(1).Check(); err != nil {
			t.Fatal(err)
		}
	})
}
