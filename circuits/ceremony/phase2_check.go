package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"os"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/pedersen"
	cmpc "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark-crypto/parallel"
	groth16Impl "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// The quick phase 2 check: everything verify-transcript establishes about a
// circuit's phase 2 without gnark's group FFT (lagrange_sums.go says how).
// Every point that does not depend on the wires' Lagrange evaluations is
// recomputed exactly and the files compared byte for byte; the points that
// do (the initial state's PKK and SigmaCKK, the verifying key's K, the
// proving key's A, B, K, Z and commitment bases) are checked with one random
// linear combination each. The full recomputation stays available
// (--recompute) and the tests hold the two to the same verdicts.

// phase2DST is the domain separator gnark's Phase2.Seal derives the
// beacon's contributions with.
var phase2DST = []byte("Groth16 MPC Setup - Phase2")

// wiresAtTau is Σⱼ rⱼ·[β·Aⱼ(τ) + α·Bⱼ(τ) + Cⱼ(τ)]₁: the combination, with
// weights rw, of the points phase 2 starts from.
func wiresAtTau(r *cs.R1CS, srs *mpcsetup.SrsCommons, rw []fr.Element) (curve.G1Affine, error) {
	n := len(srs.G1.AlphaTau)
	a, b, c := columnWeights(r, n, rw)
	var sum curve.G1Affine
	for _, part := range []struct {
		powers []curve.G1Affine
		w      []fr.Element
	}{{srs.G1.BetaTau, a}, {srs.G1.AlphaTau, b}, {srs.G1.Tau, c}} {
		p, err := lagrangeSumG1(part.powers, part.w)
		if err != nil {
			return sum, err
		}
		sum.Add(&sum, &p)
	}
	return sum, nil
}

// initialZ is the initial state's Z, exactly as gnark's Initialize builds
// it: [τⁱ(τⁿ − 1)]₁ for i < n−1, in bit-reversed order over n.
func initialZ(srs *mpcsetup.SrsCommons) []curve.G1Affine {
	n := len(srs.G1.AlphaTau)
	z := make([]curve.G1Affine, n)
	parallel.Execute(n-1, func(start, end int) {
		for i := start; i < end; i++ {
			z[i].Sub(&srs.G1.Tau[i+n], &srs.G1.Tau[i])
		}
	})
	gnarkBitReverse(z)
	return z[:n-1]
}

// gnarkBitReverse permutes a as mpcsetup's own bitReverse does, including
// on lengths that are not powers of two (where it leaves a as it is).
func gnarkBitReverse[T any](a []T) {
	n := uint64(len(a))
	shift := uint64(64 - bits.TrailingZeros64(n))
	for i := uint64(0); i < n; i++ {
		var rev uint64
		if shift < 64 {
			rev = bits.Reverse64(i) >> shift
		}
		if rev > i {
			a[i], a[rev] = a[rev], a[i]
		}
	}
}

