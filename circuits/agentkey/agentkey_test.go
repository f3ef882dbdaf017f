package agentkey

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
)

func testKey(t testing.TB, seed byte) *PrivateKey {
	t.Helper()
	priv, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func testMandate(rng *mrand.Rand) Mandate {
	m := Mandate{KeyID: rng.Uint64() | 1, Nonce: rng.Uint64() | 1, Deadline: rng.Uint64()}
	for _, b := range [][]byte{m.DomainSeparator[:], m.Payee[:], m.Token[:], m.Amount[:], m.Ref[:]} {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	m.Amount[11] |= 1
	return m
}

// stockKey is priv as gnark-crypto's own type, which also checks the 96 bytes.
func stockKey(t testing.TB, priv *PrivateKey) *eddsa.PrivateKey {
	t.Helper()
	var stock eddsa.PrivateKey
	if _, err := stock.SetBytes(priv.Bytes()); err != nil {
		t.Fatal(err)
	}
	return &stock
}

// stockVerify is gnark-crypto's own verification, the reference Verify must agree with.
func stockVerify(pub []byte, msg [32]byte, sig []byte) bool {
	var pk eddsa.PublicKey
	if _, err := pk.SetBytes(pub); err != nil {
		return false
	}
	ok, err := pk.Verify(sig, msg[:], NewChallengeHasher())
	return ok && err == nil
}

func TestHashMatchesMerkleDamgardHasher(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for n := range 9 {
		elements := make([]fr.Element, n)
		hasher := NewHasher()
		for i := range elements {
			elements[i].SetUint64(rng.Uint64()).Square(&elements[i]).Square(&elements[i])
			b := elements[i].Bytes()
			hasher.Write(b[:])
		}
		got := hashElements(elements...)
		if b := got.Bytes(); !bytes.Equal(b[:], hasher.Sum(nil)) {
			t.Fatalf("%d elements: hash differs from gnark-crypto's hasher", n)
		}
	}
}

func TestMandateElementsPacking(t *testing.T) {
	m := testMandate(mrand.New(mrand.NewPCG(3, 4)))
	num := func(b []byte) *big.Int { return new(big.Int).SetBytes(b) }
	shift := func(x *big.Int, n uint) *big.Int { return new(big.Int).Lsh(x, n) }
	u64 := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }
	sum := func(xs ...*big.Int) *big.Int {
		s := new(big.Int)
		for _, x := range xs {
			s.Add(s, x)
		}
		return s
	}
	want := []*big.Int{
		num(m.DomainSeparator[:16]),
		num(m.DomainSeparator[16:]),
		sum(shift(big.NewInt(0x41), 160), num(m.Token[:])),
		sum(shift(u64(m.KeyID), 160), num(m.Payee[:])),
		sum(shift(u64(m.Nonce), 160), shift(u64(m.Deadline), 96), num(m.Amount[:])),
		num(m.Ref[:16]),
		num(m.Ref[16:]),
	}
	got := m.Elements()
	for i := range want {
		var w fr.Element
		w.SetBigInt(want[i])
		if !w.Equal(&got[i]) {
			t.Errorf("element %d: got %s, want %s", i+1, got[i].String(), want[i])
		}
	}
}

func TestMandateBytesRoundTrip(t *testing.T) {
	m := testMandate(mrand.New(mrand.NewPCG(5, 6)))
	back, err := ParseMandate(m.Bytes())
	if err != nil || back != m {
		t.Fatalf("round trip: %v, %+v", err, back)
	}
	for _, bad := range []func(*Mandate){
		func(m *Mandate) { m.KeyID = 0 },
		func(m *Mandate) { m.Nonce = 0 },
		func(m *Mandate) { m.Amount = [12]byte{} },
	} {
		c := m
		bad(&c)
		if _, err := ParseMandate(c.Bytes()); !errors.Is(err, ErrMandate) {
			t.Errorf("accepted an out-of-range mandate: %+v", c)
		}
	}
	if _, err := ParseMandate(m.Bytes()[1:]); !errors.Is(err, ErrMandate) {
		t.Error("accepted a short mandate")
	}
}

func TestSignIsGnarkCryptosAndVerifies(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 8))
	for i := range 20 {
		priv := testKey(t, byte(i))
		m := testMandate(rng)
		msg := m.Hash()
		sig, err := SignMandate(priv, &m)
		if err != nil {
			t.Fatal(err)
		}
		stock, err := stockKey(t, priv).Sign(msg[:], NewChallengeHasher())
		if err != nil || !bytes.Equal(sig[:], stock) {
			t.Fatalf("signature differs from gnark-crypto's: %x vs %x", sig, stock)
		}
		pub := PublicKeyBytes(priv)
		if ok, err := VerifyMandate(pub[:], &m, sig[:]); !ok || err != nil {
			t.Fatalf("valid signature rejected: %v", err)
		}
		if !stockVerify(pub[:], msg, sig[:]) {
			t.Fatal("gnark-crypto rejects our signature")
		}
	}
}

