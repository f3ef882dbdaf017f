// Package agent is the aep2 settlement circuit for agent mandates: one
// Groth16/BN254 proof that a batch of mandates signed with agent keys (EdDSA
// on Baby Jubjub over a Poseidon2 hash, docs/agent-keys.md) is validly
// signed, correctly summed per (agent key, payee) pair, and bound to a packed
// settlement by its single public input.
//
// The slot layout is the batch family's (circuits/batch): N mandate slots
// with Enabled and NewPair flags, enabled slots first and grouped by pair,
// P pair slots of which the enabled ones are a prefix. A mandate's key id,
// payee and token are not witnessed per slot: they enter its Poseidon2 hash
// through its pair's and the settlement's state, so a signature verifies
// only if the signed mandate carries exactly those values.
//
// See circuits/README.md ("The agent family") for the statement, the packing
// of the public input and the cost of each part.
package agent
