package prover_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/aep2/aep2/circuits/agent"
	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/prover"
	"github.com/aep2/aep2/circuits/witness"
)

func TestFamilies(t *testing.T) {
	for _, c := range []struct {
		size     prover.Size
		id, name string
	}{
		{prover.Size{N: 4, P: 2}, "aep2-batch-v3-n4-p2", "BatchVerifierN4P2"},
		{prover.Size{Family: "batch", N: 4, P: 2}, "aep2-batch-v3-n4-p2", "BatchVerifierN4P2"},
		{prover.Size{Family: "agent", N: 4, P: 2}, "aep2-agent-v4-n4-p2", "AgentVerifierN4P2"},
		{prover.Size{Family: "test", N: 4096, P: 1}, "aep2-test-v1-n4096-p1", "TestVerifierN4096P1"},
	} {
		if got := c.size.ID(); got != c.id {
			t.Errorf("%+v: id %s, want %s", c.size, got, c.id)
		}
		if got := c.size.ContractName(); got != c.name {
			t.Errorf("%+v: contract %s, want %s", c.size, got, c.name)
		}
		if got, err := prover.ParseID(c.id); err != nil || got.ID() != c.id {
			t.Errorf("ParseID(%s) = %+v, %v", c.id, got, err)
		}
	}
	for _, id := range []string{"aep2-agent-v1-n4-p2", "aep2-agent-v4-n4-p5", "aep2-agent-v4-n4", "aep2-eip712-v4-n1-p1", "cube"} {
		if s, err := prover.ParseID(id); err == nil {
			t.Errorf("ParseID(%s) = %+v, want an error", id, s)
		}
	}
	for _, s := range []prover.Size{{Family: "eip712", N: 1, P: 1}, {Family: "test", N: 2, P: 2}, {Family: "agent", N: 4096, P: 1}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestServeAgentParams(t *testing.T) {
	req, err := json.Marshal(witness.AgentRequestOf(fixture.AgentSettlement(1)))
	if err != nil {
		t.Fatal(err)
	}
	var p prover.ServeParams
	if err := json.Unmarshal([]byte(`{"family":"agent","n":1,"p":1,"request":`+string(req)+`}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.AgentSettlement == nil || p.Settlement != nil || p.AgentSettlement.Settlement.Pairs[0].Key == "" {
		t.Fatalf("agent request decoded as %+v", p)
	}
	s := &prover.Server{Home: t.TempDir()}
	bad := fixture.AgentSettlement(1)
	bad.Pairs[0].Total.SetInt64(1)
	badJSON, _ := json.Marshal(witness.AgentRequestOf(bad))
	for _, c := range []struct{ line, code string }{
		{`{"id":1,"method":"prove","params":{"family":"agent","n":1,"p":1}}`, prover.CodeBadRequest},
		{`{"id":2,"method":"prove","params":{"family":"agent","n":1,"p":1,"request":` + string(badJSON) + `}}`, prover.CodeInvalid},
		{`{"id":3,"method":"prove","params":{"family":"agent","n":1,"p":1,"request":` + string(req) + `}}`, prover.CodeNoKeys},
		{`{"id":4,"method":"info","params":{"family":"nope","n":1,"p":1}}`, prover.CodeBadRequest},
	} {
		r := serve(t, s, c.line)
		if len(r) != 1 || r[0].Error == nil || r[0].Error.Code != c.code {
			t.Errorf("%.80s: got %+v, want %s", c.line, r, c.code)
		}
	}
}

// TestAgentGroth16Unbound runs the real backend (dev setup, Solidity-target
// prove, verify, a rejected witness) on the agent circuit at N=1 less
// its settlement keccak: the EdDSA, Poseidon2 and range-check constraints,
// in seconds. The whole circuit's run is behind
// `-tags heavy` (agent_heavy_test.go).
func TestAgentGroth16Unbound(t *testing.T) {
	c := agent.New(1, 1)
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &agent.Unbound{C: *c})
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	a, err := witness.AssignAgent(fixture.AgentSettlement(1), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	pi := a.PublicInput.(*big.Int)
	proof, err := prover.ProveCircuit("agent-unbound", ccs, pk, &agent.Unbound{C: *a}, pi)
	if err != nil {
		t.Fatal(err)
	}
	if err := prover.Verify(vk, proof); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The unbound circuit leaves its public input out of every constraint,
	// so no wrong-public-input check here: TestGroth16Pipeline and the heavy
	// TestAgentGroth16 have it.
	a.Mandates[0].Sig.S = new(big.Int).Add(a.Mandates[0].Sig.S.(*big.Int), big.NewInt(1))
	if _, err := prover.ProveCircuit("agent-unbound", ccs, pk, &agent.Unbound{C: *a}, pi); !errors.Is(err, prover.ErrUnsatisfied) {
		t.Fatalf("bad signature: want ErrUnsatisfied, got %v", err)
	}
}