// The challenge is h = H(A.X, A.Y, R.X, R.Y, M), key first: checked here from the
// curve equation itself, not through NewChallengeHasher, and a signature over the
// old order H(R.X, R.Y, A.X, A.Y, M) (gnark-crypto's with the plain hasher) fails.
func TestChallengeIsKeyPrefixed(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(29, 30))
	for i := range 8 {
		priv := testKey(t, byte(40+i))
		pub := PublicKeyBytes(priv)
		m := testMandate(rng)
		msg := m.Hash()
		sig, err := Sign(priv, msg)
		if err != nil {
			t.Fatal(err)
		}
		var r twistededwards.PointAffine
		if _, err := r.SetBytes(sig[:32]); err != nil {
			t.Fatal(err)
		}
		var e fr.Element
		e.SetBytes(msg[:])
		a := priv.public
		h := hashElements(a.X, a.Y, r.X, r.Y, e)
		var hInt, sInt big.Int
		h.BigInt(&hInt)
		sInt.SetBytes(sig[32:])
		var lhs, rhs twistededwards.PointAffine
		lhs.ScalarMultiplicationBase(&sInt)
		rhs.ScalarMultiplication(&a, &hInt).Add(&rhs, &r)
		if !lhs.Equal(&rhs) {
			t.Fatalf("key %d: [S]B ≠ R + [H(A, R, M)]A", i)
		}

		old, err := stockKey(t, priv).Sign(msg[:], NewHasher())
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := Verify(pub[:], msg, old); ok || err != nil {
			t.Fatalf("key %d: a signature over the old challenge H(R, A, M): ok=%v err=%v", i, ok, err)
		}
		if stockVerify(pub[:], msg, old) {
			t.Fatalf("key %d: gnark-crypto with NewChallengeHasher accepts the old challenge", i)
		}
	}
}

// Every way to a key, signing or verifying, caches the same state H(A.X, A.Y).
func TestKeyStateIsCached(t *testing.T) {
	priv := testKey(t, 50)
	want := hashElements(priv.public.X, priv.public.Y)
	parsed, err := ParsePrivateKey(priv.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	pub := PublicKeyBytes(priv)
	verifying, err := lookupKey(pub[:])
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]fr.Element{
		"GenerateKey": priv.challengeState, "ParsePrivateKey": parsed.challengeState, "lookupKey": verifying.challengeState,
	} {
		if got != want {
			t.Errorf("%s: key state differs from H(A.X, A.Y)", name)
		}
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(9, 10))
	priv, other := testKey(t, 1), testKey(t, 2)
	pub, otherPub := PublicKeyBytes(priv), PublicKeyBytes(other)
	m := testMandate(rng)
	sig, _ := SignMandate(priv, &m)
	fields := []func(*Mandate){
		func(m *Mandate) { m.DomainSeparator[31] ^= 1 },
		func(m *Mandate) { m.KeyID ^= 2 },
		func(m *Mandate) { m.Payee[0] ^= 1 },
		func(m *Mandate) { m.Token[19] ^= 1 },
		func(m *Mandate) { m.Amount[0] ^= 0x80 },
		func(m *Mandate) { m.Nonce ^= 2 },
		func(m *Mandate) { m.Deadline ^= 1 },
		func(m *Mandate) { m.Ref[5] ^= 1 },
	}
	for i, tamper := range fields {
		c := m
		tamper(&c)
		if ok, err := VerifyMandate(pub[:], &c, sig[:]); ok || err != nil {
			t.Errorf("field %d tampered: ok=%v err=%v", i, ok, err)
		}
	}
	if ok, _ := VerifyMandate(otherPub[:], &m, sig[:]); ok {
		t.Error("verified under another key")
	}
}

