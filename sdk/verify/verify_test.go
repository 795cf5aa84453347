package verify_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/holder"
	"github.com/opencitycode/citycode/sdk/verify"
)

var t0 = time.Unix(1795000000, 0)

type platformKey struct {
	priv *sm2.PrivateKey
	key  verify.Key
}

func newPlatformKey(t testing.TB, kid codeformat.KeyID, platform string, notBefore time.Time) *platformKey {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &platformKey{priv: k, key: verify.Key{KeyID: kid, PlatformID: platform, Algorithm: "SM2",
		PublicKey: codeformat.NewPublicKey(&k.PublicKey).Hex(), Status: "active", NotBefore: notBefore}}
}

func (k *platformKey) retire(at, until time.Time) *platformKey {
	k.key.Status, k.key.NotAfter, k.key.VerifyUntil = "retired", &at, &until
	return k
}

func (k *platformKey) sign(msg []byte) ([]byte, error) {
	return sm2.SignASN1(rand.Reader, k.priv, msg, sm2.DefaultSM2SignerOpts)
}

// code makes a code of platform P0000 naming kid, signed by k.
func (k *platformKey) code(t testing.TB, kid codeformat.KeyID, at time.Time, validity time.Duration) string {
	t.Helper()
	c := codeformat.Code{PlatformID: "P0000", RuleID: "R0001", RuleVersion: 1, Family: codeformat.FamilyHealth,
		Kind: codeformat.KindPerson, CertType: codeformat.CertResidentID, Offline: true, IssuedAt: at, Validity: validity, KeyID: kid}
	copy(c.Subject[:], "subject-0123456789")
	text, err := codeformat.Encode(c, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// keySet is what a scanner would have downloaded: the envelope of
// GET /api/keys around keys.
func keySet(t testing.TB, keys ...*platformKey) *verify.KeySet {
	t.Helper()
	var list []verify.Key
	for _, k := range keys {
		list = append(list, k.key)
	}
	body, err := json.Marshal(map[string]any{"Response": map[string]any{"Data": map[string]any{"keys": list}, "RequestId": "r"}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := verify.NewKeySet(body)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestVerifyOffline(t *testing.T) {
	t.Parallel()
	active := newPlatformKey(t, 0xA0000001, "P0000", t0.Add(-time.Hour))
	retired := newPlatformKey(t, 0xA0000002, "P0000", t0.Add(-48*time.Hour)).retire(t0.Add(-10*time.Minute), t0.Add(time.Hour))
	other := newPlatformKey(t, 0xB0000001, "P0001", t0.Add(-time.Hour))
	ks := keySet(t, active, retired, other)
	aid, rid, oid := active.key.KeyID, retired.key.KeyID, other.key.KeyID

	for name, c := range map[string]struct {
		text    string
		now     time.Time
		want    error
		expired bool
	}{
		"active key":                            {active.code(t, aid, t0, time.Minute), t0, nil, false},
		"expired":                               {active.code(t, aid, t0, time.Minute), t0.Add(time.Minute), nil, true},
		"within clock skew ahead":               {active.code(t, aid, t0.Add(time.Minute), time.Minute), t0, nil, false},
		"retired key, code from before":         {retired.code(t, rid, t0.Add(-20*time.Minute), 2*time.Hour), t0, nil, false},
		"retired key, code from after rotation": {retired.code(t, rid, t0, time.Minute), t0, verify.ErrKeyExpired, false},
		"retired key past verifyUntil":          {retired.code(t, rid, t0.Add(-20*time.Minute), 2*time.Hour), t0.Add(time.Hour), verify.ErrKeyExpired, false},
		"code older than its key":               {active.code(t, aid, t0.Add(-2*time.Hour), time.Minute), t0, verify.ErrKeyExpired, false},
		"dated in the future":                   {active.code(t, aid, t0.Add(10*time.Minute), time.Minute), t0, verify.ErrNotYetValid, false},
		"unknown key id":                        {active.code(t, 0x12345678, t0, time.Minute), t0, verify.ErrUnknownKey, false},
		"another platform's key":                {other.code(t, oid, t0, time.Minute), t0, verify.ErrUnknownKey, false},
		"re-signed with a foreign key":          {retired.code(t, aid, t0, time.Minute), t0, verify.ErrBadSignature, false},
		"not a code":                            {"HELLO", t0, verify.ErrMalformed, false},
		"empty":                                 {"", t0, verify.ErrMalformed, false},
		"URL without a code":                    {"HTTPS://CC.EXAMPLE.CN/D/", t0, verify.ErrMalformed, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := ks.Verify(c.text, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
			if err == nil && (res.Expired != c.expired || res.RuleID != "R0001" || res.Family != codeformat.FamilyHealth || res.HolderMode || !res.Offline) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestEveryBitFlipIsRefused(t *testing.T) {
	t.Parallel()
	k := newPlatformKey(t, 7, "P0000", t0.Add(-time.Hour))
	ks := keySet(t, k)
	text := k.code(t, 7, t0, time.Minute)
	if _, err := ks.Verify(text, t0); err != nil {
		t.Fatal(err)
	}
	for i := range len(text) {
		for bit := range 8 {
			b := []byte(text)
			b[i] ^= 1 << bit
			if _, err := ks.Verify(string(b), t0); err == nil {
				t.Fatalf("byte %d bit %d: %q verifies", i, bit, b)
			}
		}
	}
}

func TestNewKeySet(t *testing.T) {
	t.Parallel()
	k := newPlatformKey(t, 1, "P0000", t0)
	data, _ := json.Marshal(map[string]any{"keys": []verify.Key{k.key}})
	if _, err := verify.NewKeySet(data); err != nil {
		t.Fatalf("the Data part: %v", err)
	}
	good := string(data[len(`{"keys":[`) : len(data)-2])
	for name, body := range map[string]string{
		"not JSON":         `{`,
		"no keys":          `{"keys":[]}`,
		"error envelope":   `{"Response":{"Error":{"Code":"InternalError","Message":"x"},"RequestId":"r"}}`,
		"bad public key":   `{"keys":[{"kid":"00000001","platformId":"P0000","alg":"SM2","publicKey":"04abcd"}]}`,
		"bad key id":       `{"keys":[{"kid":"xyz","platformId":"P0000","alg":"SM2","publicKey":"` + k.key.PublicKey + `"}]}`,
		"key listed twice": `{"keys":[` + good + `,` + good + `]}`,
		"only unknown alg": `{"keys":[{"kid":"00000001","platformId":"P0000","alg":"Ed25519","publicKey":"AAAA"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := verify.NewKeySet([]byte(body)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("unknown algorithms are skipped", func(t *testing.T) {
		body := `{"keys":[{"kid":"00000002","platformId":"P0000","alg":"Ed25519","publicKey":"AAAA"},` + good + `]}`
		ks, err := verify.NewKeySet([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Verify(k.code(t, 1, t0, time.Minute), t0); err != nil {
			t.Fatal(err)
		}
	})
}

// Holder-signed mode with no server: the platform's certificate, the
// device's code, and the scanner's check, each with only what it holds.
func TestHolderCodeOffline(t *testing.T) {
	t.Parallel()
	platform := newPlatformKey(t, 0xC0DE0001, "P0000", t0.Add(-time.Hour))
	ks := keySet(t, platform)
	priv, pub, err := holder.GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	devicePub, err := codeformat.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	certificate := func(k *platformKey, kid codeformat.KeyID, issued time.Time) string {
		t.Helper()
		c := codeformat.Certificate{PlatformID: "P0000", RuleID: "R0007", RuleVersion: 2, Family: codeformat.FamilyIdentity,
			Kind: codeformat.KindPerson, CertType: codeformat.CertTaiwan, IssuedAt: issued, Validity: 24 * time.Hour,
			CodeValidity: time.Minute, DeviceKey: devicePub, KeyID: kid}
		cert, err := codeformat.IssueCertificate(c, k.sign)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(cert)
	}
	cert := certificate(platform, platform.key.KeyID, t0)
	dev, err := holder.New(cert, priv)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(2 * time.Hour)
	code, err := dev.Code(at)
	if err != nil {
		t.Fatal(err)
	}

	res, err := ks.Verify(code, at.Add(10*time.Second))
	if err != nil || !res.HolderMode || res.Expired || res.RuleID != "R0007" || res.CertType != codeformat.CertTaiwan ||
		!res.IssuedAt.Equal(at) || res.Validity != time.Minute || res.Certificate == nil || !res.Certificate.ExpiresAt().Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("%+v %v", res, err)
	}
	if res, err := ks.Verify(code, at.Add(time.Minute)); err != nil || !res.Expired {
		t.Fatalf("expiry: %+v %v", res, err)
	}

	rawCert, _ := base64.StdEncoding.DecodeString(cert)
	deviceCode := func(cert []byte, at time.Time) string {
		t.Helper()
		key, _ := sm2.NewPrivateKey(mustHex(t, priv))
		c, err := codeformat.HolderCode(cert, at, func(m []byte) ([]byte, error) {
			return sm2.SignASN1(rand.Reader, key, m, sm2.DefaultSM2SignerOpts)
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rawOf := func(b64 string) []byte { b, _ := base64.StdEncoding.DecodeString(b64); return b }
	foreign := newPlatformKey(t, 0xC0DE0001, "P0000", t0)
	for name, c := range map[string]struct {
		code string
		now  time.Time
		want error
	}{
		"after the certificate":           {deviceCode(rawCert, t0.Add(25*time.Hour)), t0.Add(25 * time.Hour), verify.ErrCertificate},
		"long before the certificate":     {deviceCode(rawCert, t0.Add(-time.Hour)), t0.Add(-time.Hour), verify.ErrCertificate},
		"dated ahead of the scanner":      {deviceCode(rawCert, at.Add(time.Hour)), at, verify.ErrNotYetValid},
		"certificate from a foreign key":  {deviceCode(rawOf(certificate(foreign, 0xC0DE0001, t0)), at), at, verify.ErrBadSignature},
		"certificate from an unknown key": {deviceCode(rawOf(certificate(foreign, 0xC0DE0002, t0)), at), at, verify.ErrUnknownKey},
		"certificate older than the key":  {deviceCode(rawOf(certificate(platform, 0xC0DE0001, t0.Add(-3*time.Hour))), at), at, verify.ErrKeyExpired},
		"truncated":                       {code[:len(code)-1], at, verify.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ks.Verify(c.code, c.now); !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
	t.Run("another device's key", func(t *testing.T) {
		other, _, _ := holder.GenerateDeviceKey()
		if _, err := holder.New(cert, other); !errors.Is(err, holder.ErrWrongKey) {
			t.Fatalf("%v", err)
		}
		key, _ := sm2.NewPrivateKey(mustHex(t, other))
		forged, _ := codeformat.HolderCode(rawCert, at, func(m []byte) ([]byte, error) {
			return sm2.SignASN1(rand.Reader, key, m, sm2.DefaultSM2SignerOpts)
		})
		if _, err := ks.Verify(forged, at); !errors.Is(err, verify.ErrBadSignature) {
			t.Fatalf("a code signed by another device: %v", err)
		}
	})
	t.Run("every bit flip", func(t *testing.T) {
		for i := range len(code) {
			for bit := range 8 {
				b := []byte(code)
				b[i] ^= 1 << bit
				if _, err := ks.Verify(string(b), at); err == nil {
					t.Fatalf("byte %d bit %d still verifies", i, bit)
				}
			}
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Verify one scanned code with the key set.
func BenchmarkVerify(b *testing.B) {
	k := newPlatformKey(b, 1, "P0000", t0)
	ks := keySet(b, k)
	text := k.code(b, 1, t0, time.Minute)
	for b.Loop() {
		if _, err := ks.Verify(text, t0); err != nil {
			b.Fatal(err)
		}
	}
}
