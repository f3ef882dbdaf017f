package witness

// Request is the JSON a caller sends to prove one settlement. Numbers are
// decimal strings, bytes 0x-hex (README "Witness request").
type Request struct {
	Settlement SettlementJSON `json:"settlement"`
	Mandates   []MandateJSON  `json:"mandates"`
}

// SettlementJSON is the settlement the escrow will receive, plus each pair's
// public key.
type SettlementJSON struct {
	DomainSeparator string     `json:"domainSeparator"`
	VerifierID      string     `json:"verifierId"`
	Token           string     `json:"token"`
	NotAfter        string     `json:"notAfter"`
	Pairs           []PairJSON `json:"pairs"`
}

// PairJSON is one (payer, payee) record; PublicKey is the payer's
// uncompressed secp256k1 key (0x04 ‖ X ‖ Y, or X ‖ Y).
type PairJSON struct {
	Payer     string `json:"payer"`
	Payee     string `json:"payee"`
	FromNonce string `json:"fromNonce"`
	ToNonce   string `json:"toNonce"`
	Total     string `json:"total"`
	PublicKey string `json:"publicKey"`
}

// MandateJSON is one signed mandate and the index of its pair in
// Settlement.Pairs. Signature is 65 bytes r ‖ s ‖ v.
type MandateJSON struct {
	PairIndex int    `json:"pairIndex"`
	Payer     string `json:"payer"`
	Payee     string `json:"payee"`
	Token     string `json:"token"`
	Amount    string `json:"amount"`
	Nonce     string `json:"nonce"`
	Deadline  string `json:"deadline"`
	Ref       string `json:"ref"`
	Signature string `json:"signature"`
}
