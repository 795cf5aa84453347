// Package signature verifies the signed open-API requests of apps, as
// defined in sdk/apisign: headers, timestamp window, nonce replay, HMAC-SM3
// or SM2 signatures, and SM4-GCM bodies. It is the host's only verifier of
// that scheme; the cryptography itself is codec's.
package signature

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/apisign"
)

// ErrUnknownApp is wrapped by Lookup implementations when no app has the id.
var ErrUnknownApp = errors.New("signature: unknown app")

// Credentials are what the verifier needs to know of an app.
type Credentials struct {
	AppID        string
	Secret       []byte              // HMAC-SM3 key (the plain app secret)
	SM2PublicKey *codec.SM2PublicKey // nil when the app registered none
	DataKey      []byte              // 16-byte SM4 key for bodies; nil if none
	Enabled      bool
	PlatformID   string
}

// Lookup finds an app's credentials. It returns an error wrapping
// ErrUnknownApp when there is no such app; any other error is treated as the
// lookup being unavailable.
type Lookup interface {
	AppCredentials(ctx context.Context, appID string) (*Credentials, error)
}

// NonceStore records nonce uses; nonce.Memory and nonce.Redis implement it.
// Use reports fresh=false when (appID, nonce) was used less than ttl ago.
type NonceStore interface {
	Use(ctx context.Context, appID, nonce string, ttl time.Duration) (fresh bool, err error)
}

// Config configures a Verifier.
type Config struct {
	Lookup Lookup     // required
	Nonces NonceStore // required
	Clock  func() time.Time
	// Window is how far the request timestamp may be from the server clock
	// either way; exactly Window is accepted. Default 300 s.
	Window time.Duration
	// NonceTTL is how long a nonce is remembered. Default 600 s. A nonce is
	// in any case remembered until its request's timestamp has left the
	// window, so a replay can never be inside the window with its nonce
	// forgotten.
	NonceTTL time.Duration
}

// Verifier checks signed requests. It is safe for concurrent use.
type Verifier struct {
	lookup   Lookup
	nonces   NonceStore
	clock    func() time.Time
	window   time.Duration
	nonceTTL time.Duration
}

// New returns a Verifier. It panics if Lookup or Nonces is nil: that is a
// wiring mistake, not a runtime condition.
func New(cfg Config) *Verifier {
	if cfg.Lookup == nil || cfg.Nonces == nil {
		panic("signature: Config.Lookup and Config.Nonces are required")
	}
	v := &Verifier{lookup: cfg.Lookup, nonces: cfg.Nonces, clock: cfg.Clock, window: cfg.Window, nonceTTL: cfg.NonceTTL}
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.window <= 0 {
		v.window = 300 * time.Second
	}
	if v.nonceTTL <= 0 {
		v.nonceTTL = 600 * time.Second
	}
	return v
}

// Request is what the verifier reads of an HTTP request.
type Request struct {
	Method string
	// Path is the request path as sent, percent escapes kept
	// (http.Request.URL.EscapedPath()); RawQuery is the query without "?".
	Path, RawQuery string
	Header         http.Header // with canonical keys, as net/http parses them
	Body           []byte      // the body as received (ciphertext text when encrypted)
}

// Result describes a verified request.
type Result struct {
	Credentials *Credentials
	Body        []byte // the plaintext body, decrypted when Encrypted
	Encrypted   bool   // the body was SM4-GCM; answer with SealResponse
	SignMethod  string // apisign.SignMethodHMAC or apisign.SignMethodSM2
}