func TestVerifyMalformedInputs(t *testing.T) {
	priv := testKey(t, 3)
	pub := PublicKeyBytes(priv)
	msg := [32]byte{31: 7}
	sig, _ := Sign(priv, msg)

	// S + ℓ is rejected by gnark-crypto's decoder (S must be below ℓ), so by Verify too.
	order := twistededwards.GetEdwardsCurve().Order
	s := new(big.Int).SetBytes(sig[32:])
	s.Add(s, &order)
	highS := sig
	s.FillBytes(highS[32:])
	if stockVerify(pub[:], msg, highS[:]) {
		t.Fatal("gnark-crypto accepts S + ℓ: the doc's decoder rule needs revisiting")
	}
	if _, err := Verify(pub[:], msg, highS[:]); !errors.Is(err, ErrSignature) {
		t.Errorf("S + ℓ: %v", err)
	}
	if _, err := Verify(pub[:], msg, sig[:63]); !errors.Is(err, ErrSignature) {
		t.Errorf("short signature: %v", err)
	}
	if _, err := Verify(pub[:31], msg, sig[:]); !errors.Is(err, ErrPublicKey) {
		t.Errorf("short key: %v", err)
	}
	identity := [32]byte{0: 1}
	if _, err := Verify(identity[:], msg, sig[:]); !errors.Is(err, ErrPublicKey) {
		t.Errorf("identity key: %v", err)
	}
	// The same key with Y + r: gnark-crypto reduces it, ParsePublicKey refuses it.
	y := new(big.Int).SetBytes(reverse(pub[:]))
	y.SetBit(y, 255, 0)
	y.Add(y, fr.Modulus())
	if y.BitLen() <= 255 {
		alias := reverse(y.FillBytes(make([]byte, 32)))
		alias[31] |= pub[31] & 0x80
		if _, err := ParsePublicKey(alias); !errors.Is(err, ErrPublicKey) {
			t.Errorf("non-canonical key accepted: %v", err)
		}
	}
	var big32 [32]byte
	copy(big32[:], bytes.Repeat([]byte{0xff}, 32))
	if _, err := Verify(pub[:], big32, sig[:]); !errors.Is(err, ErrMessage) {
		t.Errorf("message ≥ r: %v", err)
	}
	if _, err := Sign(priv, big32); !errors.Is(err, ErrMessage) {
		t.Errorf("signing a message ≥ r: %v", err)
	}
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func TestKeyEncodings(t *testing.T) {
	priv, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKey(priv.Bytes())
	if err != nil || !bytes.Equal(back.Bytes(), priv.Bytes()) {
		t.Fatalf("private key round trip: %v", err)
	}
	pub := PublicKeyBytes(priv)
	if !bytes.Equal(pub[:], priv.Bytes()[:32]) {
		t.Fatal("the private key does not start with its public key")
	}
	var seed [SeedSize]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	ours, _ := GenerateKey(bytes.NewReader(seed[:]))
	theirs, err := eddsa.GenerateKey(bytes.NewReader(seed[:]))
	if err != nil || !bytes.Equal(ours.Bytes(), theirs.Bytes()) {
		t.Fatalf("GenerateKey differs from gnark-crypto's: %v", err)
	}
	corrupt := priv.Bytes()
	corrupt[40] ^= 1
	if _, err := ParsePrivateKey(corrupt); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("corrupt private key: %v", err)
	}
	if _, err := GenerateKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("short entropy accepted")
	}
}

