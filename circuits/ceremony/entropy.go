package ceremony

import (
	"crypto/rand"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// contributionDST separates a contribution's secrets from every other use of
// hash-to-field with the same input.
var contributionDST = []byte("aep2 ceremony contribution v1")

// drawSecrets returns n non-zero scalars: RFC 9380 hash-to-field (SHA-256)
// of 64 bytes from the operating system's generator followed by whatever the
// participant typed. The OS's bytes alone make them uniform; typed bytes
// protect a participant who distrusts that generator. Nothing here is
// written anywhere: callers use the scalars, then wipe them.
func drawSecrets(typed []byte, n int) ([]fr.Element, error) {
	msg := make([]byte, 64+len(typed))
	defer clear(msg)
	if _, err := rand.Read(msg[:64]); err != nil {
		return nil, fmt.Errorf("read OS entropy: %w", err)
	}
	copy(msg[64:], typed)
	secrets, err := fr.Hash(msg, contributionDST, n)
	if err != nil {
		return nil, err
	}
	for i := range secrets {
		if secrets[i].IsZero() { // probability n/r
			return nil, fmt.Errorf("drew a zero secret; contribute again")
		}
	}
	return secrets, nil
}

// wipe zeroes secrets once they are used. Go may have copied them (registers,
// big.Int conversions), so this is best effort: the process exits right after
// a contribution, which is the guarantee that matters.
func wipe(secrets []fr.Element) {
	for i := range secrets {
		secrets[i].SetZero()
	}
}
