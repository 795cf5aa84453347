package codeformat_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

func TestHolderCodeChainAndSize(t *testing.T) {
	platform, platformPub := newKey(t)
	device, _ := sm2.GenerateKey(rand.Reader)
	now := time.Unix(1795000000, 0)
	c := sample()
	cert, err := codeformat.IssueCertificate(codeformat.Certificate{Code: c, Expires: now.Add(7 * 24 * time.Hour),
		DeviceKey: codeformat.NewPublicKey(&device.PublicKey)}, signer(platform))
	if err != nil {
		t.Fatal(err)
	}
	code, err := codeformat.HolderCode(cert, now, 30*time.Second, signer(device))
	if err != nil {
		t.Fatal(err)
	}
	p, err := codeformat.ParseHolder(code)
	if err != nil || !p.Verify(platformPub) || p.Subject != c.Subject || !p.IssuedAt.Equal(now) || p.Validity != 30*time.Second {
		t.Fatalf("holder round trip: %+v %v", p, err)
	}
	// Every bit of the code matters.
	for i := range len(code) {
		b := []byte(code)
		b[i] ^= 0x01
		if q, err := codeformat.ParseHolder(string(b)); err == nil && q.Verify(platformPub) {
			t.Fatalf("flipping a bit of byte %d still verifies", i)
		}
	}
	// A code dated after its certificate expired is refused.
	late, _ := codeformat.HolderCode(cert, now.Add(8*24*time.Hour), 30*time.Second, signer(device))
	if q, _ := codeformat.ParseHolder(late); q.Verify(platformPub) {
		t.Fatal("a code outside its certificate verified")
	}
	q, err := qrcode.New(code, qrcode.Medium)
	if err != nil || q.VersionNumber > 10 {
		t.Fatalf("%d bytes need QR version %d at M (%v)", len(code), q.VersionNumber, err)
	}
}
