package batch

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	secp "github.com/consensys/gnark-crypto/ecc/secp256k1"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/math/uints"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"

	"github.com/aep2/aep2/circuits/internal/gadget"
)

// These tests run one gadget at a time in gnark's test engine, which panics
// at the first failed assertion; its error carries the stack of that panic,
// so a test can name the source line that rejected the witness. Where the
// bad value would be refused inside a hint before any constraint sees it,
// the hint is replaced by a malicious one (test.WithReplacementHint, the
// engine's solver.OverrideHint): a prover computes hints itself and may
// return anything, so only constraints count.

// engine runs a sub-circuit in the test engine.
func engine(c, w frontend.Circuit, opts ...test.TestEngineOption) error {
	return test.IsSolved(c, w, ecc.BN254.ScalarField(), opts...)
}

// mustReach asserts that err is a failed assertion, not a refusing hint,
// raised on the line of file that contains snippet (a constraint of ours).
func mustReach(t *testing.T, err error, file, snippet string) {
	t.Helper()
	msg := mustFailAssertion(t, err)
	at := fmt.Sprintf("%s:%d", filepath.Base(file), lineOf(t, file, snippet))
	if !strings.Contains(msg, "\t"+at+"\n") {
		t.Fatalf("failed elsewhere than %s (%s):\n%.3000s", at, snippet, msg)
	}
}

// mustReachIn asserts that err is a failed assertion raised inside fn, for
// checks gnark runs when the circuit is complete (range checks, emulated
// multiplication checks), where our line is no longer on the stack.
func mustReachIn(t *testing.T, err error, fn string) {
	t.Helper()
	if msg := mustFailAssertion(t, err); !strings.Contains(msg, fn) {
		t.Fatalf("failed elsewhere than in %s:\n%.3000s", fn, msg)
	}
}

func mustFailAssertion(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("invalid witness accepted")
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "NewHint:") {
		t.Fatalf("refused by a hint, no constraint reached: %.300s", msg)
	}
	return msg
}

// mustRefuseInHint asserts that err comes from a hint, as an honest prover's
// hint refuses the value (what a test without a malicious hint exercises).
func mustRefuseInHint(t *testing.T, err error) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "NewHint:") {
		t.Fatalf("want the honest hint to refuse, got %v", err)
	}
}

func engineOK(t *testing.T, c, w frontend.Circuit, opts ...test.TestEngineOption) {
	t.Helper()
	if err := engine(c, w, opts...); err != nil {
		t.Fatalf("valid witness rejected: %.2000v", err)
	}
}

// gadgetFile is the path of a file of package gadget, whose lines a stack
// shows for the helpers this package shares with the agent family.
func gadgetFile(name string) string { return filepath.Join("..", "internal", "gadget", name) }

// lineOf is the line number of the one line of file holding snippet.
func lineOf(t *testing.T, file, snippet string) int {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, snippet) {
			if found != 0 {
				t.Fatalf("%q is on lines %d and %d of %s", snippet, found, i+1, file)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("%q is not in %s", snippet, file)
	}
	return found
}

// bytesHint replaces bytesBEHint: for the input want it writes the given
// outputs, whatever they are; other inputs are decomposed honestly.
func bytesHint(want *big.Int, out ...int64) solver.Hint {
	return func(q *big.Int, in, res []*big.Int) error {
		if in[0].Cmp(want) != 0 || len(res) != len(out) {
			return bytesBEHint(q, in, res)
		}
		for i := range res {
			res[i].SetInt64(out[i])
		}
		return nil
	}
}

func replaceBytes(want *big.Int, out ...int64) test.TestEngineOption {
	return test.WithReplacementHint(solver.GetHintID(bytesBEHint), bytesHint(want, out...))
}

// bytesPart decomposes V into N big-endian bytes (toBytesBE).
type bytesPart struct {
	V frontend.Variable
	N int `gnark:"-"`
}

func (c *bytesPart) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	toBytesBE(api, g.bytes, c.V, c.N)
	return nil
}

