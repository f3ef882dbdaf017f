package prover

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/pedersen"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// DevSetup runs a single-party Groth16 setup. Whoever runs it knows the
// toxic waste and can forge proofs: development only. Production keys come
// from gnark's multi-party ceremony (backend/groth16/bn254/mpcsetup).
//
// It computes the same keys as gnark's groth16.Setup (same statement, same
// layout, gnark's prover and verifiers use them unchanged) but multiplies the
// generators with comb tables (fixedbase.go) instead of a double-and-add per
// scalar: the setup's cost is almost all in those multiplications.
func DevSetup(ccs constraint.ConstraintSystem) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	r1cs, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, nil, fmt.Errorf("groth16 setup: want a BN254 R1CS, got %T", ccs)
	}
	pk, vk, err := setupBN254(r1cs)
	if err != nil {
		return nil, nil, fmt.Errorf("groth16 setup: %w", err)
	}
	return pk, vk, nil
}

// toxic is the setup's secret randomness; it must be forgotten afterwards.
type toxic struct {
	tau, alpha, beta, gamma, delta fr.Element
	gammaInv, deltaInv             fr.Element
}

func sampleToxic() (toxic, error) {
	var t toxic
	for _, e := range []*fr.Element{&t.tau, &t.alpha, &t.beta, &t.gamma, &t.delta} {
		for e.IsZero() {
			if _, err := e.SetRandom(); err != nil {
				return t, err
			}
		}
	}
	if t.gamma.Equal(&t.delta) { // γ = δ would let public inputs be moved into the private part
		return t, errors.New("sampled γ = δ")
	}
	t.gammaInv.Inverse(&t.gamma)
	t.deltaInv.Inverse(&t.delta)
	return t, nil
}

// wireRoles says, per wire, where its K scalar goes: the verifying key (public
// wires and commitment values), commitment `i`'s Pedersen basis (private wires
// that commitment commits to), or the proving key (every other wire).
type wireRoles struct {
	nbVK         int
	committedBy  map[int]int // private committed wire → commitment index
	commitments  constraint.Groth16Commitments
	commitWires  []int
	nbCommitted  []int
	nbPKPrivateK int
}

func rolesOf(r1cs *cs.R1CS, nbWires int) (wireRoles, error) {
	info, ok := r1cs.CommitmentInfo.(constraint.Groth16Commitments)
	if !ok {
		return wireRoles{}, fmt.Errorf("commitment info is %T, want Groth16Commitments", r1cs.CommitmentInfo)
	}
	roles := wireRoles{
		commitments: info,
		commitWires: info.CommitmentIndexes(),
		committedBy: map[int]int{},
		nbVK:        r1cs.GetNbPublicVariables() + len(info),
	}
	for i, wires := range info.GetPrivateCommitted() {
		roles.nbCommitted = append(roles.nbCommitted, len(wires))
		for _, wire := range wires {
			if _, dup := roles.committedBy[wire]; dup {
				return wireRoles{}, fmt.Errorf("wire %d committed twice", wire)
			}
			roles.committedBy[wire] = i
		}
	}
	roles.nbPKPrivateK = nbWires - roles.nbVK - len(roles.committedBy)
	return roles, nil
}

