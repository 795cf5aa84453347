package signature_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/nonce"
	"github.com/opencitycode/citycode/sdk/apisign"
)

// apps is an in-memory Lookup.
type apps struct {
	byID map[string]*signature.Credentials
	err  error // returned for every lookup when set
}

func (a *apps) AppCredentials(_ context.Context, appID string) (*signature.Credentials, error) {
	if a.err != nil {
		return nil, a.err
	}
	c, ok := a.byID[appID]
	if !ok {
		return nil, fmt.Errorf("app %q: %w", appID, signature.ErrUnknownApp)
	}
	return c, nil
}

// fixture holds the apps of a test and their private material.
type fixture struct {
	now     time.Time
	apps    *apps
	sm2Priv *apisign.PrivateKey
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	privPEM, pubPEM, err := codec.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := codec.ParseSM2PublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := apisign.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		now:     testNow,
		sm2Priv: priv,
		apps: &apps{byID: map[string]*signature.Credentials{
			"app1":     {AppID: "app1", Secret: []byte("secret-one"), SM2PublicKey: pub, DataKey: []byte("0123456789abcdef"), Enabled: true, PlatformID: "p1"},
			"app2":     {AppID: "app2", Secret: []byte("secret-two"), Enabled: true, PlatformID: "p2"},
			"off":      {AppID: "off", Secret: []byte("secret-off"), Enabled: false, PlatformID: "p1"},
			"nosecret": {AppID: "nosecret", Enabled: true, PlatformID: "p1"},
		}},
	}
}

func (f *fixture) verifier(nonces signature.NonceStore) *signature.Verifier {
	if nonces == nil {
		nonces = nonce.NewMemory(func() time.Time { return f.now })
	}
	return signature.New(signature.Config{Lookup: f.apps, Nonces: nonces, Clock: func() time.Time { return f.now }})
}

// req describes a request to sign; zero fields take defaults.
type req struct {
	app, secret     string
	method, path    string
	query           string
	ts              time.Time
	nonce           string
	body            string
	sm2             bool
	encryptWith     []byte // SM4 key: encrypt the body
	signMethodValue string // overrides the SignMethod header
}

var nonceSeq struct {
	sync.Mutex
	n int
}

func freshNonce() string {
	nonceSeq.Lock()
	defer nonceSeq.Unlock()
	nonceSeq.n++
	return fmt.Sprintf("test-nonce-%012d", nonceSeq.n)
}

// sign builds a correctly signed request from r.
func (f *fixture) sign(t testing.TB, r req) signature.Request {
	t.Helper()
	if r.app == "" {
		r.app = "app1"
	}
	if r.secret == "" {
		r.secret = "secret-one"
	}
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.path == "" {
		r.path = "/openapi/v1/codes/verify"
	}
	if r.ts.IsZero() {
		r.ts = f.now
	}
	if r.nonce == "" {
		r.nonce = freshNonce()
	}
	body := []byte(r.body)
	h := http.Header{}
	if r.encryptWith != nil {
		var err error
		if len(body) > 0 {
			if body, err = apisign.EncryptBody(r.encryptWith, body); err != nil {
				t.Fatal(err)
			}
		}
		h.Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
	}
	ms := r.ts.UnixMilli()
	sts := apisign.StringToSign(r.method, r.path, r.query, ms, r.nonce, body)
	sig := apisign.SignHMAC([]byte(r.secret), sts)
	if r.sm2 {
		var err error
		if sig, err = apisign.SignSM2(f.sm2Priv, sts); err != nil {
			t.Fatal(err)
		}
		h.Set(apisign.HeaderSignMethod, apisign.SignMethodSM2)
	}
	if r.signMethodValue != "" {
		h.Set(apisign.HeaderSignMethod, r.signMethodValue)
	}
	h.Set(apisign.HeaderAppID, r.app)
	h.Set(apisign.HeaderTimestamp, strconv.FormatInt(ms, 10))
	h.Set(apisign.HeaderNonce, r.nonce)
	h.Set(apisign.HeaderSignature, sig)
	return signature.Request{Method: r.method, Path: r.path, RawQuery: r.query, Header: h, Body: body}
}

