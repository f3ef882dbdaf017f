package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/consensys/gnark/backend/groth16"
	groth16Impl "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"

	"github.com/aep2/aep2/circuits/prover"
)

// Report is a verified transcript: who contributed what, the beacons, and
// the hashes of what the seals produced.
type Report struct {
	Phase1 *Phase1Result     `json:"phase1"`
	Phase2 []*Phase2Result   `json:"phase2"`
	Keys   map[string]string `json:"keys,omitempty"` // circuit id → key cache directory found equal to the transcript's keys
}

// Resolver compiles the circuit a transcript's phase 2 names.
type Resolver func(id string) (Circuit, error)

// Verify re-checks the whole transcript: phase 1 from its initial state
// through every contribution to its seal, then each circuit's phase 2 from
// its initial state through every contribution to the final verifying key.
// If keysDir is not nil, the keys it names for each circuit (the key cache)
// must be the ones the transcript seals. Phase 2's initial state and keys
// depend on the circuit's wires at τ: with recompute they are recomputed
// from phase 1 as the coordinator did (gnark's group FFT, most of the time at
// real sizes), else checked by random linear combinations (phase2_check.go),
// minutes instead of hours. The error names the first step that fails (a
// *StepError).
func (t Transcript) Verify(resolve Resolver, keysDir func(id string) string, recompute bool) (*Report, error) {
	r1, err := t.VerifyPhase1()
	if err != nil {
		return nil, err
	}
	srs, err := t.checkSeal1(r1, recompute)
	if err != nil {
		return nil, &StepError{Step: "phase 1 seal (" + rel(t, filepath.Join(t.phase1Dir(), sealedSRSFile)) + ")", Err: err}
	}
	ids, err := t.circuitIDs()
	if err != nil {
		return nil, &StepError{Step: "phase 2", Err: err}
	}
	report := &Report{Phase1: r1, Keys: map[string]string{}}
	for _, id := range ids {
		c, err := resolve(id)
		if err != nil {
			return nil, &StepError{Step: "phase 2 of " + id, Err: err}
		}
		dir := ""
		if keysDir != nil {
			dir = keysDir(id)
		}
		r2, err := t.verifyCircuit(c, srs, dir, recompute)
		if err != nil {
			return nil, err
		}
		if dir != "" {
			report.Keys[id] = dir
		}
		report.Phase2 = append(report.Phase2, r2)
	}
	return report, nil
}

// verifyCircuit checks circuit c's phase 2 and, if keyDir is not empty, the
// key cache there.
func (t Transcript) verifyCircuit(c Circuit, srs *mpcsetup.SrsCommons, keyDir string, recompute bool) (*Phase2Result, error) {
	step := "phase 2 of " + c.ID
	l, err := layoutOf(c.CCS)
	if errors.Is(err, errLayout) {
		recompute = true
	}
	if recompute {
		r2, err := t.verifyPhase2(c, srs, func(res *Phase2Result) error { return res.recomputeInitial(c) })
		if err != nil {
			return nil, err
		}
		pk, vk, err := t.checkSeal2(c, r2)
		if err != nil {
			return nil, &StepError{Step: step + " seal", Err: err}
		}
		if keyDir != "" {
			if err := checkKeyCache(keyDir, pk, vk); err != nil {
				return nil, &StepError{Step: "key cache of " + c.ID, Err: err}
			}
		}
		return r2, nil
	}
	ts, err := truncate(srs, circuitDomain(c.CCS))
	if err != nil {
		return nil, &StepError{Step: step, Err: err}
	}
	r2, err := t.verifyPhase2(c, srs, combinationCheck(c, ts, l))
	if err != nil {
		return nil, err
	}
	vk, sc, parts, err := t.checkSeal2Quick(c, r2, ts, l)
	if err != nil {
		return nil, &StepError{Step: step + " seal", Err: err}
	}
	if keyDir != "" {
		if err := checkKeyCacheQuick(keyDir, c, ts, l, r2, sc, parts, vk); err != nil {
			return nil, &StepError{Step: "key cache of " + c.ID, Err: err}
		}
	}
	return r2, nil
}

// checkSeal1 requires sealed.srs, which every phase 2 starts from, to be
// the last contribution sealed with the recorded beacon: by sealing it again
// (recompute), else by random linear combinations (checkSealedSRS).
func (t Transcript) checkSeal1(r *Phase1Result, recompute bool) (*mpcsetup.SrsCommons, error) {
	var b Beacon
	if err := readJSONFile(filepath.Join(t.phase1Dir(), beaconFile), &b); err != nil {
		return nil, fmt.Errorf("beacon: %w", err)
	}
	raw, err := b.bytes()
	if err != nil {
		return nil, err
	}
	fileSRS, fileHash, err := t.readSealedSRS()
	if err != nil {
		return nil, err
	}
	if recompute {
		srs := r.last.seal(raw)
		h := sha256.New()
		if err := writeSRS(h, &srs); err != nil {
			return nil, err
		}
		if !bytes.Equal(h.Sum(nil), fileHash) {
			return nil, errors.New("sealed.srs is not the last contribution sealed with the recorded beacon")
		}
	} else if err := checkSealedSRS(r.last, r.lastHash, raw, fileSRS); err != nil {
		return nil, err
	}
	r.Beacon, r.Sealed = &b, hexHash(fileHash)
	return fileSRS, nil
}

