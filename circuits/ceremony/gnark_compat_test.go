package ceremony

import (
	"bytes"
	"testing"

	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// The project's phase 1 reads, writes, contributes and seals as gnark's
// mpcsetup.Phase1 does: each side accepts what the other wrote, and both
// seal a state to the same SRS.

func gnarkBytes(t *testing.T, p *mpcsetup.Phase1) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := p.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ourBytes(t *testing.T, p *phase1) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := p.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gnarkPhase1(t *testing.T, b []byte) *mpcsetup.Phase1 {
	t.Helper()
	p := new(mpcsetup.Phase1)
	if _, err := p.ReadFrom(fullReader{bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	return p
}

func ourPhase1(t *testing.T, b []byte) (*phase1, []byte) {
	t.Helper()
	p, h, err := readPhase1(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

func TestPhase1MatchesGnark(t *testing.T) {
	const power = 5
	init0 := gnarkBytes(t, mpcsetup.NewPhase1(1<<power))
	ours, err := newPhase1(power)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ourBytes(t, ours), init0) {
		t.Fatal("initial states differ")
	}

	// gnark contributes; we read and verify it
	g := gnarkPhase1(t, init0)
	g.Contribute()
	b1 := gnarkBytes(t, g)
	prev, h0 := ourPhase1(t, init0)
	next, h1 := ourPhase1(t, b1)
	if err := prev.verifyNext(h0, next); err != nil {
		t.Fatalf("gnark's contribution rejected: %v", err)
	}
	if !bytes.Equal(ourBytes(t, next), b1) {
		t.Fatal("re-serialization differs from gnark's bytes")
	}

	// we contribute; gnark reads and verifies it
	if err := next.contribute(h1, []byte("typed")); err != nil {
		t.Fatal(err)
	}
	b2 := ourBytes(t, next)
	if err := gnarkPhase1(t, b1).Verify(gnarkPhase1(t, b2)); err != nil {
		t.Fatalf("gnark rejects our contribution: %v", err)
	}

	// both seal the last state to the same SRS
	beacon := []byte("beacon")
	theirs := gnarkPhase1(t, b2).Seal(beacon)
	last, _ := ourPhase1(t, b2)
	mine := last.seal(beacon)
	var x, y bytes.Buffer
	if _, err := theirs.WriteTo(&x); err != nil {
		t.Fatal(err)
	}
	if _, err := mine.WriteTo(&y); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Fatal("sealed SRS differs from gnark's")
	}
}
