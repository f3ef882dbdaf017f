package agent_test

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	gnarktwisted "github.com/consensys/gnark/std/algebra/native/twistededwards"
	gnarkeddsa "github.com/consensys/gnark/std/signature/eddsa"

	"github.com/aep2/aep2/circuits/agent"
	"github.com/aep2/aep2/circuits/agentkey"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

var (
	r     = ecc.BN254.ScalarField()
	order = func() *big.Int { o := twistededwards.GetEdwardsCurve().Order; return &o }()
)

func add(v any, d *big.Int) *big.Int {
	x := new(big.Int)
	switch t := v.(type) {
	case *big.Int:
		x.Set(t)
	case uint64:
		x.SetUint64(t)
	case int:
		x.SetInt64(int64(t))
	}
	return x.Mod(x.Add(x, d), r)
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

// signElements signs mandate (j, k) over arbitrary message elements, as a
// key holder can; the circuit must still refuse to settle them as another
// mandate.
func signElements(s *witness.AgentSettlement, j, k int, elems [7]*big.Int) {
	h := agentkey.NewHasher()
	for _, e := range elems {
		h.Write(e.FillBytes(make([]byte, 32)))
	}
	sig, err := fixture.AgentKey(j).Sign(h.Sum(nil), agentkey.NewChallengeHasher())
	if err != nil {
		panic(err)
	}
	copy(s.Pairs[j].Mandates[k].Signature[:], sig)
}

// challengeHasher feeds gnark-crypto's eddsa a challenge other than the
// protocol's: it receives R.X, R.Y, A.X, A.Y, M and hashes order(those blocks).
type challengeHasher struct {
	written []byte
	order   func(blocks [][]byte) [][]byte
}

func (h *challengeHasher) Write(p []byte) (int, error) {
	h.written = append(h.written, p...)
	return len(p), nil
}

func (h *challengeHasher) Sum(b []byte) []byte {
	var blocks [][]byte
	for w := h.written; len(w) > 0; w = w[32:] {
		blocks = append(blocks, w[:32])
	}
	inner := agentkey.NewHasher()
	for _, block := range h.order(blocks) {
		inner.Write(block)
	}
	return inner.Sum(b)
}

func (h *challengeHasher) Reset()         { h.written = nil }
func (h *challengeHasher) Size() int      { return 32 }
func (h *challengeHasher) BlockSize() int { return 32 }

// signChallenge re-signs mandate (j, k) with key over its own M, the challenge
// hashing order(R.X, R.Y, A.X, A.Y, M).
func signChallenge(s *witness.AgentSettlement, j, k int, key *eddsa.PrivateKey, order func(blocks [][]byte) [][]byte) {
	p := &s.Pairs[j]
	msg := witness.AgentMandateHash(s.DomainSeparator, s.Token, p.KeyID, p.Payee, &p.Mandates[k])
	sig, err := key.Sign(msg, &challengeHasher{order: order})
	if err != nil {
		panic(err)
	}
	copy(p.Mandates[k].Signature[:], sig)
}

func TestSignature(t *testing.T) {
	t.Run("S + 1", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(2, 1))
		c.Mandates[1].Sig.S = add(c.Mandates[1].Sig.S, big.NewInt(1))
		mustViolate(t, c, "1 ⋅ 1 != 0")
	})
	t.Run("S + ℓ, the same signature in the group (S < ℓ)", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(2, 1))
		c.Mandates[0].Sig.S = add(c.Mandates[0].Sig.S, order)
		mustFail(t, c)
	})
	t.Run("another signer", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		fixture.SignAgent(s, 0, fixture.AgentKey(9))
		mustViolate(t, settle(t, s), "1 ⋅ 1 != 0")
	})
	t.Run("R not on the curve", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(2, 1))
		c.Mandates[0].Sig.R.X = add(c.Mandates[0].Sig.R.X, big.NewInt(1))
		mustFail(t, c)
	})
	// The challenge is H(A.X, A.Y, R.X, R.Y, M) under the pair's own key; the
	// circuit computes the key's part once per pair slot (keyState) and each
	// slot selects its pair's. Each case signs with the right key and nonce,
	// only the challenge differs.
	challenges := map[string]func(blocks [][]byte) [][]byte{
		"the old challenge H(R.X, R.Y, A.X, A.Y, M)":  func(b [][]byte) [][]byte { return b },
		"a challenge without the key, H(R.X, R.Y, M)": func(b [][]byte) [][]byte { return [][]byte{b[0], b[1], b[4]} },
		"a challenge under the other pair's key": func(b [][]byte) [][]byte {
			other := fixture.AgentKey(0).PublicKey.A
			x, y := other.X.Bytes(), other.Y.Bytes()
			return [][]byte{x[:], y[:], b[0], b[1], b[4]}
		},
	}
	for name, order := range challenges {
		t.Run("signed over "+name, func(t *testing.T) {
			s := fixture.AgentSettlement(2, 1)
			signChallenge(s, 1, 0, fixture.AgentKey(1), order)
			mustViolate(t, settle(t, s), "1 ⋅ 1 != 0")
		})
	}
	t.Run("the protocol's challenge through the same signer solves", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		signChallenge(s, 1, 0, fixture.AgentKey(1), func(b [][]byte) [][]byte { return [][]byte{b[2], b[3], b[0], b[1], b[4]} })
		mustSolve(t, assign(t, s))
	})
	t.Run("R off the curve, the equation made to hold", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		c := assign(t, s)
		c.Mandates[0].Sig = offCurveSignature(t, s, 0)
		mustViolate(t, c, offCurveViolation(c.Mandates[0].Sig))
	})
	signedFor := map[string]func(s *witness.AgentSettlement){
		"another payee": func(s *witness.AgentSettlement) {
			fixture.SignAgentAs(s, 0, 1, fixture.AgentKey(0), s.Pairs[0].KeyID, fixture.Payee(7), s.Token)
		},
		"another key id": func(s *witness.AgentSettlement) {
			fixture.SignAgentAs(s, 0, 1, fixture.AgentKey(0), 99, s.Pairs[0].Payee, s.Token)
		},
		"another token": func(s *witness.AgentSettlement) {
			fixture.SignAgentAs(s, 0, 1, fixture.AgentKey(0), s.Pairs[0].KeyID, s.Pairs[0].Payee, witness.Address{1})
		},
		"another domain": func(s *witness.AgentSettlement) {
			ds := s.DomainSeparator
			s.DomainSeparator[31] ^= 1
			fixture.SignAgentAs(s, 0, 1, fixture.AgentKey(0), s.Pairs[0].KeyID, s.Pairs[0].Payee, s.Token)
			s.DomainSeparator = ds
		},
	}
	for name, mutate := range signedFor {
		t.Run("signed for "+name, func(t *testing.T) {
			s := fixture.AgentSettlement(2, 1)
			mutate(s)
			mustViolate(t, settle(t, s), "1 ⋅ 1 != 0")
		})
	}
}

