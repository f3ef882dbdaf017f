package ceremony

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// StepError names the first step of a transcript that does not verify.
type StepError struct {
	Step string // e.g. "phase 1 contribution 2 (phase1/0002.ph1, by bob)"
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// rel is path relative to the transcript's directory, for messages.
func rel(t Transcript, path string) string {
	if r, err := filepath.Rel(t.Dir, path); err == nil {
		return r
	}
	return path
}

func stepName(t Transcript, phase, i int, path string) string {
	s := fmt.Sprintf("phase %d contribution %d (%s", phase, i, rel(t, path))
	if r, err := readReceipt(path); err == nil && r != nil && r.Contributor != "" {
		s += ", by " + r.Contributor
	}
	return s + ")"
}

// readContribution reads a contributed state and checks it against its
// receipt first: the hash its contributor published must be the file's.
func readContribution[T any](path string, read func(string) (T, []byte, error)) (T, []byte, *Receipt, error) {
	var zero T
	rec, err := readReceipt(path)
	if err != nil {
		return zero, nil, nil, err
	}
	if rec != nil {
		h, err := fileHash(path)
		if err != nil {
			return zero, nil, nil, err
		}
		if rec.Hash != hexHash(h) {
			return zero, nil, nil, fmt.Errorf("the file's SHA-256 is %s but its receipt (the hash its contributor published) says %s: the file changed after the contribution", hexHash(h), rec.Hash)
		}
	}
	state, h, err := read(path)
	if err != nil {
		return zero, nil, nil, err
	}
	if rec == nil {
		rec = &Receipt{File: filepath.Base(path)}
	}
	rec.Hash = hexHash(h)
	if n, ok := stateNumber(path); ok {
		rec.Index = n
	}
	return state, h, rec, nil
}

// explainChallenge turns a challenge mismatch into what happened: the state
// was made from another file of the transcript (skipped or reordered
// contributions) or from something else entirely.
func explainChallenge(err error, challenge []byte, paths []string, at int) error {
	if !errors.Is(err, errChallenge) {
		return err
	}
	if len(challenge) == 0 {
		return fmt.Errorf("%w: it carries no challenge", err)
	}
	for j, p := range paths {
		if j == at-1 {
			continue
		}
		if h, herr := fileHash(p); herr == nil && bytes.Equal(h, challenge) {
			switch {
			case j < at-1:
				return fmt.Errorf("%w: it was made from %s, not from %s: the contributions in between were skipped", err, filepath.Base(p), filepath.Base(paths[at-1]))
			default:
				return fmt.Errorf("%w: it was made from %s, a later file: the contributions are out of order", err, filepath.Base(p))
			}
		}
	}
	return fmt.Errorf("%w: it was made from a state that is not in this transcript (SHA-256 %s)", err, hexHash(challenge))
}

func fileHash(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
