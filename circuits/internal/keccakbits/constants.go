package keccakbits

const rounds = 24

// rotation[x][y] and roundConstants are derived from the Keccak
// specification's definitions (FIPS 202, 3.2.2 and 3.2.5) rather than
// copied as tables: ρ's offsets walk (x, y) → (y, 2x + 3y) with offset
// (t + 1)(t + 2)/2, and ι's constants come from the degree-8 LFSR rc.
var (
	rotation       = rotations()
	roundConstants = iotaConstants()
)

func rotations() [5][5]int {
	var r [5][5]int
	x, y := 1, 0
	for t := range 24 {
		r[x][y] = ((t + 1) * (t + 2) / 2) % 64
		x, y = y, (2*x+3*y)%5
	}
	return r
}

// rc is bit t of the LFSR x⁸ + x⁶ + x⁵ + x⁴ + 1 (FIPS 202, Algorithm 5).
func rc(t int) uint64 {
	if t%255 == 0 {
		return 1
	}
	r := uint16(1) // R = 10000000, R[0] first: bit i of r is R[i]
	for range t % 255 {
		r <<= 1 // R = 0 ‖ R
		r8 := r >> 8 & 1
		r ^= r8 | r8<<4 | r8<<5 | r8<<6
		r &= 0xff
	}
	return uint64(r & 1)
}

func iotaConstants() [rounds]uint64 {
	var out [rounds]uint64
	for i := range out {
		for j := range 7 {
			out[i] |= rc(j+7*i) << ((1 << j) - 1)
		}
	}
	return out
}
