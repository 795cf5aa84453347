package apisign_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/opencitycode/citycode/sdk/apisign"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current implementation")

type vectors struct {
	Comment          string   `json:"comment"`
	SM2PrivateKeyHex string   `json:"sm2PrivateKeyHex"`
	SM2PublicKeyHex  string   `json:"sm2PublicKeyHex"`
	Cases            []vector `json:"cases"`
}

type vector struct {
	Name          string `json:"name"`
	Secret        string `json:"secret"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	RawQuery      string `json:"rawQuery"`
	TimestampMs   int64  `json:"timestampMs"`
	Nonce         string `json:"nonce"`
	Body          string `json:"body"`
	DataKeyHex    string `json:"dataKeyHex,omitempty"`
	WireBody      string `json:"wireBody,omitempty"`
	StringToSign  string `json:"stringToSign"`
	HMACSignature string `json:"hmacSignature"`
	SM2Signature  string `json:"sm2Signature"`
}

// TestVectors checks the implementation against the published vectors that
// implementations in other languages check themselves against.
func TestVectors(t *testing.T) {
	const file = "testdata/vectors.json"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vs vectors
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	priv, err := apisign.ParsePrivateKey(vs.SM2PrivateKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	scalar, _ := hex.DecodeString(vs.SM2PrivateKeyHex)
	gmPriv, _ := sm2.NewPrivateKey(scalar)
	pubHex := hex.EncodeToString(append([]byte{4}, append(gmPriv.X.FillBytes(make([]byte, 32)), gmPriv.Y.FillBytes(make([]byte, 32))...)...))
	if *update {
		vs.SM2PublicKeyHex = pubHex
	} else if vs.SM2PublicKeyHex != pubHex {
		t.Errorf("sm2PublicKeyHex = %s, want %s", vs.SM2PublicKeyHex, pubHex)
	}
	pubBytes, _ := hex.DecodeString(vs.SM2PublicKeyHex)
	pub, err := sm2.NewPublicKey(pubBytes)
	if err != nil {
		t.Fatalf("sm2PublicKeyHex: %v", err)
	}

	for i := range vs.Cases {
		v := &vs.Cases[i]
		t.Run(v.Name, func(t *testing.T) {
			wire := []byte(v.Body)
			if v.DataKeyHex != "" {
				key, err := hex.DecodeString(v.DataKeyHex)
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if wire, err = apisign.EncryptBody(key, []byte(v.Body)); err != nil {
						t.Fatal(err)
					}
					v.WireBody = string(wire)
				}
				wire = []byte(v.WireBody)
				plain, err := apisign.DecryptBody(key, wire)
				if err != nil || string(plain) != v.Body {
					t.Fatalf("wireBody decrypts to %q, %v; want %q", plain, err, v.Body)
				}
			}
			sts := apisign.StringToSign(v.Method, v.Path, v.RawQuery, v.TimestampMs, v.Nonce, wire)
			hmacSig := apisign.SignHMAC([]byte(v.Secret), sts)
			if *update {
				sig, err := apisign.SignSM2(priv, sts)
				if err != nil {
					t.Fatal(err)
				}
				v.StringToSign, v.HMACSignature, v.SM2Signature = string(sts), hmacSig, sig
			}
			if string(sts) != v.StringToSign {
				t.Errorf("string to sign:\n%q\nwant\n%q", sts, v.StringToSign)
			}
			if hmacSig != v.HMACSignature {
				t.Errorf("HMAC signature = %s, want %s", hmacSig, v.HMACSignature)
			}
			der, err := base64.StdEncoding.DecodeString(v.SM2Signature)
			if err != nil || !sm2.VerifyASN1WithSM2(pub, nil, sts, der) {
				t.Errorf("sm2Signature does not verify (%v)", err)
			}
		})
	}
	if *update {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // keep "&" readable for people porting the scheme
		enc.SetIndent("", "  ")
		if err := enc.Encode(vs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	const emptySM3 = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
	tests := []struct {
		name, method, path, query string
		body                      []byte
		want                      string
	}{
		{"method upper-cased", "post", "/a", "", nil, "POST\n/a\n1\nnonce\n" + emptySM3},
		{"no query, no question mark", "GET", "/a", "", nil, "GET\n/a\n1\nnonce\n" + emptySM3},
		{"query kept verbatim", "GET", "/a", "b=1&a=%20", nil, "GET\n/a?b=1&a=%20\n1\nnonce\n" + emptySM3},
		{"empty and nil body hash alike", "GET", "/a", "", []byte{}, "GET\n/a\n1\nnonce\n" + emptySM3},
		{"body hashed", "POST", "/a", "", []byte("abc"), "POST\n/a\n1\nnonce\n66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(apisign.StringToSign(tt.method, tt.path, tt.query, 1, "nonce", tt.body)); got != tt.want {
				t.Fatalf("StringToSign = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidNonce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		nonce string
		want  bool
	}{
		{strings.Repeat("a", 16), true},
		{strings.Repeat("Z", 64), true},
		{"AZaz09_-AZaz09_-", true},
		{strings.Repeat("a", 15), false},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"aaaaaaaaaaaaaaa=", false},
		{"aaaaaaaaaaaaaaa.", false},
		{"aaaaaaaaaaaaaaa ", false},
		{"aaaaaaaaaaaaaaa\n", false},
		{"aaaaaaaaaaaaaa:b", false},
		{"ааааааааааааааааа", false}, // Cyrillic look-alikes
	}
	for _, tt := range tests {
		if got := apisign.ValidNonce(tt.nonce); got != tt.want {
			t.Errorf("ValidNonce(%q) = %v, want %v", tt.nonce, got, tt.want)
		}
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef")
	plain := []byte(`{"a":1}`)
	wire, err := apisign.EncryptBody(key, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := apisign.DecryptBody(key, wire); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip = %q, %v", got, err)
	}
	again, _ := apisign.EncryptBody(key, plain)
	if bytes.Equal(again, wire) {
		t.Fatal("two encryptions are equal: nonce reused")
	}
	sealed, _ := base64.StdEncoding.DecodeString(string(wire))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name string
		key  []byte
		wire []byte
		want error
	}{
		{"wrong key", []byte("fedcba9876543210"), wire, apisign.ErrDecrypt},
		{"tampered", key, []byte(base64.StdEncoding.EncodeToString(tampered)), apisign.ErrDecrypt},
		{"plaintext sent as is", key, plain, apisign.ErrDecrypt},
		{"too short", key, []byte(base64.StdEncoding.EncodeToString(sealed[:27])), apisign.ErrDecrypt},
		{"empty", key, nil, apisign.ErrDecrypt},
		{"short key", key[:15], wire, apisign.ErrKeySize},
		{"long key", append(bytes.Clone(key), 0), wire, apisign.ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := apisign.DecryptBody(tt.key, tt.wire); !errors.Is(err, tt.want) {
				t.Fatalf("DecryptBody error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := apisign.EncryptBody(nil, plain); !errors.Is(err, apisign.ErrKeySize) {
		t.Fatalf("EncryptBody with no key: %v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	gm, _ := sm2.GenerateKey(rand.Reader)
	pkcs8, _ := smx509.MarshalPKCS8PrivateKey(gm)
	sec1, _ := smx509.MarshalSM2PrivateKey(gm)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256DER, _ := x509.MarshalPKCS8PrivateKey(p256)
	sts := []byte("to be signed")

	good := map[string]string{
		"PKCS#8 PEM":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"SEC 1 PEM":   string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"base64 DER":  base64.StdEncoding.EncodeToString(pkcs8),
		"hex DER":     hex.EncodeToString(sec1),
		"hex scalar":  hex.EncodeToString(gm.D.FillBytes(make([]byte, 32))),
		"with spaces": "\n  " + hex.EncodeToString(gm.D.FillBytes(make([]byte, 32))) + " \n",
	}
	for name, s := range good {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k, err := apisign.ParsePrivateKey(s)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := apisign.SignSM2(k, sts)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := base64.StdEncoding.DecodeString(sig)
			if !sm2.VerifyASN1WithSM2(&gm.PublicKey, nil, sts, der) {
				t.Fatal("signature does not verify under the key's public key")
			}
		})
	}
	bad := map[string]string{
		"P-256 key":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256DER})),
		"broken PEM":  "-----BEGIN PRIVATE KEY-----\nMIG",
		"zero scalar": strings.Repeat("00", 32),
		"garbage":     "not a key",
		"empty":       "",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := apisign.ParsePrivateKey(s); !errors.Is(err, apisign.ErrKey) {
				t.Fatalf("error = %v, want ErrKey", err)
			}
		})
	}
}

// A reused signer answers what SignHMAC answers, call after call.
func TestHMACSignerReused(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	s := apisign.NewHMACSigner(secret)
	var buf []byte
	for i, body := range []string{"", "{}", `{"a":1}`, "{}"} {
		sts := apisign.AppendStringToSign(nil, "post", "/api/x", "", int64(1700000000000+i), "nonce-0123456789abc", apisign.BodyDigest([]byte(body)))
		if want := apisign.StringToSign("POST", "/api/x", "", int64(1700000000000+i), "nonce-0123456789abc", []byte(body)); string(sts) != string(want) {
			t.Fatalf("string to sign %q, want %q", sts, want)
		}
		buf = s.AppendSign(buf[:0], sts)
		if want := apisign.SignHMAC(secret, sts); string(buf) != want {
			t.Fatalf("call %d: %s, want %s", i, buf, want)
		}
	}
}
