package keccakbits

import "testing"

// The derived constants agree with the published ones' first and last
// entries (FIPS 202 / the Keccak team's reference tables).
func TestConstants(t *testing.T) {
	if roundConstants[0] != 0x0000000000000001 || roundConstants[1] != 0x0000000000008082 ||
		roundConstants[23] != 0x8000000080008008 {
		t.Fatalf("round constants %#x %#x … %#x", roundConstants[0], roundConstants[1], roundConstants[23])
	}
	if rotation[0][0] != 0 || rotation[1][0] != 1 || rotation[0][1] != 36 || rotation[4][4] != 14 || rotation[2][1] != 6 {
		t.Fatalf("rotations %v", rotation)
	}
}