// lagrangeAtTau returns, per wire, the QAP polynomials A, B, C evaluated at τ:
// constraint j is the j-th point ω^j of the domain, and
// L_j(τ) = (τⁿ − 1)/n · ω^j / (τ − ω^j).
func lagrangeAtTau(r1cs *cs.R1CS, domain *fft.Domain, tau *fr.Element, nbWires int) (a, b, c []fr.Element) {
	m := r1cs.GetNbConstraints()
	denominators := make([]fr.Element, m)
	omegas := make([]fr.Element, m)
	w := fr.One()
	for j := range m {
		omegas[j] = w
		denominators[j].Sub(tau, &w)
		w.Mul(&w, &domain.Generator)
	}
	inverses := fr.BatchInvert(denominators)
	var scale fr.Element
	scale.Exp(*tau, new(big.Int).SetUint64(domain.Cardinality))
	one := fr.One()
	scale.Sub(&scale, &one).Mul(&scale, &domain.CardinalityInv)

	a, b, c = make([]fr.Element, nbWires), make([]fr.Element, nbWires), make([]fr.Element, nbWires)
	add := func(acc []fr.Element, terms constraint.LinearExpression, l *fr.Element) {
		var term fr.Element
		for _, t := range terms {
			term.Mul(&r1cs.Coefficients[t.CoeffID()], l)
			acc[t.WireID()].Add(&acc[t.WireID()], &term)
		}
	}
	j := 0
	var l fr.Element
	it := r1cs.GetR1CIterator()
	for r := it.Next(); r != nil; r = it.Next() {
		l.Mul(&scale, &omegas[j]).Mul(&l, &inverses[j])
		add(a, r.L, &l)
		add(b, r.R, &l)
		add(c, r.O, &l)
		j++
	}
	return a, b, c
}

// nonZero drops the zero scalars (points at infinity), marking where they were.
func nonZero(scalars []fr.Element) ([]fr.Element, []bool, uint64) {
	infinity, kept := make([]bool, len(scalars)), make([]fr.Element, 0, len(scalars))
	for i := range scalars {
		if scalars[i].IsZero() {
			infinity[i] = true
		} else {
			kept = append(kept, scalars[i])
		}
	}
	return kept, infinity, uint64(len(scalars) - len(kept))
}

func setupBN254(r1cs *cs.R1CS) (*groth16bn254.ProvingKey, *groth16bn254.VerifyingKey, error) {
	nbPublic := r1cs.GetNbPublicVariables()
	nbWires := r1cs.NbInternalVariables + nbPublic + r1cs.GetNbSecretVariables()
	roles, err := rolesOf(r1cs, nbWires)
	if err != nil {
		return nil, nil, err
	}
	domain := fft.NewDomain(uint64(r1cs.GetNbConstraints()))
	tw, err := sampleToxic()
	if err != nil {
		return nil, nil, err
	}
	a, b, c := lagrangeAtTau(r1cs, domain, &tw.tau, nbWires)

	// K_i = (β·A_i + α·B_i + C_i) / γ for what the verifier adds itself, / δ for the rest.
	vkK := make([]fr.Element, 0, roles.nbVK)
	pkK := make([]fr.Element, 0, roles.nbPKPrivateK)
	ckK := make([][]fr.Element, len(roles.nbCommitted))
	for i, n := range roles.nbCommitted {
		ckK[i] = make([]fr.Element, 0, n)
	}
	nextCommitment := 0
	var k, t fr.Element
	for i := range nbWires {
		k.Mul(&a[i], &tw.beta)
		t.Mul(&b[i], &tw.alpha)
		k.Add(&k, &t).Add(&k, &c[i])
		isCommitment := i >= nbPublic && nextCommitment < len(roles.commitWires) && roles.commitWires[nextCommitment] == i
		committedBy, committed := roles.committedBy[i]
		switch {
		case i < nbPublic || isCommitment:
			if isCommitment {
				nextCommitment++
			}
			vkK = append(vkK, *k.Mul(&k, &tw.gammaInv))
		case committed:
			ckK[committedBy] = append(ckK[committedBy], *k.Mul(&k, &tw.gammaInv))
		default:
			pkK = append(pkK, *k.Mul(&k, &tw.deltaInv))
		}
	}
	if len(vkK) != roles.nbVK || len(pkK) != roles.nbPKPrivateK {
		return nil, nil, fmt.Errorf("wire roles: %d verifier and %d prover K, want %d and %d",
			len(vkK), len(pkK), roles.nbVK, roles.nbPKPrivateK)
	}

	// Z_i = τ^i·(τⁿ − 1)/δ, laid out in bit-reversed order; the prover uses the first n − 1.
	z := make([]fr.Element, domain.Cardinality)
	var zi fr.Element
	zi.Exp(tw.tau, new(big.Int).SetUint64(domain.Cardinality))
	one := fr.One()
	zi.Sub(&zi, &one).Mul(&zi, &tw.deltaInv)
	for i := range z {
		z[i] = zi
		zi.Mul(&zi, &tw.tau)
	}
	fft.BitReverse(z)
	z = z[:len(z)-1]

	pk, vk := &groth16bn254.ProvingKey{}, &groth16bn254.VerifyingKey{}
	var aKept, bKept []fr.Element
	aKept, pk.InfinityA, pk.NbInfinityA = nonZero(a)
	bKept, pk.InfinityB, pk.NbInfinityB = nonZero(b)

	_, _, g1, g2 := bn254.Generators()
	parts := [][]fr.Element{{tw.alpha, tw.beta, tw.delta}, aKept, bKept, z, vkK, pkK}
	parts = append(parts, ckK...)
	points := fixedBaseG1(&g1, concat(parts))
	take := func(n int) []bn254.G1Affine { p := points[:n:n]; points = points[n:]; return p }
	head := take(3)
	pk.G1.Alpha, pk.G1.Beta, pk.G1.Delta = head[0], head[1], head[2]
	pk.G1.A, pk.G1.B, pk.G1.Z = take(len(aKept)), take(len(bKept)), take(len(z))
	vk.G1.K, pk.G1.K = take(len(vkK)), take(len(pkK))

	if err := commitmentKeys(pk, vk, ckK, take, &g1); err != nil {
		return nil, nil, err
	}
	vk.PublicAndCommitmentCommitted = roles.commitments.GetPublicAndCommitmentCommitted(roles.commitWires, nbPublic)

	g2Points := fixedBaseG2(&g2, concat([][]fr.Element{bKept, {tw.beta, tw.delta, tw.gamma}}))
	pk.G2.B = g2Points[:len(bKept):len(bKept)]
	tail := g2Points[len(bKept):]
	pk.G2.Beta, pk.G2.Delta = tail[0], tail[1]
	vk.G2.Beta, vk.G2.Delta, vk.G2.Gamma = tail[0], tail[1], tail[2]

	vk.G1.Alpha, vk.G1.Beta, vk.G1.Delta = pk.G1.Alpha, pk.G1.Beta, pk.G1.Delta
	if err := vk.Precompute(); err != nil {
		return nil, nil, err
	}
	pk.Domain = *domain
	return pk, vk, nil
}

