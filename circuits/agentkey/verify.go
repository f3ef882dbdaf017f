package agentkey

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
)

// The joint ladder splits each scalar into sixteen 16-bit limbs, k = Σ k_j·2^(16j),
// and adds thirty-two multiples, Σ [s_j]B_j − Σ [h_j]A_j with B_j = [2^(16j)]B and
// A_j = [2^(16j)]A: sixteen doublings in all, the price being tables for the B_j
// (built once, 192 KiB) and the A_j (built once per key, then cached), each
// entry an affine addend (7 multiplications to add instead of 8). Window widths:
// 128 odd multiples per base point, 32 per key point. Measured for [S]B − [h]A,
// same run: eight 32-bit limbs with projective entries 41.8 µs, sixteen 16-bit
// limbs with affine entries 29.8 µs; windows (base, key) 8/6 33.3, 9/7 29.8,
// 9/8 27.9 (twice the memory per key), 10/8 27.7.
const (
	baseWindow = 9
	keyWindow  = 7
	limbBits   = 16
	limbs      = 256 / limbBits
)

// baseTables holds the odd multiples of each B_j.
var baseTables = sync.OnceValue(func() [limbs][]affineAddend {
	b := twistededwards.GetEdwardsCurve().Base
	return limbTables(&b, baseWindow)
})

// limbTables returns the odd multiples [1], [3], …, [2^(w−1) − 1] of each
// [2^(16j)]p, j = 0..15, for a w-bit window, with one batched inversion.
func limbTables(p *twistededwards.PointAffine, w uint) [limbs][]affineAddend {
	n := 1 << (w - 2)
	points := make([]extended, 0, limbs*n)
	var limbBase extended
	limbBase.fromAffine(p)
	for range limbs {
		twice := limbBase
		twice.double(true)
		var step cached
		step.fromExtended(&twice)
		cur := limbBase
		for range n {
			points = append(points, cur)
			cur.add(&step, false)
		}
		for range limbBits {
			limbBase.double(true)
		}
	}
	addends := toAffineAddends(points)
	var out [limbs][]affineAddend
	for j := range out {
		out[j] = addends[j*n : (j+1)*n : (j+1)*n]
	}
	return out
}

// publicKey is a decoded, validated key with its odd-multiples tables (48 KiB) and
// the hash state its challenges start from.
type publicKey struct {
	point          twistededwards.PointAffine
	tables         [limbs][]affineAddend
	challengeState fr.Element
}

// keyCache keeps decoded keys: a payee sees the same few agent keys on every call,
// and decompression, the subgroup check and the tables cost more than a verification
// (the challenge's key state, two compressions, is kept with them).
var keyCache = struct {
	sync.RWMutex
	keys map[[PublicKeySize]byte]*publicKey
}{keys: make(map[[PublicKeySize]byte]*publicKey)}

const keyCacheLimit = 256 // 12 MiB at most

func lookupKey(b []byte) (*publicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrPublicKey, len(b), PublicKeySize)
	}
	id := [PublicKeySize]byte(b)
	keyCache.RLock()
	key, ok := keyCache.keys[id]
	keyCache.RUnlock()
	if ok {
		return key, nil
	}
	point, err := ParsePublicKey(b)
	if err != nil {
		return nil, err
	}
	key = &publicKey{point: point, tables: limbTables(&point, keyWindow), challengeState: keyState(&point)}
	keyCache.Lock()
	if len(keyCache.keys) >= keyCacheLimit {
		clear(keyCache.keys) // simpler than an LRU; refilling costs one decode per key
	}
	keyCache.keys[id] = key
	keyCache.Unlock()
	return key, nil
}