// Verify checks a signed request and returns the app and plaintext body.
// Errors are *fault.Error with the scheme's codes, except when the app
// lookup fails for a reason other than an unknown app (an internal error)
// or the nonce store is unreachable (kind Unavailable).
//
// The checks run in this order, cheapest and least revealing first:
//
//  1. required headers present (MissingParameter): nothing else can be
//     checked without them;
//  2. timestamp syntax (InvalidParameter) and window (SignatureExpire):
//     stale or far-future requests are refused without touching storage,
//     which also bounds how long a nonce must be remembered;
//  3. nonce, sign method and encryption syntax (InvalidParameter);
//  4. app lookup (AppNotFound) and enabled (AppDisabled, Denied): the first
//     storage access, needed for the key;
//  5. signature (SignatureFailure);
//  6. nonce replay (NonceUsed): the nonce is recorded only after the
//     signature verified, so nobody without the app's key can burn the
//     nonces of a real app and have its genuine requests refused;
//  7. body decryption (DecryptFailure): the ciphertext is authenticated
//     only now, after the request is known to come from the app. An empty
//     body stays empty: on a GET the header only asks for an encrypted
//     answer, which needs the data key all the same.
func (v *Verifier) Verify(ctx context.Context, r Request) (*Result, error) {
	h := r.Header
	appID, tsText, nonce, sig := header(h, keyAppID), header(h, keyTimestamp), header(h, keyNonce), header(h, keySignature)
	for _, p := range [...]struct{ name, value string }{
		{apisign.HeaderAppID, appID}, {apisign.HeaderTimestamp, tsText},
		{apisign.HeaderNonce, nonce}, {apisign.HeaderSignature, sig},
	} {
		if p.value == "" {
			return nil, fault.Missing(p.name)
		}
	}

	ts, err := parseTimestamp(tsText)
	if err != nil {
		return nil, err
	}
	now := v.clock()
	if skew := now.Sub(time.UnixMilli(ts)); skew > v.window || skew < -v.window {
		return nil, fault.E(fault.Unauthenticated, fault.CodeSignatureExpire,
			"the request timestamp is %s from server time, more than the allowed %s", skew.Round(time.Second).Abs(), v.window)
	}

	if !apisign.ValidNonce(nonce) {
		return nil, fault.Invalidf("%s must be 16 to 64 characters of A-Z, a-z, 0-9, '_' and '-'", apisign.HeaderNonce)
	}
	method := header(h, keySignMethod)
	switch method {
	case "", apisign.SignMethodHMAC:
		method = apisign.SignMethodHMAC
	case apisign.SignMethodSM2:
	default:
		return nil, fault.Invalidf("%s must be %q or %q", apisign.HeaderSignMethod, apisign.SignMethodHMAC, apisign.SignMethodSM2)
	}
	encrypted := false
	switch header(h, keyEncrypt) {
	case "":
	case apisign.EncryptSM4GCM:
		encrypted = true
	default:
		return nil, fault.Invalidf("%s must be %q when present", apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
	}
	if len(appID) > 128 {
		// Not an app id of ours; refuse before it reaches storage.
		return nil, fault.E(fault.Unauthenticated, fault.CodeAppNotFound, "no app has this %s", apisign.HeaderAppID)
	}

	cred, err := v.lookup.AppCredentials(ctx, appID)
	if errors.Is(err, ErrUnknownApp) || err == nil && cred == nil {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAppNotFound, "no app has this %s", apisign.HeaderAppID)
	}
	if err != nil {
		return nil, fmt.Errorf("signature: look up app %q: %w", appID, err)
	}
	if !cred.Enabled {
		return nil, fault.E(fault.Denied, fault.CodeAppDisabled, "the app is disabled")
	}

	sts := apisign.StringToSign(r.Method, r.Path, r.RawQuery, ts, nonce, r.Body)
	if !verifySignature(cred, method, sts, sig) {
		return nil, fault.E(fault.Unauthenticated, fault.CodeSignatureFailure, "the request signature does not verify")
	}

	// Remember the nonce at least until the timestamp leaves the window:
	// a request stamped in the future stays acceptable longer than NonceTTL
	// after it is first seen.
	ttl := max(v.nonceTTL, time.UnixMilli(ts).Add(v.window).Sub(now)+time.Second)
	fresh, err := v.nonces.Use(ctx, appID, nonce, ttl)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "request replay protection is unavailable; try again")
	}
	if !fresh {
		return nil, fault.E(fault.Unauthenticated, fault.CodeNonceUsed, "the nonce was already used; send a fresh %s", apisign.HeaderNonce)
	}

	res := &Result{Credentials: cred, Body: r.Body, Encrypted: encrypted, SignMethod: method}
	if encrypted {
		if res.Body, err = openBody(cred, r.Body); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// The header names in net/http's canonical form. Reading the map directly
// with them spares http.Header.Get re-canonicalizing, and allocating, on
// every call; net/http canonicalizes the keys of every request it parses.
const (
	keyAppID      = "X-Citycode-Appid"
	keyTimestamp  = "X-Citycode-Timestamp"
	keyNonce      = "X-Citycode-Nonce"
	keySignature  = "X-Citycode-Signature"
	keySignMethod = "X-Citycode-Signmethod"
	keyEncrypt    = "X-Citycode-Encrypt"
)

func header(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseTimestamp accepts only the canonical decimal form, so the header
// text is exactly the TIMESTAMP that was signed.
func parseTimestamp(s string) (int64, error) {
	bad := fault.Invalidf("%s must be unix time in milliseconds, in decimal digits", apisign.HeaderTimestamp)
	if len(s) > 15 || len(s) > 1 && s[0] == '0' { // 15 digits reach the year 33658
		return 0, bad
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, bad
	}
	return ts, nil
}

func verifySignature(cred *Credentials, method string, sts []byte, sig string) bool {
	if method == apisign.SignMethodSM2 {
		der, err := base64.StdEncoding.DecodeString(sig)
		return err == nil && codec.SM2Verify(cred.SM2PublicKey, sts, der)
	}
	// An app without a secret cannot sign with HMAC: an empty key would make
	// the signature computable by anyone.
	return len(cred.Secret) > 0 && codec.VerifyHMACSM3Hex(cred.Secret, sts, sig)
}

func openBody(cred *Credentials, wire []byte) ([]byte, error) {
	if len(cred.DataKey) == 0 {
		return nil, fault.E(fault.Invalid, fault.CodeDecryptFailure, "the app has no data key for encrypted bodies")
	}
	if len(wire) == 0 {
		return nil, nil // a GET: the header only asks for an encrypted answer
	}
	aead, err := codec.NewAEAD(cred.DataKey)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, fault.CodeInternalError, "the app's data key is unusable")
	}
	sealed, err := base64.StdEncoding.AppendDecode(nil, wire)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, fault.CodeDecryptFailure, "the encrypted body is not base64")
	}
	plain, err := aead.Open(sealed, nil)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, fault.CodeDecryptFailure, "the encrypted body does not decrypt with the app's data key")
	}
	return plain, nil
}

// SealResponse encrypts an answer body for an app whose request was
// encrypted: standard base64 of nonce || ciphertext || tag under the app's
// data key, as in the request. The caller sends it with the header
// X-CityCode-Encrypt: SM4-GCM.
func SealResponse(cred *Credentials, plaintext []byte) ([]byte, error) {
	aead, err := codec.NewAEAD(cred.DataKey)
	if err != nil {
		return nil, fmt.Errorf("signature: seal response for app %q: %w", cred.AppID, err)
	}
	return base64.StdEncoding.AppendEncode(nil, aead.Seal(plaintext, nil)), nil
}
