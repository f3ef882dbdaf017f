package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs one aep2-prover command in process and returns its stdout.
func run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := commands[args[0]](args[1:], strings.NewReader(stdin), &out, &errOut); err != nil {
		t.Fatalf("aep2-prover %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// TestCeremonyKeysWorkUnchanged runs a three-party ceremony through the
// command line on the test family and requires its sealed keys to be where
// `setup --dev` puts them, in its format: prove, verify and export-solidity
// use them as they are, and verify-transcript checks them against the
// transcript.
func TestCeremonyKeysWorkUnchanged(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	circuit := []string{"--family", "test", "--n", "3", "--p", "1"}
	beacon := func(b string) []string {
		return []string{"--beacon", "0x" + strings.Repeat(b, 32), "--beacon-source", "test beacon " + b}
	}
	run(t, "", "ceremony", "phase1", "init", "--dir", dir, "--power", "4")
	for _, name := range []string{"alice", "bob", "carol"} {
		run(t, "typed by "+name+"\n", "ceremony", "phase1", "contribute", "--dir", dir, "--name", name, "--entropy")
	}
	run(t, "", append([]string{"ceremony", "phase1", "seal", "--dir", dir}, beacon("ab")...)...)
	run(t, "", append([]string{"ceremony", "phase2", "init", "--dir", dir}, circuit...)...)
	for _, name := range []string{"alice", "bob", "carol"} {
		run(t, "", "ceremony", "phase2", "contribute", "--dir", dir, "--circuit", "aep2-test-v1-n3-p1", "--name", name)
	}
	run(t, "", append(append([]string{"ceremony", "phase2", "seal", "--dir", dir, "--home", home}, circuit...), beacon("cd")...)...)

	keys := filepath.Join(home, "circuits", "aep2-test-v1-n3-p1")
	for _, f := range []string{"circuit.r1cs", "proving.key", "verifying.key", "info.json", "ceremony.json"} {
		if _, err := os.Stat(filepath.Join(keys, f)); err != nil {
			t.Errorf("key cache: %v", err)
		}
	}
	withHome := append([]string{"--home", home}, circuit...)
	proof := run(t, `{"x": "5"}`, append([]string{"prove"}, withHome...)...)
	var p struct{ PublicInput string }
	if err := json.Unmarshal([]byte(proof), &p); err != nil || p.PublicInput != "625" {
		t.Fatalf("proof %s (%v): want the public input 5^4 = 625", proof, err)
	}
	if got := run(t, proof, append([]string{"verify"}, withHome...)...); !strings.Contains(got, `"valid": true`) {
		t.Fatalf("verify: %s", got)
	}
	sol := run(t, "", append([]string{"export-solidity"}, withHome...)...)
	if !strings.Contains(sol, "contract TestVerifierN3P1 ") {
		t.Fatalf("export-solidity wrote no TestVerifierN3P1")
	}
	final := filepath.Join(dir, "phase2", "aep2-test-v1-n3-p1", "verifying.key")
	if fromTranscript := run(t, "", append([]string{"export-solidity", "--vk", final}, circuit...)...); fromTranscript != sol {
		t.Fatal("the verifier exported from the transcript's final key differs from the key cache's")
	}
	var errOut bytes.Buffer
	err := runSetup(append([]string{"--dev"}, withHome...), nil, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "came from a ceremony") {
		t.Fatalf("setup --dev over ceremony keys: %v", err)
	}
	report := run(t, "", "ceremony", "verify-transcript", "--dir", dir, "--home", home)
	if !strings.Contains(report, `"aep2-test-v1-n3-p1": "`+keys+`"`) {
		t.Fatalf("verify-transcript did not check the key cache: %s", report)
	}
}
