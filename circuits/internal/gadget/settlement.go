package gadget

import (
	"fmt"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash"
	gsha3 "github.com/consensys/gnark/std/hash/sha3"
	"github.com/consensys/gnark/std/math/uints"
)

// HeaderBytes is the size of the packed settlement's header: domain
// separator (32), verifier id (4), token (20), notAfter (8).
const HeaderBytes = 64

// Record is one pair slot's settlement record, in its family's layout.
type Record interface {
	Bytes() []uints.U8
}

// PackSettlement lays out the header and every pair slot's record (hint as
// for ToBytesBE); only the first HeaderBytes + pairBytes·pairCount bytes are
// hashed (SettlementHash).
func PackSettlement[R Record](api frontend.API, bapi *uints.Bytes, hint solver.Hint, ds []uints.U8, verifierID frontend.Variable, token []uints.U8, notAfter frontend.Variable, records []R) []uints.U8 {
	packed := append([]uints.U8{}, ds...)
	packed = append(packed, ToBytesBE(api, bapi, hint, verifierID, 4)...)
	packed = append(packed, token...)
	packed = append(packed, ToBytesBE(api, bapi, hint, notAfter, 8)...)
	for _, r := range records {
		packed = append(packed, r.Bytes()...)
	}
	return packed
}

// SettlementHash is uint256(keccak256(packed[:HeaderBytes+pairBytes·pairCount]))
// mod r, where pairBytes is the family's pair record width.
func SettlementHash(api frontend.API, bapi *uints.Bytes, packed []uints.U8, pairBytes int, pairCount frontend.Variable) frontend.Variable {
	h, err := gsha3.NewLegacyKeccak256(api, hash.WithMinimalLength(HeaderBytes+pairBytes))
	if err != nil {
		panic(fmt.Errorf("settlement keccak: %w", err))
	}
	h.Write(packed)
	length := api.Add(HeaderBytes, api.Mul(pairBytes, pairCount))
	return FromBytesBE(api, bapi, h.FixedLengthSum(length))
}
