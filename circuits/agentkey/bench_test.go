package agentkey

import (
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func benchFixture(b *testing.B) (*PrivateKey, [PublicKeySize]byte, Mandate, [SignatureSize]byte) {
	priv := testKey(b, 9)
	m := testMandate(mrand.New(mrand.NewPCG(13, 14)))
	sig, err := SignMandate(priv, &m)
	if err != nil {
		b.Fatal(err)
	}
	return priv, PublicKeyBytes(priv), m, sig
}

// timed runs op in b.Loop and reports the median and p99 of single calls besides
// the mean: the budgets (issue 11) are p99s.
func timed(b *testing.B, op func()) {
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		op()
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1e3, "p99-µs")
}

func BenchmarkMandateHash(b *testing.B) {
	_, _, m, _ := benchFixture(b)
	timed(b, func() { m.Hash() })
}

func BenchmarkSign(b *testing.B) {
	priv, _, m, _ := benchFixture(b)
	msg := m.Hash()
	timed(b, func() {
		if _, err := Sign(priv, msg); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	_, pub, m, sig := benchFixture(b)
	msg := m.Hash()
	timed(b, func() {
		if ok, _ := Verify(pub[:], msg, sig[:]); !ok {
			b.Fatal("rejected")
		}
	})
}

func BenchmarkVerifyMandate(b *testing.B) {
	_, pub, m, sig := benchFixture(b)
	timed(b, func() {
		if ok, _ := VerifyMandate(pub[:], &m, sig[:]); !ok {
			b.Fatal("rejected")
		}
	})
}

// BenchmarkVerifyStock is gnark-crypto's PublicKey.Verify (with NewChallengeHasher), for comparison.
func BenchmarkVerifyStock(b *testing.B) {
	priv, _, m, sig := benchFixture(b)
	msg := m.Hash()
	pk := stockKey(b, priv).PublicKey
	timed(b, func() {
		if ok, _ := pk.Verify(sig[:], msg[:], NewChallengeHasher()); !ok {
			b.Fatal("rejected")
		}
	})
}

// BenchmarkSignMandate is what a payer pays per call: the mandate's hash and the signature.
func BenchmarkSignMandate(b *testing.B) {
	priv, _, m, _ := benchFixture(b)
	timed(b, func() {
		if _, err := SignMandate(priv, &m); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSignStock is gnark-crypto's PrivateKey.Sign with NewChallengeHasher.
func BenchmarkSignStock(b *testing.B) {
	priv, _, m, _ := benchFixture(b)
	msg := m.Hash()
	stock := stockKey(b, priv)
	timed(b, func() {
		if _, err := stock.Sign(msg[:], NewChallengeHasher()); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCompress is one Poseidon2 compression C(h, e): a mandate's hash costs
// three (its first four elements are cached), a challenge three (its key's two are).
func BenchmarkCompress(b *testing.B) {
	var h, e fr.Element
	h.SetUint64(3)
	e.SetUint64(5)
	timed(b, func() { compress(&h, &e) })
}

// BenchmarkCompressStock is the same compression through gnark-crypto's Permutation.
func BenchmarkCompressStock(b *testing.B) {
	var h, e fr.Element
	h.SetUint64(3)
	e.SetUint64(5)
	perm := permutation()
	timed(b, func() {
		state := [2]fr.Element{h, e}
		if err := perm.Permutation(state[:]); err != nil {
			b.Fatal(err)
		}
		h.Add(&state[1], &e)
	})
}
