package prover

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
)

// FamilyTest is not a payment circuit: N multiplications behind the
// families' public interface (one public input, no commitment, like the
// agent family). It lets tests and measurements run the whole key pipeline
// (ceremony, key cache, prove, verify, export-solidity, the on-chain
// verifier and `aep2 verifier check`) in seconds at N = 1, and at any domain
// size up to 2^24 for timings. Its keys prove nothing about payments; no
// escrow should register them outside a test chain.
const FamilyTest = "test"

// testVersion is the test family's statement version.
const testVersion = "v1"

// maxTestN bounds the test family's multiplications (a 2^24 domain).
const maxTestN = 1<<24 - 1

// testCircuit proves knowledge of X with X^(N+1) = PublicInput.
type testCircuit struct {
	PublicInput frontend.Variable `gnark:",public"`
	X           frontend.Variable
	n           int
}

func (c *testCircuit) Define(api frontend.API) error {
	y := c.X
	for range c.n {
		y = api.Mul(y, c.X)
	}
	api.AssertIsEqual(c.PublicInput, y)
	return nil
}

// TestRequest is the test family's prove request: X, as a decimal string.
type TestRequest struct {
	X string `json:"x"`
}

// ProveTest proves X^(N+1) = PublicInput for the request's X.
func ProveTest(size Size, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, req *TestRequest) (*Proof, error) {
	x, ok := new(big.Int).SetString(req.X, 10)
	if !ok {
		return nil, fmt.Errorf("x %q is not a decimal integer", req.X)
	}
	r := ecc.BN254.ScalarField()
	x.Mod(x, r)
	pi := new(big.Int).Exp(x, big.NewInt(int64(size.N)+1), r)
	return ProveCircuit(size.ID(), ccs, pk, &testCircuit{PublicInput: pi, X: x, n: size.N}, pi)
}
