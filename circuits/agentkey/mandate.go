package agentkey

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// MandateSize is the length of a mandate's fixed binary form (see ParseMandate).
const MandateSize = 32 + 8 + 20 + 20 + 12 + 8 + 8 + 32

// tagAgentMandateV1 is the kind tag in element 3: "agent mandate", version 1.
const tagAgentMandateV1 = 0x41

// ErrMandate reports a mandate field outside its range.
var ErrMandate = errors.New("agentkey: invalid mandate")

// Mandate is an agent mandate with the EIP-712 domain separator it is signed under.
// Amount is a 96-bit big-endian integer, so every value it can hold is in range
// except zero.
type Mandate struct {
	DomainSeparator [32]byte
	KeyID           uint64
	Payee           [20]byte
	Token           [20]byte
	Amount          [12]byte
	Nonce           uint64
	Deadline        uint64
	Ref             [32]byte
}

// ParseMandate reads the fixed binary form the C ABI uses: domainSeparator(32) ‖
// keyId(8) ‖ payee(20) ‖ token(20) ‖ amount(12) ‖ nonce(8) ‖ deadline(8) ‖ ref(32),
// big-endian integers. It validates ranges (keyId, nonce and amount ≥ 1).
func ParseMandate(b []byte) (Mandate, error) {
	var m Mandate
	if len(b) != MandateSize {
		return m, fmt.Errorf("%w: %d bytes, want %d", ErrMandate, len(b), MandateSize)
	}
	b = b[copy(m.DomainSeparator[:], b):]
	m.KeyID, b = binary.BigEndian.Uint64(b), b[8:]
	b = b[copy(m.Payee[:], b):]
	b = b[copy(m.Token[:], b):]
	b = b[copy(m.Amount[:], b):]
	m.Nonce, b = binary.BigEndian.Uint64(b), b[8:]
	m.Deadline, b = binary.BigEndian.Uint64(b), b[8:]
	copy(m.Ref[:], b)
	return m, m.Validate()
}

// Bytes is the inverse of ParseMandate.
func (m *Mandate) Bytes() []byte {
	b := make([]byte, 0, MandateSize)
	b = append(b, m.DomainSeparator[:]...)
	b = binary.BigEndian.AppendUint64(b, m.KeyID)
	b = append(b, m.Payee[:]...)
	b = append(b, m.Token[:]...)
	b = append(b, m.Amount[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	b = binary.BigEndian.AppendUint64(b, m.Deadline)
	return append(b, m.Ref[:]...)
}

// Validate checks the ranges the fixed-width fields cannot express: keyId ≥ 1,
// nonce ≥ 1, amount ≥ 1.
func (m *Mandate) Validate() error {
	switch {
	case m.KeyID == 0:
		return fmt.Errorf("%w: keyId must be ≥ 1", ErrMandate)
	case m.Nonce == 0:
		return fmt.Errorf("%w: nonce must be ≥ 1", ErrMandate)
	case m.Amount == [12]byte{}:
		return fmt.Errorf("%w: amount must be ≥ 1", ErrMandate)
	}
	return nil
}

// Elements is the mandate's message, the seven field elements of docs/agent-keys.md
// in order. Each is built as 32 big-endian bytes whose top 4 bytes (at least) are
// zero, so every element is below 2^224 < r and the packing is injective.
func (m *Mandate) Elements() [7]fr.Element {
	var blocks [7][32]byte
	copy(blocks[0][16:], m.DomainSeparator[:16])
	copy(blocks[1][16:], m.DomainSeparator[16:])
	blocks[2][11] = tagAgentMandateV1
	copy(blocks[2][12:], m.Token[:])
	binary.BigEndian.PutUint64(blocks[3][4:], m.KeyID)
	copy(blocks[3][12:], m.Payee[:])
	binary.BigEndian.PutUint64(blocks[4][4:], m.Nonce)
	binary.BigEndian.PutUint64(blocks[4][12:], m.Deadline)
	copy(blocks[4][20:], m.Amount[:])
	copy(blocks[5][16:], m.Ref[:16])
	copy(blocks[6][16:], m.Ref[16:])
	var out [7]fr.Element
	for i := range blocks {
		if err := out[i].SetBytesCanonical(blocks[i][:]); err != nil {
			panic(err) // below 2^224 by construction: unreachable
		}
	}
	return out
}

// Hash is M = H(ds_hi, ds_lo, tag_token, key_payee, terms, ref_hi, ref_lo) as 32
// big-endian bytes: the message the agent key signs.
func (m *Mandate) Hash() [32]byte {
	elements := m.Elements()
	h := absorb(prefixState(m, &elements), elements[prefixElements:]...)
	return h.Bytes()
}

// prefixElements is how many leading elements are the same for every mandate of one
// (domain, token, key, payee): the hash state after them is cached, sparing a
// payee four of the seven permutations on every call after the first.
const prefixElements = 4

type prefixID struct {
	domainSeparator [32]byte
	token, payee    [20]byte
	keyID           uint64
}

var prefixes = struct {
	sync.RWMutex
	states map[prefixID]fr.Element
}{states: make(map[prefixID]fr.Element)}

const prefixCacheLimit = 4096

func prefixState(m *Mandate, elements *[7]fr.Element) fr.Element {
	id := prefixID{m.DomainSeparator, m.Token, m.Payee, m.KeyID}
	prefixes.RLock()
	h, ok := prefixes.states[id]
	prefixes.RUnlock()
	if ok {
		return h
	}
	h = hashElements(elements[:prefixElements]...)
	prefixes.Lock()
	if len(prefixes.states) >= prefixCacheLimit {
		clear(prefixes.states)
	}
	prefixes.states[id] = h
	prefixes.Unlock()
	return h
}
