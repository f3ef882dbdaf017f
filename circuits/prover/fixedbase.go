package prover

import (
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/parallel"
)

// Fixed-base scalar multiplication by comb tables, for the dev setup.
//
// A Groth16 setup multiplies the generators by millions of scalars. gnark-crypto's
// BatchScalarMultiplicationG1/G2 keep one window table and spend ~254 doublings
// per scalar; with a table per window position (row w holds d·2^(w·c)·G for every
// c-bit digit d) a scalar costs one mixed addition per window and no doubling,
// about 15× fewer group operations at c = 16. The tables are built once per call
// (W·2^c points) and shared by all scalars.

// combWindow picks the window width minimising table size plus additions.
func combWindow(nbScalars int) uint64 {
	best, bestCost := uint64(4), ^uint64(0)
	for c := uint64(4); c <= 16; c++ {
		w := windows(c)
		if cost := w<<c + uint64(nbScalars)*w; cost < bestCost {
			best, bestCost = c, cost
		}
	}
	return best
}

func windows(c uint64) uint64 { return (fr.Bits + c - 1) / c }

// digit returns bits [start, start+c) of the little-endian 256-bit integer b.
func digit(b *[4]uint64, start, c uint64) uint64 {
	word, shift := start/64, start%64
	if word >= 4 {
		return 0
	}
	d := b[word] >> shift
	if shift+c > 64 && word+1 < 4 {
		d |= b[word+1] << (64 - shift)
	}
	return d & (1<<c - 1)
}

// chunk bounds the Jacobian scratch of one worker when converting to affine.
const chunk = 1 << 12

// fixedBaseG1 returns scalars[i]·base for every i.
func fixedBaseG1(base *bn254.G1Affine, scalars []fr.Element) []bn254.G1Affine {
	out := make([]bn254.G1Affine, len(scalars))
	if len(scalars) == 0 {
		return out
	}
	c := combWindow(len(scalars))
	w, size := windows(c), uint64(1)<<c-1
	table := g1Table(base, w, size)
	parallel.Execute(len(scalars), func(start, end int) {
		jac := make([]bn254.G1Jac, chunk)
		for lo := start; lo < end; lo += chunk {
			hi := min(lo+chunk, end)
			for i := lo; i < hi; i++ {
				bits := scalars[i].Bits()
				p := &jac[i-lo]
				p.Z.SetZero()
				for k := uint64(0); k < w; k++ {
					if d := digit(&bits, k*c, c); d != 0 {
						p.AddMixed(&table[k*size+d-1])
					}
				}
			}
			copy(out[lo:hi], bn254.BatchJacobianToAffineG1(jac[:hi-lo]))
		}
	})
	return out
}

// g1Table lays out w rows of size points: row k holds d·2^(k·c)·base for d = 1..size.
func g1Table(base *bn254.G1Affine, w, size uint64) []bn254.G1Affine {
	rowBase := make([]bn254.G1Jac, w)
	rowBase[0].FromAffine(base)
	for k := uint64(1); k < w; k++ {
		rowBase[k] = rowBase[k-1]
		for d := size + 1; d > 1; d >>= 1 { // size+1 = 2^c: c doublings
			rowBase[k].DoubleAssign()
		}
	}
	table := make([]bn254.G1Affine, w*size)
	parallel.Execute(int(w), func(start, end int) {
		row := make([]bn254.G1Jac, size)
		for k := start; k < end; k++ {
			row[0] = rowBase[k]
			for d := uint64(1); d < size; d++ {
				row[d] = row[d-1]
				row[d].AddAssign(&rowBase[k])
			}
			copy(table[uint64(k)*size:], bn254.BatchJacobianToAffineG1(row))
		}
	})
	return table
}

// fixedBaseG2 returns scalars[i]·base for every i.
func fixedBaseG2(base *bn254.G2Affine, scalars []fr.Element) []bn254.G2Affine {
	out := make([]bn254.G2Affine, len(scalars))
	if len(scalars) == 0 {
		return out
	}
	c := combWindow(len(scalars))
	w, size := windows(c), uint64(1)<<c-1
	table := g2Table(base, w, size)
	parallel.Execute(len(scalars), func(start, end int) {
		var p bn254.G2Jac
		for i := start; i < end; i++ {
			bits := scalars[i].Bits()
			p.Z.SetZero()
			for k := uint64(0); k < w; k++ {
				if d := digit(&bits, k*c, c); d != 0 {
					p.AddMixed(&table[k*size+d-1])
				}
			}
			out[i].FromJacobian(&p)
		}
	})
	return out
}

// g2Table is g1Table in G2.
func g2Table(base *bn254.G2Affine, w, size uint64) []bn254.G2Affine {
	rowBase := make([]bn254.G2Jac, w)
	rowBase[0].FromAffine(base)
	for k := uint64(1); k < w; k++ {
		rowBase[k] = rowBase[k-1]
		for d := size + 1; d > 1; d >>= 1 {
			rowBase[k].DoubleAssign()
		}
	}
	table := make([]bn254.G2Affine, w*size)
	parallel.Execute(int(w), func(start, end int) {
		var p bn254.G2Jac
		for k := start; k < end; k++ {
			p = rowBase[k]
			for d := uint64(0); d < size; d++ {
				if d > 0 {
					p.AddAssign(&rowBase[k])
				}
				table[uint64(k)*size+d].FromJacobian(&p)
			}
		}
	})
	return table
}
