package batch

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash"
	gsha3 "github.com/consensys/gnark/std/hash/sha3"
	"github.com/consensys/gnark/std/math/uints"
)

// Sizes of the packed settlement (README "The settlement's public input").
const (
	HeaderBytes = 64
	PairBytes   = 72
)

// packSettlement lays out the header and every pair slot's record; only the
// first HeaderBytes + PairBytes·pairCount bytes are hashed.
func packSettlement(api frontend.API, bapi *uints.Bytes, ds []uints.U8, verifierID frontend.Variable, token []uints.U8, notAfter frontend.Variable, pairs []pairRecord) []uints.U8 {
	packed := append([]uints.U8{}, ds...)
	packed = append(packed, toBytesBE(api, bapi, verifierID, 4)...)
	packed = append(packed, token...)
	packed = append(packed, toBytesBE(api, bapi, notAfter, 8)...)
	for _, p := range pairs {
		packed = append(packed, p.bytes()...)
	}
	return packed
}

// settlementHash is uint256(keccak256(packed[:64+72·pairCount])) mod r.
func settlementHash(api frontend.API, bapi *uints.Bytes, packed []uints.U8, pairCount frontend.Variable) frontend.Variable {
	h, err := gsha3.NewLegacyKeccak256(api, hash.WithMinimalLength(HeaderBytes+PairBytes))
	if err != nil {
		panic(fmt.Errorf("settlement keccak: %w", err))
	}
	h.Write(packed)
	length := api.Add(HeaderBytes, api.Mul(PairBytes, pairCount))
	return fromBytesBE(api, bapi, h.FixedLengthSum(length))
}
