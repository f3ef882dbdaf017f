package batch

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/uints"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// Version names the circuit's statement; it is part of every circuit id, so
// keys made for another version are never reused.
const Version = "v3"

// Limits enforced by the circuit (DESIGN.md, "The mandate").
const (
	AmountBytes = 12 // amount < 2^96
	TotalBytes  = 16 // uint128 in the packed settlement
)

// Circuit proves one settlement of up to N mandates over up to P pairs.
type Circuit struct {
	// PublicInput is uint256(keccak256(packed settlement)) mod r.
	PublicInput frontend.Variable `gnark:",public"`

	DomainSeparator [32]uints.U8
	VerifierID      frontend.Variable // uint32
	Token           frontend.Variable // address
	NotAfter        frontend.Variable // uint64

	Pairs    []Pair
	Mandates []Mandate
}

// Pair is one (payer, payee) record of the settlement.
type Pair struct {
	Payer, Payee frontend.Variable // addresses
	FromNonce    frontend.Variable // uint64
	ToNonce      frontend.Variable // uint64
	Total        frontend.Variable // uint128
	PublicKey    [64]uints.U8      // uncompressed secp256k1 key X ‖ Y
}

// Mandate is one mandate slot. Its payer, payee and token come from its pair
// and the settlement.
type Mandate struct {
	Enabled  frontend.Variable // 1 for a real mandate; enabled slots first
	NewPair  frontend.Variable // 1 if this slot starts the next pair
	Amount   frontend.Variable // < 2^96; at least 1 when enabled (v3)
	Nonce    frontend.Variable // uint64
	Deadline frontend.Variable // uint64
	Ref      [32]uints.U8
	Sig      Signature
}

// New returns an empty circuit of N mandate slots and P pair slots, ready
// to compile.
func New(n, p int) *Circuit {
	if n < 1 || p < 1 || p > n {
		panic(fmt.Sprintf("batch: invalid size N=%d P=%d (need 1 ≤ P ≤ N)", n, p))
	}
	return &Circuit{Pairs: make([]Pair, p), Mandates: make([]Mandate, n)}
}

// Define states the settlement (README "The circuit's statement").
func (c *Circuit) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	ds := gadget.CheckedBytes(g.bytes, c.DomainSeparator[:])
	token := toBytesBE(api, g.bytes, c.Token, 20)
	slots := assertSlotLayout(api, c.Mandates, len(c.Pairs))
	pairs := c.pairBytes(api, g)
	keys := c.assertPairs(api, g, slots)
	states := make([]structState, len(pairs))
	for j, r := range pairs {
		states[j] = pairStructState(g.u64, r.Payer, r.Payee, token)
	}
	c.assertMandates(api, g, slots, ds, states, keys)
	packed := gadget.PackSettlement(api, g.bytes, bytesBEHint, ds, c.VerifierID, token, c.NotAfter, pairs)
	api.AssertIsEqual(c.PublicInput, gadget.SettlementHash(api, g.bytes, packed, PairBytes, slots.PairCount))
	return nil
}

// gadgets are the shared helpers a Define needs.
type gadgets struct {
	bytes *uints.Bytes
	u64   *uints.BinaryField[uints.U64]
	ec    *secp256k1
	rc    frontend.Rangechecker
}

func newGadgets(api frontend.API) (*gadgets, error) {
	bapi, err := uints.NewBytes(api)
	if err != nil {
		return nil, fmt.Errorf("bytes api: %w", err)
	}
	u64, err := uints.New[uints.U64](api)
	if err != nil {
		return nil, fmt.Errorf("uint64 api: %w", err)
	}
	ec, err := newSecp256k1(api)
	if err != nil {
		return nil, err
	}
	return &gadgets{bytes: bapi, u64: u64, ec: ec, rc: rangecheck.New(api)}, nil
}
