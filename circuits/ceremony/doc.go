// Package ceremony makes Groth16 keys by a multi-party computation over
// gnark's backend/groth16/bn254/mpcsetup, so that the keys are sound if any
// one participant forgot its secrets (where `setup --dev` trusts its one
// runner).
//
// Phase 1 (powers of τ) is circuit independent and sized for the largest
// circuit's domain; phase 2 is per circuit id and starts from the sealed
// phase 1, truncated to the circuit's own domain. Each contribution reads
// the previous state (a file handed from one participant to the next),
// multiplies in fresh secrets drawn from the OS's generator mixed with
// optional typed entropy, proves knowledge of them against the previous
// state's hash, and writes the next state; its SHA-256 is what the
// participant publishes. A public random beacon seals each phase, and the
// sealed phase 2 gives the proving and verifying keys, which go into the
// key cache where `setup --dev` puts its own.
//
// Every file is gnark's own serialization: phase 1 states are written and
// read here (gnark's Phase1 keeps its fields unexported, and contributes and
// seals on one core) with the same bytes and the same checks, and
// gnark_compat_test.go holds the two together; phase 2 uses gnark's Phase2
// as it is, less its Contribute (to mix typed entropy). Transcript.Verify
// re-checks everything from the first file to the final keys and names the
// first step that fails. It need not redo the coordinator's hours: the
// seals and the circuit's points at τ are checked by random linear
// combinations (lagrange_sums.go, phase1_check.go, phase2_check.go), and
// recomputed only when asked.
package ceremony
