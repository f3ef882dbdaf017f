package ceremony_test

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/aep2/aep2/circuits/ceremony"
	"github.com/aep2/aep2/circuits/prover"
)

// cube has the families' public interface (one public input). With a range
// check, gnark adds a BSB22 commitment, as in the batch family, whose σ
// phase 2 contributes to; without, it is like the agent family.
type cube struct {
	PublicInput frontend.Variable `gnark:",public"`
	X           frontend.Variable
	commit      bool
}

func (c *cube) Define(api frontend.API) error {
	if c.commit {
		rangecheck.New(api).Check(c.X, 64)
	}
	cube := api.Mul(c.X, c.X, c.X)
	// Constraints over the same wires, so that the domain outgrows the wire
	// count, as in the agent family (317k wires, a 2^19 domain).
	for range 40 {
		api.AssertIsEqual(c.PublicInput, cube)
	}
	return nil
}

var circuits = sync.OnceValue(func() map[string]ceremony.Circuit {
	out := map[string]ceremony.Circuit{}
	for id, commit := range map[string]bool{"cube-commit": true, "cube-plain": false} {
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &cube{commit: commit})
		if err != nil {
			panic(err)
		}
		out[id] = ceremony.Circuit{ID: id, CCS: ccs.(*cs.R1CS)}
	}
	return out
})

func resolve(id string) (ceremony.Circuit, error) {
	c, ok := circuits()[id]
	if !ok {
		return c, fmt.Errorf("unknown circuit %q", id)
	}
	return c, nil
}

var (
	beacon1 = ceremony.Beacon{Value: "0x" + strings.Repeat("ab", 32), Source: "test block 1"}
	beacon2 = ceremony.Beacon{Value: "0x" + strings.Repeat("cd", 32), Source: "test block 2"}
)

const power = 9 // above both circuits' domains, so phase 2 truncates the SRS

var contributors = []string{"alice", "bob", "carol"}

// ceremonyRun is a finished three-party ceremony over both test circuits.
type ceremonyRun struct {
	dir  string
	home string
	keys map[string]keyPair
}

