package agent

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/aep2/aep2/circuits/agentkey"
)

// NewPermutation is the circuit's Poseidon2, the instance docs/agent-keys.md
// pins and agentkey computes natively (width 2, R_F = 8, R_P = 56).
func NewPermutation(api frontend.API) (*poseidon2.Permutation, error) {
	return poseidon2.NewPoseidon2FromParameters(api, agentkey.Width, agentkey.FullRounds, agentkey.PartialRounds)
}
