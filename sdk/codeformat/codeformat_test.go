package codeformat_test

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
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
	return k, codeformat.NewPublicKey(&k.PublicKey)
}

func signer(k *sm2.PrivateKey) codeformat.Signer {
	return func(msg []byte) ([]byte, error) { return sm2.SignASN1(rand.Reader, k, msg, sm2.DefaultSM2SignerOpts) }
}

func sample() codeformat.Code {
	c := codeformat.Code{Guide: codeformat.DefaultGuide, PlatformID: "P0000", RuleID: "R0001", RuleVersion: 3,
		Family: codeformat.FamilyIdentity, Kind: codeformat.KindPerson, CertType: codeformat.CertResidentID, Offline: true,
		IssuedAt: time.Unix(1795000000, 0), Validity: 60 * time.Second, KeyID: 0xA1B2C3D4}
	copy(c.Subject[:], "0123456789abcdef")
	return c
}

func encode(t testing.TB, c codeformat.Code, k *sm2.PrivateKey) string {
	t.Helper()
	text, err := codeformat.Encode(c, signer(k))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// payload answers the decoded bytes of a code's text.
func payload(t testing.TB, text string) (guide string, raw []byte) {
	t.Helper()
	i := strings.LastIndexAny(text, "/:")
	raw, err := b32.DecodeString(text[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return text[:i+1], raw
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	k, pub := newKey(t)
	long := sample()
	long.Guide, long.Extension = "HTTPS://CC.EXAMPLE.CN/D/", "区=110105;闸=3"
	online := sample()
	online.Offline, online.Validity, online.Kind, online.Family, online.CertType = false, 0, codeformat.KindEnterprise, codeformat.FamilyEnterprise, codeformat.CertSocialCredit
	for name, c := range map[string]codeformat.Code{"person": sample(), "URL guide and extension": long, "enterprise, no expiry": online} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := codeformat.Parse(encode(t, c, k))
			if err != nil {
				t.Fatal(err)
			}
			if !codeformat.Verify(p, pub) {
				t.Fatal("own signature does not verify")
			}
			if p.Code != c {
				t.Fatalf("round trip:\n got %+v\nwant %+v", p.Code, c)
			}
		})
	}
	t.Run("default guide and whole seconds", func(t *testing.T) {
		c := sample()
		c.Guide, c.IssuedAt = "", c.IssuedAt.Add(700*time.Millisecond)
		p, err := codeformat.Parse(encode(t, c, k))
		if err != nil || p.Guide != codeformat.DefaultGuide || !p.IssuedAt.Equal(sample().IssuedAt) {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		c := sample()
		if !c.Expired(c.IssuedAt.Add(60*time.Second)) || c.Expired(c.IssuedAt.Add(59*time.Second)) {
			t.Fatal("validity boundary")
		}
		c.Validity = 0
		if c.Expired(c.IssuedAt.Add(1000*time.Hour)) || !c.ExpiresAt().IsZero() {
			t.Fatal("a code without validity expired")
		}
	})
}

// Every single-bit change of a code, in its text (the guide included) or
// in its decoded bytes, is refused: it fails to parse or fails to verify.
func TestEveryBitFlipIsRefused(t *testing.T) {
	t.Parallel()
	k, pub := newKey(t)
	long := sample()
	long.Guide, long.Extension = "HTTPS://CC.EXAMPLE.CN/D/", "gate=3"
	for name, c := range map[string]codeformat.Code{"default guide": sample(), "URL guide": long} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := encode(t, c, k)
			refused := func(s string) bool {
				p, err := codeformat.Parse(s)
				return err != nil || !codeformat.Verify(p, pub)
			}
			for i := range len(text) {
				for bit := range 8 {
					b := []byte(text)
					b[i] ^= 1 << bit
					if !refused(string(b)) {
						t.Fatalf("text byte %d bit %d: %q verifies", i, bit, b)
					}
				}
			}
			guide, raw := payload(t, text)
			for i := range raw {
				for bit := range 8 {
					b := append([]byte{}, raw...)
					b[i] ^= 1 << bit
					if !refused(guide + b32.EncodeToString(b)) {
						t.Fatalf("payload byte %d bit %d still verifies", i, bit)
					}
				}
			}
		})
	}
}

