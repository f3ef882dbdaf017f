package keccakbits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
)

// Lane is one 64-bit lane, bit z at index z (little-endian).
type Lane [64]frontend.Variable

// State is the Keccak-f[1600] state: lane (x, y) at index x + 5y. Every bit
// must hold 0 or 1 (a boolean wire, or a linear combination whose value is
// boolean whenever the circuit's other constraints hold).
type State [25]Lane

// Zero returns the all-zero state (constants: free to XOR into).
func Zero() State {
	var s State
	for i := range s {
		for z := range s[i] {
			s[i][z] = 0
		}
	}
	return s
}

// Permute applies Keccak-f[1600]'s 24 rounds to s.
func Permute(api frontend.API, s *State) {
	for round := range rounds {
		theta(api, s)
		b := rhoPi(s)
		chi(api, s, &b)
		iota(api, s, round)
	}
}

func theta(api frontend.API, s *State) {
	var c [5]Lane
	for x := range 5 {
		for z := range 64 {
			v := s[x][z]
			for y := 1; y < 5; y++ {
				v = xor(api, v, s[x+5*y][z])
			}
			c[x][z] = v
		}
	}
	for x := range 5 {
		for z := range 64 {
			d := xor(api, c[(x+4)%5][z], c[(x+1)%5][(z+63)%64])
			for y := range 5 {
				s[x+5*y][z] = xor(api, s[x+5*y][z], d)
			}
		}
	}
}

// rhoPi rotates every lane and moves lane (x, y) to (y, 2x + 3y): free.
func rhoPi(s *State) State {
	var b State
	for x := range 5 {
		for y := range 5 {
			r := rotation[x][y]
			dst := y + 5*((2*x+3*y)%5)
			for z := range 64 {
				b[dst][z] = s[x+5*y][(z+64-r)%64]
			}
		}
	}
	return b
}

func chi(api frontend.API, s, b *State) {
	for y := range 5 {
		for x := range 5 {
			for z := range 64 {
				notBAndC := api.Mul(api.Sub(1, b[(x+1)%5+5*y][z]), b[(x+2)%5+5*y][z])
				s[x+5*y][z] = xor(api, b[x+5*y][z], notBAndC)
			}
		}
	}
}

func iota(api frontend.API, s *State, round int) {
	for z := range 64 {
		if roundConstants[round]>>z&1 == 1 {
			s[0][z] = api.Sub(1, s[0][z])
		}
	}
}

// xor is a ⊕ b for bits: (a − b)², a fresh wire from one constraint, or a
// linear expression when either side is a constant.
func xor(api frontend.API, a, b frontend.Variable) frontend.Variable {
	if c, ok := api.Compiler().ConstantValue(a); ok {
		return flip(api, b, c)
	}
	if c, ok := api.Compiler().ConstantValue(b); ok {
		return flip(api, a, c)
	}
	d := api.Sub(a, b)
	return api.Mul(d, d)
}

func flip(api frontend.API, v frontend.Variable, c *big.Int) frontend.Variable {
	if c.Sign() == 0 {
		return v
	}
	return api.Sub(1, v)
}
