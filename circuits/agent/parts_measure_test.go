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

// signaturePart is one slot's EdDSA check, its key's state given (a pair
// slot computes it once for all its mandates).
type signaturePart struct {
	Sig      eddsa.Signature
	Key      twistededwards.Point
	KeyState frontend.Variable
	M        frontend.Variable
}

func (c *signaturePart) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	assertSignedIf(g, 1, c.Sig, c.M, c.Key, c.KeyState)
	return nil
}

// isValidPart is gnark's eddsa.IsValid with its five-element challenge hash,
// what each slot checked up to circuit v3.
type isValidPart struct {
	Sig eddsa.Signature
	Key twistededwards.Point
	M   frontend.Variable
}

func (c *isValidPart) Define(api frontend.API) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	perm, err := NewPermutation(api)
	if err != nil {
		return err
	}
	curve.AssertIsOnCurve(c.Sig.R)
	valid, err := eddsa.IsValid(curve, c.Sig, c.M, eddsa.PublicKey{A: c.Key}, hash.NewMerkleDamgardHasher(api, perm, 0))
	api.AssertIsEqual(valid, 1)
	return err
}

// TestPartCosts prints the constraints of one Poseidon2 compression, one
// slot's signature check (R on the curve, S < ℓ, the challenge from its key's
// state, the cofactored equation) and, for comparison, the same check through
// gnark's IsValid:
//
//	go test -tags measure -run TestPartCosts -v ./agent
func TestPartCosts(t *testing.T) {
	for name, c := range map[string]frontend.Circuit{
		"poseidon2 compression":                 &compressPart{},
		"signature check per slot (v4)":         &signaturePart{},
		"R on the curve + gnark's IsValid (v3)": &isValidPart{},
	} {
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d constraints", name, ccs.GetNbConstraints())
	}
}
