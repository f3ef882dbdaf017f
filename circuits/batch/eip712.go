package batch

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	gsha3 "github.com/consensys/gnark/std/hash/sha3"
	"github.com/consensys/gnark/std/math/uints"
	"github.com/consensys/gnark/std/permutation/keccakf"
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

// Keccak-256 sponge parameters: 136-byte rate, legacy padding 0x01 … 0x80.
const (
	keccakRate  = 136
	keccakLanes = 25
)

// structState is the Keccak state after the first block of a mandate's
// struct encoding.
type structState = [keccakLanes]uints.U64

// The struct encoding TYPEHASH ‖ payer ‖ payee ‖ token ‖ amount ‖ nonce ‖
// deadline ‖ ref is 256 bytes: two Keccak blocks. The first block (bytes
// 0–135) holds TYPEHASH, payer, payee, token and the amount word's top 8
// bytes, which are zero because amount < 2^96 (its word is 20 zero bytes and
// 12 range-checked bytes). So the first block depends only on the pair and the
// settlement's token: its permutation is computed once per pair
// (pairStructState) and each slot absorbs only the second block
// (finishStructHash), one Keccak-f per mandate fewer.

// pairStructState absorbs the first block of every mandate of the pair.
func pairStructState(u64 *uints.BinaryField[uints.U64], payer, payee, token []uints.U8) structState {
	block := append(uints.NewU8Array(MandateTypehash[:]), abiWord(payer)...)
	block = append(block, abiWord(payee)...)
	block = append(block, abiWord(token)...)
	block = append(block, uints.NewU8Array(make([]byte, 8))...) // amount word, bytes 0–7
	var st structState
	for i := range keccakLanes {
		if i < keccakRate/8 {
			st[i] = u64.PackLSB(block[8*i : 8*i+8]...)
		} else {
			st[i] = u64.PackLSB(uints.NewU8Array(make([]byte, 8))...)
		}
	}
	return keccakf.Permute(u64, st)
}

// finishStructHash absorbs a mandate's second block (amount word bytes 8–31,
// nonce, deadline, ref: 120 bytes, then padding) and squeezes hashStruct.
func finishStructHash(u64 *uints.BinaryField[uints.U64], st structState, tail []uints.U8) []uints.U8 {
	if len(tail) != 256-keccakRate {
		panic(fmt.Sprintf("finishStructHash: tail of %d bytes, want %d", len(tail), 256-keccakRate))
	}
	padding := make([]byte, keccakRate-len(tail))
	padding[0], padding[len(padding)-1] = 0x01, 0x80
	block := append(append([]uints.U8{}, tail...), uints.NewU8Array(padding)...)
	for i := range keccakRate / 8 {
		st[i] = u64.Xor(st[i], u64.PackLSB(block[8*i:8*i+8]...))
	}
	st = keccakf.Permute(u64, st)
	var out []uints.U8
	for i := range 4 {
		out = append(out, u64.UnpackLSB(st[i])...)
	}
	return out
}

// selectStructState is the state of the slot's pair, through its one-hot
// selector (a disabled slot gets pair 0's, and its signature is ignored).
func selectStructState(bapi *uints.Bytes, sel []frontend.Variable, states []structState) structState {
	st := states[0]
	for j := 1; j < len(states); j++ {
		for lane := range keccakLanes {
			for k := range 8 {
				st[lane][k] = bapi.Select(sel[j], states[j][lane][k], st[lane][k])
			}
		}
	}
	return st
}

// mandateTail is a mandate's second block: the amount word's bytes 8–31
// (12 zero bytes, then the 12 amount bytes), nonce, deadline and ref words.
func mandateTail(amount, nonce, deadline, ref []uints.U8) []uints.U8 {
	tail := abiWord(amount)[8:]
	tail = append(tail, abiWord(nonce)...)
	tail = append(tail, abiWord(deadline)...)
	return append(tail, ref...)
}

// mandateDigest is keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(mandate)).
func mandateDigest(api frontend.API, domainSeparator, structHash []uints.U8) []uints.U8 {
	return keccak(api, uints.NewU8Array([]byte{0x19, 0x01}), domainSeparator, structHash)
}
