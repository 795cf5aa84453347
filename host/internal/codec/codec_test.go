package codec_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/opencitycode/citycode/host/internal/codec"
)

func TestSM3KnownAnswer(t *testing.T) {
	t.Parallel()
	// GB/T 32905-2016, example 1.
	if got, want := codec.SM3Hex([]byte("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"; got != want {
		t.Fatalf("SM3(abc) = %s, want %s", got, want)
	}
}

func TestVerifyHMACSM3Hex(t *testing.T) {
	t.Parallel()
	key, msg := []byte("secret"), []byte("message")
	good := hex.EncodeToString(codec.HMACSM3(key, msg))
	tests := []struct {
		name string
		key  []byte
		msg  []byte
		sig  string
		want bool
	}{
		{"valid", key, msg, good, true},
		{"upper-case hex", key, msg, strings.ToUpper(good), true},
		{"other key", []byte("secreT"), msg, good, false},
		{"other message", key, []byte("messagE"), good, false},
		{"flipped digit", key, msg, flipHex(good), false},
		{"truncated", key, msg, good[:62], false},
		{"extended", key, msg, good + "00", false},
		{"not hex", key, msg, strings.Repeat("zz", 32), false},
		{"empty", key, msg, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := codec.VerifyHMACSM3Hex(tt.key, tt.msg, tt.sig); got != tt.want {
				t.Fatalf("VerifyHMACSM3Hex = %v, want %v", got, tt.want)
			}
		})
	}
}

func flipHex(s string) string {
	b := []byte(s)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	return string(b)
}

func TestAEAD(t *testing.T) {
	t.Parallel()
	key := codec.Random(16)
	a, err := codec.NewAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	plain, aad := []byte("the body of a request"), []byte("context")
	sealed := a.Seal(plain, aad)
	if len(sealed) != len(plain)+codec.GCMNonceSize+codec.GCMTagSize {
		t.Fatalf("sealed length %d", len(sealed))
	}
	if got, err := a.Open(sealed, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(sealed, a.Seal(plain, aad)) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
	if got, err := a.Open(a.Seal(nil, nil), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty round trip = %q, %v", got, err)
	}

	other, _ := codec.NewAEAD(codec.Random(16))
	tests := []struct {
		name   string
		aead   *codec.AEAD
		sealed []byte
		aad    []byte
		want   error
	}{
		{"wrong key", other, sealed, aad, codec.ErrOpen},
		{"wrong aad", a, sealed, []byte("Context"), codec.ErrOpen},
		{"missing aad", a, sealed, nil, codec.ErrOpen},
		{"nonce flipped", a, flip(sealed, 0), aad, codec.ErrOpen},
		{"ciphertext flipped", a, flip(sealed, codec.GCMNonceSize+1), aad, codec.ErrOpen},
		{"tag flipped", a, flip(sealed, len(sealed)-1), aad, codec.ErrOpen},
		{"truncated", a, sealed[:len(sealed)-1], aad, codec.ErrOpen},
		{"too short", a, sealed[:codec.GCMNonceSize+codec.GCMTagSize-1], aad, codec.ErrMalformed},
		{"empty", a, nil, aad, codec.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := tt.aead.Open(tt.sealed, tt.aad); !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAEADKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 15, 17, 32} {
		if _, err := codec.NewAEAD(make([]byte, n)); !errors.Is(err, codec.ErrKeySize) {
			t.Errorf("NewAEAD(%d bytes) error = %v, want ErrKeySize", n, err)
		}
	}
}

func TestAEADConcurrent(t *testing.T) {
	t.Parallel()
	a, _ := codec.NewAEAD(codec.Random(16))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				msg := []byte{byte(i), byte(j)}
				if got, err := a.Open(a.Seal(msg, msg), msg); err != nil || !bytes.Equal(got, msg) {
					t.Errorf("round trip %d/%d: %q, %v", i, j, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestSealer(t *testing.T) {
	t.Parallel()
	master := codec.Random(16)
	s, err := codec.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	text, err := s.Seal([]byte("app secret"), "app.secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "v1:") {
		t.Fatalf("sealed text %q lacks the version prefix", text)
	}
	if got, err := s.Open(text, "app.secret"); err != nil || string(got) != "app secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := s.Seal([]byte("app secret"), "app.secret")
	if again == text {
		t.Fatal("sealing twice gave the same text")
	}
	same, _ := codec.NewSealer(bytes.Clone(master))
	if got, err := same.Open(text, "app.secret"); err != nil || string(got) != "app secret" {
		t.Fatalf("Open with a sealer from the same master key = %q, %v", got, err)
	}

	otherMaster, _ := codec.NewSealer(codec.Random(16))
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, "v1:"))
	tests := []struct {
		name    string
		sealer  *codec.Sealer
		text    string
		purpose string
		want    error
	}{
		{"wrong purpose", s, text, "app.datakey", codec.ErrOpen},
		{"empty purpose", s, text, "", codec.ErrOpen},
		{"wrong master key", otherMaster, text, "app.secret", codec.ErrOpen},
		{"tampered", s, "v1:" + base64.StdEncoding.EncodeToString(flip(raw, 20)), "app.secret", codec.ErrOpen},
		{"unknown version", s, "v2:" + strings.TrimPrefix(text, "v1:"), "app.secret", codec.ErrMalformed},
		{"no prefix", s, strings.TrimPrefix(text, "v1:"), "app.secret", codec.ErrMalformed},
		{"bad base64", s, "v1:!!!", "app.secret", codec.ErrMalformed},
		{"too short", s, "v1:" + base64.StdEncoding.EncodeToString(raw[:20]), "app.secret", codec.ErrMalformed},
		{"empty", s, "", "app.secret", codec.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := tt.sealer.Open(tt.text, tt.purpose); !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Open = %q, %v; want error %v", got, err, tt.want)
			}
		})
	}

	if _, err := s.Seal([]byte("x"), ""); !errors.Is(err, codec.ErrPurpose) {
		t.Fatalf("Seal with empty purpose: %v, want ErrPurpose", err)
	}
	if _, err := codec.NewSealer(make([]byte, 32)); !errors.Is(err, codec.ErrKeySize) {
		t.Fatalf("NewSealer(32 bytes): %v, want ErrKeySize", err)
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	master := codec.Random(16)
	s, _ := codec.NewSealer(master)
	same, _ := codec.NewSealer(bytes.Clone(master))
	other, _ := codec.NewSealer(codec.Random(16))

	idx := s.BlindIndex("13800138000", "person.mobile")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(idx) {
		t.Fatalf("index %q is not 64 lowercase hex digits", idx)
	}
	if same.BlindIndex("13800138000", "person.mobile") != idx {
		t.Fatal("same master key, same input: different index")
	}
	for name, got := range map[string]string{
		"other value":      s.BlindIndex("13800138001", "person.mobile"),
		"other purpose":    s.BlindIndex("13800138000", "person.idnumber"),
		"other master key": other.BlindIndex("13800138000", "person.mobile"),
		"shifted boundary": s.BlindIndex("mobile13800138000", "person."),
		"not plain HMAC":   hex.EncodeToString(codec.HMACSM3(master, []byte("person.mobile\x0013800138000"))),
	} {
		if got == idx {
			t.Errorf("%s gives the same index", name)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	t.Parallel()
	key := codec.Random(16)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"hex", hex.EncodeToString(key), nil},
		{"upper hex with spaces", "  " + strings.ToUpper(hex.EncodeToString(key)) + "\n", nil},
		{"base64", base64.StdEncoding.EncodeToString(key), nil},
		{"raw base64", base64.RawStdEncoding.EncodeToString(key), nil},
		{"url base64", base64.RawURLEncoding.EncodeToString(key), nil},
		{"32-byte key", base64.StdEncoding.EncodeToString(codec.Random(32)), codec.ErrKeySize},
		{"short hex", hex.EncodeToString(key[:15]), codec.ErrKeySize},
		{"garbage", "not a key!", codec.ErrMalformed},
		{"empty", "", codec.ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := codec.ParseMasterKey(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if tt.want == nil && !bytes.Equal(got, key) {
				t.Fatalf("key = %x, want %x", got, key)
			}
		})
	}
}

func TestSM2KeyForms(t *testing.T) {
	t.Parallel()
	privPEM, pubPEM, err := codec.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := codec.ParseSM2PrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := codec.ParseSM2PublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Equal(pub) {
		t.Fatal("public key PEM does not match the private key")
	}
	if pub.PEM() != pubPEM {
		t.Fatalf("PEM() = %q, want %q", pub.PEM(), pubPEM)
	}
	privDER := pemBytes(t, privPEM)
	pubDER := pemBytes(t, pubPEM)
	point, _ := hex.DecodeString(pub.Hex())

	privForms := map[string]string{
		"pem":           privPEM,
		"pem with CRLF": strings.ReplaceAll(privPEM, "\n", "\r\n"),
		"base64 der":    base64.StdEncoding.EncodeToString(privDER),
		"hex der":       hex.EncodeToString(privDER),
		"wrapped base64": strings.Join(
			[]string{base64.StdEncoding.EncodeToString(privDER)[:40], base64.StdEncoding.EncodeToString(privDER)[40:]}, "\n"),
	}
	msg := []byte("to be signed")
	for name, s := range privForms {
		t.Run("private/"+name, func(t *testing.T) {
			t.Parallel()
			k, err := codec.ParseSM2PrivateKey(s)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := codec.SM2Sign(k, msg)
			if err != nil || !codec.SM2Verify(pub, msg, sig) {
				t.Fatalf("signature with the parsed key does not verify (%v)", err)
			}
		})
	}
	t.Run("private/raw scalar hex", func(t *testing.T) {
		t.Parallel()
		// PKCS#8 of an SM2 key embeds SEC 1, whose private scalar is the
		// first OCTET STRING of 32 bytes.
		i := bytes.Index(privDER, []byte{0x04, 0x20})
		k, err := codec.ParseSM2PrivateKey(hex.EncodeToString(privDER[i+2 : i+34]))
		if err != nil {
			t.Fatal(err)
		}
		if !k.Public().Equal(pub) {
			t.Fatal("raw scalar gives another key")
		}
	})
	t.Run("private/sec1 pem", func(t *testing.T) {
		t.Parallel()
		i := bytes.Index(privDER, []byte{0x04, 0x20})
		sec1 := sec1FromScalar(t, privDER[i+2:i+34])
		k, err := codec.ParseSM2PrivateKey(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})))
		if err != nil {
			t.Fatal(err)
		}
		if !k.Public().Equal(pub) {
			t.Fatal("SEC 1 key gives another key")
		}
	})

	pubForms := map[string]string{
		"pem":              pubPEM,
		"base64 der":       base64.StdEncoding.EncodeToString(pubDER),
		"hex der":          hex.EncodeToString(pubDER),
		"hex point":        pub.Hex(),
		"upper hex point":  strings.ToUpper(pub.Hex()),
		"hex point w/o 04": pub.Hex()[2:],
		"base64 point":     base64.StdEncoding.EncodeToString(point),
	}
	for name, s := range pubForms {
		t.Run("public/"+name, func(t *testing.T) {
			t.Parallel()
			k, err := codec.ParseSM2PublicKey(s)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Equal(pub) {
				t.Fatal("parsed another key")
			}
		})
	}
}

func pemBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	return b.Bytes
}

// sec1FromScalar builds the SEC 1 ECPrivateKey DER of an SM2 scalar (no
// public key, which the parser recomputes).
func sec1FromScalar(t *testing.T, d []byte) []byte {
	t.Helper()
	oid := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d} // 1.2.156.10197.1.301
	body := append([]byte{0x02, 0x01, 0x01, 0x04, 0x20}, d...)
	body = append(body, 0xa0, byte(len(oid)))
	body = append(body, oid...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func TestSM2ParseRefuses(t *testing.T) {
	t.Parallel()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256Pub, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	p256Priv, _ := x509.MarshalPKCS8PrivateKey(p256)
	_, pubPEM, _ := codec.GenerateSM2Key()
	pub, _ := codec.ParseSM2PublicKey(pubPEM)
	offCurve := "04" + strings.Repeat("11", 64)
	tests := []struct {
		name    string
		in      string
		private bool
	}{
		{"P-256 public key", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p256Pub})), false},
		{"P-256 private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256Priv})), true},
		{"point off the curve", offCurve, false},
		{"point with 02 prefix", "02" + pub.Hex()[2:], false},
		{"public key as private", pubPEM, true},
		{"zero scalar", strings.Repeat("00", 32), true},
		{"broken PEM", "-----BEGIN PUBLIC KEY-----\nAAAA", false},
		{"garbage", "hello, world", false},
		{"garbage private", "hello, world", true},
		{"empty", "", false},
		{"empty private", "", true},
		{"short hex", "0411", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.private {
				_, err = codec.ParseSM2PrivateKey(tt.in)
			} else {
				_, err = codec.ParseSM2PublicKey(tt.in)
			}
			if !errors.Is(err, codec.ErrKey) {
				t.Fatalf("error = %v, want ErrKey", err)
			}
		})
	}
}