// offCurveSignature signs pair j's first mandate with an R off the curve for
// which the circuit's equation still holds, so only R's on-curve check
// refuses it. With Q = [k]B = (x, y) and D = d·x²·y², R = (x/D, y/D) makes
// the unified addition −Q + R exactly (0, 1); S = k + h·s (mod ℓ) over the
// challenge of that R then gives [S]B − [h]A = Q.
func offCurveSignature(t *testing.T, s *witness.AgentSettlement, j int) gnarkeddsa.Signature {
	t.Helper()
	key := fixture.AgentKey(j)
	secret := new(big.Int).SetBytes(key.Bytes()[32:64])
	k := big.NewInt(987654321)
	curve := twistededwards.GetEdwardsCurve()
	var q twistededwards.PointAffine
	q.ScalarMultiplicationBase(k)
	var d, rx, ry fr.Element
	d.Mul(&q.X, &q.Y).Square(&d).Mul(&d, &curve.D).Inverse(&d)
	rx.Mul(&q.X, &d)
	ry.Mul(&q.Y, &d)
	if (&twistededwards.PointAffine{X: rx, Y: ry}).IsOnCurve() {
		t.Fatal("test bug: R is on the curve")
	}
	p := &s.Pairs[j]
	msg := witness.AgentMandateHash(s.DomainSeparator, s.Token, p.KeyID, p.Payee, &p.Mandates[0])
	hasher := agentkey.NewHasher()
	for _, e := range []fr.Element{key.PublicKey.A.X, key.PublicKey.A.Y, rx, ry} {
		b := e.Bytes()
		hasher.Write(b[:])
	}
	hasher.Write(msg)
	h := new(big.Int).SetBytes(hasher.Sum(nil))
	sc := h.Mul(h, secret).Add(h, k)
	sc.Mod(sc, order)
	var x, y big.Int
	rx.BigInt(&x)
	ry.BigInt(&y)
	return gnarkeddsa.Signature{R: gnarktwisted.Point{X: &x, Y: &y}, S: sc}
}

