package gadget

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/uints"
)

// BytesBEHint splits inputs[0] into len(outputs) big-endian bytes. It fails
// when the value does not fit, so an out-of-range witness is reported early;
// the circuit re-checks every byte and the recomposition anyway.
//
// A hint's id in a compiled circuit is its function's name, so each family
// wraps this in a function of its own package and passes that to ToBytesBE:
// the circuits (and keys cached with them) keep the ids they were built with.
func BytesBEHint(_ *big.Int, inputs, outputs []*big.Int) error {
	if len(inputs) != 1 {
		return fmt.Errorf("bytesBEHint: want 1 input, got %d", len(inputs))
	}
	v := inputs[0]
	if v.Sign() < 0 || v.BitLen() > 8*len(outputs) {
		return fmt.Errorf("bytesBEHint: %s does not fit in %d bytes", v, len(outputs))
	}
	buf := v.FillBytes(make([]byte, len(outputs)))
	for i := range outputs {
		outputs[i].SetUint64(uint64(buf[i]))
	}
	return nil
}

// ToBytesBE decomposes v into n big-endian bytes with hint (a registered
// wrapper of BytesBEHint) and asserts the recomposition, which also
// range-checks v < 2^(8n). n must be at most 31 so the recomposition cannot
// wrap around the BN254 scalar field.
func ToBytesBE(api frontend.API, bapi *uints.Bytes, hint solver.Hint, v frontend.Variable, n int) []uints.U8 {
	if n < 1 || n > 31 {
		panic(fmt.Sprintf("toBytesBE: %d bytes do not fit a native element", n))
	}
	raw, err := api.Compiler().NewHint(hint, n, v)
	if err != nil {
		panic(fmt.Errorf("bytes hint: %w", err))
	}
	out := make([]uints.U8, n)
	for i := range raw {
		out[i] = bapi.ValueOf(raw[i])
	}
	api.AssertIsEqual(v, FromBytesBE(api, bapi, out))
	return out
}

// FromBytesBE is the native value of big-endian bytes (mod r when len > 31).
func FromBytesBE(api frontend.API, bapi *uints.Bytes, bs []uints.U8) frontend.Variable {
	acc := frontend.Variable(0)
	for _, b := range bs {
		acc = api.Add(api.Mul(acc, 256), bapi.Value(b))
	}
	return acc
}

// CheckedBytes range-checks witness bytes once, so they can be reused freely.
func CheckedBytes(bapi *uints.Bytes, bs []uints.U8) []uints.U8 {
	out := make([]uints.U8, len(bs))
	for i := range bs {
		out[i] = bapi.ValueOf(bs[i].Val)
	}
	return out
}