// checkSeal2 re-seals a circuit's phase 2 with its recorded beacon and
// requires the result to be the transcript's final verifying key.
func (t Transcript) checkSeal2(c Circuit, r *Phase2Result) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	dir := t.phase2Dir(c.ID)
	var b Beacon
	if err := readJSONFile(filepath.Join(dir, beaconFile), &b); err != nil {
		return nil, nil, fmt.Errorf("beacon: %w", err)
	}
	raw, err := b.bytes()
	if err != nil {
		return nil, nil, err
	}
	pk, vk, err := sealPhase2(r.last, r.srs, r.evals, c.CCS, raw)
	if err != nil {
		return nil, nil, err
	}
	var want bytes.Buffer
	if _, err := vk.WriteTo(&want); err != nil {
		return nil, nil, err
	}
	got, err := os.ReadFile(filepath.Join(dir, finalVKFile))
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(got, want.Bytes()) {
		return nil, nil, fmt.Errorf("%s is not the last contribution sealed with the recorded beacon", finalVKFile)
	}
	if err := checkVKJSON(filepath.Join(dir, finalVKJSON), vk, c.ID); err != nil {
		return nil, nil, err
	}
	r.Beacon, r.VerifyingKey = &b, hexHash(sha256Sum(got))
	return pk, vk, nil
}

// checkSeal2Quick is checkSeal2 without the wires' evaluations: the final
// verifying key is rebuilt from the last state and the recorded beacon, its
// public wires' points checked by a random linear combination.
func (t Transcript) checkSeal2Quick(c Circuit, r *Phase2Result, srs *mpcsetup.SrsCommons, l *wireLayout) (*groth16Impl.VerifyingKey, sealScalars, sealedParts, error) {
	dir := t.phase2Dir(c.ID)
	var b Beacon
	if err := readJSONFile(filepath.Join(dir, beaconFile), &b); err != nil {
		return nil, sealScalars{}, sealedParts{}, fmt.Errorf("beacon: %w", err)
	}
	raw, err := b.bytes()
	if err != nil {
		return nil, sealScalars{}, sealedParts{}, err
	}
	sc := beaconScalars(r.last, r.lastHash, raw)
	parts := sealParts(r.last, sc)
	file, err := os.ReadFile(filepath.Join(dir, finalVKFile))
	if err != nil {
		return nil, sc, parts, err
	}
	vk, err := checkFinalVK(c, srs, l, parts, file)
	if err != nil {
		return nil, sc, parts, err
	}
	if err := checkVKJSON(filepath.Join(dir, finalVKJSON), vk, c.ID); err != nil {
		return nil, sc, parts, err
	}
	r.Beacon, r.VerifyingKey = &b, hexHash(sha256Sum(file))
	return vk, sc, parts, nil
}

// checkKeyCacheQuick is checkKeyCache against the quick check's keys.
func checkKeyCacheQuick(dir string, c Circuit, srs *mpcsetup.SrsCommons, l *wireLayout, r *Phase2Result, sc sealScalars, parts sealedParts, vk *groth16Impl.VerifyingKey) error {
	h := sha256.New()
	if _, err := vk.WriteRawTo(h); err != nil {
		return err
	}
	got, err := fileHash(filepath.Join(dir, "verifying.key"))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, h.Sum(nil)) {
		return fmt.Errorf("%s is not the transcript's verifying.key (keys from another setup, such as `setup --dev`)", filepath.Join(dir, "verifying.key"))
	}
	return checkProvingKey(filepath.Join(dir, "proving.key"), c, srs, l, r.first, r.last, sc, parts)
}

func checkVKJSON(path string, vk groth16.VerifyingKey, id string) error {
	want, err := vkJSONBytes(vk, id)
	if err != nil {
		return err
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is not the final verifying key", filepath.Base(path))
	}
	return nil
}

func vkJSONBytes(vk groth16.VerifyingKey, id string) ([]byte, error) {
	j, err := prover.VerifyingKeyJSON(vk, id)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(j, "", "  ")
	return append(b, '\n'), err
}

// checkKeyCache requires the key cache's proving and verifying keys to be
// the sealed ones, byte for byte as prover.Keys.Save writes them.
func checkKeyCache(dir string, pk groth16.ProvingKey, vk groth16.VerifyingKey) error {
	// In a fixed order, verifying key first, as the quick check goes.
	for _, k := range []struct {
		name string
		key  interface {
			WriteRawTo(io.Writer) (int64, error)
		}
	}{{"verifying.key", vk}, {"proving.key", pk}} {
		name, key := k.name, k.key
		h := sha256.New()
		if _, err := key.WriteRawTo(h); err != nil {
			return err
		}
		got, err := fileHash(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, h.Sum(nil)) {
			return fmt.Errorf("%s is not the transcript's %s (keys from another setup, such as `setup --dev`)", filepath.Join(dir, name), name)
		}
	}
	return nil
}

// circuitIDs lists the circuits with a phase 2, in order.
func (t Transcript) circuitIDs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(t.Dir, "phase2"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