// FuzzVerifyAgreesWithGnarkCrypto mutates valid signatures, messages and keys and
// checks that Verify accepts exactly what gnark-crypto's stock Verify accepts.
func FuzzVerifyAgreesWithGnarkCrypto(f *testing.F) {
	priv := testKey(f, 4)
	pub := PublicKeyBytes(priv)
	for i := range 8 {
		msg := [32]byte{31: byte(i), 5: byte(3 * i)}
		sig, _ := Sign(priv, msg)
		f.Add(pub[:], msg[:], sig[:], uint16(0), byte(0))
		f.Add(pub[:], msg[:], sig[:], uint16(i*7), byte(1<<(i%8)))
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte, at uint16, flip byte) {
		if len(msg) != 32 {
			return
		}
		buf := append(append(append([]byte{}, pub...), msg...), sig...)
		if len(buf) > 0 {
			buf[int(at)%len(buf)] ^= flip
		}
		p, m, s := buf[:len(pub)], [32]byte(buf[len(pub):len(pub)+32]), buf[len(pub)+32:]
		ok, _ := Verify(p, m, s)
		canonical := len(p) == 32 && canonicalY(p)
		if want := canonical && stockVerify(p, m, s); ok != want {
			t.Fatalf("Verify = %v, gnark-crypto = %v (pub %x msg %x sig %x)", ok, want, p, m, s)
		}
	})
}

func TestVerifyAgreesOnRandomSignatures(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(11, 12))
	for i := range 200 {
		priv := testKey(t, byte(i))
		pub := PublicKeyBytes(priv)
		var msg [32]byte
		for j := 1; j < 32; j++ {
			msg[j] = byte(rng.Uint32())
		}
		sig, _ := Sign(priv, msg)
		if i%2 == 1 { // corrupt: a random bit of S, or a different message
			if i%4 == 1 {
				sig[32+rng.IntN(32)] ^= 1 << rng.IntN(8)
			} else {
				msg[31] ^= 1
			}
		}
		ok, _ := Verify(pub[:], msg, sig[:])
		if want := stockVerify(pub[:], msg, sig[:]); ok != want || ok != (i%2 == 0) {
			t.Fatalf("case %d: Verify = %v, gnark-crypto = %v", i, ok, want)
		}
	}
}

func TestSignMatchesGnarkCryptoOnRandomKeysAndMessages(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(17, 18))
	for i := range 300 {
		priv, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var msg [32]byte
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		msg[0] &= 0x1f // below 2^253 < r
		if i%10 == 0 {
			msg = [32]byte(new(big.Int).Sub(fr.Modulus(), big.NewInt(int64(1+i))).FillBytes(make([]byte, 32)))
		}
		sig, err := Sign(priv, msg)
		if err != nil {
			t.Fatal(err)
		}
		stock, err := stockKey(t, priv).Sign(msg[:], NewChallengeHasher())
		if err != nil || !bytes.Equal(sig[:], stock) {
			t.Fatalf("case %d: %x, gnark-crypto %x", i, sig, stock)
		}
	}
}

