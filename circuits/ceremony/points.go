package ceremony

import (
	"fmt"
	"io"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/parallel"
)

// Points travel compressed, as gnark-crypto's Encoder writes them one by one
// (no length prefix). Reading checks every point: on the curve, in the
// prime-order subgroup (G1's cofactor is 1, so on the curve is enough there)
// and canonically compressed, so a file has one encoding and its SHA-256 is
// the hash gnark's transcript chains. Both directions run on every core: a
// 2^19 phase 1 holds 2^21 G1 and 2^19 G2 points, decoded one at a time by
// gnark's own ReadFrom.

const (
	g1Size = curve.SizeOfG1AffineCompressed
	g2Size = curve.SizeOfG2AffineCompressed
)

// compressed reports whether b's flag bits mark a compressed point (or the
// compressed point at infinity); gnark-crypto would also accept the
// uncompressed form, which no transcript file may use.
func compressed(b byte) bool { return b>>6 != 0 }

func readG1s(r io.Reader, dst []curve.G1Affine) error {
	buf := make([]byte, len(dst)*g1Size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	return decodeParallel(len(dst), func(i int) error {
		b := buf[i*g1Size : (i+1)*g1Size]
		if !compressed(b[0]) {
			return fmt.Errorf("G1 point %d is not compressed", i)
		}
		if _, err := dst[i].SetBytes(b); err != nil {
			return fmt.Errorf("G1 point %d: %w", i, err)
		}
		return nil
	})
}

func readG2s(r io.Reader, dst []curve.G2Affine) error {
	buf := make([]byte, len(dst)*g2Size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	return decodeParallel(len(dst), func(i int) error {
		b := buf[i*g2Size : (i+1)*g2Size]
		if !compressed(b[0]) {
			return fmt.Errorf("G2 point %d is not compressed", i)
		}
		if _, err := dst[i].SetBytes(b); err != nil {
			return fmt.Errorf("G2 point %d: %w", i, err)
		}
		return nil
	})
}

// decodeParallel runs decode on every index and returns the first error of
// the lowest-numbered chunk that failed.
func decodeParallel(n int, decode func(i int) error) error {
	chunks := parallel.Chunks(n)
	errs := make([]error, len(chunks))
	parallel.Execute(len(chunks), func(start, end int) {
		for c := start; c < end; c++ {
			for i := chunks[c][0]; i < chunks[c][1]; i++ {
				if err := decode(i); err != nil {
					errs[c] = err
					break
				}
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func writeG1s(w io.Writer, src []curve.G1Affine) error {
	buf := make([]byte, len(src)*g1Size)
	parallel.Execute(len(src), func(start, end int) {
		for i := start; i < end; i++ {
			b := src[i].Bytes()
			copy(buf[i*g1Size:], b[:])
		}
	})
	_, err := w.Write(buf)
	return err
}

func writeG2s(w io.Writer, src []curve.G2Affine) error {
	buf := make([]byte, len(src)*g2Size)
	parallel.Execute(len(src), func(start, end int) {
		for i := start; i < end; i++ {
			b := src[i].Bytes()
			copy(buf[i*g2Size:], b[:])
		}
	})
	_, err := w.Write(buf)
	return err
}