// Verify reports whether sig is the key's signature of msg (a mandate's Hash). It
// accepts exactly what gnark-crypto's PublicKey.Verify accepts with
// NewChallengeHasher (the key-prefixed challenge). A malformed key, message or signature is an error
// (ErrPublicKey, ErrMessage, ErrSignature); a well-formed wrong signature is
// (false, nil).
//
// gnark-crypto checks that R is in the prime-order subgroup and that
// [8][S]B = [8](R + [h]A). Verify checks [S]B − [h]A = R instead, which is
// equivalent and spares the subgroup test on R: the left side is in the subgroup
// (A is, checked when the key is decoded), so equality puts R there; and in the
// subgroup, whose order is odd, multiplying by 8 is a bijection. An R outside the
// subgroup is therefore (false, nil) here where gnark-crypto returns an error.
func Verify(pub []byte, msg [32]byte, sig []byte) (bool, error) {
	key, err := lookupKey(pub)
	if err != nil {
		return false, err
	}
	var m fr.Element
	if err := m.SetBytesCanonical(msg[:]); err != nil {
		return false, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	r, s, err := decodeSignature(sig)
	if err != nil {
		return false, err
	}
	hElement := challenge(key.challengeState, &r, &m)
	hBytes := hElement.Bytes()
	p := doubleScalarMul(wordsBE(&s), wordsBE(&hBytes), &key.tables)
	return p.equalsAffine(&r.X, &r.Y), nil
}

// VerifyMandate verifies sig over m's Hash.
func VerifyMandate(pub []byte, m *Mandate, sig []byte) (bool, error) {
	if err := m.Validate(); err != nil {
		return false, err
	}
	return Verify(pub, m.Hash(), sig)
}

// subgroupOrder is ℓ as 32 big-endian bytes, the bound on S.
var subgroupOrder = func() (b [32]byte) {
	order := twistededwards.GetEdwardsCurve().Order
	order.FillBytes(b[:])
	return b
}()

// decodeSignature applies gnark-crypto's Signature.SetBytes rules (64 bytes; R's Y
// non-zero and below r, R on the curve; 0 < S < ℓ) except the subgroup test on R,
// which Verify's equation makes redundant.
func decodeSignature(sig []byte) (r twistededwards.PointAffine, s [32]byte, err error) {
	if len(sig) != SignatureSize {
		return r, s, fmt.Errorf("%w: %d bytes, want %d", ErrSignature, len(sig), SignatureSize)
	}
	if !canonicalY(sig[:32]) || isZeroY(sig[:32]) {
		return r, s, fmt.Errorf("%w: R's Y is zero or not below the field modulus", ErrSignature)
	}
	s = [32]byte(sig[32:])
	if s == [32]byte{} || bytes.Compare(s[:], subgroupOrder[:]) >= 0 {
		return r, s, fmt.Errorf("%w: S is zero or not below the subgroup order", ErrSignature)
	}
	if _, err := r.SetBytes(sig[:32]); err != nil || !r.IsOnCurve() {
		return r, s, fmt.Errorf("%w: R is not on the curve", ErrSignature)
	}
	return r, s, nil
}

func isZeroY(b []byte) bool {
	for i := range 31 {
		if b[i] != 0 {
			return false
		}
	}
	return b[31]&0x7f == 0
}

// doubleScalarMul computes [s]B − [h]A with one shared chain of 16 doublings
// (Straus over the thirty-two 16-bit limbs, each in wNAF).
func doubleScalarMul(s, h [4]uint64, keyTables *[limbs][]affineAddend) extended {
	base := baseTables()
	var digits [2 * limbs][limbDigits]int16
	var tables [2 * limbs][]affineAddend
	top := -1
	for j := range limbs {
		digits[j] = wnafLimb(limb(&s, j), baseWindow)
		tables[j] = base[j]
		digits[limbs+j] = wnafLimb(limb(&h, j), keyWindow)
		tables[limbs+j] = keyTables[j]
	}
	var active [limbDigits]bool
	for j := range digits {
		for i, d := range digits[j] {
			if d != 0 {
				active[i] = true
				top = max(top, i)
			}
		}
	}
	var p extended
	p.setIdentity()
	for i := top; i >= 0; i-- {
		if i != top {
			p.double(active[i])
		}
		for j := range digits {
			negate := j >= limbs // subtracting [h]A
			if d := digits[j][i]; d > 0 {
				p.addAffineVar(&tables[j][d>>1], negate)
			} else if d < 0 {
				p.addAffineVar(&tables[j][(-d)>>1], !negate)
			}
		}
	}
	return p
}

// limb is the j-th limbBits-bit limb of k.
func limb(k *[4]uint64, j int) uint64 {
	bit := j * limbBits
	return (k[bit/64] >> (bit % 64)) & (1<<limbBits - 1)
}
