package agent

import (
	"github.com/consensys/gnark/frontend"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// pairRecords returns every pair slot's 92-byte settlement record as bits in
// message order (the decompositions range-check its fields) and asserts its
// key is on the curve.
//
// A disabled pair must be all zeros with the identity (0, 1) as its key
// (the prover pads it so): its record is then zero but for the key's bit 0
// (Y = 1), which is masked linearly, so the keccak sees zeros past the
// enabled records, as it requires.
func (c *Circuit) pairRecords(api frontend.API, g *gadgets, pairEnabled []frontend.Variable) [][]frontend.Variable {
	out := make([][]frontend.Variable, len(c.Pairs))
	for j, p := range c.Pairs {
		g.curve.AssertIsOnCurve(p.Key)
		off := api.Sub(1, pairEnabled[j])
		for _, v := range []frontend.Variable{p.KeyID, p.Payee, p.FromNonce, p.ToNonce, p.Total, p.Key.X, api.Sub(p.Key.Y, 1)} {
			api.AssertIsEqual(api.Mul(off, v), 0)
		}
		key := compressKey(api, p.Key)
		key[0] = api.Sub(key[0], off)
		r := beBits(api, p.KeyID, 8)
		r = append(r, key...)
		r = append(r, beBits(api, p.Payee, 20)...)
		r = append(r, beBits(api, p.FromNonce, 8)...)
		r = append(r, beBits(api, p.ToNonce, 8)...)
		out[j] = append(r, beBits(api, p.Total, TotalBytes)...)
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
