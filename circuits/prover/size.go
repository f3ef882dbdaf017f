package prover

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/aep2/aep2/circuits/batch"
)

// Size is a circuit size: N mandate slots, P pair slots.
type Size struct {
	N int `json:"n"`
	P int `json:"p"`
}

// Validate rejects sizes the circuit cannot have.
func (s Size) Validate() error {
	if s.N < 1 || s.P < 1 || s.P > s.N || s.N > 1024 {
		return fmt.Errorf("invalid circuit size N=%d P=%d (need 1 ≤ P ≤ N ≤ 1024)", s.N, s.P)
	}
	return nil
}

// ID names the circuit (statement version and size); keys are cached under it.
func (s Size) ID() string { return fmt.Sprintf("aep2-batch-%s-n%d-p%d", batch.Version, s.N, s.P) }

// ContractName is the exported verifier's contract name for this size.
func (s Size) ContractName() string { return fmt.Sprintf("BatchVerifierN%dP%d", s.N, s.P) }

// Compile builds the R1CS of the circuit of this size.
func Compile(s Size) (constraint.ConstraintSystem, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, batch.New(s.N, s.P))
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
