package agentkey

import (
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Branch-free arithmetic modulo r on fr.Element's (Montgomery-form) words.
// gnark-crypto's Add, Sub, Double and Neg end on a branch that depends on the
// value: secret-dependent inside signing, and mispredicted about half the time
// anywhere, which costs Poseidon2 measurably. These select with masks instead,
// and let sums of up to four reduced values (< 4r < 2^256) stay unreduced until one
// final reduce4.

var (
	modulus  = words(fr.Modulus())
	modulus2 = words(new(big.Int).Lsh(fr.Modulus(), 1))
)

// moduli is r then 2r, as the assembly reads them.
var moduli = [8]uint64{
	modulus[0], modulus[1], modulus[2], modulus[3],
	modulus2[0], modulus2[1], modulus2[2], modulus2[3],
}

func words(x *big.Int) (w [4]uint64) {
	for i := range w {
		w[i] = new(big.Int).Rsh(x, uint(64*i)).Uint64()
	}
	return w
}

// condSub sets z = z − m if z ≥ m.
func condSub(z *fr.Element, m *[4]uint64) {
	z0, z1, z2, z3 := z[0], z[1], z[2], z[3]
	t0, b := bits.Sub64(z0, m[0], 0)
	t1, b := bits.Sub64(z1, m[1], b)
	t2, b := bits.Sub64(z2, m[2], b)
	t3, b := bits.Sub64(z3, m[3], b)
	keep := -b // all ones when z < m
	z[0] = z0&keep | t0&^keep
	z[1] = z1&keep | t1&^keep
	z[2] = z2&keep | t2&^keep
	z[3] = z3&keep | t3&^keep
}

// rawAdd sets z = x + y without reduction; callers keep the sum below 2^256.
func rawAdd(z, x, y *fr.Element) {
	var c uint64
	z[0], c = bits.Add64(x[0], y[0], 0)
	z[1], c = bits.Add64(x[1], y[1], c)
	z[2], c = bits.Add64(x[2], y[2], c)
	z[3], _ = bits.Add64(x[3], y[3], c)
}

// reduce4 reduces z < 4r into [0, r).
func reduce4(z *fr.Element) {
	condSub(z, &modulus2)
	condSub(z, &modulus)
}

// addMod sets z = x + y mod r.
func addMod(z, x, y *fr.Element) {
	s0, c := bits.Add64(x[0], y[0], 0)
	s1, c := bits.Add64(x[1], y[1], c)
	s2, c := bits.Add64(x[2], y[2], c)
	s3, _ := bits.Add64(x[3], y[3], c)
	t0, b := bits.Sub64(s0, modulus[0], 0)
	t1, b := bits.Sub64(s1, modulus[1], b)
	t2, b := bits.Sub64(s2, modulus[2], b)
	t3, b := bits.Sub64(s3, modulus[3], b)
	keep := -b // all ones when the sum is below r
	z[0] = s0&keep | t0&^keep
	z[1] = s1&keep | t1&^keep
	z[2] = s2&keep | t2&^keep
	z[3] = s3&keep | t3&^keep
}

// subMod sets z = x − y mod r.
func subMod(z, x, y *fr.Element) {
	d0, b := bits.Sub64(x[0], y[0], 0)
	d1, b := bits.Sub64(x[1], y[1], b)
	d2, b := bits.Sub64(x[2], y[2], b)
	d3, b := bits.Sub64(x[3], y[3], b)
	mask := -b // all ones when x < y: add r back
	d0, c := bits.Add64(d0, modulus[0]&mask, 0)
	d1, c = bits.Add64(d1, modulus[1]&mask, c)
	d2, c = bits.Add64(d2, modulus[2]&mask, c)
	d3, _ = bits.Add64(d3, modulus[3]&mask, c)
	z[0], z[1], z[2], z[3] = d0, d1, d2, d3
}

// negMod sets z = −x mod r.
func negMod(z, x *fr.Element) {
	var zero fr.Element
	subMod(z, &zero, x)
}
