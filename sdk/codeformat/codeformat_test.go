package codeformat_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

func newKey(t testing.TB) (*sm2.PrivateKey, *codeformat.PublicKey) {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := codeformat.ParsePublicKey(encodePoint(k))
	if err != nil {
		t.Fatal(err)
	}
	return k, pub
}

func encodePoint(k *sm2.PrivateKey) string {
	b := make([]byte, 65)
	b[0] = 4
	k.PublicKey.X.FillBytes(b[1:33])
	k.PublicKey.Y.FillBytes(b[33:])
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 130)
	for i, c := range b {
		out[2*i], out[2*i+1] = hexdigits[c>>4], hexdigits[c&15]
	}
	return string(out)
}

func signer(k *sm2.PrivateKey) codeformat.Signer {
	return func(msg []byte) ([]byte, error) { return sm2.SignASN1(rand.Reader, k, msg, sm2.DefaultSM2SignerOpts) }
}

func sample() codeformat.Code {
	c := codeformat.Code{PlatformID: "P0000", RuleID: "R0001", RuleVersion: 3, Kind: codeformat.Person,
		CertType: codeformat.CertResidentID, Offline: true, IssuedAt: time.Unix(1795000000, 0), Validity: 60 * time.Second, KeyID: 0xA1B2C3D4}
	copy(c.Subject[:], "0123456789abcdef")
	return c
}

func TestRoundTrip(t *testing.T) {
	k, pub := newKey(t)
	text, err := codeformat.Encode(sample(), "", signer(k))
	if err != nil {
		t.Fatal(err)
	}
	p, err := codeformat.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify(pub) {
		t.Fatal("own signature does not verify")
	}
	if p.Code != sample() || p.Guide != codeformat.DefaultGuide {
		t.Fatalf("round trip: %+v", p.Code)
	}
	if !p.Expired(p.IssuedAt.Add(60*time.Second)) || p.Expired(p.IssuedAt.Add(59*time.Second)) {
		t.Fatal("validity boundary")
	}
}

// Every single-bit change of a code's bytes, and every single-character
// change of its text, is refused: it fails to parse or fails to verify.
func TestEveryBitFlipIsRefused(t *testing.T) {
	k, pub := newKey(t)
	text, _ := codeformat.Encode(sample(), "", signer(k))
	p, _ := codeformat.Parse(text)
	payload := append(append([]byte{}, p.Signed...), p.Signature...)
	for i := range payload {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte{}, payload...)
			b[i] ^= 1 << bit
			if q, err := codeformat.Parse(codeformat.DefaultGuide + strings.TrimRight(base32(b), "=")); err == nil && q.Verify(pub) {
				t.Fatalf("flipping bit %d of byte %d still verifies", bit, i)
			}
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	body := text[len(codeformat.DefaultGuide):]
	for i := range body {
		for _, c := range alphabet {
			if byte(c) == body[i] {
				continue
			}
			changed := codeformat.DefaultGuide + body[:i] + string(c) + body[i+1:]
			if q, err := codeformat.Parse(changed); err == nil && q.Verify(pub) {
				t.Fatalf("changing character %d to %c still verifies", i, c)
			}
		}
	}
}

func TestForeignKeyAndMalformed(t *testing.T) {
	k, _ := newKey(t)
	_, otherPub := newKey(t)
	text, _ := codeformat.Encode(sample(), "", signer(k))
	p, _ := codeformat.Parse(text)
	if p.Verify(otherPub) {
		t.Fatal("verified with a foreign key")
	}
	for _, bad := range []string{"", "CC:", "CC:AAAA", "CC:!!!!", "HELLO WORLD", strings.Repeat("A", 400), text[:len(text)-3]} {
		if _, err := codeformat.Parse(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	if _, err := codeformat.Encode(sample(), "https://lower.case/", signer(k)); err == nil {
		t.Fatal("lower-case guide accepted")
	}
}

// A code with a long guide URL and the longest ids still fits a QR code of
// version 10 at level M; the usual code takes version 9 or less.
func TestFitsQRVersion10M(t *testing.T) {
	k, _ := newKey(t)
	worst := sample()
	worst.PlatformID, worst.RuleID = strings.Repeat("P", 12), strings.Repeat("R", 12)
	for _, c := range []struct {
		code  codeformat.Code
		guide string
		max   int
	}{
		{sample(), "", 9},
		{worst, "HTTPS://CITYCODE.SH.GOV.CN/C/", 10},
	} {
		text, err := codeformat.Encode(c.code, c.guide, signer(k))
		if err != nil {
			t.Fatal(err)
		}
		q, err := qrcode.New(text, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		if q.VersionNumber > c.max {
			t.Fatalf("%d characters need QR version %d at M, want <= %d", len(text), q.VersionNumber, c.max)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	k, _ := newKey(b)
	s := signer(k)
	for b.Loop() {
		if _, err := codeformat.Encode(sample(), "", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVerify(b *testing.B) {
	k, pub := newKey(b)
	text, _ := codeformat.Encode(sample(), "", signer(k))
	for b.Loop() {
		p, err := codeformat.Parse(text)
		if err != nil || !p.Verify(pub) {
			b.Fatal("verify")
		}
	}
}
