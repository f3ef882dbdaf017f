// Package batch is the aep2 settlement circuit: one Groth16/BN254 proof that a
// batch of EIP-712 payment mandates is validly signed, correctly summed per
// (payer, payee) pair, and bound to a packed settlement by its single public
// input.
//
// A circuit has N mandate slots and P pair slots. Enabled mandate slots come
// first and are grouped by pair: slot i carries an Enabled flag and a NewPair
// flag; the pair index of slot i is the number of NewPair flags in slots
// 1..i (slot 0 always starts pair 0). Pair j is enabled iff some slot starts
// it, so enabled pairs are a prefix of the pair slots, in the order their
// mandates appear. A mandate's payer, payee and token are not witnessed per
// slot: they are taken from its pair and from the settlement when its EIP-712
// digest is computed, so a signature only verifies if the signed mandate
// carries exactly those values.
//
// See circuits/README.md for the statement, the packing of the public input
// and the cost of each part.
package batch
