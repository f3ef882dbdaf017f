package ceremony

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
	"github.com/consensys/gnark-crypto/parallel"
)

// Phase 2 starts from the circuit's wires evaluated at τ in the Lagrange
// basis: [Σᵢ aᵢⱼ·Lᵢ(τ)] per wire j. Computing those points takes a group FFT
// (a scalar multiplication per butterfly: the hour phase 2 init spends at
// 2^20). Checking them does not: for scalars wᵢ, Σᵢ wᵢ·[Lᵢ(τ)] is the
// polynomial Σᵢ wᵢ·Lᵢ(X), whose monomial coefficients an FFT over the field
// gives, evaluated at τ in the exponent: one multi-scalar multiplication
// over phase 1's powers [τᵏ]. So a random linear combination of many wires'
// points costs one field FFT and a few MSMs, and a wrong point passes with
// probability 1/r (Schwartz–Zippel over the verifier's own random weights).

// lagrangeCoefficients turns weights over the domain's Lagrange basis into
// the same polynomial's monomial coefficients (in place; len(w) is the
// domain's size).
func lagrangeCoefficients(w []fr.Element) {
	domain := fft.NewDomain(uint64(len(w)))
	domain.FFTInverse(w, fft.DIF)
	fft.BitReverse(w)
}

// lagrangeSumG1 is Σᵢ wᵢ·[Lᵢ(x)]₁ given powers [xᵏ]₁ (k < len(w)); w is
// overwritten.
func lagrangeSumG1(powers []curve.G1Affine, w []fr.Element) (curve.G1Affine, error) {
	lagrangeCoefficients(w)
	return msmG1(powers[:len(w)], w)
}

// lagrangeSumG2 is lagrangeSumG1 in 𝔾₂.
func lagrangeSumG2(powers []curve.G2Affine, w []fr.Element) (curve.G2Affine, error) {
	lagrangeCoefficients(w)
	return msmG2(powers[:len(w)], w)
}

func msmG1(points []curve.G1Affine, scalars []fr.Element) (curve.G1Affine, error) {
	var p curve.G1Affine
	if len(points) != len(scalars) {
		return p, fmt.Errorf("%d points, %d scalars", len(points), len(scalars))
	}
	if _, err := p.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		return p, err
	}
	return p, nil
}

func msmG2(points []curve.G2Affine, scalars []fr.Element) (curve.G2Affine, error) {
	var p curve.G2Affine
	if len(points) != len(scalars) {
		return p, fmt.Errorf("%d points, %d scalars", len(points), len(scalars))
	}
	if _, err := p.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		return p, err
	}
	return p, nil
}

// randomWeights draws n weights from a seed of the OS's randomness: the
// verifier's own, unknown to whoever wrote the points under check. Each is
// SHA-512(seed ‖ i) reduced mod r, near uniform.
func randomWeights(n int) ([]fr.Element, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("randomness: %w", err)
	}
	w := make([]fr.Element, n)
	parallel.Execute(n, func(start, end int) {
		var buf [40]byte
		copy(buf[:], seed[:])
		for i := start; i < end; i++ {
			binary.BigEndian.PutUint64(buf[32:], uint64(i))
			d := sha512.Sum512(buf[:])
			w[i].SetBytes(d[:])
		}
	})
	return w, nil
}

// scaled returns w·s.
func scaled(w []fr.Element, s *fr.Element) []fr.Element {
	out := make([]fr.Element, len(w))
	for i := range w {
		out[i].Mul(&w[i], s)
	}
	return out
}
