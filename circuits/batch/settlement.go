package batch

import "github.com/aep2/aep2/circuits/internal/gadget"

// Sizes of the packed settlement (README "The settlement's public input").
// Define packs it with gadget.PackSettlement and hashes its first
// HeaderBytes + PairBytes·pairCount bytes with gadget.SettlementHash.
const (
	HeaderBytes = gadget.HeaderBytes
	PairBytes   = 72
)