// TestByteWidth reaches both halves of toBytesBE's range check with an
// amount of 2^96 (12 bytes). The honest hint refuses the value, so a test
// without a malicious hint never reaches a constraint; a malicious one
// must then pick bytes that either do not recompose to the value
// (recomposition) or are not bytes (each byte's 8-bit range check).
func TestByteWidth(t *testing.T) {
	two96 := new(big.Int).Lsh(big.NewInt(1), 96)
	part := &bytesPart{N: AmountBytes}
	zeros := make([]int64, AmountBytes)
	carry := append([]int64{256}, zeros[1:]...) // 256·2^88 = 2^96 exactly

	t.Run("honest hint refuses 2^96", func(t *testing.T) {
		mustRefuseInHint(t, engine(part, &bytesPart{V: two96}))
	})
	t.Run("bytes of 2^96 mod 2^96 fail the recomposition", func(t *testing.T) {
		err := engine(part, &bytesPart{V: two96}, replaceBytes(two96, zeros...))
		mustReach(t, err, gadgetFile("bytes.go"), "api.AssertIsEqual(v, FromBytesBE(api, bapi, out))")
	})
	t.Run("a byte of 256 fails its range check", func(t *testing.T) {
		// the bytes recompose to 2^96; the range checker's own decomposition
		// of 256 into 8 bits does not recompose
		err := engine(part, &bytesPart{V: two96}, replaceBytes(two96, carry...))
		mustReachIn(t, err, "rangecheck.(*commitChecker).assertRecomposition")
	})
	t.Run("a byte of 256 fails the range table, whatever the decomposition", func(t *testing.T) {
		// a prover also picks the range checker's decomposition (256 as one
		// limb recomposes) and the table's multiplicities (leaving the
		// query out); the log-derivative sums then differ
		err := engine(part, &bytesPart{V: two96}, replaceBytes(two96, carry...),
			test.WithReplacementHint(solver.GetHintID(rangecheck.DecomposeHint), limbsAsIs(256)),
			replaceRegistered(t, "logderivarg.countHint", countInTable))
		mustReachIn(t, err, "logderivarg.Build.func1")
	})
	t.Run("control: the malicious hints on in-range values", func(t *testing.T) {
		// the replaced hints are inert for other inputs, and the all-zero
		// bytes written for 2^96 are the honest bytes of 0
		engineOK(t, part, &bytesPart{V: 0}, replaceBytes(two96, zeros...))
		engineOK(t, part, &bytesPart{V: new(big.Int).Sub(two96, big.NewInt(1))}, replaceBytes(two96, carry...),
			test.WithReplacementHint(solver.GetHintID(rangecheck.DecomposeHint), limbsAsIs(256)),
			replaceRegistered(t, "logderivarg.countHint", countInTable))
	})
	t.Run("widths", func(t *testing.T) {
		for _, n := range []int{4, 8, 12, 16, 20} {
			top := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
			part := &bytesPart{N: n}
			engineOK(t, part, &bytesPart{V: new(big.Int).Sub(top, big.NewInt(1))})
			err := engine(part, &bytesPart{V: top}, replaceBytes(top, make([]int64, n)...))
			mustReach(t, err, gadgetFile("bytes.go"), "api.AssertIsEqual(v, FromBytesBE(api, bapi, out))")
		}
	})
}

// limbsAsIs replaces rangecheck.DecomposeHint for the value want: all of
// it in the lowest limb, so the range checker's recomposition holds.
func limbsAsIs(want int64) solver.Hint {
	return func(q *big.Int, in, out []*big.Int) error {
		if in[2].Cmp(big.NewInt(want)) != 0 {
			return rangecheck.DecomposeHint(q, in, out)
		}
		out[0].Set(in[2])
		for i := 1; i < len(out); i++ {
			out[i].SetInt64(0)
		}
		return nil
	}
}

// countInTable wraps the lookup argument's multiplicity hint (inputs: table
// length, row width, the table's rows, the queries' rows) so that queries
// missing from the table are left out of the count instead of refused.
func countInTable(honest solver.Hint) solver.Hint {
	return func(q *big.Int, in, out []*big.Int) error {
		n, w := int(in[0].Int64()), int(in[1].Int64())
		key := func(row []*big.Int) string { return fmt.Sprint(row) }
		table := map[string]bool{}
		for i := range n {
			table[key(in[2+w*i:2+w*i+w])] = true
		}
		kept := append([]*big.Int{}, in[:2+w*n]...)
		for r := 2 + w*n; r < len(in); r += w {
			if table[key(in[r:r+w])] {
				kept = append(kept, in[r:r+w]...)
			}
		}
		return honest(q, kept, out)
	}
}

