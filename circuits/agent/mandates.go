package agent

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// assertMandates checks every enabled slot: its EdDSA signature under its
// pair's key (its challenge continuing the pair's keyStates entry) over the
// Poseidon2 hash that its pair's msgStates entry finishes, its nonce order
// within the pair, its deadline and its ranges.
//
// amount < 2^96 and deadline < 2^64 hold on every slot (the prover pads
// disabled ones with zeros): with nonce < 2^64 they make terms injective.
// An enabled nonce needs no range check of its own: its pair's nonces climb
// from fromNonce to toNonce (both 8 bytes) by steps checked below 2^64, at
// most N of them, so each is an integer between the two. ref is not
// range-checked: it is in no public value, and a signature binds whatever
// ref_hi, ref_lo it was made over.
func (c *Circuit) assertMandates(api frontend.API, g *gadgets, l *gadget.Layout, msgStates, keyStates []frontend.Variable) {
	keysX, keysY := make([]frontend.Variable, len(c.Pairs)), make([]frontend.Variable, len(c.Pairs))
	from, to := make([]frontend.Variable, len(c.Pairs)), make([]frontend.Variable, len(c.Pairs))
	for j, p := range c.Pairs {
		keysX[j], keysY[j], from[j], to[j] = p.Key.X, p.Key.Y, p.FromNonce, p.ToNonce
	}
	prevNonce := frontend.Variable(0)
	for i, m := range c.Mandates {
		sel := l.Sel[i]
		g.rc.Check(m.Amount, AmountBits)
		g.rc.Check(m.Deadline, 64)
		msg := mandateHash(g.perm, gadget.Dot(api, sel, msgStates), terms(api, m.Nonce, m.Deadline, m.Amount), m.RefHi, m.RefLo)
		key := twistededwards.Point{X: gadget.Dot(api, sel, keysX), Y: gadget.Dot(api, sel, keysY)}
		assertSignedIf(g, m.Enabled, m.Sig, msg, key, gadget.Dot(api, sel, keyStates))
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
}
