package gadget

import "github.com/consensys/gnark/frontend"

// AssertGE asserts a ≥ b when cond == 1, for a, b < 2^64.
func AssertGE(api frontend.API, rc frontend.Rangechecker, cond, a, b frontend.Variable) {
	rc.Check(api.Mul(cond, api.Sub(a, b)), 64)
}