func wantFault(t *testing.T, err error, code string, kind fault.Kind) *fault.Error {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("error = %v, want a fault with code %s", err, code)
	}
	if fe.Code != code || fe.Kind != kind {
		t.Fatalf("fault = %s (%s), want %s (%s): %v", fe.Code, fe.Kind, code, kind, err)
	}
	return fe
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	res, err := v.Verify(t.Context(), f.sign(t, req{body: `{"codeId":"C1"}`, query: "lang=zh"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Credentials.AppID != "app1" || res.Credentials.PlatformID != "p1" || string(res.Body) != `{"codeId":"C1"}` ||
		res.Encrypted || res.SignMethod != apisign.SignMethodHMAC {
		t.Fatalf("result = %+v", res)
	}
	// The explicit HMAC method name is the same as none.
	if _, err := v.Verify(t.Context(), f.sign(t, req{signMethodValue: apisign.SignMethodHMAC})); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	without := func(header string) func(*signature.Request) {
		return func(r *signature.Request) { r.Header.Del(header) }
	}
	setHeader := func(header, value string) func(*signature.Request) {
		return func(r *signature.Request) { r.Header.Set(header, value) }
	}
	tests := []struct {
		name   string
		req    req
		tamper func(*signature.Request)
		code   string
		kind   fault.Kind
		names  string // the message must name this
	}{
		{name: "no app id", tamper: without(apisign.HeaderAppID), code: fault.CodeMissingParameter, kind: fault.Invalid, names: apisign.HeaderAppID},
		{name: "no timestamp", tamper: without(apisign.HeaderTimestamp), code: fault.CodeMissingParameter, kind: fault.Invalid, names: apisign.HeaderTimestamp},
		{name: "no nonce", tamper: without(apisign.HeaderNonce), code: fault.CodeMissingParameter, kind: fault.Invalid, names: apisign.HeaderNonce},
		{name: "no signature", tamper: without(apisign.HeaderSignature), code: fault.CodeMissingParameter, kind: fault.Invalid, names: apisign.HeaderSignature},
		{name: "timestamp in seconds with a fraction", tamper: setHeader(apisign.HeaderTimestamp, "1748779200.5"), code: fault.CodeInvalidParameter, kind: fault.Invalid, names: apisign.HeaderTimestamp},
		{name: "negative timestamp", tamper: setHeader(apisign.HeaderTimestamp, "-1"), code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "signed timestamp", tamper: setHeader(apisign.HeaderTimestamp, "+1748779200000"), code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "timestamp with a leading zero", tamper: setHeader(apisign.HeaderTimestamp, "0"+strconv.FormatInt(testNow.UnixMilli(), 10)), code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "huge timestamp", tamper: setHeader(apisign.HeaderTimestamp, strings.Repeat("9", 30)), code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "timestamp 301 s old", req: req{ts: testNow.Add(-301 * time.Second)}, code: fault.CodeSignatureExpire, kind: fault.Unauthenticated},
		{name: "timestamp 301 s ahead", req: req{ts: testNow.Add(301 * time.Second)}, code: fault.CodeSignatureExpire, kind: fault.Unauthenticated},
		{name: "timestamp 300.001 s old", req: req{ts: testNow.Add(-300*time.Second - time.Millisecond)}, code: fault.CodeSignatureExpire, kind: fault.Unauthenticated},
		{name: "timestamp in seconds", tamper: setHeader(apisign.HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10)), code: fault.CodeSignatureExpire, kind: fault.Unauthenticated},
		{name: "nonce too short", req: req{nonce: "short-nonce"}, code: fault.CodeInvalidParameter, kind: fault.Invalid, names: apisign.HeaderNonce},
		{name: "nonce too long", req: req{nonce: strings.Repeat("n", 65)}, code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "nonce with a colon", req: req{nonce: "nonce:0123456789abcdef"}, code: fault.CodeInvalidParameter, kind: fault.Invalid},
		{name: "unknown sign method", req: req{signMethodValue: "RSA"}, code: fault.CodeInvalidParameter, kind: fault.Invalid, names: apisign.HeaderSignMethod},
		{name: "unknown encryption", tamper: setHeader(apisign.HeaderEncrypt, "AES-GCM"), code: fault.CodeInvalidParameter, kind: fault.Invalid, names: apisign.HeaderEncrypt},
		{name: "unknown app", req: req{app: "nobody"}, code: fault.CodeAppNotFound, kind: fault.Unauthenticated},
		{name: "absurdly long app id", req: req{app: strings.Repeat("a", 129)}, code: fault.CodeAppNotFound, kind: fault.Unauthenticated},
		{name: "disabled app", req: req{app: "off", secret: "secret-off"}, code: fault.CodeAppDisabled, kind: fault.Denied},
		{name: "disabled app, bad signature", req: req{app: "off", secret: "wrong"}, code: fault.CodeAppDisabled, kind: fault.Denied},
		{name: "another app's secret", req: req{app: "app1", secret: "secret-two"}, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "body tampered after signing", req: req{body: `{"amount":1}`}, tamper: func(r *signature.Request) { r.Body = []byte(`{"amount":9}`) }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "body dropped after signing", req: req{body: `{"amount":1}`}, tamper: func(r *signature.Request) { r.Body = nil }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "path tampered", tamper: func(r *signature.Request) { r.Path = "/openapi/v1/codes/revoke" }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "query tampered", req: req{query: "id=1"}, tamper: func(r *signature.Request) { r.RawQuery = "id=2" }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "query added", tamper: func(r *signature.Request) { r.RawQuery = "admin=1" }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "method tampered", tamper: func(r *signature.Request) { r.Method = http.MethodDelete }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "timestamp changed within the window", tamper: setHeader(apisign.HeaderTimestamp, strconv.FormatInt(testNow.UnixMilli()+1, 10)), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "nonce changed", tamper: setHeader(apisign.HeaderNonce, "another-nonce-000000"), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "app id swapped to another app", req: req{app: "app1"}, tamper: setHeader(apisign.HeaderAppID, "app2"), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "signature in upper-case hex is still the signature", tamper: func(r *signature.Request) {
			r.Header.Set(apisign.HeaderSignature, strings.ToUpper(r.Header.Get(apisign.HeaderSignature)))
		}},
		{name: "signature truncated", tamper: func(r *signature.Request) {
			r.Header.Set(apisign.HeaderSignature, r.Header.Get(apisign.HeaderSignature)[:63])
		}, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "HMAC signature under the SM2 method", tamper: setHeader(apisign.HeaderSignMethod, apisign.SignMethodSM2), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "SM2 signature as HMAC", req: req{sm2: true}, tamper: without(apisign.HeaderSignMethod), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "SM2 for an app without a public key", req: req{app: "app2", sm2: true}, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "SM2 signature not base64", req: req{sm2: true}, tamper: setHeader(apisign.HeaderSignature, "%%%"), code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "SM2 signature over another body", req: req{sm2: true, body: "a"}, tamper: func(r *signature.Request) { r.Body = []byte("b") }, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "HMAC with an empty secret", req: req{app: "nosecret", secret: "x"}, tamper: func(r *signature.Request) {
			ts, _ := strconv.ParseInt(r.Header.Get(apisign.HeaderTimestamp), 10, 64)
			sts := apisign.StringToSign(r.Method, r.Path, r.RawQuery, ts, r.Header.Get(apisign.HeaderNonce), r.Body)
			r.Header.Set(apisign.HeaderSignature, apisign.SignHMAC(nil, sts))
		}, code: fault.CodeSignatureFailure, kind: fault.Unauthenticated},
		{name: "encrypted for an app without a data key", req: req{app: "app2", secret: "secret-two", body: "{}", encryptWith: []byte("0123456789abcdef")}, code: fault.CodeDecryptFailure, kind: fault.Invalid},
		{name: "encrypted under the wrong key", req: req{body: "{}", encryptWith: []byte("fedcba9876543210")}, code: fault.CodeDecryptFailure, kind: fault.Invalid},
		{name: "encryption header over a clear body", req: req{body: `{"a":1}`}, tamper: setHeader(apisign.HeaderEncrypt, apisign.EncryptSM4GCM), code: fault.CodeDecryptFailure, kind: fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := f.sign(t, tt.req)
			if tt.tamper != nil {
				tt.tamper(&r)
			}
			res, err := f.verifier(nil).Verify(t.Context(), r)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if res != nil {
				t.Fatalf("result %+v alongside the error", res)
			}
			fe := wantFault(t, err, tt.code, tt.kind)
			if tt.names != "" && !strings.Contains(fe.Message, tt.names) {
				t.Fatalf("message %q does not name %s", fe.Message, tt.names)
			}
		})
	}
}

