package ceremony_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aep2/aep2/circuits/ceremony"
)

// unsealed copies the finished ceremony and removes one circuit's seal, so
// the test can seal it again.
func unsealed(t *testing.T, id string) ceremony.Transcript {
	t.Helper()
	tr, _ := tampered(t)
	for _, name := range []string{"verifying.key", "verifying_key.json", "beacon.json"} {
		if err := os.Remove(filepath.Join(tr.Dir, "phase2", id, name)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func cachePath(tr ceremony.Transcript, id string) string {
	return filepath.Join(tr.Dir, ".cache", "phase2-"+id+".evals")
}

// TestSealEvaluations: the seal takes init's cached evaluations only for the
// initial state they were made with, intact, and otherwise recomputes them;
// either way it seals the same keys.
func TestSealEvaluations(t *testing.T) {
	const id = "cube-commit"
	other := "cube-plain"
	cases := []struct {
		name      string
		change    func(t *testing.T, tr ceremony.Transcript)
		recompute bool
		want      string
	}{
		{"init's cache", func(*testing.T, ceremony.Transcript) {}, false, "cached"},
		{"asked to recompute", func(*testing.T, ceremony.Transcript) {}, true, "recomputed"},
		{"no cache", func(t *testing.T, tr ceremony.Transcript) {
			if err := os.Remove(cachePath(tr, id)); err != nil {
				t.Fatal(err)
			}
		}, false, "recomputed"},
		{"a damaged cache", func(t *testing.T, tr ceremony.Transcript) {
			b, err := os.ReadFile(cachePath(tr, id))
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			if err := os.WriteFile(cachePath(tr, id), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "recomputed (the cache was unusable: checksum mismatch"},
		{"another circuit's cache", func(t *testing.T, tr ceremony.Transcript) {
			b, err := os.ReadFile(cachePath(tr, other))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cachePath(tr, id), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "recomputed (the cache was unusable: made for another initial state"},
		{"a truncated cache", func(t *testing.T, tr ceremony.Transcript) {
			if err := os.WriteFile(cachePath(tr, id), []byte("aep2"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "recomputed (the cache was unusable: truncated"},
	}
	want := finishedCeremony(t).keys[id]
	var wantVK bytes.Buffer
	if _, err := want.vk.WriteTo(&wantVK); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := unsealed(t, id)
			tc.change(t, tr)
			_, vk, res, err := tr.SealPhase2(circuits()[id], beacon2, tc.recompute)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(res.Evaluations, tc.want) || (tc.want == "cached" || tc.want == "recomputed") && res.Evaluations != tc.want {
				t.Errorf("evaluations %q, want %q", res.Evaluations, tc.want)
			}
			var got bytes.Buffer
			if _, err := vk.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), wantVK.Bytes()) {
				t.Error("the seal made another verifying key than the recomputing seal did")
			}
		})
	}
}

// TestCacheOutsideTranscript: the cache is the coordinator's, not part of
// what anyone verifies: a transcript without it verifies.
func TestCacheOutsideTranscript(t *testing.T) {
	tr, home := tampered(t)
	if err := os.RemoveAll(filepath.Join(tr.Dir, ".cache")); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(tr, home); err != nil {
		t.Fatal(err)
	}
}
