package agent

import (
	"github.com/consensys/gnark/frontend"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// assertSlotLayout is gadget.AssertSlotLayout over the mandates' Enabled and
// NewPair flags; the rules are the batch family's
// (README "Slot → pair assignment").
func assertSlotLayout(api frontend.API, ms []Mandate, p int) *gadget.Layout {
	enabled, newPair := make([]frontend.Variable, len(ms)), make([]frontend.Variable, len(ms))
	for i, m := range ms {
		enabled[i], newPair[i] = m.Enabled, m.NewPair
	}
	return gadget.AssertSlotLayout(api, enabled, newPair, p)
}
