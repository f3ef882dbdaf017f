package witness

// AgentRequest is the JSON a caller sends to prove one agent settlement
// (README "Agent witness request"): the batch request's shape with an agent
// key in place of the payer.
type AgentRequest struct {
	Settlement AgentSettlementJSON `json:"settlement"`
	Mandates   []AgentMandateJSON  `json:"mandates"`
}

// AgentSettlementJSON is the settlement the escrow will receive, each pair
// with the compressed key the escrow stores for its keyId.
type AgentSettlementJSON struct {
	DomainSeparator string          `json:"domainSeparator"`
	VerifierID      string          `json:"verifierId"`
	Token           string          `json:"token"`
	NotAfter        string          `json:"notAfter"`
	Pairs           []AgentPairJSON `json:"pairs"`
}

// AgentPairJSON is one (agent key, payee) record; Key is the 32-byte
// compressed public key (docs/agent-keys.md).
type AgentPairJSON struct {
	KeyID     string `json:"keyId"`
	Key       string `json:"key"`
	Payee     string `json:"payee"`
	FromNonce string `json:"fromNonce"`
	ToNonce   string `json:"toNonce"`
	Total     string `json:"total"`
}

// AgentMandateJSON is one signed agent mandate and the index of its pair in
// Settlement.Pairs. Signature is 64 bytes: R compressed ‖ S big-endian.
type AgentMandateJSON struct {
	PairIndex int    `json:"pairIndex"`
	KeyID     string `json:"keyId"`
	Payee     string `json:"payee"`
	Token     string `json:"token"`
	Amount    string `json:"amount"`
	Nonce     string `json:"nonce"`
	Deadline  string `json:"deadline"`
	Ref       string `json:"ref"`
	Signature string `json:"signature"`
}
