// Package prover compiles the batch circuit, makes and caches its keys, and
// proves and verifies settlements with Groth16 over BN254, using gnark's
// Solidity-target options so the exported verifier accepts every proof.
package prover
