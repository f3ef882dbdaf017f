package batch

import "github.com/consensys/gnark/frontend"

// slotLayout is what the Enabled/NewPair flags imply about every slot.
type slotLayout struct {
	enabled     []frontend.Variable   // per slot
	newPair     []frontend.Variable   // per slot
	last        []frontend.Variable   // per slot: enabled and the last of its pair
	sel         [][]frontend.Variable // sel[i][j] = 1 iff slot i belongs to pair j
	pairEnabled []frontend.Variable   // per pair
	pairCount   frontend.Variable     // number of enabled pairs
}

// assertSlotLayout constrains the flags (slot 0 enabled and starting pair 0,
// enabled slots a prefix, NewPair only on enabled slots, at most p pairs)
// and derives each slot's pair and each pair's enabled flag.
func assertSlotLayout(api frontend.API, ms []Mandate, p int) *slotLayout {
	n := len(ms)
	l := &slotLayout{
		enabled: make([]frontend.Variable, n), newPair: make([]frontend.Variable, n),
		last: make([]frontend.Variable, n), sel: make([][]frontend.Variable, n),
	}
	api.AssertIsEqual(ms[0].Enabled, 1)
	api.AssertIsEqual(ms[0].NewPair, 1)
	index := frontend.Variable(-1)
	for i, m := range ms {
		api.AssertIsBoolean(m.Enabled)
		api.AssertIsBoolean(m.NewPair)
		if i > 0 {
			api.AssertIsEqual(api.Mul(m.Enabled, api.Sub(1, ms[i-1].Enabled)), 0)
		}
		api.AssertIsEqual(api.Mul(m.NewPair, api.Sub(1, m.Enabled)), 0)
		l.enabled[i], l.newPair[i] = m.Enabled, m.NewPair
		index = api.Add(index, m.NewPair)
		l.sel[i] = oneHot(api, index, p)
		api.AssertIsEqual(api.Mul(m.Enabled, api.Sub(1, sum(api, l.sel[i]))), 0)
	}
	for i := range ms {
		l.last[i] = ms[i].Enabled
		if i+1 < n {
			continues := api.Sub(ms[i+1].Enabled, ms[i+1].NewPair)
			l.last[i] = api.Mul(ms[i].Enabled, api.Sub(1, continues))
		}
	}
	l.pairEnabled = make([]frontend.Variable, p)
	for j := range l.pairEnabled {
		starts := make([]frontend.Variable, n)
		for i := range ms {
			starts[i] = api.Mul(ms[i].NewPair, l.sel[i][j])
		}
		l.pairEnabled[j] = sum(api, starts)
	}
	l.pairCount = sum(api, l.pairEnabled)
	return l
}

// oneHot returns b[j] = (index == j) for j < p; all zero when index ≥ p.
func oneHot(api frontend.API, index frontend.Variable, p int) []frontend.Variable {
	out := make([]frontend.Variable, p)
	for j := range out {
		out[j] = api.IsZero(api.Sub(index, j))
	}
	return out
}

// dot is Σ sel[j]·v[j], the value of the selected pair.
func dot(api frontend.API, sel, v []frontend.Variable) frontend.Variable {
	terms := make([]frontend.Variable, len(sel))
	for j := range sel {
		terms[j] = api.Mul(sel[j], v[j])
	}
	return sum(api, terms)
}

func sum(api frontend.API, vs []frontend.Variable) frontend.Variable {
	acc := frontend.Variable(0)
	for _, v := range vs {
		acc = api.Add(acc, v)
	}
	return acc
}
