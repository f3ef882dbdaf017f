package agentkey

// limbDigits bounds the wNAF length of a limb.
const limbDigits = limbBits + 1

// wnafLimb returns the width-w non-adjacent form of a limbBits-bit k: digits odd
// and below 2^(w−1) in magnitude (w ≤ 16), at most one non-zero in any w
// consecutive positions. Variable-time: used on public scalars only.
func wnafLimb(k uint64, w uint) [limbDigits]int16 {
	var out [limbDigits]int16
	mask := uint64(1)<<w - 1
	half := int64(1) << (w - 1)
	for i := 0; k != 0; i++ {
		if k&1 == 1 {
			d := int64(k & mask)
			if d >= half {
				d -= int64(1) << w
			}
			out[i] = int16(d)
			k = uint64(int64(k) - d)
		}
		k >>= 1
	}
	return out
}

// wordsBE reads 32 big-endian bytes as little-endian 64-bit words.
func wordsBE(b *[32]byte) [4]uint64 {
	var k [4]uint64
	for i := range 4 {
		for j := range 8 {
			k[3-i] = k[3-i]<<8 | uint64(b[8*i+j])
		}
	}
	return k
}
