package agent

import "github.com/consensys/gnark/frontend"

// Unbound is the circuit less its public input's keccak: every rule but the
// binding to the settlement. It exists for tests and measurements (the
// keccak dominates small sizes: ~300k of 318k constraints at N=1); a proof of
// it settles nothing, since its public input is unconstrained.
type Unbound struct{ C Circuit }

// Define is Circuit.Define less the settlement hash.
func (c *Unbound) Define(api frontend.API) error { return c.C.define(api, false) }
