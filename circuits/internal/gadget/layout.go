package gadget

import "github.com/consensys/gnark/frontend"

// Layout is what the Enabled/NewPair flags imply about every slot.
type Layout struct {
	Last        []frontend.Variable   // per slot: enabled and the last of its pair
	Sel         [][]frontend.Variable // Sel[i][j] = 1 iff slot i belongs to pair j
	PairEnabled []frontend.Variable   // per pair
	PairCount   frontend.Variable     // number of enabled pairs
}

// AssertSlotLayout constrains the per-slot flags (slot 0 enabled and
// starting pair 0, enabled slots a prefix, NewPair only on enabled slots, at
// most p pairs) and derives each slot's pair and each pair's enabled flag.
func AssertSlotLayout(api frontend.API, enabled, newPair []frontend.Variable, p int) *Layout {
	n := len(enabled)
	l := &Layout{Last: make([]frontend.Variable, n), Sel: make([][]frontend.Variable, n)}
	api.AssertIsEqual(enabled[0], 1)
	api.AssertIsEqual(newPair[0], 1)
	index := frontend.Variable(-1)
	for i := range enabled {
		api.AssertIsBoolean(enabled[i])
		api.AssertIsBoolean(newPair[i])
		if i > 0 {
			api.AssertIsEqual(api.Mul(enabled[i], api.Sub(1, enabled[i-1])), 0)
		}
		api.AssertIsEqual(api.Mul(newPair[i], api.Sub(1, enabled[i])), 0)
		index = api.Add(index, newPair[i])
		l.Sel[i] = OneHot(api, index, p)
		api.AssertIsEqual(api.Mul(enabled[i], api.Sub(1, Sum(api, l.Sel[i]))), 0)
	}
	for i := range enabled {
		l.Last[i] = enabled[i]
		if i+1 < n {
			continues := api.Sub(enabled[i+1], newPair[i+1])
			l.Last[i] = api.Mul(enabled[i], api.Sub(1, continues))
		}
	}
	l.PairEnabled = make([]frontend.Variable, p)
	for j := range l.PairEnabled {
		starts := make([]frontend.Variable, n)
		for i := range enabled {
			starts[i] = api.Mul(newPair[i], l.Sel[i][j])
		}
		l.PairEnabled[j] = Sum(api, starts)
	}
	l.PairCount = Sum(api, l.PairEnabled)
	return l
}

// OneHot returns b[j] = (index == j) for j < p; all zero when index ≥ p.
func OneHot(api frontend.API, index frontend.Variable, p int) []frontend.Variable {
	out := make([]frontend.Variable, p)
	for j := range out {
		out[j] = api.IsZero(api.Sub(index, j))
	}
	return out
}

// Dot is Σ sel[j]·v[j], the value of the selected pair.
func Dot(api frontend.API, sel, v []frontend.Variable) frontend.Variable {
	terms := make([]frontend.Variable, len(sel))
	for j := range sel {
		terms[j] = api.Mul(sel[j], v[j])
	}
	return Sum(api, terms)
}

// Sum is Σ vs[i].
func Sum(api frontend.API, vs []frontend.Variable) frontend.Variable {
	acc := frontend.Variable(0)
	for _, v := range vs {
		acc = api.Add(acc, v)
	}
	return acc
}
