package batch

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// pairRecord is one pair's 72-byte settlement record, field by field.
type pairRecord struct {
	Payer, Payee, FromNonce, ToNonce, Total []uints.U8
}

func (r pairRecord) Bytes() []uints.U8 {
	out := append([]uints.U8{}, r.Payer...)
	out = append(out, r.Payee...)
	out = append(out, r.FromNonce...)
	out = append(out, r.ToNonce...)
	return append(out, r.Total...)
}

// pairBytes decomposes every pair's fields; this also range-checks them.
func (c *Circuit) pairBytes(api frontend.API, g *gadgets) []pairRecord {
	out := make([]pairRecord, len(c.Pairs))
	for j, p := range c.Pairs {
		out[j] = pairRecord{
			Payer:     toBytesBE(api, g.bytes, p.Payer, 20),
			Payee:     toBytesBE(api, g.bytes, p.Payee, 20),
			FromNonce: toBytesBE(api, g.bytes, p.FromNonce, 8),
			ToNonce:   toBytesBE(api, g.bytes, p.ToNonce, 8),
			Total:     toBytesBE(api, g.bytes, p.Total, TotalBytes),
		}
	}
	return out
}

// assertPairs checks, for every enabled pair, that its payer is the address
// of its public key (a point on secp256k1 with canonical coordinates) and
// that its total is the sum of its mandates' amounts. Nonces are checked per
// slot, where the order is known. It returns the pairs' public keys.
func (c *Circuit) assertPairs(api frontend.API, g *gadgets, l *gadget.Layout) []*sw_emulated.AffinePoint[fp] {
	keys := make([]*sw_emulated.AffinePoint[fp], len(c.Pairs))
	amounts := c.enabledAmounts(api)
	for j, p := range c.Pairs {
		on := l.PairEnabled[j]
		key := gadget.CheckedBytes(g.bytes, p.PublicKey[:])
		addr := gadget.FromBytesBE(api, g.bytes, keccak(api, key)[12:])
		api.AssertIsEqual(api.Mul(on, api.Sub(addr, p.Payer)), 0)
		keys[j] = g.ec.pairKey(api, on, values(api, g.bytes, key))
		col := make([]frontend.Variable, len(c.Mandates))
		for i := range c.Mandates {
			col[i] = l.Sel[i][j]
		}
		api.AssertIsEqual(api.Mul(on, api.Sub(p.Total, gadget.Dot(api, col, amounts))), 0)
	}
	return keys
}

// enabledAmounts returns Enabled·Amount per slot and asserts that every
// enabled amount is positive (v3; a zero-amount mandate could otherwise be
// settled to move a pair's nonce without paying).
//
// x = Enabled·Amount + 1 − Enabled must be invertible. Enabled is boolean
// (assertSlotLayout), so x is Amount on an enabled slot and 1 on a disabled
// one: an enabled slot needs Amount ≠ 0 in the field, a disabled slot is
// unconstrained. Every Amount is also the recomposition of 12 range-checked
// bytes (assertMandates), an integer below 2^96 < r, so Amount ≠ 0 mod r means
// 1 ≤ Amount < 2^96 as an integer. One constraint per slot (the inverse); a
// 96-bit range check of Enabled·(Amount − 1) says the same for more.
func (c *Circuit) enabledAmounts(api frontend.API) []frontend.Variable {
	amounts := make([]frontend.Variable, len(c.Mandates))
	for i, m := range c.Mandates {
		amounts[i] = api.Mul(m.Enabled, m.Amount)
		api.AssertIsDifferent(api.Sub(api.Add(amounts[i], 1), m.Enabled), 0)
	}
	return amounts
}

// values are the native values of range-checked bytes.
func values(api frontend.API, bapi *uints.Bytes, bs []uints.U8) []frontend.Variable {
	out := make([]frontend.Variable, len(bs))
	for i := range bs {
		out[i] = bapi.Value(bs[i])
	}
	return out
}
