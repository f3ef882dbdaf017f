// Package vectors reads the shared mandate test vectors
// (tests/vectors/mandates.json at the repository root, written by
// scripts/gen_vectors.py) and turns them into settlements.
package vectors

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/aep2/aep2/circuits/witness"
)

// File is the vectors file's shape (the fields the circuit side uses).
type File struct {
	DomainSeparator string    `json:"domainSeparator"`
	Typehash        string    `json:"typehash"`
	Valid           []Valid   `json:"valid"`
	Invalid         []Invalid `json:"invalid"`
}

// Mandate is a mandate's fields, numbers as decimal strings.
type Mandate struct {
	Payer     string `json:"payer"`
	Payee     string `json:"payee"`
	Token     string `json:"token"`
	Amount    string `json:"amount"`
	Nonce     string `json:"nonce"`
	Deadline  string `json:"deadline"`
	Ref       string `json:"ref"`
	Signature string `json:"signature,omitempty"`
}

// Valid is one validly signed mandate and what it hashes to.
type Valid struct {
	Name       string  `json:"name"`
	PrivateKey string  `json:"privateKey"`
	PublicKey  string  `json:"publicKey"`
	Address    string  `json:"address"`
	Mandate    Mandate `json:"mandate"`
	StructHash string  `json:"structHash"`
	Digest     string  `json:"digest"`
	Signature  string  `json:"signature"`
}

// Invalid is a mandate the payee must reject, base64 of canonical JSON.
type Invalid struct {
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	Encoded string `json:"encoded"`
}

// Path is $AEP2_VECTORS or tests/vectors/mandates.json at the repo root.
func Path() string {
	if p := os.Getenv("AEP2_VECTORS"); p != "" {
		return p
	}
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..", "tests", "vectors", "mandates.json")
}

// ErrAbsent means the vectors file is not there (yet).
var ErrAbsent = errors.New("shared vectors not found")

// Load reads the vectors file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrAbsent, path)
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &f, nil
}

// Decode reads an encoded mandate (base64 of canonical JSON).
func Decode(encoded string) (*Mandate, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, err
	}
	var m Mandate
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Request is a one-pair, one-mandate prove request for m signed under the
// file's domain, with fromNonce = nonce-1 and notAfter = deadline.
func (f *File) Request(m *Mandate, publicKey string) (*witness.Request, error) {
	nonce, err := strconv.ParseUint(m.Nonce, 10, 64)
	if err != nil || nonce == 0 {
		return nil, fmt.Errorf("nonce %q: want 1..2^64-1", m.Nonce)
	}
	return &witness.Request{
		Settlement: witness.SettlementJSON{
			DomainSeparator: f.DomainSeparator, VerifierID: "1", Token: m.Token, NotAfter: m.Deadline,
			Pairs: []witness.PairJSON{{
				Payer: m.Payer, Payee: m.Payee, FromNonce: strconv.FormatUint(nonce-1, 10),
				ToNonce: m.Nonce, Total: m.Amount, PublicKey: publicKey,
			}},
		},
		Mandates: []witness.MandateJSON{{
			Payer: m.Payer, Payee: m.Payee, Token: m.Token, Amount: m.Amount, Nonce: m.Nonce,
			Deadline: m.Deadline, Ref: m.Ref, Signature: m.Signature,
		}},
	}, nil
}
