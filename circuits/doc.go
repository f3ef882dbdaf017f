// Package circuits holds the aep2 batch circuit (gnark, Groth16 over BN254)
// and the aep2-prover command that the Python settlement workers drive.
package circuits
