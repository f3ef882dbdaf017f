package batch_test

import (
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	csbn254 "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/emulated"

	"github.com/aep2/aep2/circuits/batch"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

// The soundness tests solve witnesses against the compiled R1CS of one
// small size: N=3 mandate slots, P=2 pair slots. Solving the compiled
// system is both faster than gnark's test engine for a circuit this size
// and exactly the constraints the prover uses.
const testN, testP = 3, 2

var (
	compileOnce sync.Once
	compiled    constraint.ConstraintSystem
	compileErr  error
)

func testCCS(t *testing.T) constraint.ConstraintSystem {
	t.Helper()
	compileOnce.Do(func() {
		compiled, compileErr = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, batch.New(testN, testP))
	})
	if compileErr != nil {
		t.Fatalf("compile: %v", compileErr)
	}
	return compiled
}

func assign(t *testing.T, s *witness.Settlement) *batch.Circuit {
	t.Helper()
	c, err := witness.Assign(s, testN, testP)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	return c
}

// solve solves the compiled system; opts may replace hints
// (solver.OverrideHint) to play a prover who computes them maliciously.
func solve(t *testing.T, c *batch.Circuit, opts ...solver.Option) error {
	t.Helper()
	w, err := frontend.NewWitness(c, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatalf("witness: %v", err)
	}
	return testCCS(t).IsSolved(w, opts...)
}

func mustSolve(t *testing.T, c *batch.Circuit, opts ...solver.Option) {
	t.Helper()
	if err := solve(t, c, opts...); err != nil {
		t.Fatalf("valid witness rejected: %v", err)
	}
}

// mustFail asserts that a constraint rejects the witness. A hint that
// refuses its inputs does not count: a prover computes hints itself, so a
// test that stops in one never reaches the constraint it is about.
func mustFail(t *testing.T, c *batch.Circuit, opts ...solver.Option) {
	t.Helper()
	unsatisfied(t, c, opts...)
}

// mustViolate is mustFail where the first violated constraint is known by
// its values, as the solver prints them ("a ⋅ b != c"): it pins the test to
// that constraint (say, a recomposition "1 ⋅ value != Σ bytes").
func mustViolate(t *testing.T, c *batch.Circuit, want string, opts ...solver.Option) {
	t.Helper()
	if got := unsatisfied(t, c, opts...).Err.Error(); got != want {
		t.Fatalf("violated %q, want %q", got, want)
	}
}

func unsatisfied(t *testing.T, c *batch.Circuit, opts ...solver.Option) *csbn254.UnsatisfiedConstraintError {
	t.Helper()
	err := solve(t, c, opts...)
	if err == nil {
		t.Fatal("invalid witness accepted")
	}
	var u *csbn254.UnsatisfiedConstraintError
	if !errors.As(err, &u) {
		t.Fatalf("refused by a hint, no constraint reached: %v", err)
	}
	return u
}

// settle re-derives the public input after the settlement itself changed.
func settle(t *testing.T, s *witness.Settlement) *batch.Circuit {
	t.Helper()
	if s.Check() == nil {
		t.Fatal("test bug: the mutated settlement still passes the native Check")
	}
	return assign(t, s)
}

// TestValidSettlements solves valid shapes; TestAmounts solves one more
// (one pair of two mandates, one of amount 1, and a disabled slot).
func TestValidSettlements(t *testing.T) {
	for name, counts := range map[string][]int{
		"two pairs, all slots": {2, 1},
		"one mandate":          {1},
		"two pairs of one":     {1, 1},
	} {
		t.Run(name, func(t *testing.T) {
			s := fixture.Settlement(counts...)
			if err := s.Check(); err != nil {
				t.Fatalf("fixture fails native check: %v", err)
			}
			mustSolve(t, assign(t, s))
		})
	}
}

func TestMandateRules(t *testing.T) {
	cases := map[string]func(s *witness.Settlement){
		"wrong signature": func(s *witness.Settlement) {
			s.Pairs[0].Mandates[1].R.Add(s.Pairs[0].Mandates[1].R, big.NewInt(1))
		},
		"signed by another key": func(s *witness.Settlement) {
			fixture.SignAs(s, 0, 1, fixture.Key(9), &s.Pairs[0], s.Token)
		},
		"repeated nonce": func(s *witness.Settlement) {
			s.Pairs[0].Mandates[1].Nonce = s.Pairs[0].Mandates[0].Nonce
			s.Pairs[0].ToNonce = s.Pairs[0].Mandates[1].Nonce
			fixture.Sign(s, 0, fixture.Key(0))
		},
		"decreasing nonce": func(s *witness.Settlement) {
			s.Pairs[0].Mandates[1].Nonce = s.Pairs[0].Mandates[0].Nonce - 1
			s.Pairs[0].ToNonce = s.Pairs[0].Mandates[1].Nonce
			fixture.Sign(s, 0, fixture.Key(0))
		},
		"first nonce not above fromNonce": func(s *witness.Settlement) {
			s.Pairs[1].FromNonce = s.Pairs[1].Mandates[0].Nonce
		},
		"last nonce is not toNonce": func(s *witness.Settlement) { s.Pairs[0].ToNonce++ },
		"toNonce is an inner nonce": func(s *witness.Settlement) {
			s.Pairs[0].ToNonce = s.Pairs[0].Mandates[0].Nonce
		},
		"wrong total": func(s *witness.Settlement) { s.Pairs[1].Total.Add(s.Pairs[1].Total, big.NewInt(1)) },
		"amount of zero": func(s *witness.Settlement) {
			m := &s.Pairs[1].Mandates[0]
			s.Pairs[1].Total.Sub(s.Pairs[1].Total, m.Amount)
			m.Amount = new(big.Int)
			fixture.Sign(s, 1, fixture.Key(1))
		},
		"deadline below notAfter": func(s *witness.Settlement) {
			s.Pairs[0].Mandates[0].Deadline = fixture.NotAfter - 1
			fixture.Sign(s, 0, fixture.Key(0))
		},
		"signed for another token": func(s *witness.Settlement) {
			fixture.SignAs(s, 1, 0, fixture.Key(1), &s.Pairs[1], witness.Address{0xee})
		},
		"signed for another payee": func(s *witness.Settlement) {
			view := s.Pairs[0]
			view.Payee = fixture.Payee(5)
			fixture.SignAs(s, 0, 1, fixture.Key(0), &view, s.Token)
		},
		"signed under another domain": func(s *witness.Settlement) {
			s.DomainSeparator[31] ^= 1
		},
		"public key is not the payer's": func(s *witness.Settlement) {
			// everything signed by key 9, but the pair names key 0's address
			s.Pairs[0].PublicKey = witness.PublicKeyOf(fixture.Key(9))
			fixture.Sign(s, 0, fixture.Key(9))
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := fixture.Settlement(2, 1)
			mutate(s)
			mustFail(t, settle(t, s))
		})
	}
}