// checkInitialPhase2 requires initial (whose SHA-256 is initialHash) to be
// the initial phase 2 state of c over srs (already truncated to c's domain).
func checkInitialPhase2(c Circuit, srs *mpcsetup.SrsCommons, l *wireLayout, initial *mpcsetup.Phase2, initialHash []byte) error {
	notInitial := fmt.Errorf("not the initial state of %s over this transcript's sealed phase 1: it was made from another phase 1 or for another circuit", c.ID)
	p := &initial.Parameters
	if len(p.G1.PKK) != len(l.pkk) || len(p.G1.SigmaCKK) != len(l.ckk) {
		return notInitial
	}
	for i := range l.ckk {
		if len(p.G1.SigmaCKK[i]) != len(l.ckk[i]) {
			return notInitial
		}
	}
	// Everything but the wires' points, recomputed; those, as written.
	want := new(mpcsetup.Phase2)
	_, _, g1, g2 := curve.Generators()
	want.Parameters.G1.Delta, want.Parameters.G2.Delta = g1, g2
	want.Parameters.G1.Z = initialZ(srs)
	want.Parameters.G1.PKK = p.G1.PKK
	want.Parameters.G1.SigmaCKK = p.G1.SigmaCKK
	want.Parameters.G2.Sigma = make([]curve.G2Affine, len(l.ckk))
	for i := range want.Parameters.G2.Sigma {
		want.Parameters.G2.Sigma[i] = g2
	}
	want.Sigmas = make([]cmpc.UpdateProof, len(l.ckk))
	if !bytes.Equal(phase2Hash(want), initialHash) {
		return notInitial
	}
	// The wires' points, by one random linear combination.
	rw, err := randomWeights(l.nWires)
	if err != nil {
		return err
	}
	for _, j := range l.vkk {
		rw[j].SetZero()
	}
	got, err := msmG1(p.G1.PKK, weightsAt(rw, l.pkk))
	if err != nil {
		return err
	}
	for i, wires := range l.ckk {
		s, err := msmG1(p.G1.SigmaCKK[i], weightsAt(rw, wires))
		if err != nil {
			return err
		}
		got.Add(&got, &s)
	}
	want1, err := wiresAtTau(c.CCS, srs, rw)
	if err != nil {
		return err
	}
	if !got.Equal(&want1) {
		return notInitial
	}
	return nil
}

// sealScalars are the beacon's contributions to the last state: δ and one σ
// per commitment, as gnark's Seal derives them.
type sealScalars struct {
	delta fr.Element
	sigma []fr.Element
}

func beaconScalars(last *mpcsetup.Phase2, lastHash, beacon []byte) sealScalars {
	c := cmpc.BeaconContributions(lastHash, phase2DST, beacon, 1+len(last.Sigmas))
	return sealScalars{delta: c[0], sigma: c[1:]}
}

// sealedParts are the seal's results that do not depend on the wires.
type sealedParts struct {
	deltaG1 curve.G1Affine
	deltaG2 curve.G2Affine
	sigmaG2 []curve.G2Affine
}

func sealParts(last *mpcsetup.Phase2, s sealScalars) sealedParts {
	var out sealedParts
	out.deltaG1, out.deltaG2 = last.Parameters.G1.Delta, last.Parameters.G2.Delta
	scaleG1Point(&out.deltaG1, &s.delta)
	scaleG2Point(&out.deltaG2, &s.delta)
	out.sigmaG2 = make([]curve.G2Affine, len(last.Parameters.G2.Sigma))
	for i := range out.sigmaG2 {
		out.sigmaG2[i] = last.Parameters.G2.Sigma[i]
		scaleG2Point(&out.sigmaG2[i], &s.sigma[i])
	}
	return out
}

var errFinalVK = fmt.Errorf("%s is not the last contribution sealed with the recorded beacon", finalVKFile)

// checkFinalVK requires file (verifying.key's bytes) to be the verifying key
// the seal of last (hash lastHash) with beacon makes, and returns it.
func checkFinalVK(c Circuit, srs *mpcsetup.SrsCommons, l *wireLayout, s sealedParts, file []byte) (*groth16Impl.VerifyingKey, error) {
	got := new(groth16Impl.VerifyingKey)
	if _, err := got.ReadFrom(bytes.NewReader(file)); err != nil {
		return nil, fmt.Errorf("%s: %w", finalVKFile, err)
	}
	if len(got.G1.K) != len(l.vkk) {
		return nil, errFinalVK
	}
	want := buildVK(srs, l, s, got.G1.K)
	var b bytes.Buffer
	if _, err := want.WriteTo(&b); err != nil {
		return nil, err
	}
	if !bytes.Equal(b.Bytes(), file) {
		return nil, errFinalVK
	}
	rw, err := randomWeights(l.nWires)
	if err != nil {
		return nil, err
	}
	mask := make([]fr.Element, l.nWires)
	for _, j := range l.vkk {
		mask[j] = rw[j]
	}
	lhs, err := msmG1(got.G1.K, weightsAt(mask, l.vkk))
	if err != nil {
		return nil, err
	}
	rhs, err := wiresAtTau(c.CCS, srs, mask)
	if err != nil {
		return nil, err
	}
	if !lhs.Equal(&rhs) {
		return nil, errFinalVK
	}
	return want, nil
}

