package witness

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/math/uints"

	"github.com/aep2/aep2/circuits/batch"
)

// ErrTooLarge means the settlement does not fit the circuit size.
var ErrTooLarge = errors.New("settlement does not fit the circuit")

// Assign lays the settlement out in a circuit of n mandate and p pair
// slots: pairs in settlement order, each pair's mandates consecutive in
// nonce order, unused slots zero (disabled). It does not Check.
func Assign(s *Settlement, n, p int) (*batch.Circuit, error) {
	if len(s.Pairs) > p || s.Count() > n {
		return nil, fmt.Errorf("%w: %d mandates over %d pairs, circuit has N=%d P=%d", ErrTooLarge, s.Count(), len(s.Pairs), n, p)
	}
	c := batch.New(n, p)
	c.PublicInput = s.PublicInput()
	c.DomainSeparator = u8s32(s.DomainSeparator)
	c.VerifierID, c.Token, c.NotAfter = s.VerifierID, addr(s.Token), s.NotAfter
	for j := range c.Pairs {
		c.Pairs[j] = zeroPair()
	}
	slot := 0
	for j, pr := range s.Pairs {
		c.Pairs[j] = batch.Pair{
			Payer: addr(pr.Payer), Payee: addr(pr.Payee), FromNonce: pr.FromNonce,
			ToNonce: pr.ToNonce, Total: pr.Total,
		}
		copy(c.Pairs[j].PublicKey[:], uints.NewU8Array(pr.PublicKey[:]))
		for k, m := range pr.Mandates {
			c.Mandates[slot] = mandateSlot(&m, k == 0)
			slot++
		}
	}
	for ; slot < n; slot++ {
		c.Mandates[slot] = disabledSlot()
	}
	return c, nil
}

func mandateSlot(m *Mandate, first bool) batch.Mandate {
	newPair := 0
	if first {
		newPair = 1
	}
	return batch.Mandate{
		Enabled: 1, NewPair: newPair, Amount: m.Amount, Nonce: m.Nonce, Deadline: m.Deadline,
		Ref: u8s32(m.Ref),
		Sig: batch.Signature{R: emulated.ValueOf[emulated.Secp256k1Fr](m.R), S: emulated.ValueOf[emulated.Secp256k1Fr](m.S)},
	}
}

func disabledSlot() batch.Mandate {
	zero := emulated.ValueOf[emulated.Secp256k1Fr](0)
	return batch.Mandate{
		Enabled: 0, NewPair: 0, Amount: 0, Nonce: 0, Deadline: 0,
		Ref: u8s32([32]byte{}), Sig: batch.Signature{R: zero, S: zero},
	}
}

func zeroPair() batch.Pair {
	p := batch.Pair{Payer: 0, Payee: 0, FromNonce: 0, ToNonce: 0, Total: 0}
	copy(p.PublicKey[:], uints.NewU8Array(make([]byte, 64)))
	return p
}

func u8s32(b [32]byte) (out [32]uints.U8) {
	copy(out[:], uints.NewU8Array(b[:]))
	return out
}

func addr(a Address) *big.Int { return new(big.Int).SetBytes(a[:]) }