func TestVerifyWindowEdges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	for _, skew := range []time.Duration{-300 * time.Second, 300 * time.Second, 0, -time.Millisecond} {
		if _, err := v.Verify(t.Context(), f.sign(t, req{ts: testNow.Add(skew)})); err != nil {
			t.Errorf("timestamp %v from server time: %v; want accepted", skew, err)
		}
	}
}

func TestVerifyReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	r := f.sign(t, req{body: "{}"})
	if _, err := v.Verify(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(t.Context(), r)
	wantFault(t, err, fault.CodeNonceUsed, fault.Unauthenticated)

	// The same nonce is independent per app.
	r2 := f.sign(t, req{app: "app2", secret: "secret-two", nonce: r.Header.Get(apisign.HeaderNonce)})
	if _, err := v.Verify(t.Context(), r2); err != nil {
		t.Fatalf("same nonce for another app: %v", err)
	}
}

// A forged request must not burn the nonce of a real one.
func TestVerifyForgeryDoesNotBurnNonce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	genuine := f.sign(t, req{body: `{"a":1}`})
	forged := f.sign(t, req{body: `{"a":2}`, secret: "guessed", nonce: genuine.Header.Get(apisign.HeaderNonce)})
	for range 3 {
		_, err := v.Verify(t.Context(), forged)
		wantFault(t, err, fault.CodeSignatureFailure, fault.Unauthenticated)
	}
	if _, err := v.Verify(t.Context(), genuine); err != nil {
		t.Fatalf("genuine request after forgeries with its nonce: %v", err)
	}
}

