package ceremony

import (
	"math/big"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/parallel"
)

// A contribution multiplies each of a transcript's points by a scalar, one
// full scalar multiplication per point: nearly all of a ceremony's time.
// gnark's phase 1 runs them on one core; these run them on every core.

// scaleG1Powers sets p[i] ← [s·tⁱ]p[i].
func scaleG1Powers(p []curve.G1Affine, s, t *fr.Element) {
	parallel.Execute(len(p), func(start, end int) {
		k := startPower(s, t, start)
		var b big.Int
		for i := start; i < end; i++ {
			k.BigInt(&b)
			p[i].ScalarMultiplication(&p[i], &b)
			k.Mul(&k, t)
		}
	})
}

// scaleG2Powers sets p[i] ← [s·tⁱ]p[i].
func scaleG2Powers(p []curve.G2Affine, s, t *fr.Element) {
	parallel.Execute(len(p), func(start, end int) {
		k := startPower(s, t, start)
		var b big.Int
		for i := start; i < end; i++ {
			k.BigInt(&b)
			p[i].ScalarMultiplication(&p[i], &b)
			k.Mul(&k, t)
		}
	})
}

// startPower is s·tⁱ.
func startPower(s, t *fr.Element, i int) fr.Element {
	var k fr.Element
	k.Exp(*t, big.NewInt(int64(i)))
	k.Mul(&k, s)
	return k
}

// scaleG1 sets p[i] ← [s]p[i].
func scaleG1(p []curve.G1Affine, s *fr.Element) {
	var b big.Int
	s.BigInt(&b)
	parallel.Execute(len(p), func(start, end int) {
		for i := start; i < end; i++ {
			p[i].ScalarMultiplication(&p[i], &b)
		}
	})
}

func scaleG1Point(p *curve.G1Affine, s *fr.Element) {
	var b big.Int
	p.ScalarMultiplication(p, s.BigInt(&b))
}

func scaleG2Point(p *curve.G2Affine, s *fr.Element) {
	var b big.Int
	p.ScalarMultiplication(p, s.BigInt(&b))
}
