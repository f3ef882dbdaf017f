package agentkey

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The shared vectors (tests/vectors/agent_mandates.json, written by
// scripts/gen_agent_vectors.py from an independent pure-Python reference).

type vectorMandate struct {
	KeyID    string `json:"keyId"`
	Payee    string `json:"payee"`
	Token    string `json:"token"`
	Amount   string `json:"amount"`
	Nonce    string `json:"nonce"`
	Deadline string `json:"deadline"`
	Ref      string `json:"ref"`
}

type vector struct {
	Name       string        `json:"name"`
	Check      string        `json:"check"`
	PrivateKey string        `json:"privateKey"`
	PublicKey  string        `json:"publicKey"`
	Mandate    vectorMandate `json:"mandate"`
	Elements   []string      `json:"elements"`
	Hash       string        `json:"hash"`
	Signature  string        `json:"signature"`
}

type vectorFile struct {
	DomainSeparator string   `json:"domainSeparator"`
	Valid           []vector `json:"valid"`
	Invalid         []vector `json:"invalid"`
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "tests", "vectors", "agent_mandates.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not generated yet", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorToMandate returns an error for a field that does not fit its width.
func vectorToMandate(t *testing.T, separator []byte, v vectorMandate) (Mandate, error) {
	var m Mandate
	copy(m.DomainSeparator[:], separator)
	var err error
	if m.KeyID, err = strconv.ParseUint(v.KeyID, 10, 64); err != nil {
		return m, err
	}
	if m.Nonce, err = strconv.ParseUint(v.Nonce, 10, 64); err != nil {
		return m, err
	}
	if m.Deadline, err = strconv.ParseUint(v.Deadline, 10, 64); err != nil {
		return m, err
	}
	amount, ok := new(big.Int).SetString(v.Amount, 10)
	if !ok || amount.BitLen() > 96 {
		return m, ErrMandate
	}
	amount.FillBytes(m.Amount[:])
	copy(m.Payee[:], unhex(t, v.Payee))
	copy(m.Token[:], unhex(t, v.Token))
	copy(m.Ref[:], unhex(t, v.Ref))
	return m, m.Validate()
}

func TestValidVectors(t *testing.T) {
	f := loadVectors(t)
	separator := unhex(t, f.DomainSeparator)
	for _, v := range f.Valid {
		t.Run(v.Name, func(t *testing.T) {
			priv, err := ParsePrivateKey(unhex(t, v.PrivateKey))
			if err != nil {
				t.Fatal(err)
			}
			if pub := PublicKeyBytes(priv); hex.EncodeToString(pub[:]) != strings.TrimPrefix(v.PublicKey, "0x") {
				t.Fatalf("public key %x", pub)
			}
			m, err := vectorToMandate(t, separator, v.Mandate)
			if err != nil {
				t.Fatal(err)
			}
			elements := m.Elements()
			for i := range elements {
				if got := elements[i].String(); got != v.Elements[i] {
					t.Errorf("element %d: %s, want %s", i+1, got, v.Elements[i])
				}
			}
			if h := m.Hash(); hex.EncodeToString(h[:]) != strings.TrimPrefix(v.Hash, "0x") {
				t.Fatalf("hash %x", h)
			}
			sig, err := SignMandate(priv, &m)
			if err != nil || hex.EncodeToString(sig[:]) != strings.TrimPrefix(v.Signature, "0x") {
				t.Fatalf("signature %x (%v)", sig, err)
			}
			pub := PublicKeyBytes(priv)
			if ok, err := VerifyMandate(pub[:], &m, sig[:]); !ok || err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestInvalidVectors(t *testing.T) {
	f := loadVectors(t)
	separator := unhex(t, f.DomainSeparator)
	for _, v := range f.Invalid {
		t.Run(v.Name, func(t *testing.T) {
			m, err := vectorToMandate(t, separator, v.Mandate)
			if v.Check == "FIELD_OUT_OF_RANGE" {
				if err == nil {
					t.Fatal("accepted a field out of range")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, sig := unhex(t, v.PublicKey), unhex(t, v.Signature)
			ok, err := VerifyMandate(pub, &m, sig)
			if ok {
				t.Fatal("accepted")
			}
			// An R outside the subgroup fails the equation rather than the decoder here.
			wantErr := v.Check != "SIGNATURE_MISMATCH" && v.Check != "R_NOT_IN_SUBGROUP"
			if (err != nil) != wantErr {
				t.Fatalf("check %s: err = %v", v.Check, err)
			}
			if v.Check != "KEY_NOT_CANONICAL" && stockVerify(pub, m.Hash(), sig) {
				t.Fatal("gnark-crypto accepts it")
			}
		})
	}
}

func TestHashCachedPrefixMatchesFullHash(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(15, 16))
	for range 100 { // a miss, then hits with the same prefix and other terms and refs
		m := testMandate(rng)
		for j := range 3 {
			m.Nonce += uint64(j)
			m.Ref[j] ^= 0xff
			elements := m.Elements()
			full := hashElements(elements[:]...)
			if got, want := m.Hash(), full.Bytes(); got != want {
				t.Fatalf("Hash = %x, want %x", got, want)
			}
		}
	}
}
