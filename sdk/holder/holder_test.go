package holder_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/holder"
)

var t0 = time.Unix(1795000000, 0)

// certFor answers a certificate for the device key pubHex, signed by a
// throwaway platform key, base64 as the platform answers it.
func certFor(t *testing.T, pubHex string) (string, *codeformat.PublicKey) {
	t.Helper()
	platform, _ := sm2.GenerateKey(rand.Reader)
	dev, err := codeformat.ParsePublicKey(pubHex)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := codeformat.IssueCertificate(codeformat.Certificate{PlatformID: "P0000", RuleID: "R0001", RuleVersion: 1,
		Kind: codeformat.KindPerson, IssuedAt: t0, Validity: time.Hour, CodeValidity: 30 * time.Second, DeviceKey: dev, KeyID: 1},
		func(m []byte) ([]byte, error) {
			return sm2.SignASN1(rand.Reader, platform, m, sm2.DefaultSM2SignerOpts)
		})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(cert), codeformat.NewPublicKey(&platform.PublicKey)
}

func TestHolder(t *testing.T) {
	t.Parallel()
	priv, pub, err := holder.GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, platformPub := certFor(t, pub)
	h, err := holder.New(cert, priv)
	if err != nil {
		t.Fatal(err)
	}
	if c := h.Certificate(); c.RuleID != "R0001" || !c.ExpiresAt().Equal(t0.Add(time.Hour)) {
		t.Fatalf("certificate %+v", c)
	}
	code, err := h.Code(t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	p, err := codeformat.ParseHolder(code)
	if err != nil || !codeformat.VerifyHolder(p, platformPub) || !p.At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v %v", p, err)
	}
	b64, err := h.CodeBase64(t0)
	if raw, _ := base64.StdEncoding.DecodeString(b64); err != nil || !codeformat.IsHolder(string(raw)) {
		t.Fatalf("base64 code: %v", err)
	}
	if _, err := h.Code(t0.Add(time.Hour)); !errors.Is(err, holder.ErrExpired) {
		t.Fatalf("after the certificate: %v", err)
	}
	if _, err := h.CodeBase64(t0.Add(time.Hour)); !errors.Is(err, holder.ErrExpired) {
		t.Fatalf("after the certificate: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	k, _ := sm2.GenerateKey(rand.Reader)
	pubHex := codeformat.NewPublicKey(&k.PublicKey).Hex()
	cert, _ := certFor(t, pubHex)
	pkcs8, _ := smx509.MarshalPKCS8PrivateKey(k)
	sec1, _ := smx509.MarshalSM2PrivateKey(k)
	for name, priv := range map[string]string{
		"hex scalar":    hex.EncodeToString(k.D.FillBytes(make([]byte, 32))),
		"PKCS#8 PEM":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"SEC 1 PEM":     string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"PKCS#8 base64": base64.StdEncoding.EncodeToString(pkcs8),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := holder.New(cert, priv); err != nil {
				t.Fatal(err)
			}
		})
	}
	other, _, _ := holder.GenerateDeviceKey()
	good := hex.EncodeToString(k.D.FillBytes(make([]byte, 32)))
	for name, c := range map[string]struct {
		cert, priv string
		want       error
	}{
		"certificate not base64":  {"%%%", good, holder.ErrCertificate},
		"not a certificate":       {base64.StdEncoding.EncodeToString([]byte("hello")), good, holder.ErrCertificate},
		"private key not a key":   {cert, "zz", holder.ErrKey},
		"private key of 31 bytes": {cert, good[2:], holder.ErrKey},
		"another device's key":    {cert, other, holder.ErrWrongKey},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := holder.New(c.cert, c.priv); !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
}
