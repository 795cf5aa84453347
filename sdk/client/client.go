// Package client calls the City Code Platform's open API as an app: it
// signs every request as sdk/apisign defines (HMAC-SM3 by default, SM2 on
// request), optionally encrypts bodies with SM4-GCM both ways, and decodes
// the platform's answer envelope.
//
// A Client is safe for concurrent use. It imports only the standard library
// and sdk/apisign.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/apisign"
)

// ErrNotEncrypted: encryption is on but a successful answer came back in
// the clear, which the platform never does; it is refused rather than
// trusted.
var ErrNotEncrypted = errors.New("client: the answer is not encrypted")

// Client calls the open API for one app.
type Client struct {
	baseURL string
	appID   string
	secret  []byte
	sm2     *apisign.PrivateKey
	dataKey []byte
	http    *http.Client
	now     func() time.Time
	nonce   func() string
	err     error // a bad option, returned by every call
}

// Option configures a Client.
type Option func(*Client)

// New returns a client of the platform at baseURL (e.g.
// "https://citycode.example", or with a path prefix such as
// "https://gw.example/citycode") for the app appID with its secret. Options
// that fail (a key that does not parse) make every call return that error.
func New(baseURL, appID string, secret []byte, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		appID:   appID,
		secret:  bytes.Clone(secret),
		http:    http.DefaultClient,
		now:     time.Now,
		nonce:   randomNonce,
	}
	if u, err := url.Parse(c.baseURL); err != nil || u.Scheme == "" || u.Host == "" {
		c.err = fmt.Errorf("client: base URL %q is not an absolute URL", baseURL)
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithSM2 signs with the app's SM2 private key (PEM, base64 or hex DER, or
// the hex scalar) instead of HMAC with the secret. The platform verifies with
// the public key registered for the app.
func WithSM2(privateKey string) Option {
	return func(c *Client) {
		k, err := apisign.ParsePrivateKey(privateKey)
		if err != nil {
			c.err = errors.Join(c.err, fmt.Errorf("client: SM2 key: %w", err))
			return
		}
		c.sm2 = k
	}
}

// WithEncryption encrypts request bodies with the app's 16-byte SM4 data key
// and decrypts the answers, which the platform then encrypts too.
func WithEncryption(dataKey []byte) Option {
	return func(c *Client) {
		if len(dataKey) != 16 {
			c.err = errors.Join(c.err, fmt.Errorf("client: data key: %w", apisign.ErrKeySize))
			return
		}
		c.dataKey = bytes.Clone(dataKey)
	}
}

// WithHTTPClient sends requests with hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithClock takes request timestamps from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithNonce takes request nonces from next instead of 16 random bytes.
// Nonces must satisfy apisign.ValidNonce and never repeat within 600 s.
func WithNonce(next func() string) Option { return func(c *Client) { c.nonce = next } }

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails; crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// APIError is an answer of the platform that carries an error.
type APIError struct {
	HTTPStatus int
	Code       string // stable dotted code, e.g. "AuthFailure.SignatureFailure"
	Message    string
	RequestID  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("citycode: %s: %s (HTTP %d, request %s)", e.Code, e.Message, e.HTTPStatus, e.RequestID)
}

// Call POSTs in as JSON to path (e.g. "/openapi/v1/codes/verify") and
// decodes the Data of the answer envelope into out (skipped when out is
// nil). A nil in sends "{}". An answer carrying an error is returned as an
// *APIError; transport and decoding failures as other errors.
func (c *Client) Call(ctx context.Context, path string, in, out any) error {
	body := []byte("{}")
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
	}
	resp, answer, err := c.Do(ctx, http.MethodPost, path, "", body)
	if err != nil {
		return err
	}
	return c.decode(resp, answer, out)
}

// Get sends a signed GET of path with the query (e.g. a paging cursor)
// and decodes the answer as Call does.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	resp, answer, err := c.Do(ctx, http.MethodGet, path, query.Encode(), nil)
	if err != nil {
		return err
	}
	return c.decode(resp, answer, out)
}

// decode unwraps the answer envelope into out, or into an *APIError.
func (c *Client) decode(resp *http.Response, answer []byte, out any) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && c.dataKey != nil && resp.Header.Get(apisign.HeaderEncrypt) != apisign.EncryptSM4GCM {
		return ErrNotEncrypted
	}
	var env struct {
		Response struct {
			Data      json.RawMessage
			Error     *struct{ Code, Message string }
			RequestID string `json:"RequestId"`
		}
	}
	if err := json.Unmarshal(answer, &env); err != nil {
		if !ok {
			return &APIError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode) + ": the answer is not an API envelope"}
		}
		return fmt.Errorf("client: decode answer: %w", err)
	}
	r := env.Response
	if r.Error != nil {
		return &APIError{HTTPStatus: resp.StatusCode, Code: r.Error.Code, Message: r.Error.Message, RequestID: r.RequestID}
	}
	if !ok {
		return &APIError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode), RequestID: r.RequestID}
	}
	if out != nil && len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return fmt.Errorf("client: decode answer data: %w", err)
		}
	}
	return nil
}

// Do sends one signed request and returns the response with its body read
// (and closed), decrypted when the response header X-CityCode-Encrypt says
// SM4-GCM. path is appended to the base URL as is, so percent escapes in it
// are sent and signed unchanged; rawQuery is the query without "?". With
// encryption on, a non-empty body is encrypted and the header is always
// sent. The signature covers exactly the bytes sent.
func (c *Client) Do(ctx context.Context, method, path, rawQuery string, body []byte) (*http.Response, []byte, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	target := c.baseURL + path
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	wire, contentType := body, "application/json"
	if c.dataKey != nil && len(body) > 0 {
		var err error
		if wire, err = apisign.EncryptBody(c.dataKey, body); err != nil {
			return nil, nil, fmt.Errorf("client: encrypt body: %w", err)
		}
		contentType = "text/plain; charset=utf-8"
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(wire))
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	ts, nonce := c.now().UnixMilli(), c.nonce()
	// Sign what the transport will send: the escaped path and raw query of
	// the parsed URL.
	sts := apisign.StringToSign(req.Method, req.URL.EscapedPath(), req.URL.RawQuery, ts, nonce, wire)
	h := req.Header
	if len(wire) > 0 {
		h.Set("Content-Type", contentType)
	}
	h.Set("Accept", "application/json")
	h.Set(apisign.HeaderAppID, c.appID)
	h.Set(apisign.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(apisign.HeaderNonce, nonce)
	if c.sm2 != nil {
		sig, err := apisign.SignSM2(c.sm2, sts)
		if err != nil {
			return nil, nil, fmt.Errorf("client: SM2 sign: %w", err)
		}
		h.Set(apisign.HeaderSignMethod, apisign.SignMethodSM2)
		h.Set(apisign.HeaderSignature, sig)
	} else {
		h.Set(apisign.HeaderSignature, apisign.SignHMAC(c.secret, sts))
	}
	if c.dataKey != nil {
		h.Set(apisign.HeaderEncrypt, apisign.EncryptSM4GCM)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, fmt.Errorf("client: read answer: %w", err)
	}
	if resp.Header.Get(apisign.HeaderEncrypt) == apisign.EncryptSM4GCM {
		if c.dataKey == nil {
			return resp, answer, errors.New("client: the answer is encrypted but no data key is configured")
		}
		if answer, err = apisign.DecryptBody(c.dataKey, answer); err != nil {
			return resp, nil, fmt.Errorf("client: decrypt answer: %w", err)
		}
	}
	return resp, answer, nil
}
