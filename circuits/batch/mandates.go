package batch

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// pairView is what a slot sees of its pair.
type pairView struct {
	fromNonce, toNonce frontend.Variable
	key                *sw_emulated.AffinePoint[fp]
}

// assertMandates checks every enabled slot: its signature over its EIP-712
// digest, its nonce order within the pair and its deadline.
//
// A slot's payer, payee and token enter its digest through its pair's
// struct state (eip712.go), hashed from the pair's and the settlement's bytes.
func (c *Circuit) assertMandates(api frontend.API, g *gadgets, l *gadget.Layout, ds []uints.U8, states []structState, keys []*sw_emulated.AffinePoint[fp]) {
	prevNonce := frontend.Variable(0)
	for i, m := range c.Mandates {
		pv := c.selectPair(api, g, l.Sel[i], keys)
		structHash := finishStructHash(g.u64, selectStructState(g.bytes, l.Sel[i], states), mandateTail(
			toBytesBE(api, g.bytes, m.Amount, AmountBytes),
			toBytesBE(api, g.bytes, m.Nonce, 8),
			toBytesBE(api, g.bytes, m.Deadline, 8),
			gadget.CheckedBytes(g.bytes, m.Ref[:]),
		))
		digest := mandateDigest(api, ds, structHash)
		g.ec.assertSignedIf(api, m.Enabled, pv.key, g.ec.digestScalar(api, g.bytes, digest), &m.Sig)
		floor := pv.fromNonce
		if i > 0 {
			floor = api.Select(m.NewPair, pv.fromNonce, prevNonce)
		}
		gadget.AssertGE(api, g.rc, m.Enabled, m.Nonce, api.Add(floor, 1))
		api.AssertIsEqual(api.Mul(l.Last[i], api.Sub(m.Nonce, pv.toNonce)), 0)
		gadget.AssertGE(api, g.rc, m.Enabled, m.Deadline, c.NotAfter)
		prevNonce = m.Nonce
	}
}

// selectPair reads the slot's pair through its one-hot selector.
func (c *Circuit) selectPair(api frontend.API, g *gadgets, sel []frontend.Variable, keys []*sw_emulated.AffinePoint[fp]) pairView {
	field := func(get func(Pair) frontend.Variable) frontend.Variable {
		vs := make([]frontend.Variable, len(c.Pairs))
		for j, p := range c.Pairs {
			vs[j] = get(p)
		}
		return gadget.Dot(api, sel, vs)
	}
	coord := func(get func(*sw_emulated.AffinePoint[fp]) *emulated.Element[fp]) emulated.Element[fp] {
		limbs := make([]frontend.Variable, len(get(keys[0]).Limbs))
		for k := range limbs {
			vs := make([]frontend.Variable, len(keys))
			for j := range keys {
				vs[j] = get(keys[j]).Limbs[k]
			}
			limbs[k] = gadget.Dot(api, sel, vs)
		}
		return *g.ec.fp.NewElement(limbs)
	}
	return pairView{
		fromNonce: field(func(p Pair) frontend.Variable { return p.FromNonce }),
		toNonce:   field(func(p Pair) frontend.Variable { return p.ToNonce }),
		key: &sw_emulated.AffinePoint[fp]{
			X: coord(func(k *sw_emulated.AffinePoint[fp]) *emulated.Element[fp] { return &k.X }),
			Y: coord(func(k *sw_emulated.AffinePoint[fp]) *emulated.Element[fp] { return &k.Y }),
		},
	}
}