// buildVK is the verifying key gnark's Seal makes, with the public wires'
// points k (checked separately).
func buildVK(srs *mpcsetup.SrsCommons, l *wireLayout, s sealedParts, k []curve.G1Affine) *groth16Impl.VerifyingKey {
	_, _, _, g2 := curve.Generators()
	vk := new(groth16Impl.VerifyingKey)
	vk.G1.Alpha = srs.G1.AlphaTau[0]
	vk.G1.Beta = srs.G1.BetaTau[0]
	vk.G1.Delta = s.deltaG1
	vk.G2.Beta = srs.G2.Beta
	vk.G2.Delta = s.deltaG2
	vk.G2.Gamma = g2
	vk.G1.K = k
	vk.CommitmentKeys = make([]pedersen.VerifyingKey, len(l.ckk))
	for i := range vk.CommitmentKeys {
		vk.CommitmentKeys[i].G = g2
		vk.CommitmentKeys[i].GSigmaNeg.Neg(&s.sigmaG2[i])
	}
	vk.PublicAndCommitmentCommitted = l.committed
	if err := vk.Precompute(); err != nil {
		panic(err) // only fails on a malformed key; this one is built here
	}
	return vk
}

// checkProvingKey requires the key cache's proving.key at path to be the
// one the seal makes: the initial state's commitment bases, the last
// state's PKK and Z divided by the beacon's δ, its SigmaCKK times the
// beacon's σ, and the wires' A and B at τ.
func checkProvingKey(path string, c Circuit, srs *mpcsetup.SrsCommons, l *wireLayout, initial, last *mpcsetup.Phase2, sc sealScalars, s sealedParts) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got := new(groth16Impl.ProvingKey)
	if _, err := got.UnsafeReadFrom(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	n := len(srs.G1.AlphaTau)
	nonZeroA, nonZeroB := nonZeroColumns(c.CCS, l.nWires)
	wiresA, wiresB := indexes(nonZeroA), indexes(nonZeroB)
	bad := fmt.Errorf("%s is not the transcript's proving.key (keys from another setup, such as `setup --dev`)", path)
	if len(got.G1.A) != len(wiresA) || len(got.G1.B) != len(wiresB) || len(got.G2.B) != len(wiresB) ||
		len(got.G1.K) != len(l.pkk) || len(got.G1.Z) != len(last.Parameters.G1.Z) || len(got.CommitmentKeys) != len(l.ckk) {
		return bad
	}
	for i := range l.ckk {
		if len(got.CommitmentKeys[i].BasisExpSigma) != len(l.ckk[i]) {
			return bad
		}
	}
	// Everything but the points the combinations below check, rebuilt.
	want := new(groth16Impl.ProvingKey)
	want.Domain = *fft.NewDomain(uint64(n))
	want.G1.Alpha, want.G1.Beta, want.G1.Delta = srs.G1.AlphaTau[0], srs.G1.BetaTau[0], s.deltaG1
	want.G1.A, want.G1.B, want.G1.K, want.G1.Z = got.G1.A, got.G1.B, got.G1.K, got.G1.Z
	want.G2.Beta, want.G2.Delta, want.G2.B = srs.G2.Beta, s.deltaG2, got.G2.B
	want.InfinityA, want.InfinityB = negate(nonZeroA), negate(nonZeroB)
	want.NbInfinityA, want.NbInfinityB = uint64(l.nWires-len(wiresA)), uint64(l.nWires-len(wiresB))
	want.CommitmentKeys = make([]pedersen.ProvingKey, len(l.ckk))
	for i := range want.CommitmentKeys {
		want.CommitmentKeys[i].Basis = initial.Parameters.G1.SigmaCKK[i]
		want.CommitmentKeys[i].BasisExpSigma = got.CommitmentKeys[i].BasisExpSigma
	}
	h := sha256.New()
	if _, err := want.WriteRawTo(h); err != nil {
		return err
	}
	fh, err := fileHash(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), fh) {
		return bad
	}
	ok, err := provingKeyPointsOK(c.CCS, srs, l, got, last, sc, wiresA, wiresB)
	if err != nil {
		return err
	}
	if !ok {
		return bad
	}
	return nil
}

