package agent

import (
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	edbn254 "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/test"
)

// compressCircuit asserts compressKey(Key) == Bytes.
type compressCircuit struct {
	Key   twistededwards.Point
	Bytes [32]frontend.Variable
}

func (c *compressCircuit) Define(api frontend.API) error {
	got := compressKey(api, c.Key)
	for i := range c.Bytes {
		acc := frontend.Variable(0)
		for t := range 8 {
			acc = api.Add(acc, api.Mul(got[8*i+t], 1<<t))
		}
		api.AssertIsEqual(acc, c.Bytes[i])
	}
	return nil
}

func compressAssignment(p *edbn254.PointAffine, b [32]byte) *compressCircuit {
	var x, y big.Int
	p.X.BigInt(&x)
	p.Y.BigInt(&y)
	c := &compressCircuit{Key: twistededwards.Point{X: &x, Y: &y}}
	for i := range b {
		c.Bytes[i] = b[i]
	}
	return c
}

// TestCompressKey checks the gadget against gnark-crypto's Bytes() for keys
// of both signs, and that a point and its negation (same Y, other sign bit)
// never share an encoding.
func TestCompressKey(t *testing.T) {
	base := edbn254.GetEdwardsCurve().Base
	signs := map[bool]bool{}
	for s := int64(1); s < 40 && len(signs) < 2 || s < 4; s++ {
		var p, neg edbn254.PointAffine
		p.ScalarMultiplication(&base, big.NewInt(s*7919))
		neg.Neg(&p)
		b := p.Bytes()
		signs[b[31]&0x80 != 0] = true
		if err := test.IsSolved(&compressCircuit{}, compressAssignment(&p, b), ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("[%d]B: %v", s, err)
		}
		if err := test.IsSolved(&compressCircuit{}, compressAssignment(&neg, b), ecc.BN254.ScalarField()); err == nil {
			t.Fatalf("−[%d]B compresses like [%d]B", s, s)
		}
	}
	if len(signs) != 2 {
		t.Fatal("test bug: both sign bits were not exercised")
	}
}

// plusR is a malicious nBits hint: for the input target it returns the bits
// of target + r (the same field element, a second integer), else the honest
// bits.
func plusR(target *big.Int) solver.Hint {
	return func(field *big.Int, in, out []*big.Int) error {
		n := new(big.Int).Set(in[0])
		if n.Cmp(target) == 0 {
			n.Add(n, field)
		}
		for i := range out {
			out[i].SetUint64(uint64(n.Bit(i)))
		}
		return nil
	}
}

// TestCompressKeyCanonical plays a prover whose bit decompositions return
// Y + r or X + r: the compressed bytes of Y + r (or the sign of X + r)
// would be a second encoding of the same key, and the full-width
// decompositions' comparison with r must refuse them.
func TestCompressKeyCanonical(t *testing.T) {
	base := edbn254.GetEdwardsCurve().Base
	r := ecc.BN254.ScalarField()
	room := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 254), r)
	var p edbn254.PointAffine
	var x, y big.Int
	for s := int64(1); ; s++ {
		p.ScalarMultiplication(&base, big.NewInt(s))
		p.X.BigInt(&x)
		p.Y.BigInt(&y)
		if y.Cmp(room) < 0 && x.Cmp(halfR) <= 0 && x.Cmp(room) < 0 {
			break
		}
	}
	nBits := solver.GetHintID(bits.GetHints()[1])
	t.Run("Y + r", func(t *testing.T) {
		enc := new(big.Int).Add(&y, r).FillBytes(make([]byte, 32))
		var b [32]byte
		for i := range b {
			b[i] = enc[31-i]
		}
		w := compressAssignment(&p, b)
		err := test.IsSolved(&compressCircuit{}, w, r, test.WithReplacementHint(nBits, plusR(&y)))
		if err == nil || strings.HasPrefix(err.Error(), "NewHint:") {
			t.Fatalf("want a failed constraint, got %v", err)
		}
	})
	t.Run("X + r flips the sign bit", func(t *testing.T) {
		b := p.Bytes()
		b[31] |= 0x80
		err := test.IsSolved(&compressCircuit{}, compressAssignment(&p, b), r, test.WithReplacementHint(nBits, plusR(&x)))
		if err == nil || strings.HasPrefix(err.Error(), "NewHint:") {
			t.Fatalf("want a failed constraint, got %v", err)
		}
	})
}
