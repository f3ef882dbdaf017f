package batch_test

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	csbn254 "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/batch"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

// These tests play a malicious prover against the compiled circuit: hints
// are computed by the prover, so a value the honest hint refuses is still
// only rejected if a constraint rejects it. mustFail requires exactly that
// (an unsatisfied constraint, not a refusing hint). constraints_internal_test.go
// runs each gadget alone and names the line that rejects.

// decomposeAs replaces the byte decomposition hint: the call that
// decomposes bad into n bytes gets the honest bytes of as instead.
func decomposeAs(bad, as *big.Int, n int) solver.Option {
	return solver.OverrideHint(solver.GetHintID(batch.BytesBEHint), func(q *big.Int, in, out []*big.Int) error {
		if len(out) == n && in[0].Cmp(bad) == 0 {
			return batch.BytesBEHint(q, []*big.Int{as}, out)
		}
		return batch.BytesBEHint(q, in, out)
	})
}

func bigOf(v frontend.Variable) *big.Int {
	switch v := v.(type) {
	case *big.Int:
		return new(big.Int).Set(v)
	case uint64:
		return new(big.Int).SetUint64(v)
	case uint32:
		return new(big.Int).SetUint64(uint64(v))
	case int:
		return big.NewInt(int64(v))
	}
	panic("bigOf: unexpected type")
}

// TestFieldWidths reaches each field's byte-width check. The field gets its
// honest value v plus 2^(8·width), and the decomposition hint returns the
// honest bytes of v, so every hash and signature sees exactly what it sees
// in the valid settlement: the witness differs from a valid one only in the
// field's native value. toBytesBE's recomposition binds that value to its
// bytes and is violated first; the comments name the other constraints that
// read the native value, where there is one (they alone reject it when the
// recomposition is deleted; for the others the witness is then accepted).
func TestFieldWidths(t *testing.T) {
	for _, f := range []struct {
		name  string
		width int
		field func(c *batch.Circuit) *frontend.Variable
	}{
		{"verifierId", 4, func(c *batch.Circuit) *frontend.Variable { return &c.VerifierID }},
		{"token", 20, func(c *batch.Circuit) *frontend.Variable { return &c.Token }},
		{"notAfter", 8, func(c *batch.Circuit) *frontend.Variable { return &c.NotAfter }},     // deadline ≥ notAfter
		{"payer", 20, func(c *batch.Circuit) *frontend.Variable { return &c.Pairs[0].Payer }}, // payer == key's address
		{"payee", 20, func(c *batch.Circuit) *frontend.Variable { return &c.Pairs[0].Payee }},
		{"fromNonce", 8, func(c *batch.Circuit) *frontend.Variable { return &c.Pairs[0].FromNonce }},  // first nonce > fromNonce
		{"toNonce", 8, func(c *batch.Circuit) *frontend.Variable { return &c.Pairs[0].ToNonce }},      // last nonce == toNonce
		{"total", 16, func(c *batch.Circuit) *frontend.Variable { return &c.Pairs[0].Total }},         // total == Σ amounts
		{"nonce", 8, func(c *batch.Circuit) *frontend.Variable { return &c.Mandates[1].Nonce }},       // nonce order, toNonce
		{"deadline", 8, func(c *batch.Circuit) *frontend.Variable { return &c.Mandates[1].Deadline }}, // deadline ≥ notAfter
		{"amount", 12, func(c *batch.Circuit) *frontend.Variable { return &c.Mandates[1].Amount }},    // total == Σ amounts
	} {
		t.Run(f.name, func(t *testing.T) {
			c := assign(t, fixture.Settlement(2, 1))
			v := bigOf(*f.field(c))
			bad := new(big.Int).Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*f.width)))
			*f.field(c) = bad
			mustViolate(t, c, fmt.Sprintf("1 ⋅ %s != %s", bad, v), decomposeAs(bad, v, f.width))
		})
	}
}

// TestAmountAbove96Bits is the attack the 12-byte amount stops: the payer
// signs amount a, the prover settles a + 2^96. The struct hash reads the
// amount's bytes and the total reads its native value, so with a
// decomposition hint returning the bytes of a, the signature, the total
// (raised by 2^96, still a uint128) and the public input all hold; only the
// recomposition in toBytesBE (internal/gadget/bytes.go) can reject it.
func TestAmountAbove96Bits(t *testing.T) {
	two96 := new(big.Int).Lsh(big.NewInt(1), 96)
	s := fixture.Settlement(2, 1)
	a := new(big.Int).Set(s.Pairs[1].Mandates[0].Amount)
	bad := new(big.Int).Add(a, two96)
	c := assign(t, s)
	c.Mandates[2].Amount = bad
	s.Pairs[1].Total.Add(s.Pairs[1].Total, two96)
	c.Pairs[1].Total, c.PublicInput = s.Pairs[1].Total, s.PublicInput()

	t.Run("the honest hint refuses it", func(t *testing.T) {
		// what a test without a malicious hint exercises: no constraint
		if err := solve(t, c); err == nil || isUnsatisfied(err) {
			t.Fatalf("want the decomposition hint to refuse, got %v", err)
		}
	})
	t.Run("the recomposition rejects it", func(t *testing.T) {
		mustViolate(t, c, fmt.Sprintf("1 ⋅ %s != %s", bad, a), decomposeAs(bad, a, batch.AmountBytes))
	})
	t.Run("the native check rejects it", func(t *testing.T) {
		s.Pairs[1].Mandates[0].Amount = bad
		if s.Check() == nil {
			t.Fatal("native check accepts an amount of a + 2^96")
		}
	})
}

