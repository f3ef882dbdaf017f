//go:build !purego

package agentkey

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/utils/cpu"
)

// partialRounds applies the partial rounds, a = (a + c)⁵ then M_I, in assembly
// where the CPU has ADX and BMI2 (every x86-64 since about 2014), else in Go.
func partialRounds(a, b *fr.Element) {
	if !cpu.SupportADX {
		partialRoundsGeneric(a, b)
		return
	}
	var x fr.Element
	addMod(&x, a, &partialKeys[0])
	partialRoundsADX(&x, b, &partialNext[0], PartialRounds, &moduli)
	*a = x
}

// fullRounds applies n full rounds with the given constants (two per round).
func fullRounds(a, b *fr.Element, keys []fr.Element) {
	if !cpu.SupportADX {
		fullRoundsGeneric(a, b, keys)
		return
	}
	fullRoundsADX(a, b, &keys[0], len(keys)/2, &moduli)
}

//go:noescape
func partialRoundsADX(x, b *fr.Element, next *fr.Element, n int, r *[8]uint64)

//go:noescape
func fullRoundsADX(a, b *fr.Element, keys *fr.Element, n int, r *[8]uint64)

// The S-box's lazy multiplication and squaring on their own, for the tests.
//
//go:noescape
func squareLazyADX(z, x *[4]uint64, r *[8]uint64)

//go:noescape
func mulLazyADX(z, x, y *[4]uint64, r *[8]uint64)
