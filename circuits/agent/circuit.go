package agent

import (
	"fmt"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"
)

// Version names the circuit's statement; it is part of every circuit id, so
// keys made for another version are never reused.
const Version = "v4"

// Limits enforced by the circuit (docs/agent-keys.md).
const (
	AmountBits = 96   // amount < 2^96
	TotalBytes = 16   // uint128 in the packed settlement
	Tag        = 0x41 // tag_token's type byte: "agent mandate", version 1
)

// Circuit proves one settlement of up to N agent mandates over up to P
// (agent key, payee) pairs.
type Circuit struct {
	// PublicInput is uint256(keccak256(packed agent settlement)) mod r.
	PublicInput frontend.Variable `gnark:",public"`

	// DomainSeparator is the EIP-712 domain separator's high and low 128
	// bits: the message's ds_hi and ds_lo.
	DomainSeparator [2]frontend.Variable
	VerifierID      frontend.Variable // uint32
	Token           frontend.Variable // address
	NotAfter        frontend.Variable // uint64

	Pairs    []Pair
	Mandates []Mandate
}

// Pair is one (agent key, payee) record of the settlement.
type Pair struct {
	KeyID     frontend.Variable // uint64
	Payee     frontend.Variable // address
	FromNonce frontend.Variable // uint64
	ToNonce   frontend.Variable // uint64
	Total     frontend.Variable // uint128
	Key       twistededwards.Point
}

// Mandate is one mandate slot. Its key id, payee and token come from its
// pair and the settlement.
type Mandate struct {
	Enabled      frontend.Variable // 1 for a real mandate; enabled slots first
	NewPair      frontend.Variable // 1 if this slot starts the next pair
	Amount       frontend.Variable // 1 ≤ amount < 2^96 when enabled
	Nonce        frontend.Variable // uint64
	Deadline     frontend.Variable // uint64
	RefHi, RefLo frontend.Variable // ref's two 128-bit halves, as signed
	Sig          eddsa.Signature   // S reduced mod ℓ
}

// New returns an empty circuit of N mandate slots and P pair slots, ready
// to compile.
func New(n, p int) *Circuit {
	if n < 1 || p < 1 || p > n {
		panic(fmt.Sprintf("agent: invalid size N=%d P=%d (need 1 ≤ P ≤ N)", n, p))
	}
	return &Circuit{Pairs: make([]Pair, p), Mandates: make([]Mandate, n)}
}

// Define states the settlement (README "The agent family").
func (c *Circuit) Define(api frontend.API) error {
	return c.define(api, true)
}

// define is Define; without hashed it leaves out the public input (its
// keccak dominates a small circuit), so tests of the other rules solve fast.
func (c *Circuit) define(api frontend.API, hashed bool) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	header := c.headerBits(api)
	slots := assertSlotLayout(api, c.Mandates, len(c.Pairs))
	records := c.pairRecords(api, g, slots.PairEnabled)
	c.assertTotals(api, slots)
	prefix := settlementState(g.perm, api, c.DomainSeparator, c.Token)
	msgStates, keyStates := make([]frontend.Variable, len(c.Pairs)), make([]frontend.Variable, len(c.Pairs))
	for j, p := range c.Pairs {
		msgStates[j] = g.perm.Compress(prefix, keyPayee(api, p.KeyID, p.Payee))
		keyStates[j] = keyState(g.perm, p.Key)
	}
	c.assertMandates(api, g, slots, msgStates, keyStates)
	if !hashed {
		return nil
	}
	api.AssertIsEqual(c.PublicInput, settlementHash(api, header, records, slots.PairEnabled))
	return nil
}

// gadgets are the shared helpers a Define needs. None of them adds a Groth16
// commitment: range checks decompose bits, the keccak has no lookup tables,
// so the verifier needs a single pairing check.
type gadgets struct {
	rc    frontend.Rangechecker
	perm  *poseidon2.Permutation
	curve twistededwards.Curve
}

func newGadgets(api frontend.API) (*gadgets, error) {
	perm, err := NewPermutation(api)
	if err != nil {
		return nil, fmt.Errorf("poseidon2: %w", err)
	}
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return nil, fmt.Errorf("baby jubjub: %w", err)
	}
	if cofactor := curve.Params().Cofactor; !cofactor.IsUint64() || cofactor.Uint64() != 8 {
		return nil, fmt.Errorf("baby jubjub: cofactor %s, the signature check needs 8", cofactor)
	}
	return &gadgets{rc: bitRange{api}, perm: perm, curve: curve}, nil
}
