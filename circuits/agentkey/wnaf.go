package agentkey

import "math/bits"

// scalarDigits bounds the wNAF length of a scalar below 2^256.
const scalarDigits = 257

// wnaf returns the width-w non-adjacent form of k (little-endian 64-bit words):
// digits odd and below 2^(w−1) in magnitude, at most one non-zero in any w
// consecutive positions. Variable-time: used on public scalars only.
func wnaf(k [4]uint64, w uint) [scalarDigits]int8 {
	var out [scalarDigits]int8
	mask := uint64(1)<<w - 1
	half := int64(1) << (w - 1)
	for i := 0; i < scalarDigits && (k[0]|k[1]|k[2]|k[3]) != 0; i++ {
		if k[0]&1 == 1 {
			d := int64(k[0] & mask)
			if d >= half {
				d -= int64(1) << w
			}
			out[i] = int8(d)
			if d > 0 {
				k = sub64(k, uint64(d))
			} else {
				k = add64(k, uint64(-d))
			}
		}
		k[0] = k[0]>>1 | k[1]<<63
		k[1] = k[1]>>1 | k[2]<<63
		k[2] = k[2]>>1 | k[3]<<63
		k[3] >>= 1
	}
	return out
}

func add64(k [4]uint64, v uint64) [4]uint64 {
	var c uint64
	k[0], c = bits.Add64(k[0], v, 0)
	for i := 1; i < 4 && c != 0; i++ {
		k[i], c = bits.Add64(k[i], 0, c)
	}
	return k
}

func sub64(k [4]uint64, v uint64) [4]uint64 {
	var b uint64
	k[0], b = bits.Sub64(k[0], v, 0)
	for i := 1; i < 4 && b != 0; i++ {
		k[i], b = bits.Sub64(k[i], 0, b)
	}
	return k
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
