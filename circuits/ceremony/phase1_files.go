package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// InitPhase1 writes phase1/0000.ph1, the initial state of a 2^power domain.
// A phase 1 serves every circuit of at most 2^power constraints.
func (t Transcript) InitPhase1(power int) (*Receipt, error) {
	p, err := newPhase1(power)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(t.phase1Dir(), stateName(0, ext1))
	h := sha256.New()
	if err := writeAtomic(path, func(w io.Writer) error { _, err := p.WriteTo(io.MultiWriter(w, h)); return err }); err != nil {
		return nil, err
	}
	return &Receipt{Phase: 1, File: filepath.Base(path), Hash: hexHash(h.Sum(nil))}, nil
}

// NextPhase1 is the state a contribution to the transcript's phase 1 starts
// from and the file it writes.
func (t Transcript) NextPhase1() (in, out string, err error) {
	if _, err := os.Stat(filepath.Join(t.phase1Dir(), sealedSRSFile)); err == nil {
		return "", "", fmt.Errorf("%s: phase 1 is sealed; it takes no more contributions", t.phase1Dir())
	}
	paths, err := states(t.phase1Dir(), ext1)
	if err != nil {
		return "", "", err
	}
	return paths[len(paths)-1], filepath.Join(t.phase1Dir(), stateName(len(paths), ext1)), nil
}

// ContributePhase1 reads the state at in, contributes (fresh OS entropy
// mixed with typed), and writes the new state to out and its receipt beside
// it. The secrets exist only in this process's memory.
func ContributePhase1(in, out, contributor string, typed []byte) (*Receipt, error) {
	start := time.Now()
	if err := refuseExisting(out); err != nil {
		return nil, err
	}
	p, prevHash, err := readPhase1File(in)
	if err != nil {
		return nil, err
	}
	if err := p.contribute(prevHash, typed); err != nil {
		return nil, err
	}
	return writeContribution(1, out, contributor, prevHash, start, p.WriteTo)
}

func readPhase1File(path string) (*phase1, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	p, h, err := readPhase1(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, h, nil
}

// refuseExisting fails before a contribution's minutes of work if its
// output (or the output's receipt) is already there.
func refuseExisting(out string) error {
	for _, p := range []string{out, receiptPath(out)} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists; a transcript's files are never replaced", p)
		}
	}
	return nil
}

// writeContribution writes a new state and its receipt.
func writeContribution(phase int, out, contributor string, follows []byte, start time.Time, write func(io.Writer) (int64, error)) (*Receipt, error) {
	h := sha256.New()
	if err := writeAtomic(out, func(w io.Writer) error { _, err := write(io.MultiWriter(w, h)); return err }); err != nil {
		return nil, err
	}
	r := &Receipt{
		Phase: phase, File: filepath.Base(out), Contributor: contributor,
		Hash: hexHash(h.Sum(nil)), Follows: hexHash(follows), Seconds: time.Since(start).Seconds(),
	}
	if n, ok := stateNumber(out); ok {
		r.Index = n
	}
	return r, writeJSONFile(receiptPath(out), r)
}

func stateNumber(path string) (int, bool) {
	m := stateRE.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return 0, false
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	return n, true
}

// Phase1Result is a verified phase 1: its contributions in order and, once
// sealed, the beacon and the sealed SRS's hash.
type Phase1Result struct {
	Power         int       `json:"power"`
	Contributions []Receipt `json:"contributions"`
	Beacon        *Beacon   `json:"beacon,omitempty"`
	Sealed        string    `json:"sealedSrs,omitempty"` // SHA-256 of sealed.srs
	last          *phase1
	lastHash      []byte
}

// VerifyPhase1 re-checks every state from 0000.ph1 on and returns the chain;
// its error names the first step that fails (a *StepError).
func (t Transcript) VerifyPhase1() (*Phase1Result, error) {
	paths, err := states(t.phase1Dir(), ext1)
	if err != nil {
		return nil, &StepError{Step: "phase 1", Err: err}
	}
	prev, prevHash, err := readPhase1File(paths[0])
	if err != nil {
		return nil, &StepError{Step: "phase 1 initial state", Err: err}
	}
	res := &Phase1Result{Power: log2(prev.domain())}
	if err := checkInitial1(prev, prevHash); err != nil {
		return nil, &StepError{Step: "phase 1 initial state (" + rel(t, paths[0]) + ")", Err: err}
	}
	for i, path := range paths[1:] {
		step := stepName(t, 1, i+1, path)
		next, h, rec, err := readContribution(path, readPhase1File)
		if err != nil {
			return nil, &StepError{Step: step, Err: err}
		}
		if err := prev.verifyNext(prevHash, next); err != nil {
			return nil, &StepError{Step: step, Err: explainChallenge(err, next.challenge, paths, i+1)}
		}
		res.Contributions = append(res.Contributions, *rec)
		prev, prevHash = next, h
	}
	res.last, res.lastHash = prev, prevHash
	return res, nil
}

// checkInitial1 requires the initial state to be exactly gnark's NewPhase1.
func checkInitial1(p *phase1, h []byte) error {
	want, err := newPhase1(log2(p.domain()))
	if err != nil {
		return err
	}
	if !bytes.Equal(want.hash(), h) {
		return fmt.Errorf("not the initial state of a 2^%d phase 1 (every secret 1)", log2(p.domain()))
	}
	return nil
}

// SealPhase1 verifies phase 1, applies the beacon and writes sealed.srs and
// beacon.json. Announce the beacon (which future value) before the last
// contribution, so that no contributor can know it.
func (t Transcript) SealPhase1(b Beacon) (*Phase1Result, error) {
	raw, err := b.bytes()
	if err != nil {
		return nil, err
	}
	res, err := t.VerifyPhase1()
	if err != nil {
		return nil, err
	}
	srs := res.last.seal(raw)
	h := sha256.New()
	path := filepath.Join(t.phase1Dir(), sealedSRSFile)
	if err := writeAtomic(path, func(w io.Writer) error { return writeSRS(io.MultiWriter(w, h), &srs) }); err != nil {
		return nil, err
	}
	if err := writeJSONFile(filepath.Join(t.phase1Dir(), beaconFile), b); err != nil {
		return nil, err
	}
	res.Beacon, res.Sealed = &b, hexHash(h.Sum(nil))
	return res, nil
}

// readSealedSRS reads phase1/sealed.srs (written by SealPhase1, re-checked
// by Verify) and its hash.
func (t Transcript) readSealedSRS() (*mpcsetup.SrsCommons, []byte, error) {
	f, err := os.Open(filepath.Join(t.phase1Dir(), sealedSRSFile))
	if err != nil {
		return nil, nil, fmt.Errorf("phase 1 is not sealed: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)
	srs := new(mpcsetup.SrsCommons)
	if err := readSRS(br, srs); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", sealedSRSFile, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, nil, fmt.Errorf("%s: trailing bytes", sealedSRSFile)
	}
	return srs, h.Sum(nil), nil
}
