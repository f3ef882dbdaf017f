package ceremony

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// CircuitRecord is phase2/<id>/circuit.json: what the circuit's phase 2
// was started from.
type CircuitRecord struct {
	CircuitID   string `json:"circuitId"`
	Constraints int    `json:"constraints"`
	Power       int    `json:"power"`     // the circuit's domain, 2^power
	SealedSRS   string `json:"sealedSrs"` // SHA-256 of phase1/sealed.srs
}

// InitPhase2 writes phase2/<id>/0000.ph2, the circuit's initial state over
// the sealed phase 1 (truncated to the circuit's domain), and keeps the
// evaluations the seal needs in the coordinator's cache (evaluations_cache.go).
func (t Transcript) InitPhase2(c Circuit) (*Receipt, error) {
	srs, srsHash, err := t.readSealedSRS()
	if err != nil {
		return nil, err
	}
	p, evals, err := initPhase2(c.CCS, srs)
	if err != nil {
		return nil, err
	}
	dir := t.phase2Dir(c.ID)
	rec := CircuitRecord{c.ID, c.CCS.GetNbConstraints(), log2(circuitDomain(c.CCS)), hexHash(srsHash)}
	path := filepath.Join(dir, stateName(0, ext2))
	if err := refuseExisting(path); err != nil {
		return nil, err
	}
	initial := phase2Hash(p)
	if err := t.saveEvaluations(c.ID, evaluationsKey(c.ID, srsHash, initial), evals); err != nil {
		return nil, fmt.Errorf("the seal's evaluations cache: %w", err)
	}
	h := sha256.New()
	if err := writeAtomic(path, func(w io.Writer) error { return writePhase2(io.MultiWriter(w, h), p) }); err != nil {
		return nil, err
	}
	if err := writeJSONFile(filepath.Join(dir, circuitFile), rec); err != nil {
		return nil, err
	}
	return &Receipt{Phase: 2, File: filepath.Base(path), Hash: hexHash(h.Sum(nil))}, nil
}

// NextPhase2 is the state a contribution to circuit id's phase 2 starts
// from and the file it writes.
func (t Transcript) NextPhase2(id string) (in, out string, err error) {
	dir := t.phase2Dir(id)
	if _, err := os.Stat(filepath.Join(dir, finalVKFile)); err == nil {
		return "", "", fmt.Errorf("%s: phase 2 is sealed; it takes no more contributions", dir)
	}
	paths, err := states(dir, ext2)
	if err != nil {
		return "", "", err
	}
	return paths[len(paths)-1], filepath.Join(dir, stateName(len(paths), ext2)), nil
}

// ContributePhase2 reads the phase 2 state at in, contributes and writes the
// new state to out and its receipt beside it.
func ContributePhase2(in, out, contributor string, typed []byte) (*Receipt, error) {
	start := time.Now()
	if err := refuseExisting(out); err != nil {
		return nil, err
	}
	p, prevHash, err := readPhase2File(in)
	if err != nil {
		return nil, err
	}
	if err := contributePhase2(p, prevHash, typed); err != nil {
		return nil, err
	}
	write := func(w io.Writer) (int64, error) { return 0, writePhase2(w, p) }
	return writeContribution(2, out, contributor, prevHash, start, write)
}

