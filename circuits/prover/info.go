package prover

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/consensys/gnark/constraint"
)

// Info describes a compiled circuit.
type Info struct {
	CircuitID    string `json:"circuitId"`
	Family       string `json:"family"`
	N            int    `json:"n"`
	P            int    `json:"p"`
	Constraints  int    `json:"constraints"`
	Wires        int    `json:"wires"`
	PublicInputs int    `json:"publicInputs"`
	Secret       int    `json:"secretInputs"`
	Internal     int    `json:"internalWires"`
	Commitments  int    `json:"commitments"`
}

// InfoOf reads the counts off a compiled circuit. Wires counts every
// variable: the constant one, public and secret inputs and internal wires.
func InfoOf(size Size, ccs constraint.ConstraintSystem) Info {
	pub, sec, internal := ccs.GetNbPublicVariables(), ccs.GetNbSecretVariables(), ccs.GetNbInternalVariables()
	return Info{
		CircuitID: size.ID(), Family: size.Fam(), N: size.N, P: size.P, Constraints: ccs.GetNbConstraints(),
		Wires: pub + sec + internal, PublicInputs: pub - 1, Secret: sec, Internal: internal,
		Commitments: len(ccs.GetCommitments().CommitmentIndexes()),
	}
}

const infoFile = "info.json"

// CachedInfo returns the circuit's Info from dir, compiling (and caching
// the result) only when it is not there yet.
func CachedInfo(size Size, dir string) (Info, error) {
	var info Info
	if b, err := os.ReadFile(filepath.Join(dir, infoFile)); err == nil && json.Unmarshal(b, &info) == nil && info.CircuitID == size.ID() {
		info.Family = size.Fam() // info.json cached before families were named
		return info, nil
	}
	ccs, err := Compile(size)
	if err != nil {
		return info, err
	}
	info = InfoOf(size, ccs)
	return info, SaveInfo(info, dir)
}

// SaveInfo caches info in dir.
func SaveInfo(info Info, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	return os.WriteFile(filepath.Join(dir, infoFile), append(b, '\n'), 0o644)
}
