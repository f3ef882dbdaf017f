// Package agentkey signs and verifies agent mandates: EdDSA on Baby Jubjub over a
// Poseidon2 hash, byte for byte as docs/agent-keys.md pins it, with gnark-crypto's
// curve, field and Poseidon2 permutation underneath.
//
// The challenge is key-prefixed, h = H(A.X, A.Y, R.X, R.Y, M), where gnark-crypto
// hashes R first; NewChallengeHasher gives gnark-crypto's EdDSA this order, so it
// stays the reference. A key's hash state after A.X, A.Y is computed once (with the
// private key, and in the verification key cache), and each signature absorbs only
// R.X, R.Y and M: three Poseidon2 compressions instead of five.
//
// Signing computes gnark-crypto's deterministic EdDSA signature (the tests compare
// every signature with eddsa.PrivateKey.Sign's) in constant time with respect to
// the secret scalar and the nonce: gnark-crypto's own Sign uses math/big and a
// table walk that skips zero digits.
//
// Verification accepts exactly what gnark-crypto's PublicKey.Verify accepts (tests
// and a fuzz target compare the two) in about a quarter of its time: it checks
// [S]B − [h]A = R with one joint wNAF ladder over 16-bit limbs (a table of affine
// addends per limb of the base point, built once, and per limb of each key,
// cached) in extended coordinates, where gnark-crypto makes two separate scalar
// multiplications and a subgroup test on R. It handles public data only, so it is
// variable-time. The hash state after the part of a mandate that is the same for
// every call of a (domain, token, key, payee) is cached too.
//
// Poseidon2's rounds and the point addition are amd64 assembly where the CPU has
// ADX and BMI2 (poseidon2_amd64.s, edwards_amd64.s), with Go versions for other
// CPUs that the tests hold them to.
package agentkey