// replaceRegistered replaces gnark's registered hint whose name ends in
// name (an unexported one) by wrap(the hint).
func replaceRegistered(t *testing.T, name string, wrap func(solver.Hint) solver.Hint) test.TestEngineOption {
	t.Helper()
	for _, h := range solver.GetRegisteredHints() {
		if strings.HasSuffix(solver.GetHintName(h), "/"+name) {
			return test.WithReplacementHint(solver.GetHintID(h), wrap(h))
		}
	}
	t.Fatalf("no registered hint %s", name)
	return nil
}

// layoutPart is assertSlotLayout over three slots and two pairs.
type layoutPart struct{ Enabled, NewPair [3]frontend.Variable }

func (c *layoutPart) Define(api frontend.API) error {
	ms := make([]Mandate, len(c.Enabled))
	for i := range ms {
		ms[i].Enabled, ms[i].NewPair = c.Enabled[i], c.NewPair[i]
	}
	assertSlotLayout(api, ms, 2)
	return nil
}

func layout(enabled, newPair [3]int) *layoutPart {
	var w layoutPart
	for i := range enabled {
		w.Enabled[i], w.NewPair[i] = enabled[i], newPair[i]
	}
	return &w
}

// TestLayoutFlags reaches the flags' own constraints. The flags are witness
// values, not hint outputs: a prover sets them freely. Enabled = 2 would
// count a slot's amount twice in its pair's total (Σ Enabled·amount).
func TestLayoutFlags(t *testing.T) {
	for name, w := range map[string]*layoutPart{
		"two pairs":        layout([3]int{1, 1, 1}, [3]int{1, 0, 1}),
		"one pair":         layout([3]int{1, 1, 0}, [3]int{1, 0, 0}),
		"one mandate":      layout([3]int{1, 0, 0}, [3]int{1, 0, 0}),
		"one mandate each": layout([3]int{1, 1, 0}, [3]int{1, 1, 0}),
	} {
		t.Run("valid: "+name, func(t *testing.T) { engineOK(t, &layoutPart{}, w) })
	}
	t.Run("Enabled = 2", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{1, 2, 0}, [3]int{1, 0, 0}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsBoolean(enabled[i])")
	})
	t.Run("NewPair = 2", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{1, 1, 1}, [3]int{1, 2, 0}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsBoolean(newPair[i])")
	})
	t.Run("slot 0 does not start a pair", func(t *testing.T) {
		// redundant with the pair-membership check below it (slot 0 would
		// have pair index −1, which selects no pair), and reached first
		err := engine(&layoutPart{}, layout([3]int{1, 1, 0}, [3]int{0, 0, 0}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsEqual(newPair[0], 1)")
	})
	t.Run("slot 0 disabled", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{0, 0, 0}, [3]int{1, 0, 0}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsEqual(enabled[0], 1)")
	})
	t.Run("enabled after disabled", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{1, 0, 1}, [3]int{1, 0, 0}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsEqual(api.Mul(enabled[i], api.Sub(1, enabled[i-1])), 0)")
	})
	t.Run("disabled slot starts a pair", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{1, 1, 0}, [3]int{1, 0, 1}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsEqual(api.Mul(newPair[i], api.Sub(1, enabled[i])), 0)")
	})
	t.Run("more pairs than pair slots", func(t *testing.T) {
		err := engine(&layoutPart{}, layout([3]int{1, 1, 1}, [3]int{1, 1, 1}))
		mustReach(t, err, gadgetFile("layout.go"), "api.AssertIsEqual(api.Mul(enabled[i], api.Sub(1, Sum(api, l.Sel[i]))), 0)")
	})
}

// amountsPart is enabledAmounts over two slots.
type amountsPart struct{ Enabled, Amount [2]frontend.Variable }

func (c *amountsPart) Define(api frontend.API) error {
	ms := make([]Mandate, len(c.Enabled))
	for i := range ms {
		ms[i].Enabled, ms[i].Amount = c.Enabled[i], c.Amount[i]
	}
	(&Circuit{Mandates: ms}).enabledAmounts(api)
	return nil
}

// TestAmountPositive reaches the v3 rule: an enabled slot's amount is not 0.
func TestAmountPositive(t *testing.T) {
	part := &amountsPart{}
	engineOK(t, part, &amountsPart{Enabled: [2]frontend.Variable{1, 1}, Amount: [2]frontend.Variable{1, 7}})
	engineOK(t, part, &amountsPart{Enabled: [2]frontend.Variable{1, 0}, Amount: [2]frontend.Variable{1, 0}})
	err := engine(part, &amountsPart{Enabled: [2]frontend.Variable{1, 1}, Amount: [2]frontend.Variable{5, 0}})
	mustReach(t, err, "pairs.go", "api.AssertIsDifferent(api.Sub(api.Add(amounts[i], 1), m.Enabled), 0)")
}