func TestSignatureEncoding(t *testing.T) {
	n := emulated.Secp256k1Fr{}.Modulus()
	cases := map[string]func(c *batch.Circuit, s *witness.Settlement){
		"high s": func(c *batch.Circuit, s *witness.Settlement) {
			c.Mandates[0].Sig.S = emulated.ValueOf[emulated.Secp256k1Fr](new(big.Int).Sub(n, s.Pairs[0].Mandates[0].S))
		},
		"r is zero": func(c *batch.Circuit, _ *witness.Settlement) {
			c.Mandates[1].Sig.R = emulated.ValueOf[emulated.Secp256k1Fr](0)
		},
		"s is zero": func(c *batch.Circuit, _ *witness.Settlement) {
			c.Mandates[2].Sig.S = emulated.ValueOf[emulated.Secp256k1Fr](0)
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := fixture.Settlement(2, 1)
			c := assign(t, s)
			mutate(c, s)
			mustFail(t, c)
		})
	}
	t.Run("high s is otherwise a valid signature", func(t *testing.T) {
		s := fixture.Settlement(2, 1)
		m := &s.Pairs[0].Mandates[0]
		hi := new(big.Int).Sub(n, m.S)
		if err := witness.VerifyLowS(s.Pairs[0].PublicKey, witness.Digest(s.DomainSeparator, &s.Pairs[0], s.Token, m), m.R, hi); err == nil {
			t.Fatal("native check accepts high s")
		}
	})
}

func TestPublicInput(t *testing.T) {
	t.Run("off by one", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2, 1))
		c.PublicInput = new(big.Int).Add(c.PublicInput.(*big.Int), big.NewInt(1))
		mustFail(t, c)
	})
	t.Run("hashes a disabled pair", func(t *testing.T) {
		s := fixture.Settlement(2)
		c := assign(t, s)
		// the public input of a settlement listing a second, empty pair
		s.Pairs = append(s.Pairs, witness.Pair{Total: new(big.Int)})
		c.PublicInput = s.PublicInput()
		mustFail(t, c)
	})
	t.Run("omits an enabled pair", func(t *testing.T) {
		s := fixture.Settlement(2, 1)
		c := assign(t, s)
		s.Pairs = s.Pairs[:1]
		c.PublicInput = s.PublicInput()
		mustFail(t, c)
	})
}

func TestDisabledSlots(t *testing.T) {
	t.Run("hold anything", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2))
		d := &c.Mandates[2]
		d.Amount, d.Nonce, d.Deadline = 77, 1, 0
		d.Sig.R = emulated.ValueOf[emulated.Secp256k1Fr](12345)
		d.Sig.S = emulated.ValueOf[emulated.Secp256k1Fr](0)
		c.Pairs[1].Payer, c.Pairs[1].Total, c.Pairs[1].FromNonce = 1, 99, 50
		mustSolve(t, c)
	})
	t.Run("cannot add an amount", func(t *testing.T) {
		s := fixture.Settlement(2)
		c := assign(t, s)
		c.Mandates[2].Amount = 500
		s.Pairs[0].Total.Add(s.Pairs[0].Total, big.NewInt(500))
		c.Pairs[0].Total = s.Pairs[0].Total
		c.PublicInput = s.PublicInput()
		mustFail(t, c)
	})
	t.Run("cannot start a pair", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2))
		c.Mandates[2].NewPair = 1
		mustFail(t, c)
	})
	t.Run("must come last", func(t *testing.T) {
		c := assign(t, fixture.Settlement(1, 1))
		c.Mandates[2], c.Mandates[1] = c.Mandates[1], c.Mandates[2]
		mustFail(t, c)
	})
	t.Run("slot 0 must be enabled", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2))
		c.Mandates[0].Enabled, c.Mandates[0].NewPair = 0, 0
		mustFail(t, c)
	})
}

func TestPairLayout(t *testing.T) {
	t.Run("more pairs than pair slots", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2, 1))
		c.Mandates[1].NewPair = 1 // would make slot 2 the third pair
		mustFail(t, c)
	})
	t.Run("mandate moved to the other pair", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2, 1))
		c.Mandates[2].NewPair = 0 // pair 1's mandate counted in pair 0
		mustFail(t, c)
	})
}
