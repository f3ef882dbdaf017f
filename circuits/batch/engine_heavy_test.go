//go:build heavy

package batch_test

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"

	"github.com/aep2/aep2/circuits/batch"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

// TestEngine runs gnark's test engine on the smallest size, cross-checking
// the compiled-solver results of batch_test.go with gnark's independent
// interpreter. Slow for a ~1M-constraint circuit, hence the build tag:
//
//	go test -tags heavy -run TestEngine -v ./batch
func TestEngine(t *testing.T) {
	s := fixture.Settlement(1)
	valid, err := witness.Assign(s, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	invalid, _ := witness.Assign(s, 1, 1)
	invalid.Pairs[0].Total = new(big.Int).Add(s.Pairs[0].Total, big.NewInt(1))
	assert := test.NewAssert(t)
	assert.CheckCircuit(batch.New(1, 1), test.WithValidAssignment(valid), test.WithInvalidAssignment(invalid),
		test.WithCurves(ecc.BN254), test.NoProverChecks(), test.NoSerializationChecks())
}
