package agent_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aep2/aep2/circuits/witness"
)

// agentVectors is the part of tests/vectors/agent_mandates.json (written by
// scripts/gen_agent_vectors.py) the circuit checks.
type agentVectors struct {
	DomainSeparator string        `json:"domainSeparator"`
	Valid           []agentVector `json:"valid"`
	Invalid         []agentVector `json:"invalid"`
}

type agentVector struct {
	Name          string            `json:"name"`
	Check         string            `json:"check"`
	PublicKey     string            `json:"publicKey"`
	Mandate       map[string]string `json:"mandate"`
	Elements      []string          `json:"elements"`
	Hash          string            `json:"hash"`
	Signature     string            `json:"signature"`
	EquationHolds bool              `json:"equationHolds"`
}

func loadAgentVectors(t *testing.T) *agentVectors {
	t.Helper()
	path := os.Getenv("AEP2_AGENT_VECTORS")
	if path == "" {
		_, here, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(here), "..", "..", "tests", "vectors", "agent_mandates.json")
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("no shared agent vectors at %s (scripts/gen_agent_vectors.py writes them)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f agentVectors
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &f
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

func dec(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// vectorRequest is a one-mandate settlement of the vector: fromNonce one
// below its nonce, notAfter its deadline.
func vectorRequest(t *testing.T, f *agentVectors, v *agentVector) *witness.AgentRequest {
	t.Helper()
	m := v.Mandate
	nonce := dec(t, m["nonce"])
	from := "0"
	if nonce > 0 {
		from = strconv.FormatUint(nonce-1, 10)
	}
	return &witness.AgentRequest{
		Settlement: witness.AgentSettlementJSON{
			DomainSeparator: f.DomainSeparator, VerifierID: "9", Token: m["token"], NotAfter: m["deadline"],
			Pairs: []witness.AgentPairJSON{{
				KeyID: m["keyId"], Key: v.PublicKey, Payee: m["payee"], FromNonce: from, ToNonce: m["nonce"], Total: m["amount"],
			}},
		},
		Mandates: []witness.AgentMandateJSON{{
			KeyID: m["keyId"], Payee: m["payee"], Token: m["token"], Amount: m["amount"], Nonce: m["nonce"],
			Deadline: m["deadline"], Ref: m["ref"], Signature: v.Signature,
		}},
	}
}

// TestSharedVectors: every valid vector's elements and hash are the native
// packing's, and its signature verifies in the circuit; every invalid one
// that the request format can carry is refused natively, and by a
// constraint unless it is one the circuit accepts by design (below).
func TestSharedVectors(t *testing.T) {
	f := loadAgentVectors(t)
	for i := range f.Valid {
		v := &f.Valid[i]
		t.Run(v.Name, func(t *testing.T) {
			s, err := witness.ParseAgent(vectorRequest(t, f, v))
			if err != nil {
				t.Fatal(err)
			}
			p := &s.Pairs[0]
			for k, e := range witness.AgentMessage(s.DomainSeparator, s.Token, p.KeyID, p.Payee, &p.Mandates[0]) {
				if e.String() != v.Elements[k] {
					t.Fatalf("element %d: %s, vector %s", k+1, e, v.Elements[k])
				}
			}
			if got := witness.AgentMandateHash(s.DomainSeparator, s.Token, p.KeyID, p.Payee, &p.Mandates[0]); hex.EncodeToString(got) != hex.EncodeToString(unhex(t, v.Hash)) {
				t.Fatalf("hash 0x%x, vector %s", got, v.Hash)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			mustSolve(t, assign(t, s))
		})
	}
	// Accepted by the circuit by design, refused natively: cofactored
	// verification (docs/agent-keys.md) accepts a small-order component in
	// R or in the key when S matches (the equation holds); the key is the
	// one the escrow stores (bound by the public input) and checked when it
	// was registered, and R's component malleates nothing that is settled.
	// R's encoding never enters the circuit (its witness is the point), so
	// Y + r is the same R there.
	acceptedByDesign := map[string]bool{"R_NOT_IN_SUBGROUP": true, "KEY_NOT_IN_SUBGROUP": true, "R_NOT_CANONICAL": true}
	for i := range f.Invalid {
		v := &f.Invalid[i]
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			s, err := witness.ParseAgent(vectorRequest(t, f, v))
			if err == nil {
				err = s.Check()
			}
			if err == nil {
				t.Fatal("accepted natively")
			}
			if s == nil {
				t.Skipf("not representable in a request (%v)", err)
			}
			c, err := witness.AssignAgent(s, testN, testP)
			if err != nil {
				t.Skipf("not representable in a witness (%v)", err)
			}
			c.PublicInput = nil
			if acceptedByDesign[v.Check] && (v.EquationHolds || v.Check == "R_NOT_CANONICAL") {
				mustSolve(t, c)
				return
			}
			mustFail(t, c)
		})
	}
}