// The arithmetic modulo ℓ against math/big, on random values and the edges: 0, 1,
// ℓ − 1, ℓ, 2^256 − 1 (k and s), r − 1 (h).
func TestScalarArithmeticMatchesBigInt(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(19, 20))
	order := twistededwards.GetEdwardsCurve().Order
	orderMinusOne := orderWords
	orderMinusOne[0]--
	rMinusOne := modulus
	rMinusOne[0]--
	max := [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	edges := [][4]uint64{{}, {1}, orderMinusOne, orderWords, max}
	random := func() (x [4]uint64) {
		for j := range x {
			x[j] = rng.Uint64()
		}
		return x
	}
	for i := range 2000 {
		h, s, k := random(), random(), random()
		h[3] &= 1<<61 - 1 // h is a field element: below r < 2^254
		if i < len(edges)*len(edges) {
			s, k = edges[i%len(edges)], edges[i/len(edges)]
			h = [][4]uint64{{}, {1}, rMinusOne}[i%3]
		}
		reduced := modOrder(&k)
		if got, want := bigWords(reduced[:]), new(big.Int).Mod(bigWords(k[:]), &order); got.Cmp(want) != 0 {
			t.Fatalf("%x mod ℓ = %s, want %s", k, got, want)
		}
		sMont := toMontgomeryOrder(&s)
		want := new(big.Int).Mul(bigWords(h[:]), bigWords(s[:]))
		want.Add(want, bigWords(k[:])).Mod(want, &order)
		if sum := mulAddModOrder(&h, &sMont, &k); bigWords(sum[:]).Cmp(want) != 0 {
			t.Fatalf("h·s + k mod ℓ = %x, want %s (h %x s %x k %x)", sum, want, h, s, k)
		}
	}
}

// The comb against gnark-crypto's ScalarMultiplication on edge scalars (0, 1,
// ℓ − 1, ℓ, ℓ + 1, 2^256 − 1, every digit pattern at the top) and random ones.
func TestFixedBaseMatchesScalarMultiplication(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(23, 24))
	order := twistededwards.GetEdwardsCurve().Order
	base := twistededwards.GetEdwardsCurve().Base
	scalars := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(8), big.NewInt(9), big.NewInt(-1),
		new(big.Int).Sub(&order, big.NewInt(1)), new(big.Int).Set(&order),
		new(big.Int).Add(&order, big.NewInt(1)),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)),
		new(big.Int).Lsh(big.NewInt(1), 251), new(big.Int).Lsh(big.NewInt(1), 255),
		bigWords([]uint64{0x8888888888888888, 0x8888888888888888, 0x8888888888888888, 0x0888888888888888}),
		bigWords([]uint64{0x7777777777777777, 0x7777777777777777, 0x7777777777777777, 0x0777777777777777}),
	}
	scalars[4] = new(big.Int).Sub(&order, big.NewInt(8))
	for range 300 {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		scalars = append(scalars, new(big.Int).SetBytes(b[:]))
	}
	var blind fr.Element
	blind.SetUint64(12345)
	for i, k := range scalars {
		var want twistededwards.PointAffine
		want.ScalarMultiplication(&base, k)
		words := [4]uint64(words(k))
		for _, rho := range []*fr.Element{nil, &blind} {
			if got := fixedBaseCT(&words, rho); !got.Equal(&want) {
				t.Fatalf("case %d: [%s]B differs from gnark-crypto's", i, k)
			}
		}
	}
}

// The addition formulas are complete (no exceptional pair of points, which the
// constant-time comb relies on when it adds the identity or equal points) because
// a = −1 is a square and d is not.
func TestAdditionFormulasAreComplete(t *testing.T) {
	curve := twistededwards.GetEdwardsCurve()
	if curve.A.Legendre() != 1 || curve.D.Legendre() != -1 {
		t.Fatalf("legendre(a) = %d, legendre(d) = %d", curve.A.Legendre(), curve.D.Legendre())
	}
}

// ParsePrivateKey accepts exactly what gnark-crypto's PrivateKey.SetBytes accepts,
// over every single-bit change of a valid key.
func TestParsePrivateKeyAgreesWithGnarkCrypto(t *testing.T) {
	valid := testKey(t, 5).Bytes()
	for bit := range 8 * PrivateKeySize {
		b := bytes.Clone(valid)
		b[bit/8] ^= 1 << (bit % 8)
		_, err := ParsePrivateKey(b)
		var stock eddsa.PrivateKey
		_, stockErr := stock.SetBytes(b)
		if (err == nil) != (stockErr == nil) {
			t.Fatalf("bit %d: ours %v, gnark-crypto %v", bit, err, stockErr)
		}
	}
}

