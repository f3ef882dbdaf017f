package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	cmpc "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// MaxPower bounds a phase 1's domain (2^MaxPower): a 2^28 transcript is
// about 50 GB, beyond what one machine here contributes to.
const MaxPower = 28

// phase1 is one state of the powers-of-τ transcript (phase 1), laid out byte
// for byte as gnark's mpcsetup.Phase1 serializes itself, whose fields are
// unexported: the update proofs for τ, α and β of the contribution that made
// this state, the SRS, and the challenge, the SHA-256 of the state it was
// made from (empty in the initial state). gnark's Phase1 reads, verifies and
// seals what this writes, and the other way round (phase1_test.go).
type phase1 struct {
	proofs    [3]cmpc.UpdateProof // DST_TAU, DST_ALPHA, DST_BETA
	srs       mpcsetup.SrsCommons
	challenge []byte
}

// domain is the phase's N: its SRS serves circuits of up to N constraints.
func (p *phase1) domain() int { return len(p.srs.G2.Tau) }

// newPhase1 is the initial state of a 2^power domain: every secret 1, so
// every point a generator, and no proofs (gnark's NewPhase1).
func newPhase1(power int) (*phase1, error) {
	if power < 1 || power > MaxPower {
		return nil, fmt.Errorf("phase 1 power %d out of range [1, %d]", power, MaxPower)
	}
	n := 1 << power
	_, _, g1, g2 := curve.Generators()
	p := new(phase1)
	c := &p.srs
	c.G1.Tau = filled(2*n-1, g1)
	c.G1.AlphaTau = filled(n, g1)
	c.G1.BetaTau = filled(n, g1)
	c.G2.Tau = filled(n, g2)
	c.G2.Beta = g2
	return p, nil
}

func filled[T any](n int, v T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// readPhase1 reads one state, checks every point, and returns it with the
// SHA-256 of the bytes it was read from (what the next state's challenge
// must be).
func readPhase1(r io.Reader) (*phase1, []byte, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, h), 1<<20)
	p := new(phase1)
	if err := p.read(br); err != nil {
		return nil, nil, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, nil, errors.New("trailing bytes after the phase 1 state")
	}
	return p, h.Sum(nil), nil
}

func (p *phase1) read(r io.Reader) error {
	for i := range p.proofs {
		if err := readProof(r, &p.proofs[i]); err != nil {
			return fmt.Errorf("update proof %d: %w", i, err)
		}
	}
	if err := readSRS(r, &p.srs); err != nil {
		return err
	}
	var l [1]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	if l[0] != 0 {
		p.challenge = make([]byte, l[0])
		if _, err := io.ReadFull(r, p.challenge); err != nil {
			return fmt.Errorf("challenge: %w", err)
		}
	}
	return nil
}

// readSRS reads an SRS as gnark's SrsCommons.WriteTo writes it: N, [β]₂,
// [τⁱ]₁ and [τⁱ]₂ from i = 1 (the generators are implied), [βτⁱ]₁, [ατⁱ]₁.
func readSRS(r io.Reader, c *mpcsetup.SrsCommons) error {
	var n uint64
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return fmt.Errorf("domain size: %w", err)
	}
	if n < 2 || n > 1<<MaxPower || n&(n-1) != 0 {
		return fmt.Errorf("domain size %d is not a power of two in [2, 2^%d]", n, MaxPower)
	}
	c.G1.Tau = make([]curve.G1Affine, 2*n-1)
	c.G2.Tau = make([]curve.G2Affine, n)
	c.G1.AlphaTau = make([]curve.G1Affine, n)
	c.G1.BetaTau = make([]curve.G1Affine, n)
	_, _, c.G1.Tau[0], c.G2.Tau[0] = curve.Generators()
	beta := make([]curve.G2Affine, 1)
	steps := []struct {
		name string
		read func() error
	}{
		{"[β]₂", func() error { return readG2s(r, beta) }},
		{"[τⁱ]₁", func() error { return readG1s(r, c.G1.Tau[1:]) }},
		{"[τⁱ]₂", func() error { return readG2s(r, c.G2.Tau[1:]) }},
		{"[βτⁱ]₁", func() error { return readG1s(r, c.G1.BetaTau) }},
		{"[ατⁱ]₁", func() error { return readG1s(r, c.G1.AlphaTau) }},
	}
	for _, s := range steps {
		if err := s.read(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	c.G2.Beta = beta[0]
	return nil
}

// readProof reads a compressed update proof (32 + 64 bytes).
func readProof(r io.Reader, proof *cmpc.UpdateProof) error {
	var buf [g1Size + g2Size]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return err
	}
	if !compressed(buf[0]) || !compressed(buf[g1Size]) {
		return errors.New("update proof is not compressed")
	}
	_, err := proof.ReadFrom(bytes.NewReader(buf[:]))
	return err
}

// WriteTo writes the state as gnark's Phase1.WriteTo does.
func (p *phase1) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := p.write(bw); err != nil {
		return cw.n, err
	}
	err := bw.Flush()
	return cw.n, err
}

func (p *phase1) write(w io.Writer) error {
	for i := range p.proofs {
		if _, err := p.proofs[i].WriteTo(w); err != nil {
			return err
		}
	}
	if err := writeSRS(w, &p.srs); err != nil {
		return err
	}
	if len(p.challenge) > 255 {
		return errors.New("challenge longer than 255 bytes")
	}
	_, err := w.Write(append([]byte{byte(len(p.challenge))}, p.challenge...))
	return err
}

