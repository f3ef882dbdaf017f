package prover

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// edgeScalars covers zero, one, r − 1, every window boundary and random values.
func edgeScalars(t *testing.T, random int) []fr.Element {
	t.Helper()
	var out []fr.Element
	var e fr.Element
	out = append(out, fr.Element{}, fr.One(), *e.SetInt64(-1))
	for bit := range fr.Bits {
		var v fr.Element
		v.Exp(*v.SetUint64(2), big.NewInt(int64(bit)))
		out = append(out, v)
		out = append(out, *new(fr.Element).Sub(&v, new(fr.Element).SetOne()))
	}
	for range random {
		var v fr.Element
		if _, err := v.SetRandom(); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestFixedBaseMatchesScalarMultiplication(t *testing.T) {
	scalars := edgeScalars(t, 200)
	_, _, g1, g2 := bn254.Generators()
	got1, got2 := fixedBaseG1(&g1, scalars), fixedBaseG2(&g2, scalars)
	for i := range scalars {
		var s big.Int
		scalars[i].BigInt(&s)
		var want1 bn254.G1Affine
		var want2 bn254.G2Affine
		want1.ScalarMultiplication(&g1, &s)
		want2.ScalarMultiplication(&g2, &s)
		if !got1[i].Equal(&want1) {
			t.Fatalf("G1: scalar %s: comb result differs", s.String())
		}
		if !got2[i].Equal(&want2) {
			t.Fatalf("G2: scalar %s: comb result differs", s.String())
		}
	}
}

func TestFixedBaseWindowWidths(t *testing.T) {
	// Every width the setup may pick computes the same points.
	scalars := edgeScalars(t, 20)
	_, _, g1, _ := bn254.Generators()
	want := fixedBaseG1(&g1, scalars)
	for _, c := range []uint64{4, 7, 11, 16} {
		w, size := windows(c), uint64(1)<<c-1
		table := g1Table(&g1, w, size)
		for i := range scalars {
			bits := scalars[i].Bits()
			var p bn254.G1Jac
			for k := uint64(0); k < w; k++ {
				if d := digit(&bits, k*c, c); d != 0 {
					p.AddMixed(&table[k*size+d-1])
				}
			}
			var got bn254.G1Affine
			got.FromJacobian(&p)
			if !got.Equal(&want[i]) {
				t.Fatalf("c=%d scalar %d differs", c, i)
			}
		}
	}
	if c := combWindow(1); c != 4 {
		t.Errorf("one scalar: window %d, want the smallest table (4)", c)
	}
	if c := combWindow(4_000_000); c != 16 {
		t.Errorf("4M scalars: window %d, want 16", c)
	}
}
