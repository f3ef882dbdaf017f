package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	cs "github.com/consensys/gnark/constraint/bn254"

	"github.com/aep2/aep2/circuits/ceremony"
	"github.com/aep2/aep2/circuits/prover"
)

const ceremonyUsage = `usage: aep2-prover ceremony <command> [flags]   (circuits/README.md "Trusted setup")

coordinator:
  phase1 init        --dir D --power K           the initial powers-of-tau state of a 2^K domain
  phase1 verify      --dir D                     re-check every phase 1 contribution so far
  phase1 seal        --dir D --beacon HEX --beacon-source TEXT
  phase2 init        --dir D --family F --n N --p P   (or --circuit ID)   a circuit's initial state
  phase2 verify      --dir D --family F --n N --p P [--full]   the contributions since 0000.ph2 (--full: and 0000.ph2)
  phase2 seal        --dir D --family F --n N --p P --beacon HEX --beacon-source TEXT [--home H] [--recompute]
                     writes the final keys into the key cache, where prove and export-solidity find them
  verify-transcript  --dir D [--home H] [--recompute]   re-check everything, first file to final keys
  status             --dir D                     states, contributors, hashes, the next expected file

participant:
  phase1 contribute  --in FILE --out FILE --name NAME [--entropy]   (or --dir D instead of --in/--out)
  phase2 contribute  --in FILE --out FILE --name NAME [--entropy]   (or --dir D --circuit ID)
`

type ceremonyCommand func(args []string, stdin io.Reader, stdout, stderr io.Writer) error

var ceremonyCommands = map[string]ceremonyCommand{
	"phase1 init":       runPhase1Init,
	"phase1 contribute": runPhase1Contribute,
	"phase1 verify":     runPhase1Verify,
	"phase1 seal":       runPhase1Seal,
	"phase2 init":       runPhase2Init,
	"phase2 contribute": runPhase2Contribute,
	"phase2 verify":     runPhase2Verify,
	"phase2 seal":       runPhase2Seal,
	"verify-transcript": runVerifyTranscript,
	"status":            runStatus,
}

func runCeremony(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name, rest := "", args
	if len(args) > 0 {
		name, rest = args[0], args[1:]
		if (name == "phase1" || name == "phase2") && len(rest) > 0 {
			name, rest = name+" "+rest[0], rest[1:]
		}
	}
	cmd, ok := ceremonyCommands[name]
	if !ok {
		fmt.Fprint(stderr, ceremonyUsage)
		if name == "" || name == "-h" || name == "--help" {
			return flag.ErrHelp
		}
		return fmt.Errorf("unknown ceremony command %q", name)
	}
	return cmd(rest, stdin, stdout, stderr)
}

// ceremonyFlags are the flags of one ceremony command.
type ceremonyFlags struct {
	fs      *flag.FlagSet
	dir     string
	circuit string
	size    prover.Size
	home    string
	sized   bool
}

func newCeremonyFlags(name string, stderr io.Writer, withCircuit bool) *ceremonyFlags {
	f := &ceremonyFlags{fs: flag.NewFlagSet("ceremony "+name, flag.ContinueOnError), sized: withCircuit}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.dir, "dir", "", "the ceremony's transcript directory")
	if withCircuit {
		f.fs.StringVar(&f.circuit, "circuit", "", "circuit id (instead of --family, --n, --p)")
		f.fs.StringVar(&f.size.Family, "family", prover.FamilyBatch, "circuit family: batch, agent or test")
		f.fs.IntVar(&f.size.N, "n", 1, "mandate slots N")
		f.fs.IntVar(&f.size.P, "p", 1, "pair slots P")
		f.fs.StringVar(&f.home, "home", "", "key cache root (default $AEP2_HOME, else ~/.aep2)")
	}
	return f
}

func (f *ceremonyFlags) parse(args []string, needDir bool) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", f.fs.Args())
	}
	if needDir && f.dir == "" {
		return errors.New("--dir is required")
	}
	if f.circuit != "" {
		s, err := prover.ParseID(f.circuit)
		if err != nil {
			return err
		}
		f.size = s
	}
	if f.home == "" {
		h, err := prover.Home()
		if err != nil {
			return err
		}
		f.home = h
	}
	if !f.sized {
		return nil
	}
	return f.size.Validate()
}

func (f *ceremonyFlags) transcript() ceremony.Transcript { return ceremony.Transcript{Dir: f.dir} }

