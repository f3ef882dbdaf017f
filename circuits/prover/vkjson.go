package prover

import (
	"fmt"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// G1JSON is an affine BN254 G1 point, coordinates as decimal strings.
type G1JSON struct {
	X string `json:"x"`
	Y string `json:"y"`
}

// G2JSON is an affine G2 point; each coordinate is [c0, c1] with c = c0 + c1·u.
type G2JSON struct {
	X [2]string `json:"x"`
	Y [2]string `json:"y"`
}

// VKJSON is the verifying key in a form other languages can use
// to check proofs independently (README "Verifying key JSON").
type VKJSON struct {
	CircuitID   string   `json:"circuitId"`
	Alpha       G1JSON   `json:"alpha"`
	Beta        G2JSON   `json:"beta"`
	Gamma       G2JSON   `json:"gamma"`
	Delta       G2JSON   `json:"delta"`
	K           []G1JSON `json:"k"`
	Commitments []struct {
		G         G2JSON `json:"g"`
		GSigmaNeg G2JSON `json:"gSigmaNeg"`
	} `json:"commitmentKeys"`
	PublicAndCommitmentCommitted [][]int `json:"publicAndCommitmentCommitted"`
}

func g1(p *curve.G1Affine) G1JSON { return G1JSON{p.X.String(), p.Y.String()} }

func g2(p *curve.G2Affine) G2JSON {
	return G2JSON{[2]string{p.X.A0.String(), p.X.A1.String()}, [2]string{p.Y.A0.String(), p.Y.A1.String()}}
}

// VerifyingKeyJSON converts a BN254 Groth16 verifying key.
func VerifyingKeyJSON(vk groth16.VerifyingKey, circuitID string) (*VKJSON, error) {
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifying key is %T, not BN254", vk)
	}
	out := &VKJSON{
		CircuitID: circuitID, Alpha: g1(&v.G1.Alpha), Beta: g2(&v.G2.Beta), Gamma: g2(&v.G2.Gamma),
		Delta: g2(&v.G2.Delta), PublicAndCommitmentCommitted: v.PublicAndCommitmentCommitted,
	}
	for i := range v.G1.K {
		out.K = append(out.K, g1(&v.G1.K[i]))
	}
	out.Commitments = make([]struct {
		G         G2JSON `json:"g"`
		GSigmaNeg G2JSON `json:"gSigmaNeg"`
	}, len(v.CommitmentKeys))
	for i := range v.CommitmentKeys {
		out.Commitments[i].G = g2(&v.CommitmentKeys[i].G)
		out.Commitments[i].GSigmaNeg = g2(&v.CommitmentKeys[i].GSigmaNeg)
	}
	return out, nil
}
