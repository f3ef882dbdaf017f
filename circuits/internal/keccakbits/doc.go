// Package keccakbits computes Keccak-f[1600] and Keccak-256 in a circuit over
// boolean wires, with no lookup tables.
//
// gnark's std/hash/sha3 works on bytes whose XOR, AND and rotations are
// lookup tables; in R1CS a lookup is a log-derivative argument whose
// challenge is a Groth16 commitment, and each commitment costs a second
// pairing check in the Solidity verifier (~113k gas). This package spends
// more constraints per permutation (24 rounds × 6,400, ~154k against ~107k
// with tables) to need no commitment at all: a circuit whose only hash of
// bytes is a short keccak settles for one pairing check.
//
// Every XOR of two bits a, b is the square (a − b)², one constraint whose
// output is a fresh wire, so linear combinations never grow across rounds;
// χ's ¬b ∧ c is (1 − b)·c, one more. XOR with a constant costs nothing.
package keccakbits