func TestForeignKeyIsRefused(t *testing.T) {
	t.Parallel()
	k, pub := newKey(t)
	other, otherPub := newKey(t)
	p, _ := codeformat.Parse(encode(t, sample(), k))
	if codeformat.Verify(p, otherPub) {
		t.Fatal("verified with a foreign key")
	}
	// The same content re-signed with a foreign key, under the same key id.
	q, _ := codeformat.Parse(encode(t, sample(), other))
	if codeformat.Verify(q, pub) {
		t.Fatal("a code re-signed with a foreign key verified")
	}
	if codeformat.Verify(p, nil) || codeformat.Verify(nil, pub) {
		t.Fatal("nil verified")
	}
}

func TestEncodeRefuses(t *testing.T) {
	t.Parallel()
	k, _ := newKey(t)
	change := func(f func(*codeformat.Code)) codeformat.Code { c := sample(); f(&c); return c }
	for name, c := range map[string]struct {
		code codeformat.Code
		want error
	}{
		"lower-case guide":        {change(func(c *codeformat.Code) { c.Guide = "https://cc.example.cn/d/" }), codeformat.ErrField},
		"guide without separator": {change(func(c *codeformat.Code) { c.Guide = "CC" }), codeformat.ErrField},
		"guide with a space":      {change(func(c *codeformat.Code) { c.Guide = "CC D/" }), codeformat.ErrField},
		"long guide":              {change(func(c *codeformat.Code) { c.Guide = strings.Repeat("A", 64) + "/" }), codeformat.ErrField},
		"empty platform":          {change(func(c *codeformat.Code) { c.PlatformID = "" }), codeformat.ErrField},
		"long rule id":            {change(func(c *codeformat.Code) { c.RuleID = strings.Repeat("R", 33) }), codeformat.ErrField},
		"id with a space":         {change(func(c *codeformat.Code) { c.RuleID = "R 1" }), codeformat.ErrField},
		"rule version":            {change(func(c *codeformat.Code) { c.RuleVersion = 70000 }), codeformat.ErrField},
		"kind":                    {change(func(c *codeformat.Code) { c.Kind = 0 }), codeformat.ErrField},
		"family":                  {change(func(c *codeformat.Code) { c.Family = 7 }), codeformat.ErrField},
		"certificate type":        {change(func(c *codeformat.Code) { c.CertType = 9 }), codeformat.ErrField},
		"negative validity":       {change(func(c *codeformat.Code) { c.Validity = -time.Second }), codeformat.ErrField},
		"time before 1970":        {change(func(c *codeformat.Code) { c.IssuedAt = time.Unix(-1, 0) }), codeformat.ErrField},
		"time after 2106":         {change(func(c *codeformat.Code) { c.IssuedAt = time.Unix(1<<32, 0) }), codeformat.ErrField},
		"invalid UTF-8":           {change(func(c *codeformat.Code) { c.Extension = "\xff" }), codeformat.ErrField},
		"201 characters":          {change(func(c *codeformat.Code) { c.Extension = strings.Repeat("a", 201) }), codeformat.ErrField},
		"over QR version 10":      {change(func(c *codeformat.Code) { c.Extension = strings.Repeat("a", 83) }), codeformat.ErrTooLarge},
		"longest guide and ids": {change(func(c *codeformat.Code) {
			c.Guide, c.PlatformID, c.RuleID = strings.Repeat("G", 63)+"/", strings.Repeat("P", 32), strings.Repeat("R", 32)
		}), codeformat.ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := codeformat.Encode(c.code, signer(k)); !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
	t.Run("signer failure", func(t *testing.T) {
		boom := errors.New("hsm down")
		if _, err := codeformat.Encode(sample(), func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := codeformat.Encode(sample(), func([]byte) ([]byte, error) { return []byte{1, 2, 3}, nil }); err == nil {
			t.Fatal("a malformed signature was accepted")
		}
	})
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	k, _ := newKey(t)
	text := encode(t, sample(), k)
	guide, raw := payload(t, text)
	// with re-encodes the payload after f changed it (the signature no
	// longer matters: these must fail before it is checked).
	with := func(f func(b []byte) []byte) string { return guide + b32.EncodeToString(f(append([]byte{}, raw...))) }
	for name, c := range map[string]struct {
		text string
		want error
	}{
		"empty":               {"", codeformat.ErrMalformed},
		"guide only":          {"CC:", codeformat.ErrMalformed},
		"no guide":            {text[len(guide):], codeformat.ErrMalformed},
		"lower case":          {strings.ToLower(text), codeformat.ErrMalformed},
		"lower-case guide":    {"cc:" + text[len(guide):], codeformat.ErrMalformed},
		"padding":             {text + "=", codeformat.ErrMalformed},
		"not base32":          {"CC:HELLO WORLD", codeformat.ErrMalformed},
		"too long":            {"CC:" + strings.Repeat("A", codeformat.MaxText), codeformat.ErrMalformed},
		"truncated":           {with(func(b []byte) []byte { return b[:len(b)-1] }), codeformat.ErrMalformed},
		"short":               {with(func(b []byte) []byte { return b[:40] }), codeformat.ErrMalformed},
		"trailing byte":       {with(func(b []byte) []byte { return append(b, 0) }), codeformat.ErrMalformed},
		"version 2":           {with(func(b []byte) []byte { b[0] = 2; return b }), codeformat.ErrVersion},
		"version 0":           {with(func(b []byte) []byte { b[0] = 0; return b }), codeformat.ErrVersion},
		"reserved flag bit":   {with(func(b []byte) []byte { b[1] |= 2; return b }), codeformat.ErrMalformed},
		"unknown cert type":   {with(func(b []byte) []byte { b[1] = 7 << 4; return b }), codeformat.ErrMalformed},
		"unknown kind":        {with(func(b []byte) []byte { b[2] = 0x15; return b }), codeformat.ErrMalformed},
		"unknown family":      {with(func(b []byte) []byte { b[2] = 0x91; return b }), codeformat.ErrMalformed},
		"empty platform id":   {with(func(b []byte) []byte { return append([]byte{b[0], b[1], b[2], 0}, b[9:]...) }), codeformat.ErrMalformed},
		"control in id":       {with(func(b []byte) []byte { b[4] = '\n'; return b }), codeformat.ErrMalformed},
		"id length past end":  {with(func(b []byte) []byte { b[3] = 200; return b }), codeformat.ErrMalformed},
		"extension past end":  {with(func(b []byte) []byte { b[len(b)-65] = 9; return b }), codeformat.ErrMalformed},
		"spare bits set":      {spareBitsSet(t, k), codeformat.ErrMalformed},
		"holder code as text": {"\x02" + text, codeformat.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := codeformat.Parse(c.text); !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
}

// spareBitsSet answers a code whose last base32 character decodes to the
// same bytes as the genuine one: only its unused low bits differ.
func spareBitsSet(t *testing.T, k *sm2.PrivateKey) string {
	c := sample()
	c.Extension = "x" // 111 bytes: 178 characters, 2 spare bits
	text := encode(t, c, k)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	last := strings.IndexByte(alphabet, text[len(text)-1])
	if last&3 != 0 {
		t.Fatal("spare bits set by Encode")
	}
	return text[:len(text)-1] + string(alphabet[last|1])
}

// The largest code Encode makes fits a QR code of version 10 at level M,
// and the package doc's size table is what an encoder measures.
func TestFitsQRVersion10M(t *testing.T) {
	t.Parallel()
	k, _ := newKey(t)
	const url = "HTTPS://CC.EXAMPLE.CN/D/"
	for _, c := range []struct {
		guide, platform, rule string
		extension             int // bytes; -1: the most that fits
		wantExtension         int
		wantLen, wantVersion  int
	}{
		{"CC:", "P0000", "R0001", 0, 0, 179, 8},
		{"CC:", "P0000", "R0001", -1, 82, 311, 10},
		{url, "P0000", "R0001", 0, 0, 200, 8},
		{url, "P0000", "R0001", -1, 69, 311, 10},
		{url, strings.Repeat("P", 32), strings.Repeat("R", 32), -1, 15, 311, 10},
		{strings.Repeat("G", 63) + "/", "P0000", "R0001", -1, 44, 311, 10},
	} {
		code := sample()
		code.Guide, code.PlatformID, code.RuleID = c.guide, c.platform, c.rule
		ext := c.extension
		if ext < 0 {
			for ext = 0; ; ext++ {
				code.Extension = strings.Repeat("x", ext+1)
				if _, err := codeformat.Encode(code, signer(k)); errors.Is(err, codeformat.ErrTooLarge) {
					break
				}
			}
		}
		code.Extension = strings.Repeat("x", ext)
		// Signatures change the text: measure several.
		for range 20 {
			text := encode(t, code, k)
			q, err := qrcode.New(text, qrcode.Medium)
			if err != nil {
				t.Fatal(err)
			}
			if ext != c.wantExtension || len(text) != c.wantLen || q.VersionNumber != c.wantVersion {
				t.Fatalf("guide %q, ids %d+%d: extension %d, %d characters, version %d; want %d, %d, %d",
					c.guide, len(c.platform), len(c.rule), ext, len(text), q.VersionNumber, c.wantExtension, c.wantLen, c.wantVersion)
			}
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	k, pub := newKey(t)
	point, _ := hex.DecodeString(pub.Hex())
	for name, s := range map[string]string{
		"hex point":        pub.Hex(),
		"upper-case hex":   strings.ToUpper(pub.Hex()),
		"compressed point": hex.EncodeToString(append([]byte{2 + byte(k.PublicKey.Y.Bit(0))}, point[1:33]...)),
		"PEM":              publicPEM(t, k),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := codeformat.ParsePublicKey(s)
			if err != nil || !got.Equal(pub) {
				t.Fatalf("%v", err)
			}
		})
	}
	for name, s := range map[string]string{
		"empty":        "",
		"garbage":      "not a key",
		"off curve":    "04" + strings.Repeat("11", 64),
		"short":        "0411",
		"broken PEM":   "-----BEGIN PUBLIC KEY-----\nAAAA",
		"bad compress": "02" + strings.Repeat("ff", 32),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := codeformat.ParsePublicKey(s); !errors.Is(err, codeformat.ErrKey) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	id := codeformat.KeyID(0x0A1B2C3D)
	b, _ := id.MarshalText()
	var back codeformat.KeyID
	if string(b) != "0a1b2c3d" || back.UnmarshalText([]byte("0A1B2C3D")) != nil || back != id {
		t.Fatalf("%s %s", b, back)
	}
	for _, bad := range []string{"", "0a1b2c", "0a1b2c3d4e", "zzzzzzzz"} {
		if _, err := codeformat.ParseKeyID(bad); !errors.Is(err, codeformat.ErrField) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Sign and encode one code.
func BenchmarkEncode(b *testing.B) {
	k, _ := newKey(b)
	s, c := signer(k), sample()
	for b.Loop() {
		if _, err := codeformat.Encode(c, s); err != nil {
			b.Fatal(err)
		}
	}
}

// Parse and verify one code.
func BenchmarkParseVerify(b *testing.B) {
	k, pub := newKey(b)
	text := encode(b, sample(), k)
	for b.Loop() {
		p, err := codeformat.Parse(text)
		if err != nil || !codeformat.Verify(p, pub) {
			b.Fatal("verify")
		}
	}
}