func TestSM2SignVerify(t *testing.T) {
	t.Parallel()
	privPEM, pubPEM, _ := codec.GenerateSM2Key()
	priv, _ := codec.ParseSM2PrivateKey(privPEM)
	pub, _ := codec.ParseSM2PublicKey(pubPEM)
	_, otherPEM, _ := codec.GenerateSM2Key()
	other, _ := codec.ParseSM2PublicKey(otherPEM)
	msg := []byte("POST\n/v1/codes\n1700000000000\nnonce\nabc")
	sig, err := codec.SM2Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pub  *codec.SM2PublicKey
		msg  []byte
		sig  []byte
		want bool
	}{
		{"valid", pub, msg, sig, true},
		{"other key", other, msg, sig, false},
		{"nil key", nil, msg, sig, false},
		{"message changed", pub, append(bytes.Clone(msg), '!'), sig, false},
		{"signature flipped", pub, msg, flip(sig, len(sig)-1), false},
		{"signature truncated", pub, msg, sig[:len(sig)-1], false},
		{"empty signature", pub, msg, nil, false},
		{"garbage signature", pub, msg, []byte("not DER"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := codec.SM2Verify(tt.pub, tt.msg, tt.sig); got != tt.want {
				t.Fatalf("SM2Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRandom(t *testing.T) {
	t.Parallel()
	if len(codec.Random(0)) != 0 || len(codec.Random(33)) != 33 {
		t.Fatal("Random returned the wrong length")
	}
	if bytes.Equal(codec.Random(16), codec.Random(16)) {
		t.Fatal("two random draws are equal")
	}
	tok := codec.RandomToken(32)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("RandomToken(32) = %q, want 43 URL-safe characters", tok)
	}
}

func TestSealSubjectIsUnlinkable(t *testing.T) {
	s, err := codec.NewSealer(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.SealSubject(42), s.SealSubject(42)
	if a == b {
		t.Fatal("two codes of one subject carry the same id")
	}
	if s.OpenSubject(a) != 42 || s.OpenSubject(b) != 42 {
		t.Fatal("subject id does not round trip")
	}
	other, _ := codec.NewSealer(bytes.Repeat([]byte{1}, 16))
	if other.OpenSubject(a) == 42 {
		t.Fatal("another master key opens the subject")
	}
}
