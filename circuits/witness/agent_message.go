package witness

import (
	"encoding/binary"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"

	"github.com/aep2/aep2/circuits/agent"
	"github.com/aep2/aep2/circuits/agentkey"
)

// AgentMessage is an agent mandate's seven message elements
// (docs/agent-keys.md, "The agent mandate").
func AgentMessage(domainSeparator [32]byte, token Address, keyID uint64, payee Address, m *AgentMandate) [7]*big.Int {
	shl := func(v *big.Int, n uint) *big.Int { return new(big.Int).Lsh(v, n) }
	u := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }
	tagToken := new(big.Int).Add(shl(big.NewInt(agent.Tag), 160), addr(token))
	keyPayee := new(big.Int).Add(shl(u(keyID), 160), addr(payee))
	terms := new(big.Int).Add(shl(u(m.Nonce), 160), shl(u(m.Deadline), 96))
	terms.Add(terms, m.Amount)
	return [7]*big.Int{
		new(big.Int).SetBytes(domainSeparator[:16]), new(big.Int).SetBytes(domainSeparator[16:]),
		tagToken, keyPayee, terms,
		new(big.Int).SetBytes(m.Ref[:16]), new(big.Int).SetBytes(m.Ref[16:]),
	}
}

// AgentMandateHash is M = H(message), Poseidon2 Merkle–Damgård over 32-byte
// big-endian blocks, as 32 bytes: what the agent key signs.
func AgentMandateHash(domainSeparator [32]byte, token Address, keyID uint64, payee Address, m *AgentMandate) []byte {
	h := agentkey.NewHasher()
	for _, e := range AgentMessage(domainSeparator, token, keyID, payee, m) {
		h.Write(e.FillBytes(make([]byte, 32)))
	}
	return h.Sum(nil)
}

// VerifyAgent checks an agent signature natively with gnark-crypto, its
// challenge key first (agentkey.NewChallengeHasher).
func VerifyAgent(key *eddsa.PublicKey, sig [64]byte, msg []byte) bool {
	ok, err := key.Verify(sig[:], msg, agentkey.NewChallengeHasher())
	return err == nil && ok
}

// Packed is the agent settlement packing (docs/agent-keys.md, "The
// settlement the proof opens").
func (s *AgentSettlement) Packed() []byte {
	out := packHeader(s.DomainSeparator, s.VerifierID, s.Token, s.NotAfter)
	for _, p := range s.Pairs {
		out = binary.BigEndian.AppendUint64(out, p.KeyID)
		out = append(out, p.Key[:]...)
		out = append(out, p.Payee[:]...)
		out = binary.BigEndian.AppendUint64(out, p.FromNonce)
		out = binary.BigEndian.AppendUint64(out, p.ToNonce)
		out = append(out, p.Total.FillBytes(make([]byte, agent.TotalBytes))...)
	}
	return out
}

// PublicInput is uint256(keccak256(Packed())) mod r.
func (s *AgentSettlement) PublicInput() *big.Int {
	return publicInputOf(s.Packed())
}
