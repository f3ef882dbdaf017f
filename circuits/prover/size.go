package prover

import (
	"fmt"
	"os"
	"path/filepath"

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
	if f := s.Fam(); f != FamilyBatch && f != FamilyAgent {
		return fmt.Errorf("unknown circuit family %q (want %s or %s)", s.Family, FamilyBatch, FamilyAgent)
	}
	if s.N < 1 || s.P < 1 || s.P > s.N || s.N > 1024 {
		return fmt.Errorf("invalid circuit size N=%d P=%d (need 1 ≤ P ≤ N ≤ 1024)", s.N, s.P)
	}
	return nil
}

// ID names the circuit (statement version and size); keys are cached under it.
func (s Size) ID() string {
	if s.Fam() == FamilyAgent {
		return fmt.Sprintf("aep2-agent-%s-n%d-p%d", agent.Version, s.N, s.P)
	}
	return fmt.Sprintf("aep2-batch-%s-n%d-p%d", batch.Version, s.N, s.P)
}

// ContractName is the exported verifier's contract name for this size.
func (s Size) ContractName() string {
	if s.Fam() == FamilyAgent {
		return fmt.Sprintf("AgentVerifierN%dP%d", s.N, s.P)
	}
	return fmt.Sprintf("BatchVerifierN%dP%d", s.N, s.P)
}

// circuit is the empty circuit of this family and size.
func (s Size) circuit() frontend.Circuit {
	if s.Fam() == FamilyAgent {
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
