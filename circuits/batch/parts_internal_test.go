//go:build measure

package batch

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

type keccakPart struct{ In [136]uints.U8 }

func (c *keccakPart) Define(api frontend.API) error {
	keccak(api, c.In[:100])
	return nil
}

type ecdsaPart struct {
	Key [64]uints.U8
	Msg [32]uints.U8
	Sig Signature
	En  frontend.Variable
}

func (c *ecdsaPart) Define(api frontend.API) error {
	g, _ := newGadgets(api)
	pt := g.ec.pointFromBytes(api, values(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Key[:])))
	g.ec.assertSignedIf(api, c.En, pt, g.ec.digestScalar(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Msg[:])), &c.Sig)
	return nil
}

// TestPartCosts prints the constraint cost of one Keccak-f permutation and
// one ECDSA check in isolation (README "Measurements"):
//
//	go test -tags measure -run TestPartCosts -v ./batch
func TestPartCosts(t *testing.T) {
	for name, c := range map[string]frontend.Circuit{"keccak1": &keccakPart{}, "ecdsa": &ecdsaPart{}} {
		cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d constraints, %d internal", name, cs.GetNbConstraints(), cs.GetNbInternalVariables())
	}
}
