package signature_test

import (
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/nonce"
)

// benchBody is a typical 100-byte JSON request.
const benchBody = `{"codeDefId":"R1000001","subjectId":"u-8d2f1c9a4b","platformId":"310000","scene":"metro","lang":"z"}`

// benchVerify verifies b.N distinct requests, signed beforehand so only
// verification is timed: header checks, window, lookup (in memory), the
// signature, the nonce (in-memory store) and, if encrypted, decryption.
func benchVerify(b *testing.B, r req) {
	if len(benchBody) != 100 {
		b.Fatalf("body is %d bytes, want 100", len(benchBody))
	}
	f := newFixture(b)
	f.now = time.Now()
	v := signature.New(signature.Config{Lookup: f.apps, Nonces: nonce.NewMemory(nil), Clock: time.Now})
	r.body = benchBody
	reqs := make([]signature.Request, b.N)
	for i := range reqs {
		reqs[i] = f.sign(b, r)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range reqs {
		if _, err := v.Verify(ctx, reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyHMAC(b *testing.B) { benchVerify(b, req{}) }

func BenchmarkVerifySM2(b *testing.B) { benchVerify(b, req{sm2: true}) }

// BenchmarkVerifySM4GCM is HMAC plus decrypting the body.
func BenchmarkVerifySM4GCM(b *testing.B) {
	benchVerify(b, req{encryptWith: []byte("0123456789abcdef")})
}
