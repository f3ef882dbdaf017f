package ceremony

import (
	"errors"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// wireLayout is where gnark's phase 2 puts each wire's [βA+αB+C]₁ point,
// mirroring mpcsetup.Phase2.Initialize: the wires a BSB22 commitment commits
// to in that commitment's basis (SigmaCKK, the proving key's Basis), the
// public wires and the commitments themselves in the verifying key (K), and
// every other wire in the proving key (PKK), each in wire order.
type wireLayout struct {
	nWires    int
	vkk       []int
	pkk       []int
	ckk       [][]int
	committed [][]int // the verifying key's PublicAndCommitmentCommitted
}

var errLayout = errors.New("a commitment layout the quick check does not cover")

func layoutOf(r *cs.R1CS) (*wireLayout, error) {
	nbInternal, nbSecret, nbPublic := r.GetNbVariables()
	commitments := r.CommitmentInfo.(constraint.Groth16Commitments)
	l := &wireLayout{
		nWires:    nbInternal + nbSecret + nbPublic,
		ckk:       make([][]int, len(commitments)),
		committed: commitments.GetPublicAndCommitmentCommitted(commitments.CommitmentIndexes(), nbPublic),
	}
	// gnark walks the committed wires with a merge iterator that assumes
	// each wire is committed at most once and the lists sorted; refuse
	// anything else rather than guess its order.
	owner := map[int]int{}
	for i, wires := range commitments.GetPrivateCommitted() {
		for k, w := range wires {
			if _, dup := owner[w]; dup || k > 0 && wires[k-1] >= w {
				return nil, errLayout
			}
			owner[w] = i
		}
	}
	seen := 0
	for j := 0; j < l.nWires; j++ {
		isCommitment := seen < len(commitments) && commitments[seen].CommitmentIndex == j
		if i, ok := owner[j]; ok {
			l.ckk[i] = append(l.ckk[i], j)
		} else if j < nbPublic || isCommitment {
			l.vkk = append(l.vkk, j)
		} else {
			l.pkk = append(l.pkk, j)
		}
		if isCommitment {
			seen++
		}
	}
	return l, nil
}

// columnWeights are Σⱼ rⱼ·aᵢⱼ, Σⱼ rⱼ·bᵢⱼ and Σⱼ rⱼ·cᵢⱼ per constraint i
// (zero beyond the constraints, up to the domain's size n): a linear
// combination of the wires' columns, with weight rⱼ per wire (zero for the
// wires left out).
func columnWeights(r *cs.R1CS, n int, rw []fr.Element) (a, b, c []fr.Element) {
	a, b, c = make([]fr.Element, n), make([]fr.Element, n), make([]fr.Element, n)
	add := func(dst *fr.Element, terms []constraint.Term) {
		var t fr.Element
		for _, term := range terms {
			w := &rw[term.WireID()]
			if w.IsZero() || term.CoeffID() == constraint.CoeffIdZero {
				continue
			}
			t.Mul(w, &r.Coefficients[term.CoeffID()])
			dst.Add(dst, &t)
		}
	}
	i := 0
	it := r.GetR1CIterator()
	for con := it.Next(); con != nil; con = it.Next() {
		add(&a[i], con.L)
		add(&b[i], con.R)
		add(&c[i], con.O)
		i++
	}
	return a, b, c
}

// nonZeroColumns says, per wire, whether its A (left) and B (right) columns
// have a non-zero entry: exactly the wires whose points are not at infinity
// (the Lagrange polynomials are independent), which the proving key lists.
func nonZeroColumns(r *cs.R1CS, nWires int) (a, b []bool) {
	a, b = make([]bool, nWires), make([]bool, nWires)
	sums := make([]fr.Element, nWires)
	mark := func(dst []bool, terms []constraint.Term) {
		for _, t := range terms {
			sums[t.WireID()].Add(&sums[t.WireID()], &r.Coefficients[t.CoeffID()])
		}
		for _, t := range terms {
			j := t.WireID()
			if !sums[j].IsZero() {
				dst[j] = true
			}
			sums[j].SetZero()
		}
	}
	it := r.GetR1CIterator()
	for con := it.Next(); con != nil; con = it.Next() {
		mark(a, con.L)
		mark(b, con.R)
	}
	return a, b
}

// weightsAt is the weights of the given wires, in their order.
func weightsAt(rw []fr.Element, wires []int) []fr.Element {
	out := make([]fr.Element, len(wires))
	for k, j := range wires {
		out[k] = rw[j]
	}
	return out
}