// offCurveViolation is how the solver prints R's failed on-curve check, gnark's
// AssertIsOnCurve: a·x² + y² ⋅ 1 != 1 + d·x²·y².
func offCurveViolation(sig gnarkeddsa.Signature) string {
	curve := twistededwards.GetEdwardsCurve()
	var x, y, x2, y2, lhs, rhs fr.Element
	x.SetBigInt(sig.R.X.(*big.Int))
	y.SetBigInt(sig.R.Y.(*big.Int))
	x2.Square(&x)
	y2.Square(&y)
	lhs.Mul(&curve.A, &x2).Add(&lhs, &y2)
	rhs.Mul(&curve.D, &x2).Mul(&rhs, &y2).Add(&rhs, new(fr.Element).SetOne())
	return lhs.String() + " ⋅ 1 != " + rhs.String()
}

func TestKeyOnCurve(t *testing.T) {
	c := assign(t, fixture.AgentSettlement(2, 1))
	c.Pairs[1].Key.X = add(c.Pairs[1].Key.X, big.NewInt(1))
	mustFail(t, c)
	t.Run("a disabled pair's key too", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(3))
		c.Pairs[1].Key.X = 1
		mustFail(t, c)
	})
}

func TestNonces(t *testing.T) {
	cases := map[string]func(s *witness.AgentSettlement){
		"first nonce = fromNonce": func(s *witness.AgentSettlement) { s.Pairs[0].FromNonce = 4 },
		"repeated nonce": func(s *witness.AgentSettlement) {
			s.Pairs[0].Mandates[1].Nonce = 4
			s.Pairs[0].ToNonce = 4
		},
		"decreasing nonce": func(s *witness.AgentSettlement) {
			s.Pairs[0].Mandates[0].Nonce = 7
		},
		"last nonce ≠ toNonce":         func(s *witness.AgentSettlement) { s.Pairs[0].ToNonce = 7 },
		"second pair's last ≠ toNonce": func(s *witness.AgentSettlement) { s.Pairs[1].ToNonce = 3 + 1 + 1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := fixture.AgentSettlement(2, 1)
			mutate(s)
			fixture.SignAgent(s, 0, fixture.AgentKey(0))
			fixture.SignAgent(s, 1, fixture.AgentKey(1))
			mustFail(t, settle(t, s))
		})
	}
}

func TestAmountsAndDeadlines(t *testing.T) {
	t.Run("total ≠ sum", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		s.Pairs[0].Total.Add(s.Pairs[0].Total, big.NewInt(1))
		mustViolate(t, settle(t, s), "1 ⋅ 1 != 0")
	})
	t.Run("amount of zero", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		s.Pairs[1].Total.SetInt64(0)
		s.Pairs[1].Mandates[0].Amount = big.NewInt(0)
		fixture.SignAgent(s, 1, fixture.AgentKey(1))
		mustViolate(t, settle(t, s), "0 ⋅ 0 != 1")
	})
	t.Run("deadline before notAfter", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		s.Pairs[0].Mandates[1].Deadline = fixture.NotAfter - 1
		fixture.SignAgent(s, 0, fixture.AgentKey(0))
		mustFail(t, settle(t, s))
	})
	// A key holder signs (nonce, deadline + 1, a); settled as (nonce,
	// deadline, a + 2^96) the terms element is the same.
	t.Run("amount of 2^96 + a, the terms of deadline + 1", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		m := &s.Pairs[1].Mandates[0]
		m.Deadline++
		fixture.SignAgent(s, 1, fixture.AgentKey(1))
		m.Deadline--
		c := assign(t, s)
		c.Mandates[2].Amount = add(m.Amount, pow2(96))
		c.Pairs[1].Total = c.Mandates[2].Amount
		if c.Pairs[1].Total.(*big.Int).BitLen() > 128 {
			t.Fatal("test bug")
		}
		mustFail(t, c)
	})
	// Signed (nonce + 1, deadline, a), settled as (nonce, deadline + 2^64, a).
	t.Run("deadline of 2^64 + d, the terms of nonce + 1", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		m := &s.Pairs[1].Mandates[0]
		m.Nonce++
		fixture.SignAgent(s, 1, fixture.AgentKey(1))
		m.Nonce--
		c := assign(t, s)
		c.Mandates[2].Deadline = add(m.Deadline, pow2(64))
		mustFail(t, c)
	})
	t.Run("the aliases sign validly as themselves", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		m := &s.Pairs[1].Mandates[0]
		e := witness.AgentMessage(s.DomainSeparator, s.Token, s.Pairs[1].KeyID, s.Pairs[1].Payee, m)
		signElements(s, 1, 0, e)
		mustSolve(t, assign(t, s))
	})
}

