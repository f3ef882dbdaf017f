package prover

import (
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"

	"github.com/aep2/aep2/circuits/witness"
)

// ProveAgent proves an agent settlement with the keys of an agent size. It
// checks nothing natively (CheckedAgentSettlement does).
func ProveAgent(size Size, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, s *witness.AgentSettlement) (*Proof, error) {
	a, err := witness.AssignAgent(s, size.N, size.P)
	if err != nil {
		return nil, err
	}
	return ProveCircuit(size.ID(), ccs, pk, a, toBig(a.PublicInput))
}

// CheckedAgentSettlement parses an agent request and checks every rule
// natively.
func CheckedAgentSettlement(req *witness.AgentRequest) (*witness.AgentSettlement, error) {
	st, err := witness.ParseAgent(req)
	if err != nil {
		return nil, err
	}
	return st, st.Check()
}
