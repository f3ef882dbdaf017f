//go:build purego || !amd64

package agentkey

// addAffine sets p = p + q: 7 multiplications, branch-free.
func (p *extended) addAffine(q *affineAddend) { p.addAffineGeneric(q) }