// commitmentKeys gives each BSB22 commitment a Pedersen key: its basis (the G1
// points of the wires it commits to, already computed) and σ_i times it, and a
// shared random G2 point for the verifier's knowledge check.
func commitmentKeys(
	pk *groth16bn254.ProvingKey, vk *groth16bn254.VerifyingKey,
	ckK [][]fr.Element, take func(int) []bn254.G1Affine, g1 *bn254.G1Affine,
) error {
	if len(ckK) == 0 {
		return nil
	}
	g, err := bn254.RandomOnG2()
	if err != nil {
		return err
	}
	pk.CommitmentKeys = make([]pedersen.ProvingKey, len(ckK))
	vk.CommitmentKeys = make([]pedersen.VerifyingKey, len(ckK))
	for i, scalars := range ckK {
		var sigma fr.Element
		for sigma.IsZero() {
			if _, err := sigma.SetRandom(); err != nil {
				return err
			}
		}
		scaled := make([]fr.Element, len(scalars))
		for j := range scalars {
			scaled[j].Mul(&scalars[j], &sigma)
		}
		pk.CommitmentKeys[i] = pedersen.ProvingKey{Basis: take(len(scalars)), BasisExpSigma: fixedBaseG1(g1, scaled)}
		var negSigma big.Int
		sigma.Neg(&sigma).BigInt(&negSigma)
		vk.CommitmentKeys[i].G = g
		vk.CommitmentKeys[i].GSigmaNeg.ScalarMultiplication(&g, &negSigma)
	}
	return nil
}

func concat(parts [][]fr.Element) []fr.Element {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]fr.Element, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
