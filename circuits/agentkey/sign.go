package agentkey

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Sign signs the 32-byte message msg (a mandate's Hash): gnark-crypto's
// deterministic EdDSA with NewChallengeHasher (the key-prefixed challenge), byte
// for byte (the tests compare every signature with gnark-crypto's own), computed in
// constant time with respect to the key and the nonce (see signct.go). msg must be a
// canonical field element, as every Hash is.
func Sign(priv *PrivateKey, msg [32]byte) ([SignatureSize]byte, error) {
	var m fr.Element
	if err := m.SetBytesCanonical(msg[:]); err != nil {
		return [SignatureSize]byte{}, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	return priv.sign(&msg, &m), nil
}

// SignMandate signs m's Hash.
func SignMandate(priv *PrivateKey, m *Mandate) ([SignatureSize]byte, error) {
	if err := m.Validate(); err != nil {
		return [SignatureSize]byte{}, err
	}
	return Sign(priv, m.Hash())
}
