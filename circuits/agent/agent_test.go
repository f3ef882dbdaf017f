package agent_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	csbn254 "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/aep2/aep2/circuits/agent"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

// The soundness tests solve witnesses against the compiled R1CS of one
// small size, N=3 mandate slots and P=2 pair slots, as the batch family's.
const testN, testP = 3, 2

// compiledOnce compiles a circuit once per test binary.
type compiledOnce struct {
	once sync.Once
	ccs  constraint.ConstraintSystem
	err  error
}

func (c *compiledOnce) get(t *testing.T, circuit frontend.Circuit) constraint.ConstraintSystem {
	t.Helper()
	c.once.Do(func() { c.ccs, c.err = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit) })
	if c.err != nil {
		t.Fatalf("compile: %v", c.err)
	}
	return c.ccs
}

var full, core compiledOnce

func testCCS(t *testing.T) constraint.ConstraintSystem { return full.get(t, agent.New(testN, testP)) }

func coreCCS(t *testing.T) constraint.ConstraintSystem {
	return core.get(t, &agent.Unbound{C: *agent.New(testN, testP)})
}

// assign lays s out for the core circuit (no public input); assignFull
// for the whole circuit.
func assign(t *testing.T, s *witness.AgentSettlement) *agent.Circuit {
	t.Helper()
	c := assignFull(t, s)
	c.PublicInput = nil
	return c
}

func assignFull(t *testing.T, s *witness.AgentSettlement) *agent.Circuit {
	t.Helper()
	c, err := witness.AssignAgent(s, testN, testP)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	return c
}

// solve solves the whole circuit when c.PublicInput is set, else only
// the unbound circuit (every rule but the public input), which is ten times smaller.
func solve(t *testing.T, c *agent.Circuit, opts ...solver.Option) error {
	t.Helper()
	var circuit frontend.Circuit = c
	ccs := func() constraint.ConstraintSystem { return testCCS(t) }
	if c.PublicInput == nil {
		c.PublicInput = 0
		circuit = &agent.Unbound{C: *c}
		ccs = func() constraint.ConstraintSystem { return coreCCS(t) }
	}
	w, err := frontend.NewWitness(circuit, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatalf("witness: %v", err)
	}
	return ccs().IsSolved(w, opts...)
}

func mustSolve(t *testing.T, c *agent.Circuit, opts ...solver.Option) {
	t.Helper()
	if err := solve(t, c, opts...); err != nil {
		t.Fatalf("valid witness rejected: %v", err)
	}
}

// mustFail asserts that a constraint rejects the witness; a hint refusing
// its inputs does not count (a prover computes hints itself).
func mustFail(t *testing.T, c *agent.Circuit, opts ...solver.Option) *csbn254.UnsatisfiedConstraintError {
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

// mustViolate pins the first violated constraint by its values as the
// solver prints them ("a ⋅ b != c").
func mustViolate(t *testing.T, c *agent.Circuit, want string, opts ...solver.Option) {
	t.Helper()
	if got := mustFail(t, c, opts...).Err.Error(); got != want {
		t.Fatalf("violated %q, want %q", got, want)
	}
}

// settle re-derives the public input after the settlement itself changed,
// first asserting the native Check rejects it too, so the prover's
// pre-check and the circuit agree on the rule.
func settle(t *testing.T, s *witness.AgentSettlement) *agent.Circuit {
	t.Helper()
	if s.Check() == nil {
		t.Fatal("test bug: the mutated settlement still passes the native Check")
	}
	return assign(t, s)
}

func TestValidShapes(t *testing.T) {
	for name, counts := range map[string][]int{
		"one mandate": {1}, "one pair full": {3}, "two pairs": {2, 1}, "two pairs, a slot free": {1, 1},
	} {
		t.Run(name, func(t *testing.T) {
			s := fixture.AgentSettlement(counts...)
			if err := s.Check(); err != nil {
				t.Fatalf("fixture fails Check: %v", err)
			}
			mustSolve(t, assign(t, s))
		})
	}
}

func TestValidWhole(t *testing.T) {
	mustSolve(t, assignFull(t, fixture.AgentSettlement(2, 1)))
	mustSolve(t, assignFull(t, fixture.AgentSettlement(1)))
}
