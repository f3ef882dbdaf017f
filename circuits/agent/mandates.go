package agent

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// assertMandates checks every enabled slot: its EdDSA signature under its
// pair's key over the Poseidon2 hash that its pair's state finishes, its
// nonce order within the pair, its deadline and its ranges.
//
// amount < 2^96 and deadline < 2^64 hold on every slot (the prover pads
// disabled ones with zeros): with nonce < 2^64 they make terms injective.
// An enabled nonce needs no range check of its own: its pair's nonces climb
// from fromNonce to toNonce (both 8 bytes) by steps checked below 2^64, at
// most N of them, so each is an integer between the two. ref is not
// range-checked: it is in no public value, and a signature binds whatever
// ref_hi, ref_lo it was made over.
func (c *Circuit) assertMandates(api frontend.API, g *gadgets, l *gadget.Layout, states []frontend.Variable) error {
	keysX, keysY := make([]frontend.Variable, len(c.Pairs)), make([]frontend.Variable, len(c.Pairs))
	from, to := make([]frontend.Variable, len(c.Pairs)), make([]frontend.Variable, len(c.Pairs))
	for j, p := range c.Pairs {
		keysX[j], keysY[j], from[j], to[j] = p.Key.X, p.Key.Y, p.FromNonce, p.ToNonce
	}
	hasher := hash.NewMerkleDamgardHasher(api, g.perm, 0)
	prevNonce := frontend.Variable(0)
	for i, m := range c.Mandates {
		sel := l.Sel[i]
		g.rc.Check(m.Amount, AmountBits)
		g.rc.Check(m.Deadline, 64)
		msg := mandateHash(g.perm, gadget.Dot(api, sel, states), terms(api, m.Nonce, m.Deadline, m.Amount), m.RefHi, m.RefLo)
		key := twistededwards.Point{X: gadget.Dot(api, sel, keysX), Y: gadget.Dot(api, sel, keysY)}
		if err := assertSignedIf(g.curve, hasher, m.Enabled, m.Sig, msg, key); err != nil {
			return err
		}
		fromNonce := gadget.Dot(api, sel, from)
		floor := fromNonce
		if i > 0 {
			floor = api.Select(m.NewPair, fromNonce, prevNonce)
		}
		gadget.AssertGE(api, g.rc, m.Enabled, m.Nonce, api.Add(floor, 1))
		api.AssertIsEqual(api.Mul(l.Last[i], api.Sub(m.Nonce, gadget.Dot(api, sel, to))), 0)
		gadget.AssertGE(api, g.rc, m.Enabled, m.Deadline, c.NotAfter)
		prevNonce = m.Nonce
	}
	return nil
}

// assertSignedIf asserts sig is key's EdDSA signature of msg when enabled
// is 1. R must be on the curve on every slot (a disabled slot is padded
// with R = (0, 1), S = 0): gnark's IsValid checks [S]B − [h]A but not R.
// IsValid asserts S < ℓ itself, so a disabled slot's S must be below ℓ too.
func assertSignedIf(curve twistededwards.Curve, hasher hash.StateStorer, enabled frontend.Variable, sig eddsa.Signature, msg frontend.Variable, key twistededwards.Point) error {
	api := curve.API()
	curve.AssertIsOnCurve(sig.R)
	hasher.Reset()
	valid, err := eddsa.IsValid(curve, sig, msg, eddsa.PublicKey{A: key}, hasher)
	if err != nil {
		return fmt.Errorf("eddsa: %w", err)
	}
	api.AssertIsEqual(api.Mul(enabled, api.Sub(1, valid)), 0)
	return nil
}
