package ceremony_test

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	groth16Impl "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// The quick check takes the wires' points as written and checks them by
// random linear combinations: these tamper with single points (still on the
// curve, everything else intact) where only a combination can notice, and
// verify requires the recomputation to reach the same verdict.

// nudgeG1 moves a point by the generator.
func nudgeG1(p *curve.G1Affine) {
	_, _, g1, _ := curve.Generators()
	p.Add(p, &g1)
}

func nudgeG2(p *curve.G2Affine) {
	_, _, _, g2 := curve.Generators()
	p.Add(p, &g2)
}

func swapG1(s []curve.G1Affine) { s[0], s[1] = s[1], s[0] }

// rewriteInitial rewrites cube-commit's 0000.ph2 with change applied.
func rewriteInitial(t *testing.T, dir string, change func(p *mpcsetup.Phase2)) {
	t.Helper()
	path := filepath.Join(dir, "phase2", tamperedID, "0000.ph2")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	p := new(mpcsetup.Phase2)
	_, err = p.ReadFrom(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	change(p)
	writeWith(t, path, func(w *os.File) error { _, err := p.WriteTo(w); return err })
}

// rewriteSealedSRS rewrites phase1/sealed.srs with change applied.
func rewriteSealedSRS(t *testing.T, dir string, change func(c *mpcsetup.SrsCommons)) {
	t.Helper()
	path := filepath.Join(dir, "phase1", "sealed.srs")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := new(mpcsetup.SrsCommons)
	_, err = c.ReadFrom(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	writeWith(t, path, func(w *os.File) error { _, err := c.WriteTo(w); return err })
}

func rewriteVK(t *testing.T, dir string, change func(vk *groth16Impl.VerifyingKey)) {
	t.Helper()
	path := filepath.Join(dir, "phase2", tamperedID, "verifying.key")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	vk := new(groth16Impl.VerifyingKey)
	_, err = vk.ReadFrom(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	change(vk)
	writeWith(t, path, func(w *os.File) error { _, err := vk.WriteTo(w); return err })
}

func rewritePK(t *testing.T, home string, change func(pk *groth16Impl.ProvingKey)) {
	t.Helper()
	path := filepath.Join(keyDir(home, tamperedID), "proving.key")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pk := new(groth16Impl.ProvingKey)
	_, err = pk.UnsafeReadFrom(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	change(pk)
	writeWith(t, path, func(w *os.File) error { _, err := pk.WriteRawTo(w); return err })
}

func writeWith(t *testing.T, path string, write func(*os.File) error) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestQuickCheckCatchesSinglePoints(t *testing.T) {
	initial := "phase 2 initial state of cube-commit (phase2/cube-commit/0000.ph2)"
	notInitial := "it was made from another phase 1 or for another circuit"
	seal := "phase 2 of cube-commit seal"
	notSealed := "verifying.key is not the last contribution sealed with the recorded beacon"
	cache := "key cache of cube-commit"
	notPK := "is not the transcript's proving.key"
	type tamper func(t *testing.T, tr string, home string)
	sealed1 := "phase 1 seal (phase1/sealed.srs)"
	notSealed1 := "sealed.srs is not the last contribution sealed with the recorded beacon"
	onSRS := func(change func(c *mpcsetup.SrsCommons)) tamper {
		return func(t *testing.T, dir, _ string) { rewriteSealedSRS(t, dir, change) }
	}
	onInitial := func(change func(p *mpcsetup.Phase2)) tamper {
		return func(t *testing.T, dir, _ string) { rewriteInitial(t, dir, change) }
	}
	onVK := func(change func(vk *groth16Impl.VerifyingKey)) tamper {
		return func(t *testing.T, dir, _ string) { rewriteVK(t, dir, change) }
	}
	onPK := func(change func(pk *groth16Impl.ProvingKey)) tamper {
		return func(t *testing.T, _, home string) { rewritePK(t, home, change) }
	}
	cases := []struct {
		name       string
		tamper     tamper
		step, says string
	}{
		{"a sealed [τⁱ]₁", onSRS(func(c *mpcsetup.SrsCommons) { nudgeG1(&c.G1.Tau[3]) }), sealed1, notSealed1},
		{"two sealed [τⁱ]₁ swapped", onSRS(func(c *mpcsetup.SrsCommons) { swapG1(c.G1.Tau[1:]) }), sealed1, notSealed1},
		{"a sealed [τⁱ]₂", onSRS(func(c *mpcsetup.SrsCommons) { nudgeG2(&c.G2.Tau[1]) }), sealed1, notSealed1},
		{"a sealed [ατⁱ]₁", onSRS(func(c *mpcsetup.SrsCommons) { nudgeG1(&c.G1.AlphaTau[0]) }), sealed1, notSealed1},
		{"a sealed [βτⁱ]₁", onSRS(func(c *mpcsetup.SrsCommons) { nudgeG1(&c.G1.BetaTau[len(c.G1.BetaTau)-1]) }), sealed1, notSealed1},
		{"the sealed [β]₂", onSRS(func(c *mpcsetup.SrsCommons) { nudgeG2(&c.G2.Beta) }), sealed1, notSealed1},
		{"an initial private wire's point", onInitial(func(p *mpcsetup.Phase2) { nudgeG1(&p.Parameters.G1.PKK[0]) }), initial, notInitial},
		{"two initial private wires' points swapped", onInitial(func(p *mpcsetup.Phase2) { swapG1(p.Parameters.G1.PKK) }), initial, notInitial},
		{"an initial committed wire's point", onInitial(func(p *mpcsetup.Phase2) { nudgeG1(&p.Parameters.G1.SigmaCKK[0][0]) }), initial, notInitial},
		{"an initial Z point", onInitial(func(p *mpcsetup.Phase2) { nudgeG1(&p.Parameters.G1.Z[0]) }), initial, notInitial},
		{"a public wire's point in the final key", onVK(func(vk *groth16Impl.VerifyingKey) { nudgeG1(&vk.G1.K[0]) }), seal, notSealed},
		{"the final key's public wires swapped", onVK(func(vk *groth16Impl.VerifyingKey) { swapG1(vk.G1.K) }), seal, notSealed},
		{"the final key's commitment key", onVK(func(vk *groth16Impl.VerifyingKey) { nudgeG2(&vk.CommitmentKeys[0].GSigmaNeg) }), seal, notSealed},
		{"a proving key A point", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.G1.A[0]) }), cache, notPK},
		{"two proving key A points swapped", onPK(func(pk *groth16Impl.ProvingKey) { swapG1(pk.G1.A) }), cache, notPK},
		{"a proving key B point in G1", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.G1.B[0]) }), cache, notPK},
		{"a proving key B point in G2", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG2(&pk.G2.B[0]) }), cache, notPK},
		{"a proving key K point", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.G1.K[0]) }), cache, notPK},
		{"a proving key Z point", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.G1.Z[0]) }), cache, notPK},
		{"a commitment basis point", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.CommitmentKeys[0].Basis[0]) }), cache, notPK},
		{"a σ-scaled commitment basis point", onPK(func(pk *groth16Impl.ProvingKey) { nudgeG1(&pk.CommitmentKeys[0].BasisExpSigma[0]) }), cache, notPK},
		{"a point flagged at infinity", onPK(func(pk *groth16Impl.ProvingKey) { pk.InfinityA[0] = !pk.InfinityA[0] }), cache, notPK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, home := tampered(t)
			c.tamper(t, tr.Dir, home)
			_, err := verify(tr, home)
			wantStepError(t, err, c.step, c.says)
		})
	}
}
