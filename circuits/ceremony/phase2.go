package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	cmpc "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// Phase 2 is per circuit and uses gnark's mpcsetup.Phase2 as it is: its
// fields are exported, its reader checks every point, and its update is
// already parallel. Only the contribution is the project's own, so that the
// secrets mix typed entropy (gnark's Contribute draws them itself).

// circuitDomain is the FFT domain gnark's Groth16 uses for ccs: the smallest
// power of two holding its constraints.
func circuitDomain(ccs *cs.R1CS) int {
	return int(ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())))
}

// truncate returns the SRS for a domain of n ≤ its own: the same powers of τ,
// fewer of them. One phase 1, sized for the largest circuit, serves every
// smaller one, and each circuit's keys are as large as its own domain needs.
func truncate(srs *mpcsetup.SrsCommons, n int) (*mpcsetup.SrsCommons, error) {
	if have := len(srs.G1.AlphaTau); n > have {
		return nil, fmt.Errorf("the circuit needs a 2^%d domain; phase 1 has 2^%d", log2(n), log2(have))
	}
	t := new(mpcsetup.SrsCommons)
	t.G1.Tau = srs.G1.Tau[:2*n-1]
	t.G1.AlphaTau = srs.G1.AlphaTau[:n]
	t.G1.BetaTau = srs.G1.BetaTau[:n]
	t.G2.Tau = srs.G2.Tau[:n]
	t.G2.Beta = srs.G2.Beta
	return t, nil
}

// initPhase2 is the circuit's initial phase 2 state and the evaluations its
// seal needs, both functions of the sealed phase 1 and the circuit alone.
// Nearly all its time is gnark's move of the SRS to the Lagrange basis: an
// FFT over the group for each of [τⁱ]₁, [ατⁱ]₁, [βτⁱ]₁ and [τⁱ]₂, with a
// scalar multiplication per butterfly, (n/2)·log n each.
func initPhase2(ccs *cs.R1CS, srs *mpcsetup.SrsCommons) (*mpcsetup.Phase2, *mpcsetup.Phase2Evaluations, error) {
	t, err := truncate(srs, circuitDomain(ccs))
	if err != nil {
		return nil, nil, err
	}
	p := new(mpcsetup.Phase2)
	evals := p.Initialize(ccs, t)
	return p, &evals, nil
}

// readPhase2 reads a phase 2 state with gnark's reader and returns it with
// the SHA-256 of its bytes, which must be its canonical serialization.
func readPhase2(r io.Reader) (*mpcsetup.Phase2, []byte, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, h), 1<<20)
	p := new(mpcsetup.Phase2)
	if _, err := p.ReadFrom(fullReader{br}); err != nil {
		return nil, nil, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, nil, errors.New("trailing bytes after the phase 2 state")
	}
	sum := h.Sum(nil)
	if !bytes.Equal(sum, phase2Hash(p)) {
		return nil, nil, errors.New("not canonically encoded (every point compressed, as gnark writes it)")
	}
	return p, sum, nil
}

// fullReader makes every Read fill its buffer: gnark reads the challenge
// with one Read call, which a buffered reader may answer short.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(b []byte) (int, error) { return io.ReadFull(f.r, b) }

func phase2Hash(p *mpcsetup.Phase2) []byte {
	h := sha256.New()
	if _, err := p.WriteTo(h); err != nil {
		panic(err) // a hash.Hash does not fail
	}
	return h.Sum(nil)
}

func writePhase2(w io.Writer, p *mpcsetup.Phase2) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := p.WriteTo(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// contributePhase2 moves the state forward with fresh δ' and one σ' per
// commitment, proving knowledge of each, as gnark's Phase2.Contribute does.
func contributePhase2(p *mpcsetup.Phase2, prevHash, typed []byte) error {
	if len(p.Sigmas) > 255 {
		return fmt.Errorf("%d commitments: more than the 255 the proofs' domain separators allow", len(p.Sigmas))
	}
	secrets, err := drawSecrets(typed, 1+len(p.Sigmas))
	if err != nil {
		return err
	}
	defer wipe(secrets)
	p.Challenge = bytes.Clone(prevHash)
	p.Delta = cmpc.UpdateValues(&secrets[0], p.Challenge, mpcsetup.DST_DELTA)
	for i := range p.Sigmas {
		p.Sigmas[i] = cmpc.UpdateValues(&secrets[1+i], p.Challenge, byte(mpcsetup.DST_SIGMA+i))
	}
	updatePhase2(p, &secrets[0], secrets[1:])
	return nil
}

// updatePhase2 is gnark's Phase2.update: [δ] ← [δ'δ] in both groups, the
// points divided by δ (Z, the private wires' K) by δ', and per commitment
// [σ]₂ and its σ-scaled basis by σ'.
func updatePhase2(p *mpcsetup.Phase2, delta *fr.Element, sigma []fr.Element) {
	for i := range sigma {
		scaleG2Point(&p.Parameters.G2.Sigma[i], &sigma[i])
		scaleG1(p.Parameters.G1.SigmaCKK[i], &sigma[i])
	}
	scaleG1Point(&p.Parameters.G1.Delta, delta)
	scaleG2Point(&p.Parameters.G2.Delta, delta)
	var inv fr.Element
	inv.Inverse(delta)
	defer inv.SetZero()
	scaleG1(p.Parameters.G1.Z, &inv)
	scaleG1(p.Parameters.G1.PKK, &inv)
}

// verifyPhase2Next checks that next was made from p (hash pHash): the
// challenge, then gnark's Phase2.Verify (the proofs of knowledge of δ' and
// each σ', and that every point moved by them and nothing else).
func verifyPhase2Next(p *mpcsetup.Phase2, pHash []byte, next *mpcsetup.Phase2) error {
	if !bytes.Equal(next.Challenge, pHash) {
		return errChallenge
	}
	if len(next.Sigmas) != len(p.Sigmas) {
		return fmt.Errorf("%d commitments, the previous state has %d", len(next.Sigmas), len(p.Sigmas))
	}
	return p.Verify(next)
}

// sealPhase2 applies the beacon and returns the circuit's keys (gnark's
// Phase2.Seal); p is left invalid.
func sealPhase2(p *mpcsetup.Phase2, srs *mpcsetup.SrsCommons, evals *mpcsetup.Phase2Evaluations, ccs *cs.R1CS, beacon []byte) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	t, err := truncate(srs, circuitDomain(ccs))
	if err != nil {
		return nil, nil, err
	}
	pk, vk := p.Seal(t, evals, beacon)
	return pk, vk, nil
}