// writeSRS writes an SRS as gnark's SrsCommons.WriteTo does.
func writeSRS(w io.Writer, c *mpcsetup.SrsCommons) error {
	if err := binary.Write(w, binary.BigEndian, uint64(len(c.G2.Tau))); err != nil {
		return err
	}
	for _, write := range []func() error{
		func() error { return writeG2s(w, []curve.G2Affine{c.G2.Beta}) },
		func() error { return writeG1s(w, c.G1.Tau[1:]) },
		func() error { return writeG2s(w, c.G2.Tau[1:]) },
		func() error { return writeG1s(w, c.G1.BetaTau) },
		func() error { return writeG1s(w, c.G1.AlphaTau) },
	} {
		if err := write(); err != nil {
			return err
		}
	}
	return nil
}

// hash is the SHA-256 of the state's serialization, as gnark computes it.
func (p *phase1) hash() []byte {
	h := sha256.New()
	if _, err := p.WriteTo(h); err != nil {
		panic(err) // a hash.Hash does not fail
	}
	return h.Sum(nil)
}

// contribute moves the state forward with fresh secrets τ', α', β' (OS
// entropy and typed), proving knowledge of each, exactly as gnark's
// Phase1.Contribute does on one core. prevHash is the SHA-256 of the state
// as read, which becomes the challenge.
func (p *phase1) contribute(prevHash, typed []byte) error {
	secrets, err := drawSecrets(typed, 3)
	if err != nil {
		return err
	}
	defer wipe(secrets)
	p.challenge = bytes.Clone(prevHash)
	for i := range p.proofs {
		// non-zero values are used as given; no representation is scaled here
		p.proofs[i] = cmpc.UpdateValues(&secrets[i], p.challenge, byte(mpcsetup.DST_TAU+i))
	}
	updateSRS(&p.srs, &secrets[0], &secrets[1], &secrets[2])
	return nil
}

// verifyNext checks that next was made from p: its challenge is p's hash,
// its update proofs hold against p's values, and its SRS is powers of one τ
// with the same α and β throughout. The checks are gnark's Phase1.Verify,
// over the same primitives.
func (p *phase1) verifyNext(pHash []byte, next *phase1) error {
	if !bytes.Equal(next.challenge, pHash) {
		return errChallenge
	}
	if next.domain() != p.domain() {
		return fmt.Errorf("domain 2^%d, the previous state's is 2^%d", log2(next.domain()), log2(p.domain()))
	}
	prev, cur := &p.srs, &next.srs
	if err := next.proofs[0].Verify(pHash, mpcsetup.DST_TAU,
		cmpc.ValueUpdate{Previous: &prev.G1.Tau[1], Next: &cur.G1.Tau[1]}); err != nil {
		return fmt.Errorf("contribution to τ: %w", err)
	}
	if err := next.proofs[1].Verify(pHash, mpcsetup.DST_ALPHA,
		cmpc.ValueUpdate{Previous: &prev.G1.AlphaTau[0], Next: &cur.G1.AlphaTau[0]}); err != nil {
		return fmt.Errorf("contribution to α: %w", err)
	}
	if err := next.proofs[2].Verify(pHash, mpcsetup.DST_BETA,
		cmpc.ValueUpdate{Previous: &prev.G1.BetaTau[0], Next: &cur.G1.BetaTau[0]},
		cmpc.ValueUpdate{Previous: &prev.G2.Beta, Next: &cur.G2.Beta}); err != nil {
		return fmt.Errorf("contribution to β: %w", err)
	}
	if err := cmpc.SameRatioMany(cur.G1.Tau, cur.G2.Tau, cur.G1.AlphaTau, cur.G1.BetaTau); err != nil {
		return fmt.Errorf("the SRS is not powers of one τ: %w", err)
	}
	return nil
}

// errChallenge: a state's challenge is not the hash of the one before it.
var errChallenge = errors.New("its challenge is not the SHA-256 of the previous state")

// phase1BeaconDST is the domain separator gnark's Phase1.Seal hashes the beacon under.
var phase1BeaconDST = []byte("Groth16 MPC Setup - Phase 1")

// seal applies the beacon's public contribution and returns the final SRS,
// as gnark's Phase1.Seal does (on one core); p is left invalid.
func (p *phase1) seal(beacon []byte) mpcsetup.SrsCommons {
	c := cmpc.BeaconContributions(p.hash(), phase1BeaconDST, beacon, 3)
	updateSRS(&p.srs, &c[0], &c[1], &c[2])
	return p.srs
}

// update is gnark's SrsCommons.update on every core: [τⁱ] ← [τ'ⁱτⁱ] in both
// groups, [ατⁱ]₁ ← [α'τ'ⁱατⁱ]₁, [βτⁱ]₁ ← [β'τ'ⁱβτⁱ]₁ and [β]₂ ← [β'β]₂.
func updateSRS(c *mpcsetup.SrsCommons, tau, alpha, beta *fr.Element) {
	scaleG1Powers(c.G1.Tau[1:], tau, tau)
	scaleG2Powers(c.G2.Tau[1:], tau, tau)
	scaleG1Powers(c.G1.AlphaTau, alpha, tau)
	scaleG1Powers(c.G1.BetaTau, beta, tau)
	scaleG2Point(&c.G2.Beta, beta)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func log2(n int) int { return bits.Len(uint(n)) - 1 }
