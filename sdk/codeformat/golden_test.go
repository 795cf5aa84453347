package codeformat_test

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current implementation")

// vectors is testdata/vectors.json: codes that implementations in other
// languages check themselves against. Signatures are randomized, so a
// vector fixes the text; re-encoding its fields with its signature must
// give the text again, byte for byte.
type vectors struct {
	Comment            string         `json:"comment"`
	PlatformPrivateKey string         `json:"platformPrivateKeyHex"`
	PlatformPublicKey  string         `json:"platformPublicKeyHex"`
	DevicePrivateKey   string         `json:"devicePrivateKeyHex"`
	DevicePublicKey    string         `json:"devicePublicKeyHex"`
	Codes              []codeVector   `json:"codes"`
	Holder             []holderVector `json:"holderCodes"`
}

type codeVector struct {
	Name        string `json:"name"`
	Guide       string `json:"guide"`
	PlatformID  string `json:"platformId"`
	RuleID      string `json:"ruleId"`
	RuleVersion int    `json:"ruleVersion"`
	Family      byte   `json:"family"`
	Kind        byte   `json:"kind"`
	CertType    byte   `json:"certType"`
	Offline     bool   `json:"offline"`
	Subject     string `json:"subjectHex"`
	IssuedAt    int64  `json:"issuedAt"`
	Validity    int64  `json:"validitySeconds"`
	KeyID       string `json:"keyId"`
	Extension   string `json:"extension"`
	Text        string `json:"text"`
	PayloadHex  string `json:"payloadHex"`
}

type holderVector struct {
	Name           string `json:"name"`
	PlatformID     string `json:"platformId"`
	RuleID         string `json:"ruleId"`
	RuleVersion    int    `json:"ruleVersion"`
	Family         byte   `json:"family"`
	Kind           byte   `json:"kind"`
	CertType       byte   `json:"certType"`
	Subject        string `json:"subjectHex"`
	IssuedAt       int64  `json:"certIssuedAt"`
	Validity       int64  `json:"certValiditySeconds"`
	CodeValidity   int64  `json:"codeValiditySeconds"`
	KeyID          string `json:"keyId"`
	CodeTime       int64  `json:"codeTime"`
	CertificateB64 string `json:"certificateBase64"`
	CodeHex        string `json:"codeHex"`
}

func (v *codeVector) code(t *testing.T) codeformat.Code {
	kid, err := codeformat.ParseKeyID(v.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	c := codeformat.Code{Guide: v.Guide, PlatformID: v.PlatformID, RuleID: v.RuleID, RuleVersion: v.RuleVersion,
		Family: codeformat.Family(v.Family), Kind: codeformat.Kind(v.Kind), CertType: codeformat.CertType(v.CertType),
		Offline: v.Offline, IssuedAt: time.Unix(v.IssuedAt, 0), Validity: time.Duration(v.Validity) * time.Second,
		KeyID: kid, Extension: v.Extension}
	copy(c.Subject[:], mustHex(t, v.Subject))
	return c
}

func (v *holderVector) cert(t *testing.T, device *codeformat.PublicKey) codeformat.Certificate {
	kid, err := codeformat.ParseKeyID(v.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	c := codeformat.Certificate{PlatformID: v.PlatformID, RuleID: v.RuleID, RuleVersion: v.RuleVersion,
		Family: codeformat.Family(v.Family), Kind: codeformat.Kind(v.Kind), CertType: codeformat.CertType(v.CertType),
		IssuedAt: time.Unix(v.IssuedAt, 0), Validity: time.Duration(v.Validity) * time.Second,
		CodeValidity: time.Duration(v.CodeValidity) * time.Second, DeviceKey: device, KeyID: kid}
	copy(c.Subject[:], mustHex(t, v.Subject))
	return c
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privateKey(t *testing.T, s string) *sm2.PrivateKey {
	t.Helper()
	k, err := sm2.NewPrivateKey(mustHex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// replay is a signer answering a fixed r||s signature in DER.
func replay(raw []byte) codeformat.Signer {
	return func([]byte) ([]byte, error) {
		return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	}
}

func TestGoldenVectors(t *testing.T) {
	const file = "testdata/vectors.json"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vs vectors
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if *update && vs.PlatformPrivateKey == "" {
		for _, k := range []*string{&vs.PlatformPrivateKey, &vs.DevicePrivateKey} {
			priv, _ := sm2.GenerateKey(rand.Reader)
			*k = hex.EncodeToString(priv.D.FillBytes(make([]byte, 32)))
		}
	}
	platform, device := privateKey(t, vs.PlatformPrivateKey), privateKey(t, vs.DevicePrivateKey)
	platformPub, devicePub := codeformat.NewPublicKey(&platform.PublicKey), codeformat.NewPublicKey(&device.PublicKey)
	if *update {
		vs.PlatformPublicKey, vs.DevicePublicKey = platformPub.Hex(), devicePub.Hex()
	}
	if pub, err := codeformat.ParsePublicKey(vs.PlatformPublicKey); err != nil || !pub.Equal(platformPub) {
		t.Fatalf("platform public key: %v", err)
	}

	for i := range vs.Codes {
		v := &vs.Codes[i]
		t.Run(v.Name, func(t *testing.T) {
			want := v.code(t)
			if *update {
				v.Text = encode(t, want, platform)
			}
			p, err := codeformat.Parse(v.Text)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				_, payload := payload(t, v.Text)
				v.PayloadHex = hex.EncodeToString(payload)
			}
			if p.Code != want || !codeformat.Verify(p, platformPub) {
				t.Fatalf("parsed %+v, want %+v (verifies: %v)", p.Code, want, codeformat.Verify(p, platformPub))
			}
			if again, err := codeformat.Encode(want, replay(p.Signature)); err != nil || again != v.Text {
				t.Fatalf("re-encoded\n %s\nwant\n %s (%v)", again, v.Text, err)
			}
			if _, payload := payload(t, v.Text); hex.EncodeToString(payload) != v.PayloadHex {
				t.Fatal("payloadHex is not the text's payload")
			}
		})
	}
	for i := range vs.Holder {
		v := &vs.Holder[i]
		t.Run(v.Name, func(t *testing.T) {
			c := v.cert(t, devicePub)
			if *update {
				cert := issueCert(t, c, platform)
				v.CertificateB64 = base64.StdEncoding.EncodeToString(cert)
				v.CodeHex = hex.EncodeToString([]byte(holderCode(t, cert, time.Unix(v.CodeTime, 0), device)))
			}
			code := string(mustHex(t, v.CodeHex))
			p, err := codeformat.ParseHolder(code)
			if err != nil || !codeformat.VerifyHolder(p, platformPub) || !p.At.Equal(time.Unix(v.CodeTime, 0)) {
				t.Fatalf("%+v %v", p, err)
			}
			cert, _ := base64.StdEncoding.DecodeString(v.CertificateB64)
			if again, err := codeformat.IssueCertificate(c, replay(p.Cert.Signature)); err != nil || !bytes.Equal(again, cert) {
				t.Fatalf("re-issued certificate differs (%v)", err)
			}
			if again, err := codeformat.HolderCode(cert, p.At, replay(p.Signature)); err != nil || again != code {
				t.Fatalf("re-made code differs (%v)", err)
			}
		})
	}
	if *update {
		out, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