// provingKeyPointsOK checks the proving key's wire-dependent points, one
// random linear combination per list.
func provingKeyPointsOK(r *cs.R1CS, srs *mpcsetup.SrsCommons, l *wireLayout, pk *groth16Impl.ProvingKey, last *mpcsetup.Phase2, sc sealScalars, wiresA, wiresB []int) (bool, error) {
	n := len(srs.G1.AlphaTau)
	rw, err := randomWeights(l.nWires)
	if err != nil {
		return false, err
	}
	rk, err := randomWeights(len(pk.G1.K))
	if err != nil {
		return false, err
	}
	rz, err := randomWeights(len(pk.G1.Z))
	if err != nil {
		return false, err
	}
	a, b, _ := columnWeights(r, n, rw)
	b2 := append([]fr.Element(nil), b...)
	var deltaInv fr.Element
	deltaInv.Inverse(&sc.delta)
	g1 := []struct {
		got        []curve.G1Affine
		gotWeights []fr.Element
		want       func(w []fr.Element) (curve.G1Affine, error)
	}{
		{pk.G1.A, weightsAt(rw, wiresA), func([]fr.Element) (curve.G1Affine, error) { return lagrangeSumG1(srs.G1.Tau, a) }},
		{pk.G1.B, weightsAt(rw, wiresB), func([]fr.Element) (curve.G1Affine, error) { return lagrangeSumG1(srs.G1.Tau, b) }},
		{pk.G1.K, rk, func(w []fr.Element) (curve.G1Affine, error) {
			return msmG1(last.Parameters.G1.PKK, scaled(w, &deltaInv))
		}},
		{pk.G1.Z, rz, func(w []fr.Element) (curve.G1Affine, error) {
			z := append([]curve.G1Affine(nil), last.Parameters.G1.Z...)
			gnarkBitReverse(z)
			return msmG1(z, scaled(w, &deltaInv))
		}},
	}
	for i := range pk.CommitmentKeys {
		basis := pk.CommitmentKeys[i].BasisExpSigma
		sigma := sc.sigma[i]
		rs, err := randomWeights(len(basis))
		if err != nil {
			return false, err
		}
		g1 = append(g1, struct {
			got        []curve.G1Affine
			gotWeights []fr.Element
			want       func(w []fr.Element) (curve.G1Affine, error)
		}{basis, rs, func(w []fr.Element) (curve.G1Affine, error) {
			return msmG1(last.Parameters.G1.SigmaCKK[i], scaled(w, &sigma))
		}})
	}
	for _, check := range g1 {
		got, err := msmG1(check.got, check.gotWeights)
		if err != nil {
			return false, err
		}
		want, err := check.want(check.gotWeights)
		if err != nil {
			return false, err
		}
		if !got.Equal(&want) {
			return false, nil
		}
	}
	got2, err := msmG2(pk.G2.B, weightsAt(rw, wiresB))
	if err != nil {
		return false, err
	}
	want2, err := lagrangeSumG2(srs.G2.Tau, b2)
	if err != nil {
		return false, err
	}
	return got2.Equal(&want2), nil
}

func indexes(set []bool) []int {
	var out []int
	for i, in := range set {
		if in {
			out = append(out, i)
		}
	}
	return out
}

func negate(set []bool) []bool {
	out := make([]bool, len(set))
	for i, in := range set {
		out[i] = !in
	}
	return out
}
