package agent

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// pairRecord is one pair's 92-byte settlement record, field by field.
type pairRecord struct {
	KeyID, Key, Payee, FromNonce, ToNonce, Total []uints.U8
}

func (r pairRecord) Bytes() []uints.U8 {
	var out []uints.U8
	for _, f := range [][]uints.U8{r.KeyID, r.Key, r.Payee, r.FromNonce, r.ToNonce, r.Total} {
		out = append(out, f...)
	}
	return out
}

// pairRecords decomposes every pair's fields (which range-checks them),
// asserts its key is on the curve and compresses it. Disabled pairs are
// padded with the identity (0, 1), on the curve, so this holds for all.
func (c *Circuit) pairRecords(api frontend.API, g *gadgets) []pairRecord {
	out := make([]pairRecord, len(c.Pairs))
	for j, p := range c.Pairs {
		g.curve.AssertIsOnCurve(p.Key)
		out[j] = pairRecord{
			KeyID:     toBytesBE(api, g.bytes, p.KeyID, 8),
			Key:       compressKey(api, g.bytes, p.Key),
			Payee:     toBytesBE(api, g.bytes, p.Payee, 20),
			FromNonce: toBytesBE(api, g.bytes, p.FromNonce, 8),
			ToNonce:   toBytesBE(api, g.bytes, p.ToNonce, 8),
			Total:     toBytesBE(api, g.bytes, p.Total, TotalBytes),
		}
	}
	return out
}

// assertTotals checks every enabled pair's total is the sum of its slots'
// amounts, and every enabled amount is at least 1 (as the batch family's
// v3: Enabled·Amount + 1 − Enabled is invertible, so an enabled slot needs
// Amount ≠ 0, which with its 96-bit range check is 1 ≤ Amount < 2^96).
func (c *Circuit) assertTotals(api frontend.API, l *gadget.Layout) {
	amounts := make([]frontend.Variable, len(c.Mandates))
	for i, m := range c.Mandates {
		amounts[i] = api.Mul(m.Enabled, m.Amount)
		api.AssertIsDifferent(api.Sub(api.Add(amounts[i], 1), m.Enabled), 0)
	}
	for j, p := range c.Pairs {
		col := make([]frontend.Variable, len(c.Mandates))
		for i := range c.Mandates {
			col[i] = l.Sel[i][j]
		}
		api.AssertIsEqual(api.Mul(l.PairEnabled[j], api.Sub(p.Total, gadget.Dot(api, col, amounts))), 0)
	}
}
