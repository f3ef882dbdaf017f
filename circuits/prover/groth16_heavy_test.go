//go:build heavy

package prover_test

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/prover"
)

// TestGroth16 runs the real backend on the full circuit at the smallest
// size: compile, dev setup, prove, verify, a rejected public input, key round
// trip, serve and the Solidity export. The setup alone takes several minutes
// on two cores, hence the build tag:
//
//	go test -tags heavy -run TestGroth16 -timeout 60m -v ./prover
func TestGroth16(t *testing.T) {
	size := prover.Size{N: 1, P: 1}
	start := time.Now()
	ccs, err := prover.Compile(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compile: %d constraints in %s", ccs.GetNbConstraints(), time.Since(start))
	start = time.Now()
	pk, vk, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: %s", time.Since(start))
	start = time.Now()
	s := fixture.Settlement(1)
	proof, err := prover.Prove(size, ccs, pk, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prove: %s", time.Since(start))
	if proof.PublicInput != s.PublicInput().String() || proof.CircuitID != size.ID() {
		t.Fatalf("proof carries %s/%s", proof.PublicInput, proof.CircuitID)
	}
	if err := prover.Verify(vk, proof); err != nil {
		t.Fatalf("verify: %v", err)
	}

	t.Run("wrong public input", func(t *testing.T) {
		bad := *proof
		pi, _ := new(big.Int).SetString(proof.PublicInput, 10)
		bad.PublicInput = pi.Add(pi, big.NewInt(1)).String()
		if err := prover.Verify(vk, &bad); !errors.Is(err, prover.ErrBadProof) {
			t.Fatalf("want ErrBadProof, got %v", err)
		}
	})
	t.Run("tampered proof", func(t *testing.T) {
		bad := *proof
		bad.Proof = proof.Proof[:10] + flipHex(proof.Proof[10]) + proof.Proof[11:]
		if err := prover.Verify(vk, &bad); err == nil {
			t.Fatal("tampered proof verifies")
		}
	})
	t.Run("unsatisfied witness", func(t *testing.T) {
		bad := fixture.Settlement(1)
		bad.Pairs[0].Total.Add(bad.Pairs[0].Total, big.NewInt(1))
		if _, err := prover.Prove(size, ccs, pk, bad); !errors.Is(err, prover.ErrUnsatisfied) {
			t.Fatalf("want ErrUnsatisfied, got %v", err)
		}
	})
	t.Run("keys round trip", func(t *testing.T) {
		dir := t.TempDir()
		if err := (&prover.Keys{Size: size, CCS: ccs, PK: pk, VK: vk}).Save(dir); err != nil {
			t.Fatal(err)
		}
		k, err := prover.LoadKeys(size, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := prover.Verify(k.VK, proof); err != nil {
			t.Fatalf("verify with loaded key: %v", err)
		}
	})
	t.Run("serve", func(t *testing.T) {
		home := t.TempDir()
		if err := (&prover.Keys{Size: size, CCS: ccs, PK: pk, VK: vk}).Save(size.KeyDir(home)); err != nil {
			t.Fatal(err)
		}
		s := &prover.Server{Home: home}
		req := requestJSON(t, fixture.Settlement(1))
		replies := serve(t, s, `{"id":1,"method":"prove","params":{"n":1,"p":1,"request":`+req+`}}`)
		if replies[0].Error != nil {
			t.Fatalf("prove: %+v", replies[0].Error)
		}
		replies = serve(t, s, `{"id":2,"method":"verify","params":{"n":1,"p":1,"proof":`+string(replies[0].Result)+`}}`)
		if replies[0].Error != nil || string(replies[0].Result) != `{"valid":true}` {
			t.Fatalf("verify: %s %+v", replies[0].Result, replies[0].Error)
		}
	})
	t.Run("solidity export", func(t *testing.T) {
		var buf bytes.Buffer
		if err := prover.ExportSolidity(vk, size, &buf); err != nil {
			t.Fatal(err)
		}
		src := buf.String()
		for _, want := range []string{"contract BatchVerifierN1P1 ", "function verifyProof(", "uint256[1] calldata input"} {
			if !strings.Contains(src, want) {
				t.Errorf("exported verifier lacks %q", want)
			}
		}
		if os.Getenv("AEP2_KEEP_VERIFIER") != "" {
			_ = os.WriteFile(os.Getenv("AEP2_KEEP_VERIFIER"), buf.Bytes(), 0o644)
		}
	})
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
