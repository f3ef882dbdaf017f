package prover

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"

	"github.com/aep2/aep2/circuits/batch"
	"github.com/aep2/aep2/circuits/witness"
)

// ErrUnsatisfied means the witness does not satisfy the circuit.
var ErrUnsatisfied = errors.New("witness does not satisfy the circuit")

// ErrBadProof means a proof does not verify.
var ErrBadProof = errors.New("proof does not verify")

// Proof is the JSON a prove returns (README "Proof").
type Proof struct {
	Proof       string `json:"proof"`       // 0x-hex of Proof.MarshalSolidity()
	PublicInput string `json:"publicInput"` // decimal
	CircuitID   string `json:"circuitId"`
}

// Prove checks nothing natively; it solves and proves the assignment.
func Prove(size Size, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, s *witness.Settlement) (*Proof, error) {
	assignment, err := witness.Assign(s, size.N, size.P)
	if err != nil {
		return nil, err
	}
	return ProveAssignment(size, ccs, pk, assignment)
}

// ProveAssignment proves an already laid-out circuit assignment.
func ProveAssignment(size Size, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, a *batch.Circuit) (*Proof, error) {
	return ProveCircuit(size.ID(), ccs, pk, a, toBig(a.PublicInput))
}

// ProveCircuit proves any assignment of a circuit whose only public input
// is publicInput, with the Solidity-target options.
func ProveCircuit(id string, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, a frontend.Circuit, publicInput *big.Int) (*Proof, error) {
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("build witness: %w", err)
	}
	proof, err := groth16.Prove(ccs, pk, w, solidity.WithProverTargetSolidityVerifier(backend.GROTH16))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsatisfied, err)
	}
	raw := proof.(*groth16bn254.Proof).MarshalSolidity()
	return &Proof{Proof: fmt.Sprintf("0x%x", raw), PublicInput: publicInput.String(), CircuitID: id}, nil
}

func toBig(v frontend.Variable) *big.Int {
	switch x := v.(type) {
	case *big.Int:
		return x
	case big.Int:
		return &x
	default:
		b, _ := new(big.Int).SetString(fmt.Sprint(v), 10)
		return b
	}
}

// Verify checks a proof against the verifying key exactly as the exported
// Solidity verifier does (keccak256 commitment hashing).
func Verify(vk groth16.VerifyingKey, p *Proof) error {
	raw, err := decodeHex(p.Proof)
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	proof, err := parseSolidityProof(raw)
	if err != nil {
		return err
	}
	pi, ok := new(big.Int).SetString(p.PublicInput, 10)
	if !ok || pi.Sign() < 0 || pi.Cmp(ecc.BN254.ScalarField()) >= 0 {
		return fmt.Errorf("publicInput %q is not a field element", p.PublicInput)
	}
	pub, err := frontend.NewWitness(&batch.Circuit{PublicInput: pi}, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return fmt.Errorf("public witness: %w", err)
	}
	if err := groth16.Verify(proof, vk, pub, solidity.WithVerifierTargetSolidityVerifier(backend.GROTH16)); err != nil {
		return fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	return nil
}

// parseSolidityProof inverts MarshalSolidity: Ar | Bs | Krs | commitments | PoK.
func parseSolidityProof(raw []byte) (*groth16bn254.Proof, error) {
	const base, g1 = 256, 64
	if len(raw) < base || (len(raw) > base && (len(raw)-base-g1)%g1 != 0) {
		return nil, fmt.Errorf("proof: %d bytes is not a Solidity-encoded Groth16 proof", len(raw))
	}
	var buf bytes.Buffer
	buf.Write(raw[:base])
	nCommit := 0
	if len(raw) > base {
		nCommit = (len(raw) - base - g1) / g1
	}
	_ = binary.Write(&buf, binary.BigEndian, uint32(nCommit))
	buf.Write(raw[base:])
	if len(raw) == base {
		buf.Write(make([]byte, g1)) // PoK at infinity when there are no commitments
	}
	proof := new(groth16bn254.Proof)
	if _, err := proof.ReadFrom(&buf); err != nil {
		return nil, fmt.Errorf("proof: decode: %w", err)
	}
	return proof, nil
}

// ExportSolidity writes the verifier contract, renamed for its size so
// several sizes compile together.
func ExportSolidity(vk groth16.VerifyingKey, size Size, w io.Writer) error {
	var buf bytes.Buffer
	if err := vk.ExportSolidity(&buf); err != nil {
		return fmt.Errorf("export solidity: %w", err)
	}
	src := bytes.Replace(buf.Bytes(), []byte("contract Verifier "), []byte("contract "+size.ContractName()+" "), 1)
	if bytes.Equal(src, buf.Bytes()) {
		return errors.New("export solidity: contract declaration not found in gnark's template")
	}
	_, err := w.Write(src)
	return err
}
