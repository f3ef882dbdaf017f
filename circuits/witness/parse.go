package witness

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Address is a 20-byte Ethereum address.
type Address [20]byte

// Settlement is a parsed, validated request.
type Settlement struct {
	DomainSeparator [32]byte
	VerifierID      uint32
	Token           Address
	NotAfter        uint64
	Pairs           []Pair
}

// Pair is one pair with its mandates ordered by nonce.
type Pair struct {
	Payer, Payee       Address
	FromNonce, ToNonce uint64
	Total              *big.Int
	PublicKey          [64]byte
	Mandates           []Mandate
}

// Mandate is one signed mandate of a pair.
type Mandate struct {
	Amount   *big.Int
	Nonce    uint64
	Deadline uint64
	Ref      [32]byte
	R, S     *big.Int
}

// fieldError names the offending JSON field.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("%s: %v", e.field, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

func hexBytes(field, s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err == nil && n > 0 && len(b) != n {
		err = fmt.Errorf("want %d bytes, got %d", n, len(b))
	}
	if err != nil || !strings.HasPrefix(s, "0x") {
		if err == nil {
			err = fmt.Errorf("missing 0x prefix")
		}
		return nil, &fieldError{field, fmt.Errorf("%q: %w", s, err)}
	}
	return b, nil
}

func address(field, s string) (a Address, err error) {
	b, err := hexBytes(field, s, 20)
	copy(a[:], b)
	return a, err
}

func bytes32(field, s string) (out [32]byte, err error) {
	b, err := hexBytes(field, s, 32)
	copy(out[:], b)
	return out, err
}

// decimal parses a non-negative decimal below 2^bits.
func decimal(field, s string, bits int) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 || strings.TrimSpace(s) != s || strings.HasPrefix(s, "+") {
		return nil, &fieldError{field, fmt.Errorf("%q is not a non-negative decimal string", s)}
	}
	if v.BitLen() > bits {
		return nil, &fieldError{field, fmt.Errorf("%s does not fit in %d bits", s, bits)}
	}
	return v, nil
}

func uint64Field(field, s string) (uint64, error) {
	v, err := decimal(field, s, 64)
	if err != nil {
		return 0, err
	}
	return v.Uint64(), nil
}

// publicKey accepts 0x04 ‖ X ‖ Y or X ‖ Y.
func publicKey(field, s string) (out [64]byte, err error) {
	b, err := hexBytes(field, s, 0)
	if err != nil {
		return out, err
	}
	if len(b) == 65 && b[0] == 4 {
		b = b[1:]
	}
	if len(b) != 64 {
		return out, &fieldError{field, fmt.Errorf("want an uncompressed key (65 bytes 0x04‖X‖Y or 64 bytes), got %d bytes", len(b))}
	}
	copy(out[:], b)
	return out, nil
}
