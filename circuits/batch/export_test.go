package batch

// Internals for the tests of package batch_test.
var (
	// BytesBEHint is the byte decomposition hint, for tests that replace
	// it (solver.OverrideHint) to play a malicious prover.
	BytesBEHint = bytesBEHint
	// RawLimbs writes an emulated witness's limbs without reducing it.
	RawLimbs = rawLimbs
)