// The key and prefix caches are shared by every thread of a payee process.
func TestConcurrentSignAndVerify(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(21, 22))
	m := testMandate(rng)
	done := make(chan error)
	for g := range 8 {
		go func() {
			priv := testKey(t, byte(100+g%3))
			encoded := priv.Bytes()
			pub := PublicKeyBytes(priv)
			for i := range 20 {
				key, err := CachedPrivateKey(encoded)
				if err != nil {
					done <- err
					return
				}
				c := m
				c.Nonce += uint64(i)
				sig, _ := SignMandate(key, &c)
				if ok, err := VerifyMandate(pub[:], &c, sig[:]); !ok || err != nil {
					done <- fmt.Errorf("goroutine %d, call %d: ok=%v err=%v", g, i, ok, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func bigWords(w []uint64) *big.Int {
	x := new(big.Int)
	for j := len(w) - 1; j >= 0; j-- {
		x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(w[j]))
	}
	return x
}

// TestCompressMatchesPermutation holds the compression (assembly on amd64) and its
// Go rounds to gnark-crypto's permutation, on the edges 0, 1 and r − 1 and on
// random words.
func TestCompressMatchesPermutation(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(21, 22))
	var minusOne fr.Element
	minusOne.SetOne().Neg(&minusOne)
	edges := []fr.Element{{}, fr.One(), minusOne}
	for i := range 2000 {
		var h, e fr.Element
		switch {
		case i < 9:
			h, e = edges[i%3], edges[i/3]
		default:
			h.SetBigInt(bigWords([]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}))
			e.SetBigInt(bigWords([]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}))
		}
		state := []fr.Element{h, e}
		if err := permutation().Permutation(state); err != nil {
			t.Fatal(err)
		}
		var want fr.Element
		want.Add(&state[1], &e)
		got := h
		compress(&got, &e)
		a, b := h, e
		external(&a, &b)
		fullRoundsGeneric(&a, &b, roundKeys[:FullRounds])
		partialRoundsGeneric(&a, &b)
		fullRoundsGeneric(&a, &b, roundKeys[FullRounds+PartialRounds:])
		var generic fr.Element
		generic.Add(&b, &e)
		if !got.Equal(&want) || !generic.Equal(&want) {
			t.Fatalf("compress(%s, %s) = %s, in Go %s, want %s", h.String(), e.String(), got.String(), generic.String(), want.String())
		}
	}
}

// The joint ladder against gnark-crypto's ScalarMultiplication, [s]B − [h]A, on
// edge scalars (0, 1, ℓ − 1, limbs all ones, 2^254 − 1) and random ones.
func TestDoubleScalarMulMatchesScalarMultiplication(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(25, 26))
	order := twistededwards.GetEdwardsCurve().Order
	base := twistededwards.GetEdwardsCurve().Base
	key, err := lookupKey(func() []byte { b := PublicKeyBytes(testKey(t, 3)); return b[:] }())
	if err != nil {
		t.Fatal(err)
	}
	edges := []*big.Int{
		big.NewInt(0), big.NewInt(1), new(big.Int).Sub(&order, big.NewInt(1)),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 254), big.NewInt(1)),
		bigWords([]uint64{0xffff0000ffff0000, 0x0000ffff0000ffff, 0xaaaa5555aaaa5555, 0x1555aaaa5555aaaa}),
	}
	random := func() *big.Int {
		return bigWords([]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64() >> 2})
	}
	for i := range 200 {
		s, h := random(), random()
		if i < len(edges)*len(edges) {
			s, h = edges[i%len(edges)], edges[i/len(edges)]
		}
		var sB, hA, want twistededwards.PointAffine
		sB.ScalarMultiplication(&base, s)
		hA.ScalarMultiplication(&key.point, h)
		hA.Neg(&hA)
		want.Add(&sB, &hA)
		got := doubleScalarMul([4]uint64(words(s)), [4]uint64(words(h)), &key.tables)
		if !got.equalsAffine(&want.X, &want.Y) {
			t.Fatalf("case %d: [%s]B − [%s]A differs from gnark-crypto's", i, s, h)
		}
	}
}

