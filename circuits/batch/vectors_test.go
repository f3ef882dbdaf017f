package batch_test

import (
	"errors"
	"testing"

	"github.com/aep2/aep2/circuits/internal/vectors"
	"github.com/aep2/aep2/circuits/witness"
)

// TestSharedVectors solves the circuit on every valid shared vector (each
// a one-mandate settlement) and checks that the signature-related invalid
// vectors do not solve.
func TestSharedVectors(t *testing.T) {
	f, err := vectors.Load(vectors.Path())
	if errors.Is(err, vectors.ErrAbsent) {
		t.Skipf("%v: the Python side writes it (scripts/gen_vectors.py); skipping", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, v := range f.Valid {
		keys[v.Address] = v.PublicKey
		t.Run(v.Name, func(t *testing.T) {
			m := v.Mandate
			m.Signature = v.Signature
			mustSolve(t, assign(t, parse(t, f, &m, v.PublicKey)))
		})
	}
	for _, v := range f.Invalid {
		if v.Reason != "signature_high_s" && v.Reason != "signer_mismatch" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			m, err := vectors.Decode(v.Encoded)
			if err != nil {
				t.Fatal(err)
			}
			mustFail(t, assign(t, parse(t, f, m, keys[m.Payer])))
		})
	}
}

func parse(t *testing.T, f *vectors.File, m *vectors.Mandate, publicKey string) *witness.Settlement {
	t.Helper()
	req, err := f.Request(m, publicKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := witness.Parse(req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
