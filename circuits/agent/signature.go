package agent

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/math/cmp"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"
)

// The EdDSA check of docs/agent-keys.md, "The signature": cofactored
// [8]·([S]·B − [h]·A − R) = 0 with the key-prefixed challenge
// h = H(A.X, A.Y, R.X, R.Y, M). gnark's std/signature/eddsa.IsValid makes the
// same check but hashes R before A, so nothing of its five compressions is
// shared between signatures; here a key's two are made once per pair slot
// (keyState) and each mandate slot continues its pair's state with R.X, R.Y
// and M (v4, ~430 constraints fewer per slot).

// keyState is the Poseidon2 Merkle–Damgård state after a key's coordinates,
// the start of every challenge under that key.
func keyState(perm *poseidon2.Permutation, key twistededwards.Point) frontend.Variable {
	return perm.Compress(perm.Compress(0, key.X), key.Y)
}

// assertSignedIf asserts sig is key's EdDSA signature of msg when enabled is
// 1; keyState is keyState(key).
//
// On every slot, enabled or not (a disabled slot is padded with R = (0, 1),
// S = 0): R is on the curve and S < ℓ, so S + ℓ is no second signature. The
// equation's result counts only when enabled. As in gnark's IsValid, [S]B −
// [h]A uses gnark's complete double-scalar multiplication over full-width
// scalars; IsValid's assertion that this point is on the curve is left out,
// since the complete addition law keeps B and the pair's key (asserted on the
// curve per pair slot) on it.
func assertSignedIf(g *gadgets, enabled frontend.Variable, sig eddsa.Signature, msg frontend.Variable, key twistededwards.Point, keyState frontend.Variable) {
	curve := g.curve
	api := curve.API()
	params := curve.Params()
	curve.AssertIsOnCurve(sig.R)
	api.AssertIsEqual(cmp.IsLess(api, sig.S, params.Order), 1)
	h := g.perm.Compress(g.perm.Compress(g.perm.Compress(keyState, sig.R.X), sig.R.Y), msg)
	base := twistededwards.Point{X: params.Base[0], Y: params.Base[1]}
	q := curve.DoubleBaseScalarMul(base, curve.Neg(key), sig.S, h) // [S]B − [h]A
	q = curve.Add(curve.Neg(q), sig.R)
	q = curve.Double(curve.Double(curve.Double(q))) // the cofactor, 8 (newGadgets checks it)
	valid := api.And(api.IsZero(q.X), api.IsZero(api.Sub(q.Y, 1)))
	api.AssertIsEqual(api.Mul(enabled, api.Sub(1, valid)), 0)
}