// TestAmounts covers the v3 rule (enabledAmounts, pairs.go): an enabled
// slot's amount is at least 1, a disabled slot's may be 0. Its valid case is
// also TestValidSettlements' shape "one pair, one slot disabled".
func TestAmounts(t *testing.T) {
	withAmount := func(amount int64) *witness.Settlement {
		s := fixture.Settlement(2)
		p := &s.Pairs[0]
		p.Total.Sub(p.Total, p.Mandates[1].Amount)
		p.Mandates[1].Amount = big.NewInt(amount)
		p.Total.Add(p.Total, p.Mandates[1].Amount)
		fixture.Sign(s, 0, fixture.Key(0))
		return s
	}
	t.Run("one, and zero on a disabled slot", func(t *testing.T) {
		s := withAmount(1)
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		c := assign(t, s)
		if bigOf(c.Mandates[2].Enabled).Sign() != 0 || bigOf(c.Mandates[2].Amount).Sign() != 0 {
			t.Fatal("test bug: slot 2 should be disabled with amount 0")
		}
		mustSolve(t, c)
	})
	t.Run("zero on an enabled slot", func(t *testing.T) {
		// validly signed, total and public input to match: only the new
		// rule sees it. x = Enabled·Amount + 1 − Enabled = 0 has no inverse.
		s := withAmount(0)
		c := assign(t, s)
		mustViolate(t, c, "0 ⋅ 0 != 1")
		if s.Check() == nil {
			t.Fatal("native check accepts an amount of 0")
		}
	})
}

// TestFlags reaches the layout flags' booleanity and slot 0's NewPair in
// the whole circuit (TestLayoutFlags names the lines).
func TestFlags(t *testing.T) {
	t.Run("Enabled = 2 doubles an amount", func(t *testing.T) {
		// slot 1 counted twice in pair 0's total, public input to match
		s := fixture.Settlement(2)
		c := assign(t, s)
		c.Mandates[1].Enabled = 2
		s.Pairs[0].Total.Add(s.Pairs[0].Total, s.Pairs[0].Mandates[1].Amount)
		c.Pairs[0].Total, c.PublicInput = s.Pairs[0].Total, s.PublicInput()
		mustViolate(t, c, "-1 ⋅ 2 != 0") // Enabled·(1 − Enabled) == 0
	})
	t.Run("NewPair = 2", func(t *testing.T) {
		c := assign(t, fixture.Settlement(1, 1))
		c.Mandates[1].NewPair = 2
		mustViolate(t, c, "-1 ⋅ 2 != 0") // NewPair·(1 − NewPair) == 0
	})
	t.Run("slot 0 does not start a pair", func(t *testing.T) {
		c := assign(t, fixture.Settlement(2, 1))
		c.Mandates[0].NewPair = 0
		mustViolate(t, c, "1 ⋅ 0 != 1") // NewPair[0] == 1
	})
}

// TestKeyRange reaches the key's coordinate range check in the whole
// circuit: a disabled pair's key is only range-checked (pairKey), so X = p
// there is seen by that check alone. TestPublicKey covers an enabled pair.
func TestKeyRange(t *testing.T) {
	c := assign(t, fixture.Settlement(2))
	p := emulated.Secp256k1Fp{}.Modulus().FillBytes(make([]byte, 32))
	copy(c.Pairs[1].PublicKey[:32], uints.NewU8Array(p))
	mustFail(t, c)
}

// TestSignatureWitness reaches the range checks on r in the whole circuit
// with limbs a prover writes itself (emulated.ValueOf reduces mod n every
// value but n, and the test engine cannot run a limb of 64 bits or more;
// TestSignatureRange names the lines for the others).
func TestSignatureWitness(t *testing.T) {
	n := emulated.Secp256k1Fr{}.Modulus()
	s := fixture.Settlement(2, 1)
	r := s.Pairs[0].Mandates[1].R
	for name, tc := range map[string]struct {
		limbs func() []frontend.Variable
		want  string // the violated constraint, where pinned
	}{
		// each limb of an emulated witness is range-checked to 64 bits
		"r with a limb of 2^64 + r0 (the same integer)": {limbs: func() []frontend.Variable {
			l := batch.RawLimbs(r)
			l[0] = new(big.Int).Add(l[0].(*big.Int), new(big.Int).Lsh(big.NewInt(1), 64))
			l[1] = new(big.Int).Sub(l[1].(*big.Int), big.NewInt(1))
			return l
		}},
		// r ≡ 0 (mod n): gnark's IsValid returns 0, and assertSignedIf's
		// Enabled·(1 − valid) == 0 is violated
		"r = n": {limbs: func() []frontend.Variable { return batch.RawLimbs(n) }, want: "1 ⋅ 1 != 0"},
		// gnark's r ≤ n
		"r = n + 1": {limbs: func() []frontend.Variable { return batch.RawLimbs(new(big.Int).Add(n, big.NewInt(1))) }},
	} {
		t.Run(name, func(t *testing.T) {
			c := assign(t, s)
			c.Mandates[1].Sig.R = emulated.Element[emulated.Secp256k1Fr]{Limbs: tc.limbs()}
			if tc.want != "" {
				mustViolate(t, c, tc.want)
			} else {
				mustFail(t, c)
			}
		})
	}
}

func isUnsatisfied(err error) bool {
	var unsatisfied *csbn254.UnsatisfiedConstraintError
	return errors.As(err, &unsatisfied)
}
