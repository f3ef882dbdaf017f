package agentkey

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"golang.org/x/crypto/blake2b"
)

// Sizes of the encodings in docs/agent-keys.md.
const (
	PrivateKeySize = 96 // compressed public key ‖ secret scalar (BE) ‖ nonce seed
	PublicKeySize  = 32 // Y little-endian, top bit: X lexicographically largest
	SignatureSize  = 64 // R compressed ‖ S big-endian
	SeedSize       = 32 // entropy GenerateKey reads
)

// Errors callers tell apart (the C ABI maps each to a status code).
var (
	ErrPrivateKey = errors.New("agentkey: malformed private key")
	ErrPublicKey  = errors.New("agentkey: malformed public key")
	ErrSignature  = errors.New("agentkey: malformed signature")
	ErrMessage    = errors.New("agentkey: message is not a canonical field element")
)

// PrivateKey is gnark-crypto's eddsa.PrivateKey in its parts: the public key, the
// secret scalar (big-endian in the 96-byte form, pruned as in RFC 8032, not reduced
// mod ℓ) and the nonce seed. It is this package's own type so that generating,
// parsing and signing never pass the secrets through math/big (see signct.go).
type PrivateKey struct {
	public  twistededwards.PointAffine
	encoded [PublicKeySize]byte
	scalar  [4]uint64 // little-endian words
	seed    [32]byte

	scalarMont     [4]uint64  // scalar·2^256 mod ℓ, the form signing multiplies by
	challengeState fr.Element // keyState(public): every challenge starts from it
}

// GenerateKey derives a key from SeedSize bytes of r exactly as gnark-crypto's
// eddsa.GenerateKey does: blake2b-512 of the seed, whose first half, pruned and
// read little-endian, is the scalar and whose second half is the nonce seed. The
// seed is read in full first: gnark-crypto issues one Read, which a short read
// would leave partly zero.
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	var seed [SeedSize]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("agentkey: reading the key seed: %w", err)
	}
	h := blake2b.Sum512(seed[:])
	h[0] &= 0xf8
	h[31] &= 0x7f
	h[31] |= 0x40
	var priv PrivateKey
	for i := range 4 { // little-endian bytes to little-endian words
		for j := 7; j >= 0; j-- {
			priv.scalar[i] = priv.scalar[i]<<8 | uint64(h[8*i+j])
		}
	}
	copy(priv.seed[:], h[32:])
	priv.scalarMont = toMontgomeryOrder(&priv.scalar)
	priv.public = fixedBaseCT(&priv.scalar, nil) // once per key: the fixed-time inversion
	priv.encoded = priv.public.Bytes()
	priv.challengeState = keyState(&priv.public)
	return &priv, nil
}

// ParsePrivateKey decodes the 96-byte form with gnark-crypto's PrivateKey.SetBytes
// rules: a canonical public key of the prime-order subgroup, a pruned scalar, and
// the public key equal to [scalar]B.
func ParsePrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrPrivateKey, len(b), PrivateKeySize)
	}
	public, err := ParsePublicKey(b[:PublicKeySize])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrivateKey, err)
	}
	scalar := b[PublicKeySize : 2*PublicKeySize]
	if scalar[31]&0x07 != 0 || scalar[0]&0x80 != 0 || scalar[0]&0x40 == 0 {
		return nil, fmt.Errorf("%w: the scalar is not pruned", ErrPrivateKey)
	}
	priv := PrivateKey{public: public, scalar: wordsBE((*[32]byte)(scalar))}
	copy(priv.encoded[:], b[:PublicKeySize])
	copy(priv.seed[:], b[2*PublicKeySize:])
	priv.scalarMont = toMontgomeryOrder(&priv.scalar)
	derived := fixedBaseCT(&priv.scalar, nil)
	if !derived.Equal(&public) {
		return nil, fmt.Errorf("%w: the public key does not match the scalar", ErrPrivateKey)
	}
	priv.challengeState = keyState(&public)
	return &priv, nil
}

// Bytes is the 96-byte form: compressed public key ‖ scalar (big-endian) ‖ nonce seed.
func (priv *PrivateKey) Bytes() []byte {
	out := make([]byte, 0, PrivateKeySize)
	out = append(out, priv.encoded[:]...)
	for i := 3; i >= 0; i-- {
		out = binary.BigEndian.AppendUint64(out, priv.scalar[i])
	}
	return append(out, priv.seed[:]...)
}

// PublicKeyBytes is the compressed public key of priv.
func PublicKeyBytes(priv *PrivateKey) [PublicKeySize]byte {
	return priv.encoded
}

// ParsePublicKey decompresses a public key: a canonical encoding (Y < r; gnark-crypto
// itself would reduce a larger Y silently, giving one point two encodings) of a
// point in the prime-order subgroup other than the identity.
func ParsePublicKey(b []byte) (twistededwards.PointAffine, error) {
	var p twistededwards.PointAffine
	if len(b) != PublicKeySize {
		return p, fmt.Errorf("%w: %d bytes, want %d", ErrPublicKey, len(b), PublicKeySize)
	}
	if !canonicalY(b) {
		return p, fmt.Errorf("%w: Y is not below the field modulus", ErrPublicKey)
	}
	var pub eddsa.PublicKey
	if _, err := pub.SetBytes(b); err != nil {
		return p, fmt.Errorf("%w: %w", ErrPublicKey, err)
	}
	return pub.A, nil
}

// canonicalY reports whether a compressed point's Y (little-endian, top bit masked)
// is below r.
func canonicalY(b []byte) bool {
	var be [32]byte
	for i := range be {
		be[i] = b[31-i]
	}
	be[0] &= 0x7f
	var y fr.Element
	return y.SetBytesCanonical(be[:]) == nil
}
