package agentkey

import (
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
)

// Arithmetic modulo ℓ, Baby Jubjub's subgroup order, in constant time: the secret
// scalar and the nonce go through it. Montgomery reduction with R = 2^256 replaces
// a bit-by-bit long division (512 steps); every loop has a fixed length and every
// choice is a mask.

var (
	order       = twistededwards.GetEdwardsCurve().Order
	orderWords  = words(&order)
	orderInvNeg = func() uint64 { // −ℓ⁻¹ mod 2^64
		twoTo64 := new(big.Int).Lsh(big.NewInt(1), 64)
		inv := new(big.Int).ModInverse(new(big.Int).SetUint64(orderWords[0]), twoTo64)
		return new(big.Int).Sub(twoTo64, inv).Uint64()
	}()
	orderR  = words(new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 256), &order))
	orderR2 = words(new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 512), &order))
)

// mulWide returns the 512-bit product a·b.
func mulWide(a, b *[4]uint64) (t [8]uint64) {
	for i := range 4 {
		var carry uint64
		for j := range 4 {
			hi, lo := bits.Mul64(a[i], b[j])
			var c uint64
			lo, c = bits.Add64(lo, t[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			t[i+j], carry = lo, hi
		}
		t[i+4] = carry
	}
	return t
}

// addWide sets t = t + u; callers keep the sum below 2^512.
func addWide(t, u *[8]uint64) {
	var c uint64
	for i := range t {
		t[i], c = bits.Add64(t[i], u[i], c)
	}
}

// redcOrder returns t·2^−256 mod ℓ, fully reduced, for t < 2^257·ℓ: the
// Montgomery reduction leaves a value below t/2^256 + ℓ < 3ℓ, and two masked
// subtractions of ℓ bring it below ℓ.
func redcOrder(t [8]uint64) [4]uint64 {
	for i := range 4 {
		m := t[i] * orderInvNeg
		var carry uint64
		for j := range 4 {
			hi, lo := bits.Mul64(m, orderWords[j])
			var c uint64
			lo, c = bits.Add64(lo, t[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			t[i+j], carry = lo, hi
		}
		var c uint64
		t[i+4], c = bits.Add64(t[i+4], carry, 0)
		for j := i + 5; j < 8; j++ { // fixed length: i is a loop counter, not data
			t[j], c = bits.Add64(t[j], 0, c)
		}
	}
	out := [4]uint64(t[4:])
	subOrderIfAbove(&out)
	subOrderIfAbove(&out)
	return out
}

// subOrderIfAbove sets x = x − ℓ if x ≥ ℓ.
func subOrderIfAbove(x *[4]uint64) {
	var t [4]uint64
	var b uint64
	for i := range 4 {
		t[i], b = bits.Sub64(x[i], orderWords[i], b)
	}
	keep := -b // all ones when x < ℓ
	for i := range 4 {
		x[i] = x[i]&keep | t[i]&^keep
	}
}

// modOrder returns k mod ℓ for any 256-bit k.
func modOrder(k *[4]uint64) [4]uint64 {
	return redcOrder(mulWide(k, &orderR))
}

// toMontgomeryOrder returns s·2^256 mod ℓ for any 256-bit s below 2^257: the form
// in which mulAddModOrder takes the secret scalar.
func toMontgomeryOrder(s *[4]uint64) [4]uint64 {
	return redcOrder(mulWide(s, &orderR2))
}

// mulAddModOrder returns (h·s + k) mod ℓ, with s given as toMontgomeryOrder(s),
// h < 2^254 and k any 256-bit value: one reduction of h·sR + k·(2^256 mod ℓ) <
// 2^257·ℓ.
func mulAddModOrder(h, sMont, k *[4]uint64) [4]uint64 {
	t := mulWide(h, sMont)
	u := mulWide(k, &orderR)
	addWide(&t, &u)
	return redcOrder(t)
}