func TestSlotLayout(t *testing.T) {
	cases := map[string]func(c *agent.Circuit){
		"slot 0 disabled":            func(c *agent.Circuit) { c.Mandates[0].Enabled = 0 },
		"slot 0 not starting":        func(c *agent.Circuit) { c.Mandates[0].NewPair = 0 },
		"NewPair on a disabled slot": func(c *agent.Circuit) { c.Mandates[2].NewPair = 1 },
		"an enabled slot after a disabled one": func(c *agent.Circuit) {
			c.Mandates[1].Enabled = 0
		},
		"Enabled = 2": func(c *agent.Circuit) { c.Mandates[2].Enabled = 2 },
		"a mandate moved to the next pair": func(c *agent.Circuit) {
			c.Mandates[1].NewPair = 1
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := assign(t, fixture.AgentSettlement(2))
			mutate(c)
			mustFail(t, c)
		})
	}
	t.Run("more pairs than pair slots", func(t *testing.T) {
		s := fixture.AgentSettlement(1, 1)
		c := assign(t, s)
		extra := fixture.AgentSettlement(1, 1, 1)
		third, err := witness.AssignAgent(extra, 3, 3)
		if err != nil {
			t.Fatal(err)
		}
		c.Mandates[2] = third.Mandates[2]
		mustViolate(t, c, "1 ⋅ 1 != 0")
	})
}

func TestDisabledSlots(t *testing.T) {
	t.Run("any values on a disabled slot", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(2))
		d := &c.Mandates[2]
		d.Amount, d.Nonce, d.Deadline, d.RefHi, d.RefLo = 5, 1, 0, 77, 78
		d.Sig.S = 12345
		mustSolve(t, c)
	})
	t.Run("a disabled slot's amount is not counted", func(t *testing.T) {
		c := assign(t, fixture.AgentSettlement(2))
		c.Mandates[2].Amount = 5
		c.Pairs[0].Total = add(c.Pairs[0].Total, big.NewInt(5))
		mustViolate(t, c, "1 ⋅ 5 != 0")
	})
}

// TestPublicInput solves the whole circuit: the keccak of the packing binds
// every pair's fields and its key's compressed bytes.
func TestPublicInput(t *testing.T) {
	t.Run("off by one", func(t *testing.T) {
		c := assignFull(t, fixture.AgentSettlement(2, 1))
		c.PublicInput = add(c.PublicInput, big.NewInt(1))
		mustFail(t, c)
	})
	t.Run("a key other than the settled one", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		want := s.PublicInput()
		other := fixture.AgentKey(9)
		s.Pairs[0].Point, s.Pairs[0].Key = other.PublicKey.A, other.PublicKey.A.Bytes()
		fixture.SignAgent(s, 0, other)
		c := assignFull(t, s)
		mustSolve(t, c)
		c.PublicInput = want
		mustFail(t, c)
	})
	t.Run("an enabled pair left out", func(t *testing.T) {
		s := fixture.AgentSettlement(2, 1)
		c := assignFull(t, s)
		s.Pairs = s.Pairs[:1]
		c.PublicInput = s.PublicInput()
		mustFail(t, c)
	})
}

// TestDisabledPairs: a disabled pair slot must be all zeros with the
// identity as key, so its record's bits are zero past the settlement's
// length, where the keccak adds its padding.
func TestDisabledPairs(t *testing.T) {
	other := fixture.AgentKey(3).PublicKey.A
	var x, y big.Int
	other.X.BigInt(&x)
	other.Y.BigInt(&y)
	cases := map[string]func(p *agent.Pair){
		"key id":      func(p *agent.Pair) { p.KeyID = 4 },
		"payee":       func(p *agent.Pair) { p.Payee = 4 },
		"fromNonce":   func(p *agent.Pair) { p.FromNonce = 4 },
		"toNonce":     func(p *agent.Pair) { p.ToNonce = 4 },
		"total":       func(p *agent.Pair) { p.Total = 4 },
		"key X":       func(p *agent.Pair) { p.Key.X, p.Key.Y = &x, &y },
		"key (0, −1)": func(p *agent.Pair) { p.Key.Y = new(big.Int).Sub(r, big.NewInt(1)) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := assign(t, fixture.AgentSettlement(2))
			mutate(&c.Pairs[1])
			mustFail(t, c)
		})
	}
	t.Run("the valid padding solves", func(t *testing.T) {
		mustSolve(t, assign(t, fixture.AgentSettlement(2)))
	})
}
