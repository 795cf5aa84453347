package signature_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/apisign"
)

// FuzzVerify: whatever headers and body a caller sends, verification never
// panics, answers a client error (never an internal one), and accepts a
// request only when its signature is the app's HMAC-SM3 over exactly what
// was sent.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.sign(f, req{body: `{"a":1}`})
	if _, err := fx.verifier(nil).Verify(context.Background(), good); err != nil {
		f.Fatalf("the honest seed is refused: %v", err)
	}
	h := good.Header
	f.Add("app1", h.Get(apisign.HeaderTimestamp), h.Get(apisign.HeaderNonce), h.Get(apisign.HeaderSignature), "", "", "/openapi/v1/codes/verify", "", []byte(`{"a":1}`))
	f.Add("app1", "1748779200000", "n-0000000000000001", "00", "SM2", "", "/x", "a=1", []byte{})
	f.Add("off", "-1", "", "zz", "HMAC", "SM4-GCM", "/", "", []byte("AAAA"))
	f.Add("nosecret", "99999999999999999999", "nonce-nonce-nonce", "", "", "SM4-GCM", "/%2e%2e/", "", []byte(nil))
	f.Fuzz(func(t *testing.T, app, ts, nonce, sig, method, encrypt, path, query string, body []byte) {
		v := fx.verifier(nil)
		hd := http.Header{}
		for k, val := range map[string]string{apisign.HeaderAppID: app, apisign.HeaderTimestamp: ts, apisign.HeaderNonce: nonce,
			apisign.HeaderSignature: sig, apisign.HeaderSignMethod: method, apisign.HeaderEncrypt: encrypt} {
			if val != "" {
				hd.Set(k, val)
			}
		}
		res, err := v.Verify(context.Background(), signatureRequest(path, query, hd, body))
		if err != nil {
			if k := fault.KindOf(err); k == fault.Internal {
				t.Fatalf("a client's request answered an internal error: %v", err)
			}
			return
		}
		// Accepted: it must carry the app's honest HMAC.
		ms, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || res == nil || res.Credentials == nil {
			t.Fatalf("accepted with timestamp %q: %+v", ts, res)
		}
		want := apisign.SignHMAC(res.Credentials.Secret, apisign.StringToSign(http.MethodPost, path, query, ms, nonce, body))
		switch method {
		case "", apisign.SignMethodHMAC:
			// Hex in either case is the same signature (clients in other
			// languages often write upper case); nothing else is.
			if !strings.EqualFold(sig, want) {
				t.Fatalf("accepted signature %q, the HMAC is %q", sig, want)
			}
		default:
			// No seed carries an SM2 signature: one accepted is forged.
			t.Fatalf("accepted sign method %q with signature %q", method, sig)
		}
	})
}

func signatureRequest(path, query string, h http.Header, body []byte) signature.Request {
	return signature.Request{Method: http.MethodPost, Path: path, RawQuery: query, Header: h, Body: body}
}
