package batch

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/uints"
)

func init() {
	solver.RegisterHint(bytesBEHint)
}

// bytesBEHint splits inputs[0] into len(outputs) big-endian bytes. It fails
// when the value does not fit, so an out-of-range witness is reported early;
// the circuit re-checks every byte and the recomposition anyway.
func bytesBEHint(_ *big.Int, inputs, outputs []*big.Int) error {
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

// toBytesBE decomposes v into n big-endian bytes and asserts the
// recomposition, which also range-checks v < 2^(8n). n must be at most 31 so
// the recomposition cannot wrap around the BN254 scalar field.
func toBytesBE(api frontend.API, bapi *uints.Bytes, v frontend.Variable, n int) []uints.U8 {
	if n < 1 || n > 31 {
		panic(fmt.Sprintf("toBytesBE: %d bytes do not fit a native element", n))
	}
	raw, err := api.Compiler().NewHint(bytesBEHint, n, v)
	if err != nil {
		panic(fmt.Errorf("bytes hint: %w", err))
	}
	out := make([]uints.U8, n)
	for i := range raw {
		out[i] = bapi.ValueOf(raw[i])
	}
	api.AssertIsEqual(v, fromBytesBE(api, bapi, out))
	return out
}

// fromBytesBE is the native value of big-endian bytes (mod r when len > 31).
func fromBytesBE(api frontend.API, bapi *uints.Bytes, bs []uints.U8) frontend.Variable {
	acc := frontend.Variable(0)
	for _, b := range bs {
		acc = api.Add(api.Mul(acc, 256), bapi.Value(b))
	}
	return acc
}

// abiWord left-pads bytes with zeros to one 32-byte ABI word.
func abiWord(bs []uints.U8) []uints.U8 {
	w := uints.NewU8Array(make([]byte, 32-len(bs)))
	return append(w, bs...)
}

// checkedBytes range-checks witness bytes once, so they can be reused freely.
func checkedBytes(bapi *uints.Bytes, bs []uints.U8) []uints.U8 {
	out := make([]uints.U8, len(bs))
	for i := range bs {
		out[i] = bapi.ValueOf(bs[i].Val)
	}
	return out
}
