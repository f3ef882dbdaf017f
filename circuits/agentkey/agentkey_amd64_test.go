//go:build !purego

package agentkey

import (
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// The S-box's lazy squaring and multiplication take inputs below 2r, not r, and
// leave results below 2r; their bounds rest on r < 2^254 (5r < 2^256 for the
// squaring). Held to math/big on the edges of [0, 2r) and random inputs in it.
func TestLazyMontgomeryMatchesBigInt(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(29, 30))
	r := fr.Modulus()
	twoR := new(big.Int).Lsh(r, 1)
	rInv := new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), 256), r) // 2^−256 mod r
	below2R := func() [4]uint64 {
		x := bigWords([]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()})
		return [4]uint64(words(x.Mod(x, twoR)))
	}
	edge := func(x *big.Int) [4]uint64 { return [4]uint64(words(x)) }
	one := big.NewInt(1)
	edges := [][4]uint64{
		{}, {1}, edge(new(big.Int).Sub(r, one)), edge(r), edge(new(big.Int).Add(r, one)),
		edge(new(big.Int).Sub(twoR, one)), edge(new(big.Int).Sub(twoR, big.NewInt(2))),
		{^uint64(0), ^uint64(0), ^uint64(0), modulus2[3] - 1},
	}
	check := func(what string, got, x, y [4]uint64) {
		t.Helper()
		g := bigWords(got[:])
		want := new(big.Int).Mul(bigWords(x[:]), bigWords(y[:]))
		want.Mul(want, rInv).Mod(want, r)
		if g.Cmp(twoR) >= 0 || new(big.Int).Mod(g, r).Cmp(want) != 0 {
			t.Fatalf("%s(%x, %x) = %x, want %s below 2r", what, x, y, got, want)
		}
	}
	for i := range 20_000 {
		x, y := below2R(), below2R()
		if i < len(edges)*len(edges) {
			x, y = edges[i%len(edges)], edges[i/len(edges)]
		}
		var sq, mul [4]uint64
		squareLazyADX(&sq, &x, &moduli)
		check("square", sq, x, x)
		mulLazyADX(&mul, &x, &y, &moduli)
		check("mul", mul, x, y)
	}
}
