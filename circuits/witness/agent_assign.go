package witness

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	galgebra "github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/aep2/aep2/circuits/agent"
)

// AssignAgent lays the settlement out in an agent circuit of n mandate and
// p pair slots, as Assign does for the batch family. Disabled pairs get the
// identity as key, disabled slots R = (0, 1) and S = 0. It does not Check.
func AssignAgent(s *AgentSettlement, n, p int) (*agent.Circuit, error) {
	if len(s.Pairs) > p || s.Count() > n {
		return nil, fmt.Errorf("%w: %d mandates over %d pairs, circuit has N=%d P=%d", ErrTooLarge, s.Count(), len(s.Pairs), n, p)
	}
	c := agent.New(n, p)
	c.PublicInput = s.PublicInput()
	c.DomainSeparator = [2]frontend.Variable{
		new(big.Int).SetBytes(s.DomainSeparator[:16]), new(big.Int).SetBytes(s.DomainSeparator[16:]),
	}
	c.VerifierID, c.Token, c.NotAfter = s.VerifierID, addr(s.Token), s.NotAfter
	identity := galgebra.Point{X: 0, Y: 1}
	for j := range c.Pairs {
		c.Pairs[j] = agent.Pair{KeyID: 0, Payee: 0, FromNonce: 0, ToNonce: 0, Total: 0, Key: identity}
	}
	slot := 0
	for j, pr := range s.Pairs {
		c.Pairs[j] = agent.Pair{
			KeyID: pr.KeyID, Payee: addr(pr.Payee), FromNonce: pr.FromNonce, ToNonce: pr.ToNonce,
			Total: pr.Total, Key: edPoint(&pr.Point),
		}
		for k := range pr.Mandates {
			m, err := agentSlot(&pr.Mandates[k], k == 0)
			if err != nil {
				return nil, fmt.Errorf("%w: settlement.pairs[%d]: %w", ErrInvalid, j, err)
			}
			c.Mandates[slot] = m
			slot++
		}
	}
	for ; slot < n; slot++ {
		c.Mandates[slot] = agent.Mandate{
			Enabled: 0, NewPair: 0, Amount: 0, Nonce: 0, Deadline: 0, RefHi: 0, RefLo: 0,
			Sig: eddsa.Signature{R: identity, S: 0},
		}
	}
	return c, nil
}

func agentSlot(m *AgentMandate, first bool) (agent.Mandate, error) {
	var r twistededwards.PointAffine
	if _, err := r.SetBytes(m.Signature[:32]); err != nil {
		return agent.Mandate{}, fmt.Errorf("mandate nonce %d: signature R: %w", m.Nonce, err)
	}
	// S as signed: the circuit requires S < ℓ, as gnark-crypto's decoder.
	sc := new(big.Int).SetBytes(m.Signature[32:])
	newPair := 0
	if first {
		newPair = 1
	}
	return agent.Mandate{
		Enabled: 1, NewPair: newPair, Amount: m.Amount, Nonce: m.Nonce, Deadline: m.Deadline,
		RefHi: new(big.Int).SetBytes(m.Ref[:16]), RefLo: new(big.Int).SetBytes(m.Ref[16:]),
		Sig: eddsa.Signature{R: edPoint(&r), S: sc},
	}, nil
}

func edPoint(p *twistededwards.PointAffine) galgebra.Point {
	var x, y big.Int
	p.X.BigInt(&x)
	p.Y.BigInt(&y)
	return galgebra.Point{X: &x, Y: &y}
}
