package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/nonce"
	"github.com/opencitycode/citycode/sdk/apisign"
)

type lookup struct{ secret []byte }

func (l lookup) AppCredentials(_ context.Context, appID string) (*signature.Credentials, error) {
	if appID != "cc-load" {
		return nil, signature.ErrUnknownApp
	}
	return &signature.Credentials{AppID: appID, Secret: l.secret, Enabled: true}, nil
}

// The generator's signing is the SDK's: the same string to sign and HMAC.
func TestSignIsTheSDKs(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, base := range []string{"http://127.0.0.1:1", "http://127.0.0.1:1/prefix/"} {
		tg, err := newTarget(base, "cc-load", secret, "/identity/decodeIdentityCode")
		if err != nil {
			t.Fatal(err)
		}
		c := newConn(tg)
		for i, body := range []string{"{}", `{"acceptOrgId":"ORG","codeContent":"CC:AAAA"}`, ""} {
			p := newPayload([]byte(body))
			ts, n := int64(1764400000000+i), "nonce-nonce-nonce-"+string(rune('a'+i))
			want := apisign.SignHMAC(secret, apisign.StringToSign("POST", tg.path, "", ts, n, []byte(body)))
			if got := string(c.sign(p, ts, []byte(n))); got != want {
				t.Fatalf("%s %q: %s, want %s", base, body, got, want)
			}
		}
	}
}

// Requests verify with the host's verifier, nonces are fresh, and answers
// are read whether sized, chunked or closing the connection.
func TestConnAgainstTheVerifier(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	v := signature.New(signature.Config{Lookup: lookup{secret}, Nonces: nonce.NewMemory(nil)})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r.Context(), signature.Request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header, Body: body}); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		switch n % 3 {
		case 0: // chunked
			w.Write([]byte(`{"Response":`))
			w.(http.Flusher).Flush()
			w.Write([]byte(`{"echo":` + string(body) + `}}`))
		case 1:
			w.Header().Set("Connection", "close")
			w.Write([]byte(`{"echo":` + string(body) + `}`))
		default:
			w.Write([]byte(`{"echo":` + string(body) + `}`))
		}
	}))
	defer srv.Close()
	tg, err := newTarget(srv.URL, "cc-load", secret, "/api/getAppInfo")
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(tg)
	defer c.close()
	p := newPayload([]byte(`{"n":1}`))
	for i := range 9 {
		status, answer, err := c.do(p, time.Now().Add(5*time.Second))
		if err != nil || status != http.StatusOK || !strings.Contains(string(answer), `"echo":{"n":1}`) {
			t.Fatalf("request %d: %d %q %v", i, status, answer, err)
		}
	}
	// A wrong secret is refused by the verifier.
	tg.secret = []byte("another")
	c = newConn(tg)
	defer c.close()
	if status, _, err := c.do(p, time.Now().Add(5*time.Second)); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %v", status, err)
	}
}
