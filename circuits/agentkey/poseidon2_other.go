//go:build purego || !amd64

package agentkey

import "github.com/consensys/gnark-crypto/ecc/bn254/fr"

// partialRounds applies the partial rounds, a = (a + c)⁵ then M_I.
func partialRounds(a, b *fr.Element) { partialRoundsGeneric(a, b) }

// fullRounds applies n full rounds with the given constants (two per round).
func fullRounds(a, b *fr.Element, keys []fr.Element) { fullRoundsGeneric(a, b, keys) }
