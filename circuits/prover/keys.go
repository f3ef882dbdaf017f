package prover

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
)

// ErrNoKeys means the key cache has no keys for a circuit id.
var ErrNoKeys = errors.New("no keys for this circuit (run `aep2-prover setup --dev`)")

// Keys are one circuit's constraint system and Groth16 keys.
type Keys struct {
	Size Size
	CCS  constraint.ConstraintSystem
	PK   groth16.ProvingKey
	VK   groth16.VerifyingKey
}

const (
	ccsFile = "circuit.r1cs"
	pkFile  = "proving.key"
	vkFile  = "verifying.key"
)

// Save writes the keys into dir (created if missing), each file atomically.
func (k *Keys) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create key dir: %w", err)
	}
	for name, obj := range map[string]io.WriterTo{ccsFile: k.CCS, pkFile: rawWriter{k.PK}, vkFile: rawWriter{k.VK}} {
		if err := writeFileAtomic(filepath.Join(dir, name), obj); err != nil {
			return err
		}
	}
	return nil
}

// rawWriter writes curve points uncompressed, which loads several times faster.
type rawWriter struct {
	obj interface {
		WriteRawTo(io.Writer) (int64, error)
	}
}

func (r rawWriter) WriteTo(w io.Writer) (int64, error) { return r.obj.WriteRawTo(w) }

func writeFileAtomic(path string, obj io.WriterTo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := obj.WriteTo(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// LoadKeys reads the keys of size from dir. The key cache is trusted local
// state written by Save, so points are read without subgroup checks
// (gnark's UnsafeReadFrom); never point it at keys from elsewhere.
func LoadKeys(size Size, dir string) (*Keys, error) {
	k := &Keys{Size: size, CCS: groth16.NewCS(ecc.BN254), PK: groth16.NewProvingKey(ecc.BN254), VK: groth16.NewVerifyingKey(ecc.BN254)}
	if _, err := os.Stat(filepath.Join(dir, pkFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s in %s: %w", size.ID(), dir, ErrNoKeys)
	}
	if err := readFile(filepath.Join(dir, ccsFile), k.CCS.ReadFrom); err != nil {
		return nil, err
	}
	if err := readFile(filepath.Join(dir, pkFile), k.PK.UnsafeReadFrom); err != nil {
		return nil, err
	}
	if err := readFile(filepath.Join(dir, vkFile), k.VK.ReadFrom); err != nil {
		return nil, err
	}
	return k, nil
}

// LoadVerifyingKey reads only the verifying key of size from dir.
func LoadVerifyingKey(dir string) (groth16.VerifyingKey, error) {
	if _, err := os.Stat(filepath.Join(dir, vkFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoKeys)
	}
	return ReadVerifyingKey(filepath.Join(dir, vkFile))
}

// ReadVerifyingKey reads a verifying key file in either of gnark's
// encodings (the cache's raw one, a ceremony transcript's compressed one),
// checking every point.
func ReadVerifyingKey(path string) (groth16.VerifyingKey, error) {
	vk := groth16.NewVerifyingKey(ecc.BN254)
	return vk, readFile(path, vk.ReadFrom)
}

func readFile(path string, read func(io.Reader) (int64, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	if _, err := read(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func decodeHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, fmt.Errorf("%.20q… is not 0x-hex", s)
	}
	return hex.DecodeString(s[2:])
}
