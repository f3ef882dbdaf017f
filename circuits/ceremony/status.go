package ceremony

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Status is a transcript's progress for its coordinator: each state, who
// made it and its hash, the seals, and the file expected next. It hashes
// the files but checks no proof (Verify does).
type Status struct {
	Dir    string         `json:"dir"`
	Phase1 *PhaseStatus   `json:"phase1,omitempty"`
	Phase2 []*PhaseStatus `json:"phase2"`
}

// PhaseStatus is one phase of a transcript (phase 2: of one circuit).
type PhaseStatus struct {
	Phase     int           `json:"phase"`
	CircuitID string        `json:"circuitId,omitempty"`
	Power     int           `json:"power"`
	States    []StateStatus `json:"states"`
	Sealed    bool          `json:"sealed"`
	Beacon    *Beacon       `json:"beacon,omitempty"`
	Next      *NextState    `json:"next,omitempty"` // absent once sealed
	Problems  []string      `json:"problems,omitempty"`
}

// StateStatus is one state file and its receipt.
type StateStatus struct {
	Index       int     `json:"index"`
	File        string  `json:"file"` // relative to the transcript
	Contributor string  `json:"contributor,omitempty"`
	Hash        string  `json:"hash"`
	Follows     string  `json:"follows,omitempty"`
	Seconds     float64 `json:"seconds,omitempty"`
}

// NextState is the contribution the coordinator expects next.
type NextState struct {
	From string `json:"from"` // hand this file to the next participant
	File string `json:"file"` // who returns this one (and its .json receipt)
}

// Status reads the transcript's progress.
func (t Transcript) Status() (*Status, error) {
	s := &Status{Dir: t.Dir, Phase2: []*PhaseStatus{}}
	if _, err := os.Stat(t.phase1Dir()); errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	p1, err := t.phaseStatus(1, "", t.phase1Dir(), ext1, sealedSRSFile)
	if err != nil {
		return nil, err
	}
	if len(p1.States) > 0 {
		p1.Power = phase1Power(filepath.Join(t.Dir, p1.States[0].File))
	}
	s.Phase1 = p1
	ids, err := t.circuitIDs()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p2, err := t.phaseStatus(2, id, t.phase2Dir(id), ext2, finalVKFile)
		if err != nil {
			return nil, err
		}
		var rec CircuitRecord
		if err := readJSONFile(filepath.Join(t.phase2Dir(id), circuitFile), &rec); err == nil {
			p2.Power = rec.Power
		}
		s.Phase2 = append(s.Phase2, p2)
	}
	return s, nil
}

func (t Transcript) phaseStatus(phase int, id, dir, ext, sealFile string) (*PhaseStatus, error) {
	ps := &PhaseStatus{Phase: phase, CircuitID: id, States: []StateStatus{}}
	paths, err := states(dir, ext)
	if err != nil {
		ps.Problems = append(ps.Problems, err.Error())
		return ps, nil
	}
	var prev string
	for i, path := range paths {
		st, problem, err := stateStatus(t, i, path, prev)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			ps.Problems = append(ps.Problems, problem)
		}
		ps.States = append(ps.States, st)
		prev = st.Hash
	}
	if _, err := os.Stat(filepath.Join(dir, sealFile)); err == nil {
		ps.Sealed = true
		var b Beacon
		if err := readJSONFile(filepath.Join(dir, beaconFile), &b); err == nil {
			ps.Beacon = &b
		}
	} else {
		ps.Next = &NextState{From: rel(t, paths[len(paths)-1]), File: rel(t, filepath.Join(dir, stateName(len(paths), ext)))}
	}
	return ps, nil
}

func stateStatus(t Transcript, i int, path, prevHash string) (StateStatus, string, error) {
	h, err := fileHash(path)
	if err != nil {
		return StateStatus{}, "", err
	}
	st := StateStatus{Index: i, File: rel(t, path), Hash: hexHash(h)}
	rec, err := readReceipt(path)
	if err != nil || rec == nil {
		if i > 0 {
			return st, fmt.Sprintf("%s has no receipt (%s): who made it is not recorded", st.File, filepath.Base(receiptPath(path))), nil
		}
		return st, "", nil
	}
	st.Contributor, st.Follows, st.Seconds = rec.Contributor, rec.Follows, rec.Seconds
	switch {
	case rec.Hash != st.Hash:
		return st, fmt.Sprintf("%s: its SHA-256 is not the one its receipt records", st.File), nil
	case rec.Follows != prevHash:
		return st, fmt.Sprintf("%s: its receipt says it follows a state other than %04d", st.File, i-1), nil
	}
	return st, "", nil
}

// phase1Power reads the domain size from a phase 1 state's header (after
// the three update proofs).
func phase1Power(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n uint64
	if _, err := f.Seek(3*(g1Size+g2Size), 0); err != nil || binary.Read(f, binary.BigEndian, &n) != nil {
		return 0
	}
	return log2(int(n))
}
