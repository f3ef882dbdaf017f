package witness

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/secp256k1"
	"github.com/consensys/gnark-crypto/ecc/secp256k1/fr"

	"github.com/aep2/aep2/circuits/batch"
)

var (
	curveOrder = fr.Modulus()
	halfOrder  = new(big.Int).Rsh(curveOrder, 1)
)

func word(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }

func word64(v uint64) []byte { return word(binary.BigEndian.AppendUint64(nil, v)) }

// StructHash is hashStruct(mandate) for a mandate of pair p under token.
func StructHash(p *Pair, token Address, m *Mandate) [32]byte {
	return batch.Keccak256(batch.MandateTypehash[:], word(p.Payer[:]), word(p.Payee[:]),
		word(token[:]), word(m.Amount.Bytes()), word64(m.Nonce), word64(m.Deadline), m.Ref[:])
}

// Digest is the EIP-712 digest the payer signs.
func Digest(domainSeparator [32]byte, p *Pair, token Address, m *Mandate) [32]byte {
	sh := StructHash(p, token, m)
	return batch.Keccak256([]byte{0x19, 0x01}, domainSeparator[:], sh[:])
}

// AddressOf is the Ethereum address of an uncompressed public key X ‖ Y.
func AddressOf(pub [64]byte) (a Address) {
	h := batch.Keccak256(pub[:])
	copy(a[:], h[12:])
	return a
}

func point(pub [64]byte) (*secp256k1.G1Affine, error) {
	var pt secp256k1.G1Affine
	pt.X.SetBytes(pub[:32])
	pt.Y.SetBytes(pub[32:])
	if new(big.Int).SetBytes(pub[:32]).Cmp(pt.X.BigInt(new(big.Int))) != 0 ||
		new(big.Int).SetBytes(pub[32:]).Cmp(pt.Y.BigInt(new(big.Int))) != 0 || !pt.IsOnCurve() || pt.IsInfinity() {
		return nil, fmt.Errorf("public key is not a point on secp256k1")
	}
	return &pt, nil
}

// VerifyLowS reports whether (r, s) is a low-s ECDSA signature of digest by pub.
func VerifyLowS(pub [64]byte, digest [32]byte, r, s *big.Int) error {
	pt, err := point(pub)
	if err != nil {
		return err
	}
	if r.Sign() <= 0 || r.Cmp(curveOrder) >= 0 || s.Sign() <= 0 || s.Cmp(halfOrder) > 0 {
		return fmt.Errorf("signature out of range (need 0 < r < n, 0 < s ≤ n/2)")
	}
	z := new(big.Int).SetBytes(digest[:])
	w := new(big.Int).ModInverse(s, curveOrder)
	u1 := new(big.Int).Mul(z, w)
	u2 := new(big.Int).Mul(r, w)
	var a, b secp256k1.G1Affine
	a.ScalarMultiplicationBase(u1.Mod(u1, curveOrder))
	b.ScalarMultiplication(pt, u2.Mod(u2, curveOrder))
	a.Add(&a, &b)
	x := a.X.BigInt(new(big.Int))
	if a.IsInfinity() || x.Mod(x, curveOrder).Cmp(r) != 0 {
		return fmt.Errorf("signature does not verify for this public key")
	}
	return nil
}

// PublicKeyOf is X ‖ Y of priv·G.
func PublicKeyOf(priv *big.Int) (out [64]byte) {
	var pt secp256k1.G1Affine
	pt.ScalarMultiplicationBase(priv)
	x, y := pt.X.Bytes(), pt.Y.Bytes()
	copy(out[:32], x[:])
	copy(out[32:], y[:])
	return out
}

// UnsafeSignForTests signs digest with a nonce derived from (priv, digest)
// by SHA-256, normalized to low s. It is for tests and fixtures only: it is
// neither RFC 6979 nor constant time.
func UnsafeSignForTests(priv *big.Int, digest [32]byte) (r, s *big.Int) {
	seed := sha256.Sum256(append(priv.FillBytes(make([]byte, 32)), digest[:]...))
	k := new(big.Int).SetBytes(seed[:])
	k.Mod(k, curveOrder)
	var R secp256k1.G1Affine
	R.ScalarMultiplicationBase(k)
	r = R.X.BigInt(new(big.Int))
	r.Mod(r, curveOrder)
	s = new(big.Int).Mul(r, priv)
	s.Add(s, new(big.Int).SetBytes(digest[:]))
	s.Mul(s, new(big.Int).ModInverse(k, curveOrder))
	s.Mod(s, curveOrder)
	if s.Cmp(halfOrder) > 0 {
		s.Sub(curveOrder, s)
	}
	return r, s
}