// keyPart is pairKey on 64 key bytes.
type keyPart struct {
	Key [64]uints.U8
	On  frontend.Variable
}

func (c *keyPart) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	g.ec.pairKey(api, c.On, values(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Key[:])))
	return nil
}

// onCurvePart is gnark's on-curve check alone on the same bytes.
type onCurvePart keyPart

func (c *onCurvePart) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	g.ec.curve.AssertIsOnCurve(g.ec.pointFromBytes(api, values(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Key[:]))))
	return nil
}

func keyBytes(x, y *big.Int) (out [64]uints.U8) {
	var b [64]byte
	x.FillBytes(b[:32])
	y.FillBytes(b[32:])
	copy(out[:], uints.NewU8Array(b[:]))
	return out
}

// smallPoint is a point of secp256k1 with x < 2^256 − p, so x + p still
// fits the 32 bytes of a key: the same point, encoded a second way.
func smallPoint() (x, y *big.Int) {
	p := fp{}.Modulus()
	for x = big.NewInt(1); ; x.Add(x, big.NewInt(1)) {
		rhs := new(big.Int).Exp(x, big.NewInt(3), p)
		rhs.Add(rhs, big.NewInt(7))
		if y = new(big.Int).ModSqrt(rhs.Mod(rhs, p), p); y != nil {
			return x, y
		}
	}
}

// TestPublicKey reaches the key's canonical-encoding and on-curve checks.
// The address is keccak256 of the key's bytes: a second encoding of the
// same point would be a second address signing with the same key.
func TestPublicKey(t *testing.T) {
	params := sw_emulated.GetSecp256k1Params()
	p := fp{}.Modulus()
	x, y := smallPoint()
	xp := new(big.Int).Add(x, p)

	t.Run("valid", func(t *testing.T) {
		engineOK(t, &keyPart{}, &keyPart{Key: keyBytes(params.Gx, params.Gy), On: 1})
		engineOK(t, &keyPart{}, &keyPart{Key: keyBytes(x, y), On: 1})
	})
	t.Run("X = x + p, the same point", func(t *testing.T) {
		// control: gnark's on-curve check alone accepts the encoding
		engineOK(t, &onCurvePart{}, &onCurvePart{Key: keyBytes(xp, y), On: 1})
		err := engine(&keyPart{}, &keyPart{Key: keyBytes(xp, y), On: 1})
		mustReach(t, err, "signature.go", "s.fp.AssertIsInRange(&pt.X)")
	})
	t.Run("X = p on a disabled pair", func(t *testing.T) {
		err := engine(&keyPart{}, &keyPart{Key: keyBytes(p, params.Gy), On: 0})
		mustReach(t, err, "signature.go", "s.fp.AssertIsInRange(&pt.X)")
	})
	t.Run("Y = p on a disabled pair", func(t *testing.T) {
		err := engine(&keyPart{}, &keyPart{Key: keyBytes(params.Gx, p), On: 0})
		mustReach(t, err, "signature.go", "s.fp.AssertIsInRange(&pt.Y)")
	})
	t.Run("not on the curve", func(t *testing.T) {
		off := keyBytes(params.Gx, new(big.Int).Add(params.Gy, big.NewInt(1)))
		// control: a disabled pair checks the generator instead, so the
		// on-curve check is the only one that sees the point. gnark checks
		// emulated products once the circuit is complete, so the failure
		// is in that deferred check (Y² = X³ + 7), not on our line.
		engineOK(t, &keyPart{}, &keyPart{Key: off, On: 0})
		err := engine(&keyPart{}, &keyPart{Key: off, On: 1})
		mustReachIn(t, err, "emulated.(*mulCheck[...]).check")
	})
}

// signaturePart is assertSignedIf on a key and a digest.
type signaturePart struct {
	Key     [64]uints.U8
	Digest  [32]uints.U8
	Sig     Signature
	Enabled frontend.Variable
}

func (c *signaturePart) Define(api frontend.API) error {
	g, err := newGadgets(api)
	if err != nil {
		return err
	}
	key := g.ec.pointFromBytes(api, values(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Key[:])))
	msg := g.ec.digestScalar(api, g.bytes, gadget.CheckedBytes(g.bytes, c.Digest[:]))
	g.ec.assertSignedIf(api, c.Enabled, key, msg, &c.Sig)
	return nil
}

