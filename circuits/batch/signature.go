package batch

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/math/uints"
	"github.com/consensys/gnark/std/signature/ecdsa"
)

type (
	fp = emulated.Secp256k1Fp
	fr = emulated.Secp256k1Fr
)

// Signature is a secp256k1 ECDSA signature (r, s); the recovery byte v is
// not needed because the public key is part of the witness.
type Signature = ecdsa.Signature[fr]

// halfN is (n-1)/2, the largest s accepted under EIP-2's low-s rule.
var halfN = new(big.Int).Rsh(fr{}.Modulus(), 1)

// secp256k1 bundles the emulated fields and curve used by the gadgets.
type secp256k1 struct {
	fp    *emulated.Field[fp]
	fr    *emulated.Field[fr]
	curve *sw_emulated.Curve[fp, fr]
}

func newSecp256k1(api frontend.API) (*secp256k1, error) {
	fpField, err := emulated.NewField[fp](api)
	if err != nil {
		return nil, fmt.Errorf("secp256k1 base field: %w", err)
	}
	frField, err := emulated.NewField[fr](api)
	if err != nil {
		return nil, fmt.Errorf("secp256k1 scalar field: %w", err)
	}
	curve, err := sw_emulated.New[fp, fr](api, sw_emulated.GetSecp256k1Params())
	if err != nil {
		return nil, fmt.Errorf("secp256k1 curve: %w", err)
	}
	return &secp256k1{fp: fpField, fr: frField, curve: curve}, nil
}

// limbsFromBytesBE packs 32 big-endian bytes (native values) into the four
// little-endian 64-bit limbs of an emulated element; NewElement range-checks
// each limb.
func limbsFromBytesBE(api frontend.API, bs []frontend.Variable) []frontend.Variable {
	limbs := make([]frontend.Variable, 4)
	for l := range limbs {
		acc := frontend.Variable(0)
		for k := 0; k < 8; k++ {
			acc = api.Add(api.Mul(acc, 256), bs[32-8*(l+1)+k])
		}
		limbs[l] = acc
	}
	return limbs
}

// pointFromBytes reads X ‖ Y (64 big-endian bytes, as hashed for the address).
func (s *secp256k1) pointFromBytes(api frontend.API, xy []frontend.Variable) *sw_emulated.AffinePoint[fp] {
	return &sw_emulated.AffinePoint[fp]{
		X: *s.fp.NewElement(limbsFromBytesBE(api, xy[:32])),
		Y: *s.fp.NewElement(limbsFromBytesBE(api, xy[32:])),
	}
}

// pairKey reads a pair's public key from X ‖ Y and asserts that both
// coordinates are below p (one key, one address) and, when on == 1, that the
// point is on the curve; a disabled pair checks the generator instead.
func (s *secp256k1) pairKey(api frontend.API, on frontend.Variable, xy []frontend.Variable) *sw_emulated.AffinePoint[fp] {
	pt := s.pointFromBytes(api, xy)
	s.fp.AssertIsInRange(&pt.X)
	s.fp.AssertIsInRange(&pt.Y)
	s.curve.AssertIsOnCurve(s.curve.Select(on, pt, s.curve.Generator()))
	return pt
}

// digestScalar interprets a 32-byte digest as an integer, reduced mod n by
// the emulated arithmetic, exactly as ECDSA over secp256k1 does.
func (s *secp256k1) digestScalar(api frontend.API, bapi *uints.Bytes, digest []uints.U8) *emulated.Element[fr] {
	vals := make([]frontend.Variable, len(digest))
	for i := range digest {
		vals[i] = bapi.Value(digest[i])
	}
	return s.fr.NewElement(limbsFromBytesBE(api, vals))
}

// assertSignedIf asserts, when enabled == 1, that sig is a low-s ECDSA
// signature of msg by pk with r, s ≠ 0. When enabled == 0 it substitutes a
// fixed point and signature so the gadget solves whatever the slot holds,
// and asserts nothing.
func (s *secp256k1) assertSignedIf(api frontend.API, enabled frontend.Variable, pk *sw_emulated.AffinePoint[fp], msg *emulated.Element[fr], sig *Signature) {
	one := s.fr.One()
	key := ecdsa.PublicKey[fp, fr](*s.curve.Select(enabled, pk, s.curve.Generator()))
	eff := Signature{
		R: *s.fr.Select(enabled, &sig.R, one),
		S: *s.fr.Select(enabled, &sig.S, one),
	}
	s.fr.AssertIsLessOrEqual(&eff.S, s.fr.NewElement(halfN))
	valid := key.IsValid(api, sw_emulated.GetSecp256k1Params(), msg, &eff)
	api.AssertIsEqual(api.Mul(enabled, api.Sub(1, valid)), 0)
}
