package prover

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/aep2/aep2/circuits/agent"
	"github.com/aep2/aep2/circuits/batch"
)

// The circuit families: EIP-712 mandates (batch, the default) and agent
// mandates (agent, docs/agent-keys.md).
const (
	FamilyBatch = "batch"
	FamilyAgent = "agent"
)

// Size is a circuit of one family and size: N mandate slots, P pair slots.
// An empty Family is the batch family.
type Size struct {
	Family string `json:"family,omitempty"`
	N      int    `json:"n"`
	P      int    `json:"p"`
}

// Fam is the size's family, batch when Family is empty.
func (s Size) Fam() string {
	if s.Family == "" {
		return FamilyBatch
	}
	return s.Family
}

// Validate rejects sizes the circuit cannot have.
func (s Size) Validate() error {
	switch s.Fam() {
	case FamilyBatch, FamilyAgent:
	case FamilyTest:
		if s.N < 1 || s.N > maxTestN || s.P != 1 {
			return fmt.Errorf("invalid test circuit size N=%d P=%d (need 1 ≤ N ≤ %d, P = 1)", s.N, s.P, maxTestN)
		}
		return nil
	default:
		return fmt.Errorf("unknown circuit family %q (want %s, %s or %s)", s.Family, FamilyBatch, FamilyAgent, FamilyTest)
	}
	if s.N < 1 || s.P < 1 || s.P > s.N || s.N > 1024 {
		return fmt.Errorf("invalid circuit size N=%d P=%d (need 1 ≤ P ≤ N ≤ 1024)", s.N, s.P)
	}
	return nil
}

// ID names the circuit (statement version and size); keys are cached under it.
func (s Size) ID() string {
	switch s.Fam() {
	case FamilyTest:
		return fmt.Sprintf("aep2-test-%s-n%d-p%d", testVersion, s.N, s.P)
	case FamilyAgent:
		return fmt.Sprintf("aep2-agent-%s-n%d-p%d", agent.Version, s.N, s.P)
	}
	return fmt.Sprintf("aep2-batch-%s-n%d-p%d", batch.Version, s.N, s.P)
}

// ContractName is the exported verifier's contract name for this size.
func (s Size) ContractName() string {
	switch s.Fam() {
	case FamilyTest:
		return fmt.Sprintf("TestVerifierN%dP%d", s.N, s.P)
	case FamilyAgent:
		return fmt.Sprintf("AgentVerifierN%dP%d", s.N, s.P)
	}
	return fmt.Sprintf("BatchVerifierN%dP%d", s.N, s.P)
}

// circuit is the empty circuit of this family and size.
func (s Size) circuit() frontend.Circuit {
	switch s.Fam() {
	case FamilyTest:
		return &testCircuit{n: s.N}
	case FamilyAgent:
		return agent.New(s.N, s.P)
	}
	return batch.New(s.N, s.P)
}

// Compile builds the R1CS of the circuit of this size.
func Compile(s Size) (constraint.ConstraintSystem, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, s.circuit())
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", s.ID(), err)
	}
	return ccs, nil
}

// Home is $AEP2_HOME, defaulting to ~/.aep2.
func Home() (string, error) {
	if h := os.Getenv("AEP2_HOME"); h != "" {
		return h, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate home directory (set AEP2_HOME): %w", err)
	}
	return filepath.Join(u, ".aep2"), nil
}

// KeyDir is where the keys of this size live under home.
func (s Size) KeyDir(home string) string { return filepath.Join(home, "circuits", s.ID()) }

// ParseID is the size a circuit id names. It refuses ids of another
// statement version than this build's: their keys prove another statement.
func ParseID(id string) (Size, error) {
	var s Size
	var version string
	rest, ok := strings.CutPrefix(id, "aep2-")
	if ok {
		s.Family, rest, ok = strings.Cut(rest, "-")
	}
	if ok {
		version, rest, ok = strings.Cut(rest, "-")
	}
	if ok {
		_, err := fmt.Sscanf(rest, "n%d-p%d", &s.N, &s.P)
		ok = err == nil
	}
	if !ok {
		return Size{}, fmt.Errorf("%q is not a circuit id (aep2-<family>-<version>-n<N>-p<P>)", id)
	}
	if err := s.Validate(); err != nil {
		return Size{}, fmt.Errorf("circuit id %q: %w", id, err)
	}
	if s.ID() != id {
		return Size{}, fmt.Errorf("circuit id %q is statement version %s; this build's %s circuits are %s", id, version, s.Family, s.ID())
	}
	return s, nil
}
