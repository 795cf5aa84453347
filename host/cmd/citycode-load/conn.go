package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/apisign"
)

// conn is one worker's keep-alive connection. It writes each signed
// request with one system call and reads the answer on the worker's own
// goroutine: net/http's client adds two goroutines per connection and
// channel hand-offs between them, CPU the load generator takes from the
// host it measures on a shared machine. What goes on the wire is what
// sdk/client sends: the same headers, HMAC-SM3 over apisign.StringToSign,
// a fresh nonce every request.
type conn struct {
	target *target
	nonce  *mrand.ChaCha8 // seeded from crypto/rand: nonces never repeat
	signer *apisign.HMACSigner
	c      net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	sts    []byte
	sig    []byte
	head   []byte
	body   []byte
}

// payload is a request body and the hex SM3 digest its signature covers.
type payload struct {
	body   []byte
	digest string
}

func newPayload(body []byte) payload {
	return payload{body: body, digest: apisign.BodyDigest(body)}
}

// target is what every worker sends to.
type target struct {
	addr, host string
	tls        *tls.Config // nil for http
	app        string
	secret     []byte
	path       string
}

func newTarget(base, app string, secret []byte, path string) (*target, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: want http://host:port or https://host:port", base)
	}
	t := &target{addr: u.Host, host: u.Host, app: app, secret: secret, path: strings.TrimSuffix(u.EscapedPath(), "/") + path}
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{ServerName: u.Hostname()}
	}
	return t, nil
}

func newConn(t *target) *conn {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	return &conn{target: t, nonce: mrand.NewChaCha8(seed), signer: apisign.NewHMACSigner(t.secret)}
}

func (c *conn) dial() error {
	nc, err := net.DialTimeout("tcp", c.target.addr, 5*time.Second)
	if err != nil {
		return err
	}
	if c.target.tls != nil {
		tc := tls.Client(nc, c.target.tls)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.c, c.r, c.w = nc, bufio.NewReaderSize(nc, 16<<10), bufio.NewWriterSize(nc, 8<<10)
	return nil
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends one signed POST of body and answers the status and the answer
// body (valid until the next call). A failed connection is closed and
// dialled again by the next call.
func (c *conn) do(p payload, deadline time.Time) (int, []byte, error) {
	if c.c == nil {
		if err := c.dial(); err != nil {
			return 0, nil, err
		}
	}
	status, answer, keep, err := c.roundTrip(p, deadline)
	if err != nil || !keep {
		c.close()
	}
	return status, answer, err
}

// sign answers the hex HMAC-SM3 signature of a POST of p at ts with
// nonce: apisign.SignHMAC over apisign.StringToSign, with the body's digest
// computed once per payload and the keyed HMAC state reused.
func (c *conn) sign(p payload, ts int64, nonce []byte) []byte {
	c.sts = apisign.AppendStringToSign(c.sts[:0], "POST", c.target.path, "", ts, string(nonce), p.digest)
	c.sig = c.signer.AppendSign(c.sig[:0], c.sts)
	return c.sig
}

func (c *conn) roundTrip(p payload, deadline time.Time) (int, []byte, bool, error) {
	t := c.target
	body := p.body
	var raw [16]byte
	_, _ = c.nonce.Read(raw[:])
	var nonce [22]byte
	base64.RawURLEncoding.Encode(nonce[:], raw[:])
	ts := time.Now().UnixMilli()
	sig := c.sign(p, ts, nonce[:])

	h := c.head[:0]
	h = append(h, "POST "...)
	h = append(h, t.path...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, t.host...)
	h = append(h, "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"...)
	h = append(append(append(h, apisign.HeaderAppID...), ": "...), t.app...)
	h = append(append(append(h, "\r\n"...), apisign.HeaderTimestamp...), ": "...)
	h = strconv.AppendInt(h, ts, 10)
	h = append(append(append(append(h, "\r\n"...), apisign.HeaderNonce...), ": "...), nonce[:]...)
	h = append(append(append(append(h, "\r\n"...), apisign.HeaderSignature...), ": "...), sig...)
	h = append(h, "\r\nContent-Length: "...)
	h = strconv.AppendInt(h, int64(len(body)), 10)
	h = append(h, "\r\n\r\n"...)
	c.head = h

	_ = c.c.SetDeadline(deadline)
	c.w.Write(h)
	c.w.Write(body)
	if err := c.w.Flush(); err != nil {
		return 0, nil, false, err
	}
	return c.readResponse()
}

var errResponse = errors.New("malformed HTTP response")

// readResponse reads an HTTP/1.1 answer: status line, headers, and a body
// of Content-Length bytes or chunked.
func (c *conn) readResponse() (status int, body []byte, keep bool, err error) {
	line, err := c.line()
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, errResponse
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, errResponse
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		line, err := c.line()
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			return 0, nil, false, errResponse
		}
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, errResponse
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		for {
			line, err := c.line()
			if err != nil {
				return 0, nil, false, err
			}
			if i := bytes.IndexByte(line, ';'); i >= 0 {
				line = line[:i]
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 32)
			if err != nil || n < 0 {
				return 0, nil, false, errResponse
			}
			if n == 0 {
				for { // trailers, then the blank line
					if line, err = c.line(); err != nil {
						return 0, nil, false, err
					}
					if len(line) == 0 {
						return status, c.body, keep, nil
					}
				}
			}
			if err := c.read(int(n)); err != nil {
				return 0, nil, false, err
			}
			if line, err = c.line(); err != nil || len(line) != 0 {
				return 0, nil, false, errResponse
			}
		}
	case length >= 0:
		err = c.read(length)
	default: // read to the end of the connection
		var b []byte
		b, err = io.ReadAll(c.r)
		c.body, keep = append(c.body, b...), false
	}
	return status, c.body, keep, err
}

// line reads one header line without its CRLF.
func (c *conn) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (c *conn) read(n int) error {
	c.body = append(c.body, make([]byte, n)...)
	_, err := io.ReadFull(c.r, c.body[len(c.body)-n:])
	return err
}
