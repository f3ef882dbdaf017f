package witness_test

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/aep2/aep2/circuits/batch"
	"github.com/aep2/aep2/circuits/internal/vectors"
	"github.com/aep2/aep2/circuits/witness"
)

func loadVectors(t *testing.T) *vectors.File {
	t.Helper()
	f, err := vectors.Load(vectors.Path())
	if errors.Is(err, vectors.ErrAbsent) {
		t.Skipf("%v: the Python side writes it (scripts/gen_vectors.py); skipping", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSharedVectorsHashAndSign(t *testing.T) {
	f := loadVectors(t)
	if got := fmt.Sprintf("0x%x", batch.MandateTypehash); got != f.Typehash {
		t.Fatalf("typehash %s, vectors say %s", got, f.Typehash)
	}
	for _, v := range f.Valid {
		t.Run(v.Name, func(t *testing.T) {
			m := v.Mandate
			m.Signature = v.Signature
			req, err := f.Request(&m, v.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			s, err := witness.Parse(req)
			if err != nil {
				t.Fatal(err)
			}
			p := &s.Pairs[0]
			if got := fmt.Sprintf("0x%x", witness.StructHash(p, s.Token, &p.Mandates[0])); got != v.StructHash {
				t.Errorf("structHash %s, want %s", got, v.StructHash)
			}
			if got := fmt.Sprintf("0x%x", witness.Digest(s.DomainSeparator, p, s.Token, &p.Mandates[0])); got != v.Digest {
				t.Errorf("digest %s, want %s", got, v.Digest)
			}
			priv, _ := new(big.Int).SetString(v.PrivateKey[2:], 16)
			if witness.PublicKeyOf(priv) != p.PublicKey {
				t.Error("publicKey is not privateKey·G")
			}
			if err := s.Check(); err != nil {
				t.Errorf("native check rejects a valid vector: %v", err)
			}
		})
	}
}

// TestSharedVectorsRejected checks that the invalid vectors about the
// signature are rejected by the native check the prover runs first.
func TestSharedVectorsRejected(t *testing.T) {
	f := loadVectors(t)
	for _, v := range f.Invalid {
		if v.Reason != "signature_high_s" && v.Reason != "signer_mismatch" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			m, err := vectors.Decode(v.Encoded)
			if err != nil {
				t.Fatal(err)
			}
			req, err := f.Request(m, signerKey(t, f, m.Payer))
			if err != nil {
				t.Fatal(err)
			}
			s, err := witness.Parse(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err == nil {
				t.Fatal("native check accepts it")
			}
		})
	}
}

// signerKey is the public key of the valid vector whose address is payer.
func signerKey(t *testing.T, f *vectors.File, payer string) string {
	for _, v := range f.Valid {
		if v.Address == payer {
			return v.PublicKey
		}
	}
	t.Skipf("no valid vector has payer %s", payer)
	return ""
}
