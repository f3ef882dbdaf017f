//go:build measure

package agent

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/signature/eddsa"
)

type compressPart struct{ A, B frontend.Variable }

func (c *compressPart) Define(api frontend.API) error {
	perm, err := NewPermutation(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(perm.Compress(c.A, c.B), 0)
	return nil
}

type eddsaPart struct {
	Sig eddsa.Signature
	Key twistededwards.Point
	M   frontend.Variable
}

func (c *eddsaPart) Define(api frontend.API) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	perm, err := NewPermutation(api)
	if err != nil {
		return err
	}
	valid, err := eddsa.IsValid(curve, c.Sig, c.M, eddsa.PublicKey{A: c.Key}, hash.NewMerkleDamgardHasher(api, perm, 0))
	api.AssertIsEqual(valid, 1)
	return err
}

// TestPartCosts prints the constraints of one Poseidon2 compression and one
// EdDSA check (gnark's IsValid with its 5-element challenge hash) alone:
//
//	go test -tags measure -run TestPartCosts -v ./agent
func TestPartCosts(t *testing.T) {
	for name, c := range map[string]frontend.Circuit{"poseidon2 compression": &compressPart{}, "eddsa IsValid": &eddsaPart{}} {
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d constraints", name, ccs.GetNbConstraints())
	}
}
