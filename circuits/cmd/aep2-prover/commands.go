package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark/backend/groth16"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/prover"
	"github.com/aep2/aep2/circuits/witness"
)

// sizeFlags are the flags every command shares.
type sizeFlags struct {
	fs   *flag.FlagSet
	size prover.Size
	home string
}

func newFlags(name string, stderr io.Writer) *sizeFlags {
	f := &sizeFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.IntVar(&f.size.N, "n", 1, "mandate slots N")
	f.fs.IntVar(&f.size.P, "p", 1, "pair slots P")
	f.fs.StringVar(&f.size.Family, "family", prover.FamilyBatch, "circuit family: batch (EIP-712 mandates), agent (agent-key mandates) or test (N multiplications, for tests and timings)")
	f.fs.StringVar(&f.home, "home", "", "key cache root (default $AEP2_HOME, else ~/.aep2)")
	return f
}

func (f *sizeFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", f.fs.Args())
	}
	if err := f.size.Validate(); err != nil {
		return err
	}
	if f.home == "" {
		h, err := prover.Home()
		if err != nil {
			return err
		}
		f.home = h
	}
	return nil
}

func (f *sizeFlags) dir() string { return f.size.KeyDir(f.home) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runCompile(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("compile", stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	ccs, err := prover.Compile(f.size)
	if err != nil {
		return err
	}
	info := prover.InfoOf(f.size, ccs)
	if err := prover.SaveInfo(info, f.dir()); err != nil {
		return err
	}
	return writeJSON(stdout, info)
}

func runInfo(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("info", stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	info, err := prover.CachedInfo(f.size, f.dir())
	if err != nil {
		return err
	}
	return writeJSON(stdout, info)
}

const devWarning = `
################################################################################
#  DEVELOPMENT SETUP: a single party made these Groth16 keys and could forge  #
#  proofs with what it knew. Never register them on a chain holding value.    #
#  Production keys come from a multi-party ceremony (aep2-prover ceremony).   #
################################################################################
`

func runSetup(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("setup", stderr)
	dev := f.fs.Bool("dev", false, "single-party setup for development (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if !*dev {
		return errors.New("`setup` makes single-party keys only, with --dev; production keys come from `aep2-prover ceremony`")
	}
	if _, err := os.Stat(filepath.Join(f.dir(), ceremonyMark)); err == nil {
		return fmt.Errorf("the keys in %s came from a ceremony (%s); remove the directory to replace them with dev keys", f.dir(), ceremonyMark)
	}
	fmt.Fprint(stderr, devWarning)
	start := time.Now()
	ccs, err := prover.Compile(f.size)
	if err != nil {
		return err
	}
	compiled := time.Since(start)
	pk, vk, err := prover.DevSetup(ccs)
	if err != nil {
		return err
	}
	setup := time.Since(start) - compiled
	k := &prover.Keys{Size: f.size, CCS: ccs, PK: pk, VK: vk}
	if err := k.Save(f.dir()); err != nil {
		return err
	}
	info := prover.InfoOf(f.size, ccs)
	if err := prover.SaveInfo(info, f.dir()); err != nil {
		return err
	}
	fmt.Fprint(stderr, devWarning)
	return writeJSON(stdout, map[string]any{
		"circuitId": f.size.ID(), "dir": f.dir(), "dev": true,
		"compileSeconds": compiled.Seconds(), "setupSeconds": setup.Seconds(), "info": info,
	})
}

func openIn(path string, stdin io.Reader) (io.ReadCloser, error) {
	if path == "" || path == "-" {
		return io.NopCloser(stdin), nil
	}
	return os.Open(path)
}

func writeOut(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func readJSON(path string, stdin io.Reader, v any) error {
	r, err := openIn(path, stdin)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func runProve(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("prove", stderr)
	in := f.fs.String("in", "-", "settlement request JSON (- for stdin)")
	out := f.fs.String("out", "-", "proof JSON (- for stdout)")
	if err := f.parse(args); err != nil {
		return err
	}
	proof, err := proveRequest(f, *in, stdin)
	if err != nil {
		return err
	}
	return writeOut(*out, stdout, func(w io.Writer) error { return writeJSON(w, proof) })
}

// proveRequest reads the family's request, checks it natively and proves it.
func proveRequest(f *sizeFlags, in string, stdin io.Reader) (*prover.Proof, error) {
	if f.size.Fam() == prover.FamilyTest {
		var req prover.TestRequest
		if err := readJSON(in, stdin, &req); err != nil {
			return nil, err
		}
		k, err := prover.LoadKeys(f.size, f.dir())
		if err != nil {
			return nil, err
		}
		return prover.ProveTest(f.size, k.CCS, k.PK, &req)
	}
	if f.size.Fam() == prover.FamilyAgent {
		var req witness.AgentRequest
		if err := readJSON(in, stdin, &req); err != nil {
			return nil, err
		}
		st, err := prover.CheckedAgentSettlement(&req)
		if err != nil {
			return nil, err
		}
		k, err := prover.LoadKeys(f.size, f.dir())
		if err != nil {
			return nil, err
		}
		return prover.ProveAgent(f.size, k.CCS, k.PK, st)
	}
	var req witness.Request
	if err := readJSON(in, stdin, &req); err != nil {
		return nil, err
	}
	st, err := prover.CheckedSettlement(&req)
	if err != nil {
		return nil, err
	}
	k, err := prover.LoadKeys(f.size, f.dir())
	if err != nil {
		return nil, err
	}
	return prover.Prove(f.size, k.CCS, k.PK, st)
}

func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("verify", stderr)
	in := f.fs.String("proof", "-", "proof JSON (- for stdin)")
	if err := f.parse(args); err != nil {
		return err
	}
	var p prover.Proof
	if err := readJSON(*in, stdin, &p); err != nil {
		return err
	}
	if p.CircuitID != f.size.ID() {
		return fmt.Errorf("proof is for %q, not %s", p.CircuitID, f.size.ID())
	}
	vk, err := prover.LoadVerifyingKey(f.dir())
	if err != nil {
		return err
	}
	if err := prover.Verify(vk, &p); err != nil {
		return err
	}
	return writeJSON(stdout, map[string]bool{"valid": true})
}

func runExportSolidity(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("export-solidity", stderr)
	out := f.fs.String("out", "-", "where to write the .sol file (- for stdout)")
	vkPath := f.fs.String("vk", "", "the verifying key file to export (a ceremony transcript's phase2/<id>/verifying.key) instead of the key cache's")
	if err := f.parse(args); err != nil {
		return err
	}
	var vk groth16.VerifyingKey
	var err error
	if *vkPath != "" {
		vk, err = prover.ReadVerifyingKey(*vkPath)
	} else {
		vk, err = prover.LoadVerifyingKey(f.dir())
	}
	if err != nil {
		return err
	}
	return writeOut(*out, stdout, func(w io.Writer) error { return prover.ExportSolidity(vk, f.size, w) })
}

func runExportVK(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("export-vk", stderr)
	out := f.fs.String("out", "-", "where to write the JSON (- for stdout)")
	if err := f.parse(args); err != nil {
		return err
	}
	vk, err := prover.LoadVerifyingKey(f.dir())
	if err != nil {
		return err
	}
	j, err := prover.VerifyingKeyJSON(vk, f.size.ID())
	if err != nil {
		return err
	}
	return writeOut(*out, stdout, func(w io.Writer) error { return writeJSON(w, j) })
}

func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("serve", stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	s := &prover.Server{Home: f.home}
	return s.Serve(stdin, stdout)
}

// runDevRequest prints a prove request that fills every slot of the size
// with mandates signed by fixed, publicly known test keys: for benchmarks
// and smoke tests only.
func runDevRequest(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("dev-request", stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.size.Fam() == prover.FamilyTest {
		return writeJSON(stdout, prover.TestRequest{X: "3"})
	}
	counts := make([]int, f.size.P)
	for i := 0; i < f.size.N; i++ {
		counts[i%f.size.P]++
	}
	if f.size.Fam() == prover.FamilyAgent {
		return writeJSON(stdout, witness.AgentRequestOf(fixture.AgentSettlement(counts...)))
	}
	return writeJSON(stdout, witness.RequestOf(fixture.Settlement(counts...)))
}
