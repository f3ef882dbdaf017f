package prover_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/aep2/aep2/circuits/prover"
)

// shapeCircuit has several public inputs, wires that appear only in A or
// only in B (points at infinity), and two range checks (a BSB22 commitment
// over many private wires): every part of the key layout is exercised.
type shapeCircuit struct {
	Sum, Product frontend.Variable `gnark:",public"`
	X, Y         frontend.Variable
	Bytes        [8]frontend.Variable
}

func (c *shapeCircuit) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	rc.Check(c.X, 32)
	for _, b := range c.Bytes {
		rc.Check(b, 8)
	}
	api.AssertIsEqual(c.Sum, api.Add(c.X, c.Y, c.Bytes[0]))
	api.AssertIsEqual(c.Product, api.Mul(c.X, c.Y))
	return nil
}

func shapeAssignment(x, y int64) *shapeCircuit {
	a := &shapeCircuit{X: x, Y: y, Sum: x + y + 1, Product: x * y}
	for i := range a.Bytes {
		a.Bytes[i] = 1 + i
	}
	return a
}

// The dev setup lays its keys out exactly as gnark's Setup does: same
// lengths, same points at infinity, same commitment structure.
func TestDevSetupHasGnarksLayout(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &shapeCircuit{})
	if err != nil {
		t.Fatal(err)
	}
	gpk, gvk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	dpk, dvk, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	g, d := gpk.(*groth16bn254.ProvingKey), dpk.(*groth16bn254.ProvingKey)
	gv, dv := gvk.(*groth16bn254.VerifyingKey), dvk.(*groth16bn254.VerifyingKey)
	lengths := func(pk *groth16bn254.ProvingKey, vk *groth16bn254.VerifyingKey) []int {
		out := []int{len(pk.G1.A), len(pk.G1.B), len(pk.G1.Z), len(pk.G1.K), len(pk.G2.B), len(vk.G1.K),
			len(pk.CommitmentKeys), len(vk.CommitmentKeys), int(pk.Domain.Cardinality)}
		for _, k := range pk.CommitmentKeys {
			out = append(out, len(k.Basis), len(k.BasisExpSigma))
		}
		return out
	}
	if gl, dl := lengths(g, gv), lengths(d, dv); !reflect.DeepEqual(gl, dl) {
		t.Fatalf("key lengths: gnark %v, dev %v", gl, dl)
	}
	if len(g.CommitmentKeys) == 0 {
		t.Fatal("the circuit should carry a commitment")
	}
	if !reflect.DeepEqual(g.InfinityA, d.InfinityA) || !reflect.DeepEqual(g.InfinityB, d.InfinityB) ||
		g.NbInfinityA != d.NbInfinityA || g.NbInfinityB != d.NbInfinityB {
		t.Fatal("points at infinity differ")
	}
	if g.NbInfinityA == 0 || g.NbInfinityB == 0 {
		t.Fatal("the circuit should have points at infinity in A and B")
	}
	if !reflect.DeepEqual(gv.PublicAndCommitmentCommitted, dv.PublicAndCommitmentCommitted) {
		t.Fatal("committed public wires differ")
	}
}

func TestDevSetupProvesAndRejects(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &shapeCircuit{})
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	good := shapeAssignment(1234, 5678)
	w, err := frontend.NewWitness(good, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	native, err := groth16.Prove(ccs, pk, w)
	if err != nil {
		t.Fatal(err)
	}
	public, err := w.Public()
	if err != nil {
		t.Fatal(err)
	}
	if err := groth16.Verify(native, vk, public); err != nil {
		t.Fatalf("dev keys: valid proof rejected: %v", err)
	}
	other, err := frontend.NewWitness(shapeAssignment(1234, 5679), ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		t.Fatal(err)
	}
	if err := groth16.Verify(native, vk, other); err == nil {
		t.Fatal("dev keys: proof verifies against other public inputs")
	}
	bad := shapeAssignment(1<<33, 3) // X outside its 32-bit range check
	if _, err := prover.ProveCircuit("shape", ccs, pk, bad, big.NewInt(0)); !errors.Is(err, prover.ErrUnsatisfied) {
		t.Fatalf("range check broken: want ErrUnsatisfied, got %v", err)
	}
}