// recordingNonces records the ttl of each use.
type recordingNonces struct {
	mu   sync.Mutex
	ttls []time.Duration
	err  error
}

func (n *recordingNonces) Use(_ context.Context, _, _ string, ttl time.Duration) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ttls = append(n.ttls, ttl)
	return n.err == nil, n.err
}

// A nonce is remembered at least until its timestamp leaves the window.
func TestVerifyNonceTTLCoversWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	store := &recordingNonces{}
	v := f.verifier(store)
	for _, skew := range []time.Duration{-300 * time.Second, 0, 300 * time.Second} {
		if _, err := v.Verify(t.Context(), f.sign(t, req{ts: testNow.Add(skew)})); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []time.Duration{600 * time.Second, 600 * time.Second, 601 * time.Second} {
		if store.ttls[i] != want {
			t.Errorf("use %d: ttl %v, want %v", i, store.ttls[i], want)
		}
	}

	// With the real store: a request stamped 300 s ahead, replayed just
	// before its timestamp leaves the window, is still refused.
	mem := nonce.NewMemory(func() time.Time { return f.now })
	clock := testNow
	v2 := signature.New(signature.Config{Lookup: f.apps, Nonces: mem, Clock: func() time.Time { return clock }})
	r := f.sign(t, req{ts: testNow.Add(300 * time.Second)})
	if _, err := v2.Verify(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	clock = testNow.Add(600 * time.Second)
	f.now = clock
	_, err := v2.Verify(t.Context(), r)
	wantFault(t, err, fault.CodeNonceUsed, fault.Unauthenticated)
}

func TestVerifyDependencyFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	down := errors.New("database is down")

	broken := &fixture{now: f.now, apps: &apps{err: down}, sm2Priv: f.sm2Priv}
	_, err := broken.verifier(nil).Verify(t.Context(), f.sign(t, req{}))
	if !errors.Is(err, down) || fault.KindOf(err) != fault.Internal {
		t.Fatalf("lookup failure: %v (kind %s); want the cause, kind internal", err, fault.KindOf(err))
	}

	_, err = f.verifier(&recordingNonces{err: down}).Verify(t.Context(), f.sign(t, req{}))
	wantFault(t, err, fault.CodeServiceUnavailable, fault.Unavailable)
	if !errors.Is(err, down) {
		t.Fatalf("nonce store failure loses its cause: %v", err)
	}
}

