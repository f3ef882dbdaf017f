package ceremony

import (
	"errors"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	cmpc "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// checkSealedSRS requires sealed to be last's SRS with the beacon's
// contribution applied, as seal computes it, without the 3n scalar
// multiplications: the beacon's τ', α', β' are public, so each list is
// checked by one random linear combination, Σ rᵢ·sealedᵢ = Σ (rᵢ·k·τ'ⁱ)·lastᵢ
// (k = 1, α' or β'), two MSMs per list.
func checkSealedSRS(last *phase1, lastHash, beacon []byte, sealed *mpcsetup.SrsCommons) error {
	bad := errors.New("sealed.srs is not the last contribution sealed with the recorded beacon")
	prev := &last.srs
	if len(sealed.G1.Tau) != len(prev.G1.Tau) || len(sealed.G2.Tau) != len(prev.G2.Tau) ||
		len(sealed.G1.AlphaTau) != len(prev.G1.AlphaTau) || len(sealed.G1.BetaTau) != len(prev.G1.BetaTau) {
		return bad
	}
	c := cmpc.BeaconContributions(lastHash, phase1BeaconDST, beacon, 3)
	tau, alpha, beta := &c[0], &c[1], &c[2]
	beta2 := prev.G2.Beta
	scaleG2Point(&beta2, beta)
	if !beta2.Equal(&sealed.G2.Beta) {
		return bad
	}
	var one fr.Element
	one.SetOne()
	g1 := []struct {
		got, prev []curve.G1Affine
		k         *fr.Element
	}{{sealed.G1.Tau, prev.G1.Tau, &one}, {sealed.G1.AlphaTau, prev.G1.AlphaTau, alpha}, {sealed.G1.BetaTau, prev.G1.BetaTau, beta}}
	for _, l := range g1 {
		r, err := randomWeights(len(l.got))
		if err != nil {
			return err
		}
		got, err := msmG1(l.got, r)
		if err != nil {
			return err
		}
		want, err := msmG1(l.prev, powerWeights(r, l.k, tau))
		if err != nil {
			return err
		}
		if !got.Equal(&want) {
			return bad
		}
	}
	r, err := randomWeights(len(sealed.G2.Tau))
	if err != nil {
		return err
	}
	got, err := msmG2(sealed.G2.Tau, r)
	if err != nil {
		return err
	}
	want, err := msmG2(prev.G2.Tau, powerWeights(r, &one, tau))
	if err != nil {
		return err
	}
	if !got.Equal(&want) {
		return bad
	}
	return nil
}

// powerWeights is rᵢ·k·tⁱ.
func powerWeights(r []fr.Element, k, t *fr.Element) []fr.Element {
	out := make([]fr.Element, len(r))
	p := *k
	for i := range r {
		out[i].Mul(&r[i], &p)
		p.Mul(&p, t)
	}
	return out
}
