package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// The seal needs the circuit's evaluations at τ in the Lagrange basis, which
// only `phase2 init` computes: nearly all of init's time. Without them the
// seal recomputes them (as long again: an hour of CPU at 2^20 on two cores).
// So init keeps them for the coordinator in <dir>/.cache/, outside the
// transcript proper: nothing verifies or publishes it, and deleting it only
// makes the seal slow. The seal takes them only for the exact initial state
// they were made with (a key over the circuit id, the sealed SRS and
// 0000.ph2), their checksum intact; anything else and it recomputes them.
// A wrong cache cannot pass unnoticed: verify-transcript always recomputes,
// and the keys the seal made would not match its final key.

const (
	cacheDir       = ".cache"
	evalsMagic     = "aep2 phase 2 evaluations v1\n"
	evalsKeyDomain = "aep2/ceremony/phase2-evaluations/v1"
)

func (t Transcript) evaluationsPath(id string) string {
	return filepath.Join(t.Dir, cacheDir, "phase2-"+id+".evals")
}

// evaluationsKey binds cached evaluations to what they were computed from.
func evaluationsKey(id string, srsHash, initialHash []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(evalsKeyDomain), []byte(id), srsHash, initialHash} {
		h.Write([]byte{byte(len(part) >> 8), byte(len(part))})
		h.Write(part)
	}
	return h.Sum(nil)
}

// saveEvaluations writes the cache file (replacing any older one, atomically).
func (t Transcript) saveEvaluations(id string, key []byte, e *mpcsetup.Phase2Evaluations) error {
	path := t.evaluationsPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".evals.tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, sum), 1<<20)
	if err := writeEvaluations(bw, key, e); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(sum.Sum(nil)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeEvaluations(w io.Writer, key []byte, e *mpcsetup.Phase2Evaluations) error {
	if _, err := io.WriteString(w, evalsMagic); err != nil {
		return err
	}
	if _, err := w.Write(key); err != nil {
		return err
	}
	enc := curve.NewEncoder(w, curve.RawEncoding())
	fields := []any{e.G1.A, e.G1.B, e.G2.B, e.G1.VKK, uint64(len(e.G1.CKK))}
	for _, ckk := range e.G1.CKK {
		fields = append(fields, ckk)
	}
	fields = append(fields, toUint64s(e.PublicAndCommitmentCommitted))
	for _, f := range fields {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// loadEvaluations reads the cache for key; an error says why it is unusable.
func (t Transcript) loadEvaluations(id string, key []byte) (*mpcsetup.Phase2Evaluations, error) {
	raw, err := os.ReadFile(t.evaluationsPath(id))
	if err != nil {
		return nil, err
	}
	if len(raw) < len(evalsMagic)+2*sha256.Size {
		return nil, errors.New("truncated")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("checksum mismatch (a damaged file)")
	}
	if string(body[:len(evalsMagic)]) != evalsMagic {
		return nil, errors.New("not an evaluations cache of this version")
	}
	body = body[len(evalsMagic):]
	if !bytes.Equal(body[:sha256.Size], key) {
		return nil, errors.New("made for another initial state, circuit or phase 1")
	}
	r := bytes.NewReader(body[sha256.Size:])
	// The checksum vouches for the bytes; init wrote points it computed itself.
	dec := curve.NewDecoder(r, curve.NoSubgroupChecks())
	e := new(mpcsetup.Phase2Evaluations)
	var nCKK uint64
	for _, f := range []any{&e.G1.A, &e.G1.B, &e.G2.B, &e.G1.VKK, &nCKK} {
		if err := dec.Decode(f); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
	}
	if nCKK > 255 {
		return nil, fmt.Errorf("%d commitments", nCKK)
	}
	e.G1.CKK = make([][]curve.G1Affine, nCKK)
	for i := range e.G1.CKK {
		if err := dec.Decode(&e.G1.CKK[i]); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
	}
	var committed [][]uint64
	if err := dec.Decode(&committed); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if r.Len() != 0 {
		return nil, errors.New("trailing bytes")
	}
	e.PublicAndCommitmentCommitted = toInts(committed)
	return e, nil
}

func toUint64s(v [][]int) [][]uint64 {
	out := make([][]uint64, len(v))
	for i, row := range v {
		out[i] = make([]uint64, len(row))
		for j, x := range row {
			out[i][j] = uint64(x)
		}
	}
	return out
}

func toInts(v [][]uint64) [][]int {
	out := make([][]int, len(v))
	for i, row := range v {
		out[i] = make([]int, len(row))
		for j, x := range row {
			out[i][j] = int(x)
		}
	}
	return out
}