func TestVerifySM2(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	res, err := v.Verify(t.Context(), f.sign(t, req{sm2: true, body: `{"x":1}`, query: "a=b"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.SignMethod != apisign.SignMethodSM2 || string(res.Body) != `{"x":1}` {
		t.Fatalf("result = %+v", res)
	}
	// Another key pair's signature does not verify.
	otherPEM, _, _ := codec.GenerateSM2Key()
	other, _ := apisign.ParsePrivateKey(otherPEM)
	g := *f
	g.sm2Priv = other
	_, err = v.Verify(t.Context(), g.sign(t, req{sm2: true}))
	wantFault(t, err, fault.CodeSignatureFailure, fault.Unauthenticated)
}

func TestVerifyEncryptedRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(nil)
	key := f.apps.byID["app1"].DataKey
	r := f.sign(t, req{body: `{"name":"公共厕所"}`, encryptWith: key})
	if bytes.Contains(r.Body, []byte("name")) {
		t.Fatal("test request not encrypted")
	}
	res, err := v.Verify(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Encrypted || string(res.Body) != `{"name":"公共厕所"}` {
		t.Fatalf("result = %+v", res)
	}
	sealed, err := signature.SealResponse(res.Credentials, []byte(`{"Response":{"RequestId":"r"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := apisign.DecryptBody(key, sealed); err != nil || string(plain) != `{"Response":{"RequestId":"r"}}` {
		t.Fatalf("client cannot open the sealed answer: %q, %v", plain, err)
	}

	// Signed with SM2 and encrypted at once.
	if res, err := v.Verify(t.Context(), f.sign(t, req{sm2: true, body: "{}", encryptWith: key})); err != nil || string(res.Body) != "{}" {
		t.Fatalf("SM2 + SM4-GCM: %+v, %v", res, err)
	}
	// A GET asks for an encrypted answer with an empty body.
	if res, err := v.Verify(t.Context(), f.sign(t, req{method: "GET", encryptWith: key})); err != nil || !res.Encrypted || len(res.Body) != 0 {
		t.Fatalf("encrypted GET: %+v, %v", res, err)
	}
	// A signed but corrupt ciphertext gets past the signature and fails to decrypt.
	raw, _ := base64.StdEncoding.DecodeString(string(f.sign(t, req{body: "{}", encryptWith: key}).Body))
	raw[len(raw)-1] ^= 1
	bad := f.sign(t, req{})
	bad.Header.Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
	bad.Body = []byte(base64.StdEncoding.EncodeToString(raw))
	resign(&bad, "secret-one")
	_, err = v.Verify(t.Context(), bad)
	wantFault(t, err, fault.CodeDecryptFailure, fault.Invalid)

	if _, err := signature.SealResponse(f.apps.byID["app2"], []byte("x")); err == nil {
		t.Fatal("SealResponse without a data key succeeded")
	}
}

// resign recomputes the HMAC signature of r after a change.
func resign(r *signature.Request, secret string) {
	ts, _ := strconv.ParseInt(r.Header.Get(apisign.HeaderTimestamp), 10, 64)
	sts := apisign.StringToSign(r.Method, r.Path, r.RawQuery, ts, r.Header.Get(apisign.HeaderNonce), r.Body)
	r.Header.Set(apisign.HeaderSignature, apisign.SignHMAC([]byte(secret), sts))
}

func TestNewRequiresDependencies(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("New without a Lookup did not panic")
		}
	}()
	signature.New(signature.Config{Nonces: nonce.NewMemory(nil)})
}
