// Package witness turns a prove request (a settlement and its signed
// mandates, as JSON) into a circuit assignment: it parses and validates the
// request, orders the mandates into slots and computes the public input
// natively, byte for byte as the escrow does.
package witness