// ok fails the test on an error and returns the value.
func ok[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

type receipt = *ceremony.Receipt

func runCeremony(t *testing.T, dir, home string) *ceremonyRun {
	t.Helper()
	tr := ceremony.Transcript{Dir: dir}
	ok[receipt](t)(tr.InitPhase1(power))
	for _, name := range contributors {
		in, out := must2(t)(tr.NextPhase1())
		rec := ok[receipt](t)(ceremony.ContributePhase1(in, out, name, []byte("typed by "+name)))
		if rec.Contributor != name || len(rec.Hash) != 64 || rec.Hash == rec.Follows {
			t.Fatalf("receipt %+v", rec)
		}
	}
	ok[*ceremony.Phase1Result](t)(tr.SealPhase1(beacon1))
	run := &ceremonyRun{dir: dir, home: home, keys: map[string]keyPair{}}
	for id, c := range circuits() {
		ok[receipt](t)(tr.InitPhase2(c))
		for _, name := range contributors {
			in, out := must2(t)(tr.NextPhase2(id))
			ok[receipt](t)(ceremony.ContributePhase2(in, out, name, nil))
		}
		pk, vk, _, err := tr.SealPhase2(c, beacon2, false)
		if err != nil {
			t.Fatal(err)
		}
		k := &prover.Keys{CCS: c.CCS, PK: pk, VK: vk}
		if err := k.Save(keyDir(home, id)); err != nil {
			t.Fatal(err)
		}
		run.keys[id] = keyPair{pk, vk}
	}
	return run
}

type keyPair struct {
	pk groth16.ProvingKey
	vk groth16.VerifyingKey
}

func must2(t *testing.T) func(a, b string, err error) (string, string) {
	return func(a, b string, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func keyDir(home, id string) string { return filepath.Join(home, "circuits", id) }

var (
	root     string
	mu       sync.Mutex
	finished *ceremonyRun
	tried    bool
)

func TestMain(m *testing.M) {
	var err error
	if root, err = os.MkdirTemp("", "aep2-ceremony-test"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// finishedCeremony runs the three-party ceremony once, for every test that
// reads it or tampers with a copy of it.
func finishedCeremony(t *testing.T) *ceremonyRun {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !tried {
		tried = true
		finished = runCeremony(t, filepath.Join(root, "finished"), filepath.Join(root, "home"))
	}
	if finished == nil {
		t.Fatal("the ceremony failed (see the first test that ran it)")
	}
	return finished
}

// tampered copies the finished ceremony (transcript and key cache) for one
// test to change.
func tampered(t *testing.T) (ceremony.Transcript, string) {
	t.Helper()
	run := finishedCeremony(t)
	dir, home := t.TempDir(), t.TempDir()
	copyDir(t, run.dir, dir)
	copyDir(t, run.home, home)
	return ceremony.Transcript{Dir: dir}, home
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(to, strings.TrimPrefix(path, from))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// verify checks the transcript and key cache both ways, the quick check
// and the full recomputation, and requires them to agree: the same report
// or an error at the same step saying the same.
func verify(tr ceremony.Transcript, home string) (*ceremony.Report, error) {
	keys := func(id string) string { return keyDir(home, id) }
	quick, errQuick := tr.Verify(resolve, keys, false)
	full, errFull := tr.Verify(resolve, keys, true)
	if fmt.Sprint(errQuick) != fmt.Sprint(errFull) {
		return nil, fmt.Errorf("the quick check and the recomputation disagree:\nquick: %v\nfull:  %v", errQuick, errFull)
	}
	if errQuick == nil {
		for i := range quick.Phase2 {
			if quick.Phase2[i].VerifyingKey != full.Phase2[i].VerifyingKey || quick.Phase2[i].Evaluations != "checked" || full.Phase2[i].Evaluations != "recomputed" {
				return nil, fmt.Errorf("phase 2 of %s: quick %+v, full %+v", quick.Phase2[i].CircuitID, quick.Phase2[i], full.Phase2[i])
			}
		}
	}
	return quick, errQuick
}

// wantStepError requires err to name step and to say what went wrong.
func wantStepError(t *testing.T, err error, step, says string) {
	t.Helper()
	var se *ceremony.StepError
	if !errors.As(err, &se) {
		t.Fatalf("want a StepError at %q, got %v", step, err)
	}
	if !strings.Contains(se.Step, step) || !strings.Contains(se.Err.Error(), says) {
		t.Fatalf("want step %q saying %q, got:\n%v", step, says, err)
	}
}

func TestThreePartyCeremony(t *testing.T) {
	run := finishedCeremony(t)
	report, err := verify(ceremony.Transcript{Dir: run.dir}, run.home)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(report.Phase1.Contributions); got != "alice,bob,carol" {
		t.Errorf("phase 1 contributors %s", got)
	}
	if len(report.Phase2) != 2 || len(report.Keys) != 2 {
		t.Fatalf("phase 2 of %d circuits, %d key caches", len(report.Phase2), len(report.Keys))
	}
	for _, r := range report.Phase2 {
		if got := names(r.Contributions); got != "alice,bob,carol" {
			t.Errorf("%s: phase 2 contributors %s", r.CircuitID, got)
		}
	}
	for id, k := range run.keys {
		t.Run(id, func(t *testing.T) { proveAndVerify(t, id, k) })
	}
}

func names(rs []ceremony.Receipt) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.Contributor
	}
	return strings.Join(s, ",")
}

// proveAndVerify proves with the ceremony's keys, as the prover does
// (Solidity-target options), and verifies as the exported verifier does.
func proveAndVerify(t *testing.T, id string, k keyPair) {
	c := circuits()[id]
	x := big.NewInt(987654321)
	pi := new(big.Int).Exp(x, big.NewInt(3), nil)
	proof, err := prover.ProveCircuit(id, c.CCS, k.pk, &cube{PublicInput: pi, X: x}, pi)
	if err != nil {
		t.Fatal(err)
	}
	if err := prover.Verify(k.vk, proof); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	bad := *proof
	bad.PublicInput = new(big.Int).Add(pi, big.NewInt(1)).String()
	if err := prover.Verify(k.vk, &bad); !errors.Is(err, prover.ErrBadProof) {
		t.Fatalf("wrong public input: want ErrBadProof, got %v", err)
	}
}

func phase1File(tr ceremony.Transcript, i int) string {
	return filepath.Join(tr.Dir, "phase1", fmt.Sprintf("%04d.ph1", i))
}

func receiptOf(state string) string { return strings.TrimSuffix(state, filepath.Ext(state)) + ".json" }

func rename(t *testing.T, from, to string) {
	t.Helper()
	for _, p := range [][2]string{{from, to}, {receiptOf(from), receiptOf(to)}} {
		if err := os.Rename(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// swapPoints exchanges two compressed G1 points of [τⁱ]₁ in a phase 1 file:
// every point stays valid, the powers are no longer powers.
func swapPoints(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const tau = 3*96 + 8 + 64 // three update proofs, N, [β]₂: [τ¹]₁ starts here
	i, j := tau+32*4, tau+32*5
	tmp := append([]byte(nil), b[i:i+32]...)
	copy(b[i:i+32], b[j:j+32])
	copy(b[j:j+32], tmp)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedPhase1(t *testing.T) {
	cases := []struct {
		name       string
		tamper     func(t *testing.T, tr ceremony.Transcript)
		step, says string
	}{
		{"a contribution modified after it was published", func(t *testing.T, tr ceremony.Transcript) {
			swapPoints(t, phase1File(tr, 2))
		}, "phase 1 contribution 2 (phase1/0002.ph1, by bob)", "the file changed after the contribution"},
		{"a modified contribution whose receipt was replaced too", func(t *testing.T, tr ceremony.Transcript) {
			swapPoints(t, phase1File(tr, 2))
			if err := os.Remove(receiptOf(phase1File(tr, 2))); err != nil {
				t.Fatal(err)
			}
		}, "phase 1 contribution 2 (phase1/0002.ph1)", "the SRS is not powers of one τ"},
		{"two contributions reordered", func(t *testing.T, tr ceremony.Transcript) {
			rename(t, phase1File(tr, 2), phase1File(tr, 9))
			rename(t, phase1File(tr, 3), phase1File(tr, 2))
			rename(t, phase1File(tr, 9), phase1File(tr, 3))
		}, "phase 1 contribution 2 (phase1/0002.ph1, by carol)", "it was made from 0003.ph1, a later file: the contributions are out of order"},
		{"a contribution left out, the rest renumbered", func(t *testing.T, tr ceremony.Transcript) {
			for _, p := range []string{phase1File(tr, 2), receiptOf(phase1File(tr, 2))} {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			rename(t, phase1File(tr, 3), phase1File(tr, 2))
		}, "phase 1 contribution 2 (phase1/0002.ph1, by carol)", "it was made from a state that is not in this transcript"},
		{"a contribution made from an older state", func(t *testing.T, tr ceremony.Transcript) {
			// carol was handed alice's state, not bob's: bob's contribution is skipped
			for _, p := range []string{phase1File(tr, 3), receiptOf(phase1File(tr, 3)), filepath.Join(tr.Dir, "phase1", "sealed.srs")} {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ceremony.ContributePhase1(phase1File(tr, 1), phase1File(tr, 3), "carol", nil); err != nil {
				t.Fatal(err)
			}
		}, "phase 1 contribution 3 (phase1/0003.ph1, by carol)", "it was made from 0001.ph1, not from 0002.ph1: the contributions in between were skipped"},
		{"a file missing", func(t *testing.T, tr ceremony.Transcript) {
			if err := os.Remove(phase1File(tr, 2)); err != nil {
				t.Fatal(err)
			}
		}, "phase 1", "0002.ph1 is missing"},
		{"another beacon", func(t *testing.T, tr ceremony.Transcript) {
			b := `{"value": "0x` + strings.Repeat("ee", 32) + `", "source": "test block 1"}`
			if err := os.WriteFile(filepath.Join(tr.Dir, "phase1", "beacon.json"), []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "phase 1 seal (phase1/sealed.srs)", "sealed.srs is not the last contribution sealed with the recorded beacon"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, home := tampered(t)
			c.tamper(t, tr)
			_, err := verify(tr, home)
			wantStepError(t, err, c.step, c.says)
		})
	}
}

const tamperedID = "cube-commit"

func phase2File(tr ceremony.Transcript, i int) string {
	return filepath.Join(tr.Dir, "phase2", tamperedID, fmt.Sprintf("%04d.ph2", i))
}

// swapPKK exchanges two of the private wires' K points in a phase 2 file.
func swapPKK(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pkk = 2 + 32 + 4 // commitments, [δ]₁, the PKK slice's length
	i, j := pkk, pkk+32
	tmp := append([]byte(nil), b[i:i+32]...)
	copy(b[i:i+32], b[j:j+32])
	copy(b[j:j+32], tmp)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// otherPhase1 is a second, independent phase 1 (one contribution) with
// cube-commit's phase 2 initialized and contributed to once.
func otherPhase1(t *testing.T) ceremony.Transcript {
	t.Helper()
	tr := ceremony.Transcript{Dir: t.TempDir()}
	ok[receipt](t)(tr.InitPhase1(power))
	in, out := must2(t)(tr.NextPhase1())
	ok[receipt](t)(ceremony.ContributePhase1(in, out, "mallory", nil))
	ok[*ceremony.Phase1Result](t)(tr.SealPhase1(beacon1))
	ok[receipt](t)(tr.InitPhase2(circuits()[tamperedID]))
	in, out = must2(t)(tr.NextPhase2(tamperedID))
	ok[receipt](t)(ceremony.ContributePhase2(in, out, "mallory", nil))
	return tr
}

func devKeys(t *testing.T) keyPair {
	t.Helper()
	pk, vk, err := prover.DevSetup(circuits()[tamperedID].CCS)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{pk, vk}
}

func TestTamperedPhase2(t *testing.T) {
	step := func(s string) string { return s + " of " + tamperedID }
	cases := []struct {
		name       string
		tamper     func(t *testing.T, tr ceremony.Transcript, home string)
		step, says string
	}{
		{"a contribution modified after it was published", func(t *testing.T, tr ceremony.Transcript, _ string) {
			swapPKK(t, phase2File(tr, 1))
		}, step("phase 2 contribution 1 (phase2/cube-commit/0001.ph2, by alice)"), "the file changed after the contribution"},
		{"a modified contribution whose receipt was replaced too", func(t *testing.T, tr ceremony.Transcript, _ string) {
			swapPKK(t, phase2File(tr, 1))
			if err := os.Remove(receiptOf(phase2File(tr, 1))); err != nil {
				t.Fatal(err)
			}
		}, step("phase 2 contribution 1 (phase2/cube-commit/0001.ph2)"), "failed to verify contribution to δ"},
		{"two contributions reordered", func(t *testing.T, tr ceremony.Transcript, _ string) {
			rename(t, phase2File(tr, 2), phase2File(tr, 9))
			rename(t, phase2File(tr, 3), phase2File(tr, 2))
			rename(t, phase2File(tr, 9), phase2File(tr, 3))
		}, step("phase 2 contribution 2 (phase2/cube-commit/0002.ph2, by carol)"), "a later file: the contributions are out of order"},
		{"a phase 2 built on another phase 1", func(t *testing.T, tr ceremony.Transcript, _ string) {
			other := otherPhase1(t)
			dir := filepath.Join(tr.Dir, "phase2", tamperedID)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			copyDir(t, filepath.Join(other.Dir, "phase2", tamperedID), dir)
		}, "phase 2 initial state of cube-commit (phase2/cube-commit/0000.ph2)", "it was made from another phase 1 or for another circuit"},
		{"a contribution made over another phase 1", func(t *testing.T, tr ceremony.Transcript, _ string) {
			other := otherPhase1(t)
			for _, p := range []string{phase2File(tr, 1), receiptOf(phase2File(tr, 1))} {
				b, err := os.ReadFile(strings.Replace(p, tr.Dir, other.Dir, 1))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, step("phase 2 contribution 1 (phase2/cube-commit/0001.ph2, by mallory)"), "it was made from a state that is not in this transcript"},
		{"a final verifying key from a dev setup", func(t *testing.T, tr ceremony.Transcript, _ string) {
			f, err := os.Create(filepath.Join(tr.Dir, "phase2", tamperedID, "verifying.key"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := devKeys(t).vk.WriteTo(f); err != nil {
				t.Fatal(err)
			}
		}, step("phase 2") + " seal", "verifying.key is not the last contribution sealed with the recorded beacon"},
		{"a verifying key JSON that is not the final key", func(t *testing.T, tr ceremony.Transcript, _ string) {
			path := filepath.Join(tr.Dir, "phase2", tamperedID, "verifying_key.json")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"delta"`, `"delta" `, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, step("phase 2") + " seal", "verifying_key.json is not the final verifying key"},
		{"dev-setup keys in the key cache", func(t *testing.T, _ ceremony.Transcript, home string) {
			k := devKeys(t)
			dir := keyDir(home, tamperedID)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := (&prover.Keys{CCS: circuits()[tamperedID].CCS, PK: k.pk, VK: k.vk}).Save(dir); err != nil {
				t.Fatal(err)
			}
		}, "key cache of cube-commit", "is not the transcript's"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, home := tampered(t)
			c.tamper(t, tr, home)
			_, err := verify(tr, home)
			wantStepError(t, err, c.step, c.says)
		})
	}
}