// compileCircuit compiles the circuit a size names, for phase 2.
func compileCircuit(s prover.Size) (ceremony.Circuit, error) {
	ccs, err := prover.Compile(s)
	if err != nil {
		return ceremony.Circuit{}, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return ceremony.Circuit{}, fmt.Errorf("%s compiled to %T, not a BN254 R1CS", s.ID(), ccs)
	}
	return ceremony.Circuit{ID: s.ID(), CCS: r}, nil
}

func resolveID(id string) (ceremony.Circuit, error) {
	s, err := prover.ParseID(id)
	if err != nil {
		return ceremony.Circuit{}, err
	}
	return compileCircuit(s)
}

func runPhase1Init(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase1 init", stderr, false)
	power := f.fs.Int("power", 0, "the domain is 2^power: at least the largest circuit's (`aep2-prover info`: constraints ≤ 2^power)")
	if err := f.parse(args, true); err != nil {
		return err
	}
	r, err := f.transcript().InitPhase1(*power)
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

// contributionFlags: --in/--out (a participant handed a file) or --dir (the
// next state of a transcript), a name, and typed entropy.
type contributionFlags struct {
	in, out, name string
	entropy       bool
}

func (c *contributionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.in, "in", "", "the state you were handed")
	fs.StringVar(&c.out, "out", "", "where to write your contribution (hand it and its .json receipt to the coordinator)")
	fs.StringVar(&c.name, "name", "", "your name as the transcript should record it")
	fs.BoolVar(&c.entropy, "entropy", false, "also mix in a line of text read from stdin (typed at the prompt)")
}

// paths resolves --in/--out, or the transcript's next state with --dir.
func (c *contributionFlags) paths(next func() (string, string, error), haveDir bool) (string, string, error) {
	switch {
	case c.in != "" && c.out != "" && !haveDir:
		return c.in, c.out, nil
	case c.in == "" && c.out == "" && haveDir:
		return next()
	default:
		return "", "", errors.New("give either --in and --out, or --dir")
	}
}

func readTyped(want bool, stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if !want {
		return nil, nil
	}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(stderr, "Type some random text (it is hashed with the OS's randomness, never stored), then Enter: ")
	}
	line, err := bufio.NewReader(stdin).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return line, nil
}

func printReceipt(r *ceremony.Receipt, out string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stderr, "\nContribution written to %s (%.0f s).\nPublish its SHA-256, so anyone can check the transcript holds your contribution:\n\n    %s\n\n", out, r.Seconds, r.Hash)
	return writeJSON(stdout, r)
}

func runPhase1Contribute(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase1 contribute", stderr, false)
	var c contributionFlags
	c.register(f.fs)
	if err := f.parse(args, false); err != nil {
		return err
	}
	in, out, err := c.paths(f.transcript().NextPhase1, f.dir != "")
	if err != nil {
		return err
	}
	typed, err := readTyped(c.entropy, stdin, stderr)
	if err != nil {
		return err
	}
	r, err := ceremony.ContributePhase1(in, out, c.name, typed)
	clear(typed)
	if err != nil {
		return err
	}
	return printReceipt(r, out, stdout, stderr)
}

