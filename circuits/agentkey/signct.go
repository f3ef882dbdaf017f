package agentkey

import (
	"crypto/subtle"
	"math/big"
	"math/bits"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"golang.org/x/crypto/blake2b"
)

// Constant-time signing. gnark-crypto's Sign computes S with math/big and [k]B
// with a table walk that skips zero digits, so its running time depends on the
// secret scalar and nonce. PrivateKey.sign computes the same bytes (the tests hold it to
// gnark-crypto's output) with a fixed sequence of operations: every table entry
// is read for every digit, and S is reduced mod ℓ by a fixed 512-step division.

const (
	combWindow  = 4
	combEntries = 1 << combWindow
	combDigits  = 256 / combWindow
)

// combTable[i][j] = [j·16^i]B, j = 0..15, for the 64 digits of a 256-bit nonce.
var combTable = sync.OnceValue(func() *[combDigits][combEntries]cached {
	var table [combDigits][combEntries]cached
	var base extended
	b := twistededwards.GetEdwardsCurve().Base
	base.fromAffine(&b)
	for i := range table {
		var acc extended
		acc.setIdentity()
		var step cached
		step.fromExtended(&base)
		for j := range table[i] {
			table[i][j].fromExtended(&acc)
			acc.add(&step, false)
		}
		for range combWindow {
			base.double(true)
		}
	}
	return &table
})

// sign is gnark-crypto's deterministic EdDSA: k = blake2b-512(seed ‖ M)[:32] as a
// big-endian integer, R = [k]B, h = H(R.X, R.Y, A.X, A.Y, M), S = (k + h·s) mod ℓ.
func (s *PrivateKey) sign(msg *[32]byte, m *fr.Element) [SignatureSize]byte {
	var input [64]byte
	copy(input[:32], s.seed[:])
	copy(input[32:], msg[:])
	digest := blake2b.Sum512(input[:])
	k := wordsBE((*[32]byte)(digest[:32]))

	var blind fr.Element // unused half of the digest: secret, so it blinds Z's inversion
	blind.SetBytes(digest[32:])
	r := fixedBaseCT(&k, &blind)
	challenge := hashElements(r.X, r.Y, s.public.X, s.public.Y, *m)
	hBytes := challenge.Bytes() // public: a function of R, A and M
	sum := mulAddModOrder(wordsBE(&hBytes), s.scalar, k)

	var out [SignatureSize]byte
	encodedR := r.Bytes()
	copy(out[:32], encodedR[:])
	for i := range 4 {
		for j := range 8 {
			out[32+8*i+j] = byte(sum[3-i] >> (56 - 8*j))
		}
	}
	return out
}

// fixedBaseCT computes [k]B for a secret 256-bit k: one addition per 4-bit digit,
// each reading all 16 entries of its row (the complete addition formulas make the
// identity entry for a zero digit harmless). The result's Z is inverted as
// ρ/(ρZ) with a secret, non-zero ρ, so that the variable-time inversion sees a
// value unrelated to k; without one (nil or zero), as Z^(r−2), fixed-time but
// slower.
func fixedBaseCT(k *[4]uint64, blind *fr.Element) twistededwards.PointAffine {
	table := combTable()
	var p extended
	p.setIdentity()
	for i := range combDigits {
		digit := int((k[i/16] >> (4 * (i % 16))) & 0xf)
		var entry cached
		for j := range combEntries {
			hit := subtle.ConstantTimeEq(int32(j), int32(digit))
			entry.YplusX.Select(hit, &entry.YplusX, &table[i][j].YplusX)
			entry.YminusX.Select(hit, &entry.YminusX, &table[i][j].YminusX)
			entry.T2d.Select(hit, &entry.T2d, &table[i][j].T2d)
			entry.Z2.Select(hit, &entry.Z2, &table[i][j].Z2)
		}
		p.add(&entry, false)
	}
	var zInv fr.Element
	if blind != nil && !blind.IsZero() {
		zInv.Mul(&p.Z, blind).Inverse(&zInv).Mul(&zInv, blind)
	} else {
		zInv.Exp(p.Z, frModulusMinus2)
	}
	var r twistededwards.PointAffine
	r.X.Mul(&p.X, &zInv)
	r.Y.Mul(&p.Y, &zInv)
	return r
}

var frModulusMinus2 = new(big.Int).Sub(fr.Modulus(), big.NewInt(2))

var orderWords = wordsBE(&subgroupOrder)

// mulAddModOrder returns (h·s + k) mod ℓ in constant time.
func mulAddModOrder(h, s, k [4]uint64) [4]uint64 {
	var prod [8]uint64
	for i := range 4 {
		var carry uint64
		for j := range 4 {
			hi, lo := bits.Mul64(h[i], s[j])
			var c uint64
			lo, c = bits.Add64(lo, prod[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			prod[i+j], carry = lo, hi
		}
		prod[i+4] = carry
	}
	var c uint64
	for i := range 8 { // h < 2^254, s < 2^255, k < 2^256: no carry out of 512 bits
		var add uint64
		if i < 4 {
			add = k[i]
		}
		prod[i], c = bits.Add64(prod[i], add, c)
	}
	return reduceModOrder(&prod)
}

// reduceModOrder is x mod ℓ by binary long division: 512 shift-and-conditionally-
// subtract steps, the subtraction chosen by mask, not by branch.
func reduceModOrder(x *[8]uint64) [4]uint64 {
	var rem [4]uint64 // < ℓ < 2^252 between steps, so a shift never overflows
	for i := 511; i >= 0; i-- {
		bit := (x[i/64] >> (i % 64)) & 1
		rem[3] = rem[3]<<1 | rem[2]>>63
		rem[2] = rem[2]<<1 | rem[1]>>63
		rem[1] = rem[1]<<1 | rem[0]>>63
		rem[0] = rem[0]<<1 | bit
		var t [4]uint64
		var borrow uint64
		t[0], borrow = bits.Sub64(rem[0], orderWords[0], 0)
		t[1], borrow = bits.Sub64(rem[1], orderWords[1], borrow)
		t[2], borrow = bits.Sub64(rem[2], orderWords[2], borrow)
		t[3], borrow = bits.Sub64(rem[3], orderWords[3], borrow)
		keep := -borrow // all ones when rem < ℓ
		for w := range 4 {
			rem[w] = rem[w]&keep | t[w]&^keep
		}
	}
	return rem
}
