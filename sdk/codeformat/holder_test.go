package codeformat_test

import (
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

func publicPEM(t testing.TB, k *sm2.PrivateKey) string {
	t.Helper()
	der, err := smx509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sampleCert(device *codeformat.PublicKey) codeformat.Certificate {
	c := codeformat.Certificate{PlatformID: "P0000", RuleID: "R0001", RuleVersion: 2, Family: codeformat.FamilyIdentity,
		Kind: codeformat.KindPerson, CertType: codeformat.CertPassport, IssuedAt: time.Unix(1795000000, 0),
		Validity: 7 * 24 * time.Hour, CodeValidity: 60 * time.Second, DeviceKey: device, KeyID: 0x01020304}
	copy(c.Subject[:], "fedcba9876543210")
	return c
}

func issueCert(t testing.TB, c codeformat.Certificate, platform *sm2.PrivateKey) []byte {
	t.Helper()
	cert, err := codeformat.IssueCertificate(c, signer(platform))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func holderCode(t testing.TB, cert []byte, at time.Time, device *sm2.PrivateKey) string {
	t.Helper()
	code, err := codeformat.HolderCode(cert, at, signer(device))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestHolderChain(t *testing.T) {
	t.Parallel()
	platform, platformPub := newKey(t)
	device, devicePub := newKey(t)
	c := sampleCert(devicePub)
	cert := issueCert(t, c, platform)
	at := c.IssuedAt.Add(time.Hour)
	code := holderCode(t, cert, at, device)

	p, err := codeformat.ParseHolder(code)
	if err != nil || !codeformat.VerifyHolder(p, platformPub) || !codeformat.IsHolder(code) {
		t.Fatalf("holder round trip: %+v %v", p, err)
	}
	if !p.At.Equal(at) || !p.Cert.DeviceKey.Equal(devicePub) || p.Cert.Subject != c.Subject || !p.Cert.ExpiresAt().Equal(c.IssuedAt.Add(c.Validity)) {
		t.Fatalf("fields: %+v", p)
	}
	got := p.Code()
	if got.PlatformID != "P0000" || got.RuleID != "R0001" || got.RuleVersion != 2 || got.Kind != codeformat.KindPerson ||
		got.CertType != codeformat.CertPassport || !got.Offline || got.Validity != time.Minute || !got.IssuedAt.Equal(at) || got.KeyID != c.KeyID {
		t.Fatalf("as a code: %+v", got)
	}

	t.Run("every bit matters", func(t *testing.T) {
		t.Parallel()
		for i := range len(code) {
			for bit := range 8 {
				b := []byte(code)
				b[i] ^= 1 << bit
				if q, err := codeformat.ParseHolder(string(b)); err == nil && codeformat.VerifyHolder(q, platformPub) {
					t.Fatalf("byte %d bit %d: still verifies", i, bit)
				}
			}
		}
	})
	t.Run("foreign keys", func(t *testing.T) {
		t.Parallel()
		_, otherPub := newKey(t)
		if codeformat.VerifyHolder(p, otherPub) {
			t.Fatal("certificate verified with a foreign platform key")
		}
		// Another device using this device's certificate.
		other, _ := newKey(t)
		q, _ := codeformat.ParseHolder(holderCode(t, cert, at, other))
		if codeformat.VerifyHolder(q, platformPub) {
			t.Fatal("a code signed by another device verified")
		}
		// A certificate signed by a foreign platform key.
		q, _ = codeformat.ParseHolder(holderCode(t, issueCert(t, c, other), at, device))
		if codeformat.VerifyHolder(q, platformPub) {
			t.Fatal("a foreign certificate verified")
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		for name, s := range map[string]string{
			"empty":           "",
			"version 1 text":  "CC:AAAA",
			"certificate":     string(cert),
			"truncated":       code[:len(code)-1],
			"trailing byte":   code + "\x00",
			"online flag":     code[:1] + string(code[1]&^1) + code[2:],
			"bad device key":  strings.Replace(code, string(cert[len(cert)-101:len(cert)-68]), "\x02"+strings.Repeat("\xff", 32), 1),
			"over the budget": code + strings.Repeat("\x00", 10),
		} {
			if _, err := codeformat.ParseHolder(s); err == nil {
				t.Errorf("%s: parsed", name)
			}
		}
		if _, err := codeformat.ParseCertificate(cert[:len(cert)-1]); !errors.Is(err, codeformat.ErrMalformed) {
			t.Errorf("truncated certificate: %v", err)
		}
		if _, err := codeformat.HolderCode(cert[:20], at, signer(device)); err == nil {
			t.Error("a code made from a broken certificate")
		}
	})
	t.Run("issue refuses", func(t *testing.T) {
		t.Parallel()
		for name, f := range map[string]func(*codeformat.Certificate){
			"no device key":      func(c *codeformat.Certificate) { c.DeviceKey = nil },
			"no code validity":   func(c *codeformat.Certificate) { c.CodeValidity = 0 },
			"code validity 19 h": func(c *codeformat.Certificate) { c.CodeValidity = 19 * time.Hour },
			"no validity":        func(c *codeformat.Certificate) { c.Validity = 0 },
			"bad kind":           func(c *codeformat.Certificate) { c.Kind = 9 },
		} {
			c := sampleCert(devicePub)
			f(&c)
			if _, err := codeformat.IssueCertificate(c, signer(platform)); !errors.Is(err, codeformat.ErrField) {
				t.Errorf("%s: %v", name, err)
			}
		}
		c := sampleCert(devicePub)
		c.RuleID = "R000001"
		if _, err := codeformat.IssueCertificate(c, signer(platform)); !errors.Is(err, codeformat.ErrTooLarge) {
			t.Errorf("ids of 12 bytes: %v", err)
		}
	})
}

// A holder code with the platform's 5-character ids (and one more
// character to spare) fits a QR code of version 10 at level M, byte mode.
func TestHolderCodeFitsQRVersion10M(t *testing.T) {
	t.Parallel()
	platform, _ := newKey(t)
	device, devicePub := newKey(t)
	for _, c := range []struct {
		rule           string
		wantLen, wantV int
	}{{"R0001", 212, 10}, {"R10000", 213, 10}} {
		cert := sampleCert(devicePub)
		cert.RuleID = c.rule
		code := holderCode(t, issueCert(t, cert, platform), cert.IssuedAt, device)
		q, err := qrcode.New(code, qrcode.Medium)
		if err != nil || len(code) != c.wantLen || q.VersionNumber != c.wantV {
			t.Fatalf("rule %s: %d bytes, QR version %d at M (%v); want %d, %d", c.rule, len(code), q.VersionNumber, err, c.wantLen, c.wantV)
		}
	}
}

// Make one holder code on the device.
func BenchmarkHolderCode(b *testing.B) {
	platform, _ := newKey(b)
	device, devicePub := newKey(b)
	cert := issueCert(b, sampleCert(devicePub), platform)
	s, at := signer(device), time.Unix(1795000000, 0)
	for b.Loop() {
		if _, err := codeformat.HolderCode(cert, at, s); err != nil {
			b.Fatal(err)
		}
	}
}

// Parse and verify one holder code: two signatures.
func BenchmarkParseVerifyHolder(b *testing.B) {
	platform, platformPub := newKey(b)
	device, devicePub := newKey(b)
	code := holderCode(b, issueCert(b, sampleCert(devicePub), platform), time.Unix(1795000000, 0), device)
	for b.Loop() {
		p, err := codeformat.ParseHolder(code)
		if err != nil || !codeformat.VerifyHolder(p, platformPub) {
			b.Fatal("verify")
		}
	}
}
