package witness

import (
	"fmt"
	"math/big"
	"strconv"
)

// RequestOf renders a settlement as the request JSON a caller would send
// (signatures with v = 27; the circuit does not use v).
func RequestOf(s *Settlement) *Request {
	r := &Request{Settlement: SettlementJSON{
		DomainSeparator: hex0x(s.DomainSeparator[:]), VerifierID: strconv.FormatUint(uint64(s.VerifierID), 10),
		Token: hex0x(s.Token[:]), NotAfter: strconv.FormatUint(s.NotAfter, 10),
	}}
	for j, p := range s.Pairs {
		r.Settlement.Pairs = append(r.Settlement.Pairs, PairJSON{
			Payer: hex0x(p.Payer[:]), Payee: hex0x(p.Payee[:]), FromNonce: strconv.FormatUint(p.FromNonce, 10),
			ToNonce: strconv.FormatUint(p.ToNonce, 10), Total: p.Total.String(), PublicKey: "0x04" + fmt.Sprintf("%x", p.PublicKey[:]),
		})
		for _, m := range p.Mandates {
			r.Mandates = append(r.Mandates, MandateJSON{
				PairIndex: j, Payer: hex0x(p.Payer[:]), Payee: hex0x(p.Payee[:]), Token: hex0x(s.Token[:]),
				Amount: m.Amount.String(), Nonce: strconv.FormatUint(m.Nonce, 10), Deadline: strconv.FormatUint(m.Deadline, 10),
				Ref: hex0x(m.Ref[:]), Signature: hex0x(append(append(word32(m.R), word32(m.S)...), 27)),
			})
		}
	}
	return r
}

func hex0x(b []byte) string { return fmt.Sprintf("0x%x", b) }

func word32(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }

// AgentRequestOf renders an agent settlement as the request JSON a caller
// would send.
func AgentRequestOf(s *AgentSettlement) *AgentRequest {
	r := &AgentRequest{Settlement: AgentSettlementJSON{
		DomainSeparator: hex0x(s.DomainSeparator[:]), VerifierID: strconv.FormatUint(uint64(s.VerifierID), 10),
		Token: hex0x(s.Token[:]), NotAfter: strconv.FormatUint(s.NotAfter, 10),
	}}
	for j, p := range s.Pairs {
		keyID := strconv.FormatUint(p.KeyID, 10)
		r.Settlement.Pairs = append(r.Settlement.Pairs, AgentPairJSON{
			KeyID: keyID, Key: hex0x(p.Key[:]), Payee: hex0x(p.Payee[:]), FromNonce: strconv.FormatUint(p.FromNonce, 10),
			ToNonce: strconv.FormatUint(p.ToNonce, 10), Total: p.Total.String(),
		})
		for _, m := range p.Mandates {
			r.Mandates = append(r.Mandates, AgentMandateJSON{
				PairIndex: j, KeyID: keyID, Payee: hex0x(p.Payee[:]), Token: hex0x(s.Token[:]),
				Amount: m.Amount.String(), Nonce: strconv.FormatUint(m.Nonce, 10), Deadline: strconv.FormatUint(m.Deadline, 10),
				Ref: hex0x(m.Ref[:]), Signature: hex0x(m.Signature[:]),
			})
		}
	}
	return r
}
