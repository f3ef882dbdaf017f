package batch

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	gsha3 "github.com/consensys/gnark/std/hash/sha3"
	"github.com/consensys/gnark/std/math/uints"
	"golang.org/x/crypto/sha3"
)

// MandateType is the EIP-712 type string of a mandate (DESIGN.md).
const MandateType = "Mandate(address payer,address payee,address token,uint256 amount,uint64 nonce,uint64 deadline,bytes32 ref)"

// MandateTypehash is keccak256(MandateType).
var MandateTypehash = Keccak256([]byte(MandateType))

// Keccak256 is Ethereum's legacy Keccak-256 outside the circuit.
func Keccak256(parts ...[]byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// mandateWords are the ABI-encoded fields of one mandate, in type order,
// each a 32-byte word.
type mandateWords struct {
	Payer, Payee, Token, Amount, Nonce, Deadline, Ref []uints.U8
}

// keccak hashes a fixed-length byte string in circuit.
func keccak(api frontend.API, in ...[]uints.U8) []uints.U8 {
	h, err := gsha3.NewLegacyKeccak256(api)
	if err != nil {
		panic(fmt.Errorf("keccak: %w", err))
	}
	for _, part := range in {
		h.Write(part)
	}
	return h.Sum()
}

// mandateDigest is keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(mandate)).
func mandateDigest(api frontend.API, domainSeparator []uints.U8, m mandateWords) []uints.U8 {
	structHash := keccak(api,
		uints.NewU8Array(MandateTypehash[:]),
		m.Payer, m.Payee, m.Token, m.Amount, m.Nonce, m.Deadline, m.Ref)
	return keccak(api, uints.NewU8Array([]byte{0x19, 0x01}), domainSeparator, structHash)
}
