package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/client"
)

// seen is what the test platform received.
type seen struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// platform is a stand-in for the host: it records each request and answers
// with reply.
type platform struct {
	*httptest.Server
	mu    sync.Mutex
	last  seen
	reply func(w http.ResponseWriter, s seen)
}

func newPlatform(t *testing.T, reply func(w http.ResponseWriter, s seen)) *platform {
	t.Helper()
	p := &platform{reply: reply}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		p.mu.Lock()
		p.last = s
		p.mu.Unlock()
		p.reply(w, s)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *platform) seen() seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func okJSON(data string) func(http.ResponseWriter, seen) {
	return func(w http.ResponseWriter, _ seen) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"Response":{"Data":%s,"RequestId":"req-ok"}}`, data)
	}
}

// stringToSign recomputes what the client must have signed from what the
// platform received.
// A malformed timestamp signs as 0, which fails the comparison.
func (s seen) stringToSign() []byte {
	ts, _ := strconv.ParseInt(s.header.Get(apisign.HeaderTimestamp), 10, 64)
	return apisign.StringToSign(s.method, s.path, s.rawQuery, ts, s.header.Get(apisign.HeaderNonce), s.body)
}

var fixedNow = time.Date(2025, 3, 1, 8, 0, 0, 123e6, time.UTC)

func TestCallHMAC(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, okJSON(`{"codeId":"C1","valid":true}`))
	secret := []byte("app-secret")
	c := client.New(p.URL+"/", "app1", secret,
		client.WithClock(func() time.Time { return fixedNow }),
		client.WithNonce(func() string { return "fixed-nonce-0000000001" }))
	var out struct {
		CodeID string
		Valid  bool
	}
	if err := c.Call(t.Context(), "/openapi/v1/codes/verify", map[string]any{"codeId": "C1"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.CodeID != "C1" || !out.Valid {
		t.Fatalf("out = %+v", out)
	}
	s := p.seen()
	checks := map[string][2]string{
		"method":        {s.method, "POST"},
		"path":          {s.path, "/openapi/v1/codes/verify"},
		"body":          {string(s.body), `{"codeId":"C1"}`},
		"app id":        {s.header.Get(apisign.HeaderAppID), "app1"},
		"timestamp":     {s.header.Get(apisign.HeaderTimestamp), strconv.FormatInt(fixedNow.UnixMilli(), 10)},
		"nonce":         {s.header.Get(apisign.HeaderNonce), "fixed-nonce-0000000001"},
		"sign method":   {s.header.Get(apisign.HeaderSignMethod), ""},
		"encrypt":       {s.header.Get(apisign.HeaderEncrypt), ""},
		"content type":  {s.header.Get("Content-Type"), "application/json"},
		"signature":     {s.header.Get(apisign.HeaderSignature), apisign.SignHMAC(secret, s.stringToSign())},
		"signed string": {string(s.stringToSign()), "POST\n/openapi/v1/codes/verify\n1740816000123\nfixed-nonce-0000000001\n" + sm3Hex(`{"codeId":"C1"}`)},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
}

func sm3Hex(s string) string {
	sts := apisign.StringToSign("", "", "", 0, "", []byte(s))
	return string(sts[len(sts)-64:])
}

func TestCallNilInSendsEmptyObject(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, okJSON(`null`))
	c := client.New(p.URL, "app1", []byte("s"))
	if err := c.Call(t.Context(), "/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(p.seen().body); got != "{}" {
		t.Fatalf("body = %q, want {}", got)
	}
}

func TestDefaultNoncesAreFreshAndValid(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, okJSON(`{}`))
	c := client.New(p.URL, "app1", []byte("s"))
	nonces := map[string]bool{}
	for range 50 {
		if err := c.Call(t.Context(), "/x", nil, nil); err != nil {
			t.Fatal(err)
		}
		n := p.seen().header.Get(apisign.HeaderNonce)
		if !apisign.ValidNonce(n) || nonces[n] {
			t.Fatalf("nonce %q is invalid or repeated", n)
		}
		nonces[n] = true
	}
}

func TestDoSignsWhatIsSent(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, okJSON(`{}`))
	secret := []byte("s")
	tests := []struct {
		name, base, method, path, query, wantPath string
		body                                      []byte
	}{
		{"GET with query", "", "GET", "/openapi/v1/codes/C1", "a=1&b=%2C", "/openapi/v1/codes/C1", nil},
		{"escaped path", "", "PUT", "/openapi/v1/objects/%E5%85%AC", "", "/openapi/v1/objects/%E5%85%AC", []byte(`{}`)},
		{"base URL with a prefix", "/gw/citycode/", "POST", "/openapi/v1/x", "", "/gw/citycode/openapi/v1/x", []byte(`{"a":1}`)},
		{"path without slash", "", "DELETE", "openapi/v1/x", "", "/openapi/v1/x", nil},
		{"lower-case method", "", "post", "/x", "", "/x", []byte("raw bytes, not JSON")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client.New(p.URL+tt.base, "app1", secret)
			resp, body, err := c.Do(t.Context(), tt.method, tt.path, tt.query, tt.body)
			if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte("req-ok")) {
				t.Fatalf("Do = %v, %q, %v", resp, body, err)
			}
			s := p.seen()
			if s.path != tt.wantPath || s.rawQuery != tt.query || !bytes.Equal(s.body, tt.body) {
				t.Fatalf("sent %s ? %s %q; want %s ? %s %q", s.path, s.rawQuery, s.body, tt.wantPath, tt.query, tt.body)
			}
			if got, want := s.header.Get(apisign.HeaderSignature), apisign.SignHMAC(secret, s.stringToSign()); got != want {
				t.Fatalf("signature %s does not cover what was sent (want %s)", got, want)
			}
		})
	}
}

func TestCallSM2(t *testing.T) {
	t.Parallel()
	key, _ := sm2.GenerateKey(rand.Reader)
	der, _ := smx509.MarshalPKCS8PrivateKey(key)
	p := newPlatform(t, okJSON(`{}`))
	forms := map[string]string{
		"base64 PKCS#8": base64.StdEncoding.EncodeToString(der),
		"hex scalar":    fmt.Sprintf("%064x", key.D),
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			c := client.New(p.URL, "app1", nil, client.WithSM2(form))
			if err := c.Call(t.Context(), "/openapi/v1/x", map[string]int{"n": 1}, nil); err != nil {
				t.Fatal(err)
			}
			s := p.seen()
			if m := s.header.Get(apisign.HeaderSignMethod); m != "SM2" {
				t.Fatalf("sign method %q", m)
			}
			sig, err := base64.StdEncoding.DecodeString(s.header.Get(apisign.HeaderSignature))
			if err != nil || !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, s.stringToSign(), sig) {
				t.Fatalf("SM2 signature does not verify (%v)", err)
			}
		})
	}
}

func TestCallEncrypted(t *testing.T) {
	t.Parallel()
	dataKey := []byte("0123456789abcdef")
	secret := []byte("s")
	p := newPlatform(t, func(w http.ResponseWriter, s seen) {
		if s.header.Get(apisign.HeaderSignature) != apisign.SignHMAC(secret, s.stringToSign()) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}`)
			return
		}
		plain, err := apisign.DecryptBody(dataKey, s.body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"Response":{"Error":{"Code":"FailedOperation.DecryptFailure","Message":"bad"},"RequestId":"r"}}`)
			return
		}
		answer, _ := apisign.EncryptBody(dataKey, fmt.Appendf(nil, `{"Response":{"Data":{"echo":%s},"RequestId":"r"}}`, plain))
		w.Header().Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
		w.Write(answer)
	})
	c := client.New(p.URL, "app1", secret, client.WithEncryption(dataKey))
	var out struct{ Echo struct{ Name string } }
	if err := c.Call(t.Context(), "/openapi/v1/x", map[string]string{"name": "公共厕所"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Echo.Name != "公共厕所" {
		t.Fatalf("out = %+v", out)
	}
	s := p.seen()
	if s.header.Get(apisign.HeaderEncrypt) != "SM4-GCM" || bytes.Contains(s.body, []byte("name")) {
		t.Fatalf("body sent in the clear: %s %q", s.header.Get(apisign.HeaderEncrypt), s.body)
	}

	// A GET has no body to encrypt; the header still asks for an encrypted answer.
	if _, _, err := c.Do(t.Context(), "GET", "/openapi/v1/x", "", nil); err != nil {
		t.Fatal(err)
	}
	if s := p.seen(); len(s.body) != 0 || s.header.Get(apisign.HeaderEncrypt) != "SM4-GCM" {
		t.Fatalf("GET sent body %q, encrypt header %q", s.body, s.header.Get(apisign.HeaderEncrypt))
	}
}

func TestCallAnswers(t *testing.T) {
	t.Parallel()
	dataKey := []byte("0123456789abcdef")
	encrypted := func(status int, body string, key []byte) func(http.ResponseWriter, seen) {
		return func(w http.ResponseWriter, _ seen) {
			wire, _ := apisign.EncryptBody(key, []byte(body))
			w.Header().Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
			w.WriteHeader(status)
			w.Write(wire)
		}
	}
	plain := func(status int, body string) func(http.ResponseWriter, seen) {
		return func(w http.ResponseWriter, _ seen) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name    string
		reply   func(http.ResponseWriter, seen)
		encrypt bool
		want    *client.APIError // nil: no API error
		wantErr error            // other expected error (errors.Is)
		anyErr  bool
	}{
		{
			name:  "error envelope",
			reply: plain(403, `{"Response":{"Error":{"Code":"AuthFailure.AppDisabled","Message":"the app is disabled"},"RequestId":"req-9"}}`),
			want:  &client.APIError{HTTPStatus: 403, Code: "AuthFailure.AppDisabled", Message: "the app is disabled", RequestID: "req-9"},
		},
		{
			name:    "plain error answer to an encrypted request",
			reply:   plain(401, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"no"},"RequestId":"req-8"}}`),
			encrypt: true,
			want:    &client.APIError{HTTPStatus: 401, Code: "AuthFailure.SignatureFailure", Message: "no", RequestID: "req-8"},
		},
		{
			name:    "encrypted error answer",
			reply:   encrypted(409, `{"Response":{"Error":{"Code":"FailedOperation","Message":"state"},"RequestId":"req-7"}}`, dataKey),
			encrypt: true,
			want:    &client.APIError{HTTPStatus: 409, Code: "FailedOperation", Message: "state", RequestID: "req-7"},
		},
		{
			name:  "not an envelope",
			reply: plain(502, `<html>bad gateway</html>`),
			want:  &client.APIError{HTTPStatus: 502, Message: "Bad Gateway: the answer is not an API envelope"},
		},
		{
			name:  "error status without error",
			reply: plain(500, `{"Response":{"RequestId":"req-6"}}`),
			want:  &client.APIError{HTTPStatus: 500, Message: "Internal Server Error", RequestID: "req-6"},
		},
		{name: "success that is not JSON", reply: plain(200, `ok`), anyErr: true},
		{name: "data of the wrong type", reply: plain(200, `{"Response":{"Data":{"n":"x"}}}`), anyErr: true},
		{name: "clear success to an encrypted request", reply: plain(200, `{"Response":{"Data":{"n":1}}}`), encrypt: true, wantErr: client.ErrNotEncrypted},
		{name: "encrypted under another key", reply: encrypted(200, `{}`, []byte("fedcba9876543210")), encrypt: true, wantErr: apisign.ErrDecrypt},
		{name: "encrypted answer without a data key", reply: encrypted(200, `{}`, dataKey), anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t, tt.reply)
			var opts []client.Option
			if tt.encrypt {
				opts = append(opts, client.WithEncryption(dataKey))
			}
			var out struct{ N int }
			err := client.New(p.URL, "app1", []byte("s"), opts...).Call(t.Context(), "/x", nil, &out)
			var apiErr *client.APIError
			switch {
			case tt.want != nil:
				if !errors.As(err, &apiErr) || *apiErr != *tt.want {
					t.Fatalf("error = %#v, want %#v", err, tt.want)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
			default:
				if err == nil || errors.As(err, &apiErr) {
					t.Fatalf("error = %v, want a non-API error", err)
				}
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, okJSON(`{}`))
	tests := []struct {
		name string
		c    *client.Client
		want error
	}{
		{"SM2 key garbage", client.New(p.URL, "app1", nil, client.WithSM2("not a key")), apisign.ErrKey},
		{"short data key", client.New(p.URL, "app1", nil, client.WithEncryption([]byte("short"))), apisign.ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.c.Call(t.Context(), "/x", nil, nil); !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	if err := client.New("not a url", "app1", nil).Call(t.Context(), "/x", nil, nil); err == nil {
		t.Fatal("relative base URL accepted")
	}
	if err := client.New(p.URL, "app1", nil).Call(t.Context(), "/x", func() {}, nil); err == nil {
		t.Fatal("unencodable input accepted")
	}
}

func TestCallHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	p := newPlatform(t, func(w http.ResponseWriter, _ seen) { <-release })
	t.Cleanup(func() { close(release) }) // runs before the server closes
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := client.New(p.URL, "app1", nil).Call(ctx, "/x", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want deadline exceeded", err)
	}
}
