package agentkey

import "sync"

// privateKeys caches parsed private keys by their 96 bytes. Parsing recomputes the
// public key to check it (about half a signature's time); a caller
// that hands the same key bytes on every call (the C ABI, hence Python) pays it
// once. The secret lives in the caller's process already; this keeps it in the
// same process, and never in a cache that outlives it.
var privateKeys = struct {
	sync.Mutex
	keys map[[PrivateKeySize]byte]*PrivateKey
}{keys: make(map[[PrivateKeySize]byte]*PrivateKey)}

const privateKeyCacheLimit = 64

// CachedPrivateKey is ParsePrivateKey, answered from the cache for bytes it parsed
// before.
func CachedPrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return ParsePrivateKey(b)
	}
	id := [PrivateKeySize]byte(b)
	privateKeys.Lock()
	defer privateKeys.Unlock()
	if priv, ok := privateKeys.keys[id]; ok {
		return priv, nil
	}
	priv, err := ParsePrivateKey(b)
	if err != nil {
		return nil, err
	}
	if len(privateKeys.keys) >= privateKeyCacheLimit {
		clear(privateKeys.keys)
	}
	privateKeys.keys[id] = priv
	return priv, nil
}
