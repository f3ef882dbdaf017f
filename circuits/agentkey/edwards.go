package agentkey

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
)

// Arithmetic on gnark-crypto's Baby Jubjub (a = −1) in extended coordinates
// (X : Y : Z : T), x = X/Z, y = Y/Z, T = XY/Z, with the a = −1 formulas of
// Hisil–Wong–Carter–Dawson 2008 (add-2008-hwcd-3, dbl-2008-hwcd). Addends are kept
// in a "cached" form so that a ladder step costs 8 multiplications.

// extended is a point in extended twisted Edwards coordinates.
type extended struct{ X, Y, Z, T fr.Element }

// cached is an addend: (Y + X, Y − X, 2d·T, 2Z).
type cached struct{ YplusX, YminusX, T2d, Z2 fr.Element }

// affineAddend is an addend with Z = 1, (y + x, y − x, 2d·x·y): a quarter smaller
// than cached, and one multiplication cheaper to add.
type affineAddend struct{ YplusX, YminusX, T2d fr.Element }

// affineIdentity is the identity as an affineAddend: (1, 1, 0).
var affineIdentity = affineAddend{YplusX: fr.One(), YminusX: fr.One()}

// toAffineAddends converts points to affineAddends with one batched inversion.
func toAffineAddends(points []extended) []affineAddend {
	zs := make([]fr.Element, len(points))
	for i := range points {
		zs[i] = points[i].Z
	}
	zs = fr.BatchInvert(zs)
	out := make([]affineAddend, len(points))
	for i := range points {
		var x, y fr.Element
		x.Mul(&points[i].X, &zs[i])
		y.Mul(&points[i].Y, &zs[i])
		out[i].YplusX.Add(&y, &x)
		out[i].YminusX.Sub(&y, &x)
		out[i].T2d.Mul(&x, &y).Mul(&out[i].T2d, &curveD2)
	}
	return out
}

// addAffineGeneric is addAffine in Go.
func (p *extended) addAffineGeneric(q *affineAddend) {
	var a, b, c, d, t fr.Element
	subMod(&t, &p.Y, &p.X)
	a.Mul(&t, &q.YminusX)
	addMod(&t, &p.Y, &p.X)
	b.Mul(&t, &q.YplusX)
	c.Mul(&p.T, &q.T2d)
	addMod(&d, &p.Z, &p.Z)
	p.finishAdd(&a, &b, &c, &d)
}

// addAffineVar sets p = p + q, or p − q when neg: for public points only (the
// choice is a branch).
func (p *extended) addAffineVar(q *affineAddend, neg bool) {
	if !neg {
		p.addAffine(q)
		return
	}
	minus := affineAddend{YplusX: q.YminusX, YminusX: q.YplusX} // −(x, y) = (−x, y)
	negMod(&minus.T2d, &q.T2d)
	p.addAffine(&minus)
}

// finishAdd completes an addition from A = (Y₁ − X₁)(Y₂ − X₂), B = (Y₁ + X₁)(Y₂ + X₂),
// C = T₁·2d·T₂ and D = 2Z₁Z₂.
func (p *extended) finishAdd(a, b, c, d *fr.Element) {
	var e, f, g, h fr.Element
	subMod(&e, b, a)
	subMod(&f, d, c)
	addMod(&g, d, c)
	addMod(&h, b, a)
	p.X.Mul(&e, &f)
	p.Y.Mul(&g, &h)
	p.T.Mul(&e, &h)
	p.Z.Mul(&f, &g)
}

var curveD2 = func() fr.Element {
	var d2 fr.Element
	d := twistededwards.GetEdwardsCurve().D
	d2.Double(&d)
	return d2
}()

func (p *extended) setIdentity() {
	p.X.SetZero()
	p.Y.SetOne()
	p.Z.SetOne()
	p.T.SetZero()
}

func (p *extended) fromAffine(a *twistededwards.PointAffine) {
	p.X.Set(&a.X)
	p.Y.Set(&a.Y)
	p.Z.SetOne()
	p.T.Mul(&a.X, &a.Y)
}

func (c *cached) fromExtended(p *extended) {
	c.YplusX.Add(&p.Y, &p.X)
	c.YminusX.Sub(&p.Y, &p.X)
	c.T2d.Mul(&p.T, &curveD2)
	c.Z2.Double(&p.Z)
}

// add sets p = p + q (q negated when neg): 8 multiplications.
func (p *extended) add(q *cached, neg bool) {
	qPlus, qMinus := &q.YplusX, &q.YminusX
	if neg { // −(x, y) = (−x, y): swaps Y ± X and negates T
		qPlus, qMinus = qMinus, qPlus
	}
	var a, b, c, d, t fr.Element
	subMod(&t, &p.Y, &p.X)
	a.Mul(&t, qMinus)
	addMod(&t, &p.Y, &p.X)
	b.Mul(&t, qPlus)
	c.Mul(&p.T, &q.T2d)
	if neg {
		negMod(&c, &c)
	}
	d.Mul(&p.Z, &q.Z2)
	p.finishAdd(&a, &b, &c, &d)
}

// double sets p = 2p; T is computed only when withT (the next step adds).
func (p *extended) double(withT bool) {
	var a, b, c, e, f, g, h fr.Element
	a.Square(&p.X)
	b.Square(&p.Y)
	c.Square(&p.Z)
	addMod(&c, &c, &c)
	addMod(&e, &p.X, &p.Y)
	e.Square(&e)
	subMod(&e, &e, &a)
	subMod(&e, &e, &b)
	subMod(&g, &b, &a) // D + B with D = a·A = −A
	subMod(&f, &g, &c) // G − C
	addMod(&h, &a, &b) // −(D − B), sign folded into the products below
	negMod(&h, &h)
	p.X.Mul(&e, &f)
	p.Y.Mul(&g, &h)
	if withT {
		p.T.Mul(&e, &h)
	}
	p.Z.Mul(&f, &g)
}

// equalsAffine reports whether p is the affine point (x, y), without inverting Z.
func (p *extended) equalsAffine(x, y *fr.Element) bool {
	var t fr.Element
	t.Mul(x, &p.Z)
	if !t.Equal(&p.X) {
		return false
	}
	t.Mul(y, &p.Z)
	return t.Equal(&p.Y)
}
