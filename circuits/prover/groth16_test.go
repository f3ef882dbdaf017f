package prover_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/aep2/aep2/circuits/prover"
)

// pipelineCircuit is a small stand-in with the batch circuit's public
// interface (one public input) and, like it, a range check, so Groth16 adds
// a BSB22 commitment. It runs the real backend path (Solidity-target
// prove, MarshalSolidity, parse back, verify) in seconds; the full circuit's
// Groth16 test is behind `-tags heavy` (groth16_heavy_test.go).
type pipelineCircuit struct {
	PublicInput frontend.Variable `gnark:",public"`
	X           frontend.Variable
}

func (c *pipelineCircuit) Define(api frontend.API) error {
	rangecheck.New(api).Check(c.X, 64)
	api.AssertIsEqual(c.PublicInput, api.Mul(c.X, c.X, c.X))
	return nil
}

func TestGroth16Pipeline(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &pipelineCircuit{})
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	x := big.NewInt(123456789)
	pi := new(big.Int).Exp(x, big.NewInt(3), nil)
	proof, err := prover.ProveCircuit("pipeline", ccs, pk, &pipelineCircuit{PublicInput: pi, X: x}, pi)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(proof.Proof); n != 2+2*384 {
		t.Errorf("proof is %d hex chars, want 384 bytes (one commitment)", n)
	}
	if err := prover.Verify(vk, proof); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	bad := *proof
	bad.PublicInput = new(big.Int).Add(pi, big.NewInt(1)).String()
	if err := prover.Verify(vk, &bad); !errors.Is(err, prover.ErrBadProof) {
		t.Fatalf("wrong public input: want ErrBadProof, got %v", err)
	}
	bad = *proof
	bad.Proof = proof.Proof[:len(proof.Proof)-2] + "00"
	if err := prover.Verify(vk, &bad); err == nil {
		t.Fatal("tampered proof verifies")
	}
	if _, err := prover.ProveCircuit("pipeline", ccs, pk, &pipelineCircuit{PublicInput: pi, X: 5}, pi); !errors.Is(err, prover.ErrUnsatisfied) {
		t.Fatalf("unsatisfied witness: want ErrUnsatisfied, got %v", err)
	}
}
