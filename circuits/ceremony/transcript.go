package ceremony

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	cs "github.com/consensys/gnark/constraint/bn254"
)

// A transcript is a ceremony's directory, everything anyone needs to re-check it:
//
//	phase1/0000.ph1            the initial state (all secrets 1), from `phase1 init`
//	phase1/0001.ph1, .json     contribution 1 and its receipt (contributor, hashes)
//	phase1/…
//	phase1/beacon.json         the beacon that sealed phase 1
//	phase1/sealed.srs          the sealed SRS (gnark's SrsCommons), which every phase 2 starts from
//	phase2/<circuit id>/0000.ph2 … , beacon.json, as in phase 1, per circuit
//	phase2/<circuit id>/verifying.key, verifying_key.json   the final verifying key
//
// A state's file is exactly gnark's serialization, so its SHA-256 (what a
// participant publishes, `sha256sum` of the file) is the challenge the next
// state commits to.
type Transcript struct{ Dir string }

const (
	ext1          = ".ph1"
	ext2          = ".ph2"
	beaconFile    = "beacon.json"
	sealedSRSFile = "sealed.srs"
	circuitFile   = "circuit.json"
	finalVKFile   = "verifying.key"
	finalVKJSON   = "verifying_key.json"
)

// Circuit is a circuit under phase 2: its id (the key cache's directory
// name) and constraint system.
type Circuit struct {
	ID  string
	CCS *cs.R1CS
}

// Beacon is the public randomness that seals a phase: a value nobody could
// know before the last contribution, named so anyone can look it up (for
// example the hash of an Ethereum block announced in advance).
type Beacon struct {
	Value  string `json:"value"`  // 0x-hex
	Source string `json:"source"` // where to look it up
}

func (b Beacon) bytes() ([]byte, error) {
	v, ok := strings.CutPrefix(b.Value, "0x")
	raw, err := hex.DecodeString(v)
	if !ok || err != nil || len(raw) < 16 {
		return nil, fmt.Errorf("beacon %q: want 0x-hex of at least 16 bytes", b.Value)
	}
	if strings.TrimSpace(b.Source) == "" {
		return nil, errors.New("beacon source missing: name where anyone can look the value up")
	}
	return raw, nil
}

// Receipt is what a contribution prints and leaves beside its file
// (<NNNN>.json): the hash the participant publishes and the hash of the
// state it was made from.
type Receipt struct {
	Phase       int     `json:"phase"`
	Index       int     `json:"index,omitempty"`
	File        string  `json:"file"` // the state's file name (NNNN.ph1, NNNN.ph2)
	Contributor string  `json:"contributor,omitempty"`
	Hash        string  `json:"hash"`    // SHA-256 of File, hex
	Follows     string  `json:"follows"` // SHA-256 of the state it was made from
	Seconds     float64 `json:"seconds"`
}

func (t Transcript) phase1Dir() string { return filepath.Join(t.Dir, "phase1") }

func (t Transcript) phase2Dir(id string) string { return filepath.Join(t.Dir, "phase2", id) }

func stateName(i int, ext string) string { return fmt.Sprintf("%04d%s", i, ext) }

var stateRE = regexp.MustCompile(`^(\d{4})\.(ph1|ph2|json)$`)

// states lists dir's state files in order (0000, 0001, …), requiring the
// numbers to run without a gap.
func states(dir, ext string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		m := stateRE.FindStringSubmatch(e.Name())
		if m != nil && "."+m[2] == ext {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	paths := make([]string, len(nums))
	for i, n := range nums {
		if n != i {
			return nil, fmt.Errorf("%s: %s is missing (the states run %s)", dir, stateName(i, ext), numberList(nums))
		}
		paths[i] = filepath.Join(dir, stateName(n, ext))
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no %s state (run init first)", dir, stateName(0, ext))
	}
	return paths, nil
}

func numberList(nums []int) string {
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = fmt.Sprintf("%04d", n)
	}
	return strings.Join(s, ", ")
}

func receiptPath(state string) string {
	return strings.TrimSuffix(state, filepath.Ext(state)) + ".json"
}

// readReceipt reads a state's receipt; a state without one is allowed (it
// names no contributor).
func readReceipt(state string) (*Receipt, error) {
	var r Receipt
	err := readJSONFile(receiptPath(state), &r)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return &r, err
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// writeAtomic writes path through a temporary file, refusing to replace an
// existing one: a transcript only grows.
func writeAtomic(path string, write func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; a transcript's files are never replaced", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path) // fails if path appeared meanwhile
}

func hexHash(h []byte) string { return hex.EncodeToString(h) }