func readPhase2File(path string) (*mpcsetup.Phase2, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	p, h, err := readPhase2(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, h, nil
}

// Phase2Result is a verified phase 2 of one circuit.
type Phase2Result struct {
	CircuitID     string    `json:"circuitId"`
	Power         int       `json:"power"`
	Contributions []Receipt `json:"contributions"`
	Beacon        *Beacon   `json:"beacon,omitempty"`
	VerifyingKey  string    `json:"verifyingKey,omitempty"` // SHA-256 of verifying.key
	// Evaluations says how the circuit's points at τ were had: "recomputed"
	// (with the initial state, from phase 1 and the circuit), "cached" (the
	// seal, from this coordinator's init for this very initial state) or
	// "checked" (by random linear combinations, phase2_check.go).
	Evaluations string           `json:"evaluations,omitempty"`
	first       *mpcsetup.Phase2 // 0000.ph2
	last        *mpcsetup.Phase2
	lastHash    []byte                      // SHA-256 of the last state
	initial     []byte                      // SHA-256 of 0000.ph2
	evals       *mpcsetup.Phase2Evaluations // set by recomputing the initial state
	srs         *mpcsetup.SrsCommons
}

// VerifyPhase2 re-checks circuit c's phase 2 contributions from its initial
// state. With checkInitial it first checks that state against the sealed
// phase 1 and the circuit (a phase 2 started from another phase 1 or for
// another circuit fails there), by random linear combinations
// (phase2_check.go); without, it takes 0000.ph2 as written, which suits a
// coordinator checking each contribution as it arrives at the state it made
// itself.
func (t Transcript) VerifyPhase2(c Circuit, checkInitial bool) (*Phase2Result, error) {
	srs, _, err := t.readSealedSRS()
	if err != nil {
		return nil, &StepError{Step: "phase 2 of " + c.ID, Err: err}
	}
	var check initialCheck
	if checkInitial {
		if check, err = quickInitialCheck(c, srs); err != nil {
			return nil, &StepError{Step: "phase 2 of " + c.ID, Err: err}
		}
	}
	return t.verifyPhase2(c, srs, check)
}

// initialCheck checks a phase 2's initial state (res.first) before its
// contributions are.
type initialCheck func(res *Phase2Result) error

// quickInitialCheck checks the initial state by random linear combinations
// where the circuit's layout allows (layoutOf), else by recomputing it.
func quickInitialCheck(c Circuit, srs *mpcsetup.SrsCommons) (initialCheck, error) {
	l, err := layoutOf(c.CCS)
	if errors.Is(err, errLayout) {
		return func(res *Phase2Result) error { return res.recomputeInitial(c) }, nil
	}
	ts, err := truncate(srs, circuitDomain(c.CCS))
	if err != nil {
		return nil, err
	}
	return combinationCheck(c, ts, l), nil
}

// combinationCheck checks the initial state by random linear combinations,
// over the SRS truncated to c's domain and c's wire layout.
func combinationCheck(c Circuit, ts *mpcsetup.SrsCommons, l *wireLayout) initialCheck {
	return func(res *Phase2Result) error {
		if err := checkInitialPhase2(c, ts, l, res.first, res.initial); err != nil {
			return err
		}
		res.Evaluations = "checked"
		return nil
	}
}

func (t Transcript) verifyPhase2(c Circuit, srs *mpcsetup.SrsCommons, check initialCheck) (*Phase2Result, error) {
	dir := t.phase2Dir(c.ID)
	paths, err := states(dir, ext2)
	if err != nil {
		return nil, &StepError{Step: "phase 2 of " + c.ID, Err: err}
	}
	step0 := fmt.Sprintf("phase 2 initial state of %s (%s)", c.ID, rel(t, paths[0]))
	prev, prevHash, err := readPhase2File(paths[0])
	if err != nil {
		return nil, &StepError{Step: step0, Err: err}
	}
	res := &Phase2Result{CircuitID: c.ID, Power: log2(circuitDomain(c.CCS)), srs: srs, first: prev, initial: prevHash}
	if check != nil {
		if err := check(res); err != nil {
			return nil, &StepError{Step: step0, Err: err}
		}
	}
	for i, path := range paths[1:] {
		step := stepName(t, 2, i+1, path) + " of " + c.ID
		next, h, rec, err := readContribution(path, readPhase2File)
		if err != nil {
			return nil, &StepError{Step: step, Err: err}
		}
		if err := verifyPhase2Next(prev, prevHash, next); err != nil {
			return nil, &StepError{Step: step, Err: explainChallenge(err, next.Challenge, paths, i+1)}
		}
		res.Contributions = append(res.Contributions, *rec)
		prev, prevHash = next, h
	}
	res.last, res.lastHash = prev, prevHash
	return res, nil
}

// recomputeInitial recomputes the circuit's initial state from the sealed
// phase 1, requires it to be 0000.ph2 and keeps its evaluations.
func (res *Phase2Result) recomputeInitial(c Circuit) error {
	init, evals, err := initPhase2(c.CCS, res.srs)
	if err != nil {
		return err
	}
	if !bytes.Equal(res.initial, phase2Hash(init)) {
		return fmt.Errorf("not the initial state of %s over this transcript's sealed phase 1: it was made from another phase 1 or for another circuit", c.ID)
	}
	res.evals, res.Evaluations = evals, "recomputed"
	return nil
}

// SealPhase2 verifies circuit c's phase 2, applies the beacon and writes the
// final verifying key into the transcript; it returns the circuit's keys.
// The evaluations come from init's cache when it holds them for this very
// initial state, else (or with recompute) from recomputing that state.
func (t Transcript) SealPhase2(c Circuit, b Beacon, recompute bool) (groth16.ProvingKey, groth16.VerifyingKey, *Phase2Result, error) {
	raw, err := b.bytes()
	if err != nil {
		return nil, nil, nil, err
	}
	srs, srsHash, err := t.readSealedSRS()
	if err != nil {
		return nil, nil, nil, &StepError{Step: "phase 2 of " + c.ID, Err: err}
	}
	res, err := t.verifyPhase2(c, srs, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if !recompute {
		res.evals, err = t.loadEvaluations(c.ID, evaluationsKey(c.ID, srsHash, res.initial))
		res.Evaluations = "cached"
	}
	if recompute || err != nil {
		if err := res.recomputeInitial(c); err != nil {
			return nil, nil, nil, &StepError{Step: fmt.Sprintf("phase 2 initial state of %s (%s)", c.ID, rel(t, filepath.Join(t.phase2Dir(c.ID), stateName(0, ext2)))), Err: err}
		}
		if !recompute && !errors.Is(err, os.ErrNotExist) {
			res.Evaluations += " (the cache was unusable: " + err.Error() + ")"
		}
	}
	pk, vk, err := sealPhase2(res.last, res.srs, res.evals, c.CCS, raw)
	if err != nil {
		return nil, nil, nil, err
	}
	dir := t.phase2Dir(c.ID)
	h := sha256.New()
	if err := writeAtomic(filepath.Join(dir, finalVKFile), func(w io.Writer) error {
		_, err := vk.WriteTo(io.MultiWriter(w, h))
		return err
	}); err != nil {
		return nil, nil, nil, err
	}
	vkJSON, err := vkJSONBytes(vk, c.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := writeAtomic(filepath.Join(dir, finalVKJSON), func(w io.Writer) error { _, err := w.Write(vkJSON); return err }); err != nil {
		return nil, nil, nil, err
	}
	if err := writeJSONFile(filepath.Join(dir, beaconFile), b); err != nil {
		return nil, nil, nil, err
	}
	res.Beacon, res.VerifyingKey = &b, hexHash(h.Sum(nil))
	return pk, vk, res, nil
}