// selectAddend (assembly on amd64) picks exactly the entry asked for, and zero
// past the end, as the Go version does.
func TestSelectAddend(t *testing.T) {
	table := combTable()[5][:]
	for idx := range uint64(len(table) + 2) {
		var got, generic affineAddend
		selectAddend(&got, &table[0], len(table), idx)
		selectAddendGeneric(&generic, table, idx)
		want := affineAddend{}
		if idx < uint64(len(table)) {
			want = table[idx]
		}
		if got != want || generic != want {
			t.Fatalf("index %d: got %v, generic %v, want %v", idx, got, generic, want)
		}
	}
	var got affineAddend
	selectAddend(&got, &table[0], 0, 0)
	if got != (affineAddend{}) {
		t.Fatal("an empty table selects something")
	}
}

// addAffine (assembly on amd64) equals addAffineGeneric, on multiples of the base
// point, the identity on either side, and a point added to itself.
func TestAddAffineMatchesGeneric(t *testing.T) {
	table := combTable()
	var p extended
	p.setIdentity()
	for i := range combRows {
		for j := range combEntries + 1 {
			q := lookupCT(&table[i], int64(j)-int64(j%2)*2*int64(j))
			got, want := p, p
			got.addAffine(&q)
			want.addAffineGeneric(&q)
			if got != want {
				t.Fatalf("row %d entry %d: assembly and Go differ", i, j)
			}
			p = got
		}
	}
	q := table[7][3]
	var same extended
	same.X.Sub(&q.YplusX, &q.YminusX).Halve()
	same.Y.Add(&q.YplusX, &q.YminusX).Halve()
	same.Z.SetOne()
	same.T.Mul(&same.X, &same.Y)
	got, want := same, same
	got.addAffine(&q)
	want.addAffineGeneric(&q)
	if got != want {
		t.Fatal("doubling through addition: assembly and Go differ")
	}
}

// The three caches stay bounded: past their limit they start over, and what they
// answer after that is still right.
func TestCachesStayBounded(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(27, 28))
	m := testMandate(rng)
	first := testKey(t, 200)
	firstPub := PublicKeyBytes(first)
	sig, err := SignMandate(first, &m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range keyCacheLimit + 1 {
		var seed [SeedSize]byte
		seed[0], seed[1] = byte(i), byte(i>>8)
		priv, err := GenerateKey(bytes.NewReader(seed[:]))
		if err != nil {
			t.Fatal(err)
		}
		pub := PublicKeyBytes(priv)
		if _, err := lookupKey(pub[:]); err != nil {
			t.Fatal(err)
		}
		if i < privateKeyCacheLimit+1 {
			if _, err := CachedPrivateKey(priv.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range prefixCacheLimit + 1 {
		c := m
		c.KeyID = uint64(i) + 1
		c.Hash()
	}
	keyCache.RLock()
	keys := len(keyCache.keys)
	keyCache.RUnlock()
	prefixes.RLock()
	states := len(prefixes.states)
	prefixes.RUnlock()
	privateKeys.Lock()
	privs := len(privateKeys.keys)
	privateKeys.Unlock()
	if keys > keyCacheLimit || states > prefixCacheLimit || privs > privateKeyCacheLimit {
		t.Fatalf("cache sizes %d, %d, %d over their limits", keys, states, privs)
	}
	if ok, err := VerifyMandate(firstPub[:], &m, sig[:]); !ok || err != nil {
		t.Fatalf("after eviction: ok=%v err=%v", ok, err)
	}
	full := m.Elements()
	want := hashElements(full[:]...)
	if got := m.Hash(); got != want.Bytes() {
		t.Fatal("after eviction the mandate hash differs from the uncached one")
	}
}