// signedPart is a low-s signature of a fixed digest by a fixed key, with a
// fixed nonce (tests only).
func signedPart() (*signaturePart, *big.Int, *big.Int) {
	n := fr{}.Modulus()
	priv, k := big.NewInt(0x5eed), big.NewInt(0x4e0ce)
	digest := Keccak256([]byte("a mandate"))
	var pub, kG secp.G1Affine
	pub.ScalarMultiplicationBase(priv)
	kG.ScalarMultiplicationBase(k)
	r := kG.X.BigInt(new(big.Int))
	r.Mod(r, n)
	s := new(big.Int).Mul(r, priv)
	s.Add(s, new(big.Int).SetBytes(digest[:]))
	s.Mul(s, new(big.Int).ModInverse(k, n)).Mod(s, n)
	if s.Cmp(halfN) > 0 {
		s.Sub(n, s)
	}
	w := &signaturePart{Key: keyBytes(pub.X.BigInt(new(big.Int)), pub.Y.BigInt(new(big.Int))), Enabled: 1}
	copy(w.Digest[:], uints.NewU8Array(digest[:]))
	w.Sig = Signature{R: emulated.ValueOf[fr](r), S: emulated.ValueOf[fr](s)}
	return w, r, s
}

// rawLimbs is v as the four 64-bit little-endian limbs of an emulated
// witness, as is: emulated.ValueOf reduces a value mod the modulus (all but
// the modulus itself), a prover writing the witness need not.
func rawLimbs(v *big.Int) []frontend.Variable {
	out := make([]frontend.Variable, 4)
	mask := new(big.Int).SetUint64(^uint64(0))
	for i := range out {
		out[i] = new(big.Int).And(new(big.Int).Rsh(v, uint(64*i)), mask)
	}
	return out
}

// TestSignatureRange reaches the range checks on (r, s). Each case is one
// emulated ECDSA verification in the test engine (up to two seconds). A
// disabled slot's signature is unchecked: TestDisabledSlots/hold anything.
func TestSignatureRange(t *testing.T) {
	n := fr{}.Modulus()
	final := "api.AssertIsEqual(api.Mul(enabled, api.Sub(1, valid)), 0)"
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		w, _, _ := signedPart()
		engineOK(t, &signaturePart{}, w)
	})
	lowS := "s.fr.AssertIsLessOrEqual(&eff.S, s.fr.NewElement(halfN))"
	for name, c := range map[string]struct {
		set  func(w *signaturePart, r, s *big.Int)
		line string // the line of signature.go that rejects, or
		in   string // gnark's function, where the check is gnark's
	}{
		// r ≡ 0 (mod n): gnark's IsValid reduces r and reports it invalid
		"r = n": {set: func(w *signaturePart, _, _ *big.Int) { w.Sig.R.Limbs = rawLimbs(n) }, line: final},
		"r = 0": {set: func(w *signaturePart, _, _ *big.Int) { w.Sig.R = emulated.ValueOf[fr](0) }, line: final},
		// r > n: gnark's ECDSA asserts r ≤ n
		"r = n + 1": {set: func(w *signaturePart, _, _ *big.Int) {
			w.Sig.R.Limbs = rawLimbs(new(big.Int).Add(n, big.NewInt(1)))
		}, in: "ecdsa.PublicKey[...].prepareVerification"},
		"s = 0": {set: func(w *signaturePart, _, _ *big.Int) { w.Sig.S = emulated.ValueOf[fr](0) }, line: final},
		// EIP-2: s ≤ (n−1)/2; n − s is the other valid s of the signature
		"high s": {set: func(w *signaturePart, _, s *big.Int) {
			w.Sig.S = emulated.ValueOf[fr](new(big.Int).Sub(n, s))
		}, line: lowS},
		"s = (n+1)/2": {set: func(w *signaturePart, _, _ *big.Int) {
			w.Sig.S = emulated.ValueOf[fr](new(big.Int).Add(halfN, big.NewInt(1)))
		}, line: lowS},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, r, s := signedPart()
			c.set(w, r, s)
			err := engine(&signaturePart{}, w)
			if c.in != "" {
				mustReachIn(t, err, c.in)
			} else {
				mustReach(t, err, "signature.go", c.line)
			}
		})
	}
}
