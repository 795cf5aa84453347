package signature_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/nonce"
	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/client"
)

// serve puts the verifier behind HTTP the way the host does: verify, echo
// the plaintext body back as Data, and seal the answer when the request was
// encrypted.
func serve(t *testing.T, v *signature.Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := v.Verify(r.Context(), signature.Request{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header, Body: body,
		})
		env := map[string]any{"RequestId": "req-test"}
		status := http.StatusOK
		if err != nil {
			status = map[fault.Kind]int{fault.Invalid: 400, fault.Unauthenticated: 401, fault.Denied: 403}[fault.KindOf(err)]
			if status == 0 {
				status = 500
			}
			env["Error"] = map[string]string{"Code": fault.CodeOf(err), "Message": err.Error()}
		} else {
			env["Data"] = map[string]any{"app": res.Credentials.AppID, "query": r.URL.RawQuery, "echo": json.RawMessage(orEmpty(res.Body))}
		}
		answer, _ := json.Marshal(map[string]any{"Response": env})
		if err == nil && res.Encrypted {
			if answer, err = signature.SealResponse(res.Credentials, answer); err != nil {
				t.Error(err)
			}
			w.Header().Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
		}
		w.WriteHeader(status)
		w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// TestClientRoundTrip runs sdk/client against the host's verifier: the two
// sides of the scheme must agree on every mode.
func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := signature.New(signature.Config{Lookup: f.apps, Nonces: nonce.NewMemory(nil), Clock: time.Now})
	srv := serve(t, v)

	privPEM, pubPEM, _ := codec.GenerateSM2Key()
	pub, _ := codec.ParseSM2PublicKey(pubPEM)
	f.apps.byID["sm2app"] = &signature.Credentials{AppID: "sm2app", SM2PublicKey: pub, DataKey: []byte("fedcba9876543210"), Enabled: true}

	type out struct {
		App  string
		Echo struct{ Name string }
	}
	tests := []struct {
		name string
		c    *client.Client
		app  string
	}{
		{"HMAC", client.New(srv.URL, "app1", []byte("secret-one")), "app1"},
		{"HMAC + SM4-GCM", client.New(srv.URL, "app1", []byte("secret-one"), client.WithEncryption([]byte("0123456789abcdef"))), "app1"},
		{"SM2", client.New(srv.URL, "sm2app", nil, client.WithSM2(privPEM)), "sm2app"},
		{"SM2 + SM4-GCM", client.New(srv.URL, "sm2app", nil, client.WithSM2(privPEM), client.WithEncryption([]byte("fedcba9876543210"))), "sm2app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got out
			if err := tt.c.Call(t.Context(), "/openapi/v1/echo", map[string]string{"name": "公共厕所"}, &got); err != nil {
				t.Fatal(err)
			}
			if got.App != tt.app || got.Echo.Name != "公共厕所" {
				t.Fatalf("answer = %+v", got)
			}
			resp, body, err := tt.c.Do(t.Context(), http.MethodGet, "/openapi/v1/objects/%E5%85%AC", "q=%20x&b=2", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET: %v, %v, %s", resp, err, body)
			}
		})
	}
}

func TestClientRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := signature.New(signature.Config{Lookup: f.apps, Nonces: nonce.NewMemory(nil), Clock: time.Now})
	srv := serve(t, v)
	fixed := func() string { return "replayed-nonce-000001" }
	tests := []struct {
		name   string
		c      *client.Client
		calls  int // the last call's error is checked
		status int
		code   string
	}{
		{"replayed nonce", client.New(srv.URL, "app1", []byte("secret-one"), client.WithNonce(fixed)), 2, 401, fault.CodeNonceUsed},
		{"clock 301 s slow", client.New(srv.URL, "app1", []byte("secret-one"), client.WithClock(func() time.Time { return time.Now().Add(-301 * time.Second) })), 1, 401, fault.CodeSignatureExpire},
		{"clock 301 s fast", client.New(srv.URL, "app1", []byte("secret-one"), client.WithClock(func() time.Time { return time.Now().Add(301 * time.Second) })), 1, 401, fault.CodeSignatureExpire},
		{"wrong secret", client.New(srv.URL, "app1", []byte("secret-two")), 1, 401, fault.CodeSignatureFailure},
		{"unknown app", client.New(srv.URL, "ghost", []byte("x")), 1, 401, fault.CodeAppNotFound},
		{"disabled app", client.New(srv.URL, "off", []byte("secret-off")), 1, 403, fault.CodeAppDisabled},
		{"encryption without a data key", client.New(srv.URL, "app2", []byte("secret-two"), client.WithEncryption([]byte("0123456789abcdef"))), 1, 400, fault.CodeDecryptFailure},
		{"bad nonce", client.New(srv.URL, "app1", []byte("secret-one"), client.WithNonce(func() string { return "bad nonce" })), 1, 400, fault.CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			for range tt.calls {
				err = tt.c.Call(t.Context(), "/openapi/v1/echo", map[string]int{"n": 1}, nil)
			}
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tt.status || apiErr.Code != tt.code {
				t.Fatalf("error = %v, want HTTP %d %s", err, tt.status, tt.code)
			}
		})
	}
}
