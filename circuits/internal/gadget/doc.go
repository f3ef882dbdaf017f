// Package gadget holds the in-circuit helpers both circuit families (batch
// and agent) build on: big-endian byte decomposition and recomposition, the
// Enabled/NewPair slot layout (README "Slot → pair assignment") and the
// keccak of the packed settlement reduced mod r. Each is a free function
// taking the frontend.API, so it adds exactly the constraints it did when
// each family kept its own copy.
package gadget
