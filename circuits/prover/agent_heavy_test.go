//go:build heavy

package prover_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/prover"
)

// TestAgentGroth16 runs the real backend on the whole agent circuit at its
// smallest size: compile, dev setup, prove, verify, a rejected public input,
// serve verify and the Solidity export (no commitment: 256-byte proofs).
// About 318k constraints, nearly all the settlement keccak (the EdDSA slot is
// 8.2k), so ~30 s on two cores, hence the build tag (TestAgentGroth16Unbound
// runs by default; make test proves this size through Python instead):
//
//	go test -tags heavy -run TestAgentGroth16 -v ./prover
func TestAgentGroth16(t *testing.T) {
	size := prover.Size{Family: prover.FamilyAgent, N: 1, P: 1}
	start := time.Now()
	ccs, err := prover.Compile(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compile: %d constraints in %s", ccs.GetNbConstraints(), time.Since(start))
	pk, vk, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	s := fixture.AgentSettlement(1)
	proof, err := prover.ProveAgent(size, ccs, pk, s)
	if err != nil {
		t.Fatal(err)
	}
	if proof.PublicInput != s.PublicInput().String() || proof.CircuitID != "aep2-agent-v4-n1-p1" {
		t.Fatalf("proof carries %s/%s", proof.PublicInput, proof.CircuitID)
	}
	if err := prover.Verify(vk, proof); err != nil {
		t.Fatalf("verify: %v", err)
	}
	bad := *proof
	pi, _ := new(big.Int).SetString(proof.PublicInput, 10)
	bad.PublicInput = pi.Add(pi, big.NewInt(1)).String()
	if err := prover.Verify(vk, &bad); !errors.Is(err, prover.ErrBadProof) {
		t.Fatalf("wrong public input: want ErrBadProof, got %v", err)
	}

	home := t.TempDir()
	keys := &prover.Keys{Size: size, CCS: ccs, PK: pk, VK: vk}
	if err := keys.Save(size.KeyDir(home)); err != nil {
		t.Fatal(err)
	}
	// serve's prove path differs from batch's only in decoding and
	// ProveAgent (TestServeAgentParams); proving twice would double the time.
	proofJSON, _ := json.Marshal(proof)
	r := serve(t, &prover.Server{Home: home},
		fmt.Sprintf(`{"id":2,"method":"verify","params":{"family":"agent","n":1,"p":1,"proof":%s}}`, proofJSON))
	if len(r) != 1 || r[0].Error != nil || string(r[0].Result) != `{"valid":true}` {
		t.Fatalf("serve verify: %+v", r)
	}
	var sol bytes.Buffer
	if err := prover.ExportSolidity(vk, size, &sol); err != nil || !strings.Contains(sol.String(), "contract AgentVerifierN1P1 ") {
		t.Fatalf("export: %v", err)
	}
}
