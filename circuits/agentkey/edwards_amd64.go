//go:build !purego

package agentkey

import "github.com/consensys/gnark-crypto/utils/cpu"

// addAffine sets p = p + q: 7 multiplications, branch-free (the comb adds secret
// multiples of the base point with it), in assembly where the CPU has ADX and
// BMI2.
func (p *extended) addAffine(q *affineAddend) {
	if !cpu.SupportADX {
		p.addAffineGeneric(q)
		return
	}
	addAffineADX(p, q, &moduli)
}

//go:noescape
func addAffineADX(p *extended, q *affineAddend, r *[8]uint64)
