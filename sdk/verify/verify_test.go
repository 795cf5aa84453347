package verify_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/verify"
)

func key(t *testing.T) (*sm2.PrivateKey, string) {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 65)
	b[0] = 4
	k.PublicKey.X.FillBytes(b[1:33])
	k.PublicKey.Y.FillBytes(b[33:])
	return k, hex.EncodeToString(b)
}

func code(t *testing.T, k *sm2.PrivateKey, kid uint32, platform string, at time.Time) string {
	t.Helper()
	text, err := codeformat.Encode(codeformat.Code{PlatformID: platform, RuleID: "R0001", Kind: codeformat.Person,
		IssuedAt: at, Validity: time.Minute, KeyID: kid}, "", func(m []byte) ([]byte, error) {
		return sm2.SignASN1(rand.Reader, k, m, sm2.DefaultSM2SignerOpts)
	})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestVerifyOffline(t *testing.T) {
	now := time.Unix(1795000000, 0)
	active, activePub := key(t)
	retired, retiredPub := key(t)
	until := now.Add(time.Hour)
	set := map[string]any{"Response": map[string]any{"Data": map[string]any{"keys": []map[string]any{
		{"kid": 1, "platformId": "P0000", "alg": "SM2", "publicKey": activePub},
		{"kid": 2, "platformId": "P0000", "alg": "SM2", "publicKey": retiredPub, "verifyUntil": until},
	}}}}
	body, _ := json.Marshal(set)
	ks, err := verify.NewKeySet(body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ks.Verify(code(t, active, 1, "P0000", now), now)
	if err != nil || res.Expired || res.RuleID != "R0001" {
		t.Fatalf("%+v %v", res, err)
	}
	if res, _ := ks.Verify(code(t, active, 1, "P0000", now), now.Add(time.Minute)); !res.Expired {
		t.Fatal("expiry not reported")
	}
	old := code(t, retired, 2, "P0000", now)
	if _, err := ks.Verify(old, now.Add(30*time.Minute)); err != nil {
		t.Fatalf("retired key within its window: %v", err)
	}
	for name, c := range map[string]struct {
		text string
		at   time.Time
		want error
	}{
		"retired key after its window": {old, until, verify.ErrKeyExpired},
		"unknown key":                  {code(t, active, 9, "P0000", now), now, verify.ErrUnknownKey},
		"key of another platform":      {code(t, active, 1, "P0001", now), now, verify.ErrUnknownKey},
		"signed by another key":        {code(t, retired, 1, "P0000", now), now, verify.ErrBadSignature},
		"not a code":                   {"HELLO", now, verify.ErrMalformed},
	} {
		if _, err := ks.Verify(c.text, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := verify.NewKeySet([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("empty key set accepted")
	}
}
