package keccakbits_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"golang.org/x/crypto/sha3"

	"github.com/aep2/aep2/circuits/internal/keccakbits"
)

var modulus = ecc.BN254.ScalarField()

// sumCircuit hashes Msg (bits) at the length Sel picks among Lengths.
type sumCircuit struct {
	Msg     []frontend.Variable
	Sel     []frontend.Variable
	Digest  frontend.Variable `gnark:",public"`
	Lengths []int             `gnark:"-"`
}

func (c *sumCircuit) Define(api frontend.API) error {
	for _, b := range c.Msg {
		api.AssertIsBoolean(b)
	}
	api.AssertIsEqual(c.Digest, keccakbits.Sum256(api, c.Msg, c.Lengths, c.Sel))
	return nil
}

func newSum(lengths []int) *sumCircuit {
	longest := 0
	for _, n := range lengths {
		longest = max(longest, n)
	}
	return &sumCircuit{Msg: make([]frontend.Variable, 8*longest), Sel: make([]frontend.Variable, len(lengths)), Lengths: lengths}
}

// assignment hashes data[:lengths[pick]] natively; bits past it are zero.
func assignment(lengths []int, pick int, data []byte) *sumCircuit {
	c := newSum(lengths)
	n := lengths[pick]
	for i := range c.Msg {
		bit := 0
		if i/8 < n {
			bit = int(data[i/8] >> (i % 8) & 1)
		}
		c.Msg[i] = bit
	}
	for k := range c.Sel {
		c.Sel[k] = 0
	}
	c.Sel[pick] = 1
	h := sha3.NewLegacyKeccak256()
	h.Write(data[:n])
	c.Digest = new(big.Int).Mod(new(big.Int).SetBytes(h.Sum(nil)), modulus)
	return c
}

func randomBytes(r *rand.Rand, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(r.UintN(256))
	}
	return out
}

// TestSum256 compares the circuit with x/crypto's Keccak-256 at lengths
// around the rate (135, 136, 137 put the padding's two bits in one byte, at
// a block's end, and in a new block) and the settlement sizes.
func TestSum256(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, lengths := range [][]int{{0}, {135}, {136}, {137}, {156}, {64 + 92, 64 + 2*92, 64 + 3*92}, {1, 135, 136, 272}} {
		for pick := range lengths {
			t.Run(fmt.Sprintf("%v/%d", lengths, lengths[pick]), func(t *testing.T) {
				data := randomBytes(r, lengths[pick])
				good := assignment(lengths, pick, data)
				if err := test.IsSolved(newSum(lengths), good, modulus); err != nil {
					t.Fatalf("valid digest refused: %v", err)
				}
				bad := assignment(lengths, pick, data)
				bad.Digest = new(big.Int).Add(bad.Digest.(*big.Int), big.NewInt(1))
				if test.IsSolved(newSum(lengths), bad, modulus) == nil {
					t.Fatal("a wrong digest was accepted")
				}
			})
		}
	}
}

// TestSum256Selection: the digest of another candidate length (the right
// bits, the wrong selector) is refused.
func TestSum256Selection(t *testing.T) {
	lengths := []int{64 + 92, 64 + 2*92}
	data := randomBytes(rand.New(rand.NewPCG(1, 2)), lengths[1])
	short := assignment(lengths, 0, data)
	long := assignment(lengths, 1, data)
	short.Digest = long.Digest
	if test.IsSolved(newSum(lengths), short, modulus) == nil {
		t.Fatal("the digest of the longer length was accepted for the shorter")
	}
}

// TestNoCommitment pins the point of the package: compiled to R1CS it adds
// no Groth16 commitment, and one permutation costs 24 × 6,400 constraints.
func TestNoCommitment(t *testing.T) {
	ccs, err := frontend.Compile(modulus, r1cs.NewBuilder, newSum([]int{100}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ccs.GetCommitments().CommitmentIndexes()); n != 0 {
		t.Fatalf("%d commitments", n)
	}
	// 800 message bits checked boolean, the absorb of the first block is free,
	// the padding linear, and the first round's θ XORs partly with constants.
	if got := ccs.GetNbConstraints(); got > 800+24*6400 || got < 800+23*6400 {
		t.Fatalf("%d constraints, want about %d", got, 800+24*6400)
	}
	t.Logf("one block: %d constraints", ccs.GetNbConstraints())
}