func runPhase1Verify(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase1 verify", stderr, false)
	if err := f.parse(args, true); err != nil {
		return err
	}
	r, err := f.transcript().VerifyPhase1()
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

func beaconFlags(fs *flag.FlagSet) *ceremony.Beacon {
	b := new(ceremony.Beacon)
	fs.StringVar(&b.Value, "beacon", "", "the beacon's value, 0x-hex (for example a block hash announced before the last contribution)")
	fs.StringVar(&b.Source, "beacon-source", "", "where anyone can look the value up, e.g. \"Ethereum mainnet block 23000000 hash\"")
	return b
}

func runPhase1Seal(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase1 seal", stderr, false)
	b := beaconFlags(f.fs)
	if err := f.parse(args, true); err != nil {
		return err
	}
	r, err := f.transcript().SealPhase1(*b)
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

func runPhase2Init(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase2 init", stderr, true)
	if err := f.parse(args, true); err != nil {
		return err
	}
	c, err := compileCircuit(f.size)
	if err != nil {
		return err
	}
	r, err := f.transcript().InitPhase2(c)
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

func runPhase2Contribute(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase2 contribute", stderr, true)
	var c contributionFlags
	c.register(f.fs)
	if err := f.parse(args, false); err != nil {
		return err
	}
	next := func() (string, string, error) { return f.transcript().NextPhase2(f.size.ID()) }
	in, out, err := c.paths(next, f.dir != "")
	if err != nil {
		return err
	}
	typed, err := readTyped(c.entropy, stdin, stderr)
	if err != nil {
		return err
	}
	r, err := ceremony.ContributePhase2(in, out, c.name, typed)
	clear(typed)
	if err != nil {
		return err
	}
	return printReceipt(r, out, stdout, stderr)
}

func runPhase2Verify(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase2 verify", stderr, true)
	full := f.fs.Bool("full", false, "also check the initial state against phase 1 and the circuit")
	if err := f.parse(args, true); err != nil {
		return err
	}
	c, err := compileCircuit(f.size)
	if err != nil {
		return err
	}
	r, err := f.transcript().VerifyPhase2(c, *full)
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

// runPhase2Seal seals the circuit's phase 2 and writes its keys into the key
// cache, in the layout `setup --dev` writes, so prove, verify, serve and
// export-solidity use them unchanged.
func runPhase2Seal(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("phase2 seal", stderr, true)
	b := beaconFlags(f.fs)
	recompute := f.fs.Bool("recompute", false, "recompute the circuit's evaluations from phase 1 even when init's cache holds them (as long as init)")
	if err := f.parse(args, true); err != nil {
		return err
	}
	c, err := compileCircuit(f.size)
	if err != nil {
		return err
	}
	pk, vk, r, err := f.transcript().SealPhase2(c, *b, *recompute)
	if err != nil {
		return err
	}
	dir := f.size.KeyDir(f.home)
	k := &prover.Keys{Size: f.size, CCS: c.CCS, PK: pk, VK: vk}
	if err := k.Save(dir); err != nil {
		return err
	}
	if err := prover.SaveInfo(prover.InfoOf(f.size, c.CCS), dir); err != nil {
		return err
	}
	if err := markCeremonyKeys(dir, f.dir, r); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "keys of %s written to %s (evaluations %s)\n", c.ID, dir, r.Evaluations)
	return writeJSON(stdout, map[string]any{"result": r, "keys": dir})
}

func runVerifyTranscript(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("verify-transcript", stderr, false)
	home := f.fs.String("home", "", "also require the key cache under this root (default $AEP2_HOME, else ~/.aep2) to hold the transcript's keys")
	noCache := f.fs.Bool("no-key-cache", false, "check the transcript alone, not the key cache")
	recompute := f.fs.Bool("recompute", false, "recompute each circuit's evaluations from phase 1, as its init did (hours at real sizes), instead of checking them by random linear combinations")
	if err := f.parse(args, true); err != nil {
		return err
	}
	var keysDir func(string) string
	if !*noCache {
		root := *home
		if root == "" {
			root = f.home
		}
		keysDir = func(id string) string {
			s, _ := prover.ParseID(id) // resolved (and so parsed) before the cache is checked
			return s.KeyDir(root)
		}
	}
	r, err := f.transcript().Verify(resolveID, keysDir, *recompute)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "transcript %s verifies: phase 1 by %s; %s\n", f.dir, contributors(r.Phase1.Contributions), phase2Summary(r))
	return writeJSON(stdout, r)
}

func contributors(rs []ceremony.Receipt) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Contributor
		if names[i] == "" {
			names[i] = "(unnamed)"
		}
	}
	return strings.Join(names, ", ")
}

func phase2Summary(r *ceremony.Report) string {
	parts := make([]string, 0, len(r.Phase2))
	for _, p := range r.Phase2 {
		parts = append(parts, fmt.Sprintf("%s by %s (wires at τ %s)", p.CircuitID, contributors(p.Contributions), p.Evaluations))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "no circuit has a phase 2"
	}
	return "phase 2: " + strings.Join(parts, "; ")
}

func runStatus(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f := newCeremonyFlags("status", stderr, false)
	if err := f.parse(args, true); err != nil {
		return err
	}
	s, err := f.transcript().Status()
	if err != nil {
		return err
	}
	return writeJSON(stdout, s)
}

// ceremonyMark in a key cache directory says its keys came from a ceremony:
// `setup --dev` refuses to replace them.
const ceremonyMark = "ceremony.json"

func markCeremonyKeys(keyDir, transcript string, r *ceremony.Phase2Result) error {
	abs, err := filepath.Abs(transcript)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]string{
		"circuitId": r.CircuitID, "transcript": abs, "verifyingKey": r.VerifyingKey,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(keyDir, ceremonyMark), append(b, '\n'), 0o644)
}
