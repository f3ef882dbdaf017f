// Command libaep2agent is agentkey behind a small C ABI, built as a shared library
// (go build -buildmode=c-shared -o bin/libaep2agent.so ./cmd/libaep2agent) that
// Python loads in process with ctypes: a payee verifies every call's signature,
// so a subprocess round trip per call is out of the question.
//
// Every function takes caller-owned buffers of fixed sizes (below), writes only
// its output buffer, keeps no pointer to any of them and returns an int status:
//
//	 0  AEP2_AGENT_OK
//	 1  AEP2_AGENT_INVALID           (verify only) well-formed, but not a valid signature
//	-1  AEP2_AGENT_ERR_NULL          a NULL buffer
//	-2  AEP2_AGENT_ERR_PRIVATE_KEY   malformed private key
//	-3  AEP2_AGENT_ERR_PUBLIC_KEY    malformed public key (not canonical, not in the subgroup, identity)
//	-4  AEP2_AGENT_ERR_SIGNATURE     malformed signature (R not on the curve or not canonical, S ∉ (0, ℓ))
//	                                 (an R off the prime-order subgroup fails the equation instead: 1)
//	-5  AEP2_AGENT_ERR_MESSAGE       a 32-byte message that is not below r
//	-6  AEP2_AGENT_ERR_MANDATE       a mandate field out of range (keyId, nonce or amount zero)
//	-7  AEP2_AGENT_ERR_INTERNAL      anything else
//
// Sizes: entropy 32, private key 96, public key 32, message (hash) 32, signature 64,
// mandate 140 (agentkey.ParseMandate's layout).
package main

import "C"

import (
	"bytes"
	"errors"
	"unsafe"

	"github.com/aep2/aep2/circuits/agentkey"
)

// abiVersion changes whenever a signature or a status code of this ABI does.
const abiVersion = 1

const (
	statusOK      = 0
	statusInvalid = 1
	errNull       = -1
	errPrivateKey = -2
	errPublicKey  = -3
	errSignature  = -4
	errMessage    = -5
	errMandate    = -6
	errInternal   = -7
)

func main() {}

// view borrows n bytes of C memory for the duration of one call.
func view(p *C.uchar, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

func status(err error) C.int {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, agentkey.ErrPrivateKey):
		return errPrivateKey
	case errors.Is(err, agentkey.ErrPublicKey):
		return errPublicKey
	case errors.Is(err, agentkey.ErrSignature):
		return errSignature
	case errors.Is(err, agentkey.ErrMessage):
		return errMessage
	case errors.Is(err, agentkey.ErrMandate):
		return errMandate
	}
	return errInternal
}

//export aep2_agent_abi_version
func aep2_agent_abi_version() C.int { return abiVersion }

//export aep2_agent_generate_key
func aep2_agent_generate_key(entropy *C.uchar, privOut *C.uchar) C.int {
	if entropy == nil || privOut == nil {
		return errNull
	}
	priv, err := agentkey.GenerateKey(bytes.NewReader(view(entropy, agentkey.SeedSize)))
	if err != nil {
		return status(err)
	}
	copy(view(privOut, agentkey.PrivateKeySize), priv.Bytes())
	return statusOK
}

//export aep2_agent_public_key
func aep2_agent_public_key(priv *C.uchar, pubOut *C.uchar) C.int {
	if priv == nil || pubOut == nil {
		return errNull
	}
	key, err := agentkey.CachedPrivateKey(view(priv, agentkey.PrivateKeySize))
	if err != nil {
		return status(err)
	}
	pub := agentkey.PublicKeyBytes(key)
	copy(view(pubOut, agentkey.PublicKeySize), pub[:])
	return statusOK
}

//export aep2_agent_mandate_hash
func aep2_agent_mandate_hash(mandate *C.uchar, hashOut *C.uchar) C.int {
	if mandate == nil || hashOut == nil {
		return errNull
	}
	m, err := agentkey.ParseMandate(view(mandate, agentkey.MandateSize))
	if err != nil {
		return status(err)
	}
	h := m.Hash()
	copy(view(hashOut, 32), h[:])
	return statusOK
}

//export aep2_agent_sign
func aep2_agent_sign(priv *C.uchar, msg *C.uchar, sigOut *C.uchar) C.int {
	if priv == nil || msg == nil || sigOut == nil {
		return errNull
	}
	return sign(priv, [32]byte(view(msg, 32)), sigOut)
}

//export aep2_agent_sign_mandate
func aep2_agent_sign_mandate(priv *C.uchar, mandate *C.uchar, sigOut *C.uchar) C.int {
	if priv == nil || mandate == nil || sigOut == nil {
		return errNull
	}
	m, err := agentkey.ParseMandate(view(mandate, agentkey.MandateSize))
	if err != nil {
		return status(err)
	}
	return sign(priv, m.Hash(), sigOut)
}

func sign(priv *C.uchar, msg [32]byte, sigOut *C.uchar) C.int {
	key, err := agentkey.CachedPrivateKey(view(priv, agentkey.PrivateKeySize))
	if err != nil {
		return status(err)
	}
	sig, err := agentkey.Sign(key, msg)
	if err != nil {
		return status(err)
	}
	copy(view(sigOut, agentkey.SignatureSize), sig[:])
	return statusOK
}

//export aep2_agent_verify
func aep2_agent_verify(pub *C.uchar, msg *C.uchar, sig *C.uchar) C.int {
	if pub == nil || msg == nil || sig == nil {
		return errNull
	}
	return verified(agentkey.Verify(
		view(pub, agentkey.PublicKeySize), [32]byte(view(msg, 32)), view(sig, agentkey.SignatureSize)))
}

//export aep2_agent_verify_mandate
func aep2_agent_verify_mandate(pub *C.uchar, mandate *C.uchar, sig *C.uchar) C.int {
	if pub == nil || mandate == nil || sig == nil {
		return errNull
	}
	m, err := agentkey.ParseMandate(view(mandate, agentkey.MandateSize))
	if err != nil {
		return status(err)
	}
	return verified(agentkey.VerifyMandate(view(pub, agentkey.PublicKeySize), &m, view(sig, agentkey.SignatureSize)))
}

func verified(ok bool, err error) C.int {
	if err != nil {
		return status(err)
	}
	if !ok {
		return statusInvalid
	}
	return statusOK
}
