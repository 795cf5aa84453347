package apisign

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// Header names of the scheme.
const (
	HeaderAppID      = "X-CityCode-AppId"
	HeaderTimestamp  = "X-CityCode-Timestamp"
	HeaderNonce      = "X-CityCode-Nonce"
	HeaderSignature  = "X-CityCode-Signature"
	HeaderSignMethod = "X-CityCode-SignMethod"
	HeaderEncrypt    = "X-CityCode-Encrypt"
)

// Header values.
const (
	SignMethodHMAC = "HMAC-SM3" // the default when X-CityCode-SignMethod is absent
	SignMethodSM2  = "SM2"
	EncryptSM4GCM  = "SM4-GCM"
)

// Errors of the package.
var (
	// ErrKeySize: a data key is not 16 bytes.
	ErrKeySize = errors.New("apisign: SM4 data key must be 16 bytes")
	// ErrDecrypt: an encrypted body is not valid base64 of a sealed message
	// under this key (tampered, truncated or sealed under another key).
	ErrDecrypt = errors.New("apisign: body does not decrypt")
	// ErrKey: the text is not an SM2 private key in any accepted form.
	ErrKey = errors.New("apisign: not an SM2 private key")
)

// StringToSign returns the bytes an app signs:
//
//	METHOD "\n" PATH ["?" RAWQUERY] "\n" TIMESTAMP "\n" NONCE "\n" hex(SM3(body))
//
// method is upper-cased; "?" and rawQuery are added only when rawQuery is
// not empty; body is what goes on the wire (the base64 text when encrypted).
func StringToSign(method, path, rawQuery string, timestampMs int64, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(method)+len(path)+len(rawQuery)+len(nonce)+90)
	return AppendStringToSign(b, method, path, rawQuery, timestampMs, nonce, BodyDigest(body))
}

// BodyDigest is hex(SM3(body)), the last line of the string to sign. A
// client sending one body many times computes it once.
func BodyDigest(body []byte) string {
	d := sm3.Sum(body)
	return hex.EncodeToString(d[:])
}

// AppendStringToSign appends to dst the string to sign of StringToSign,
// given the body's BodyDigest, for clients that sign many requests
// without allocating.
func AppendStringToSign(dst []byte, method, path, rawQuery string, timestampMs int64, nonce, bodyDigest string) []byte {
	b := dst
	b = append(b, strings.ToUpper(method)...)
	b = append(b, '\n')
	b = append(b, path...)
	if rawQuery != "" {
		b = append(b, '?')
		b = append(b, rawQuery...)
	}
	b = append(b, '\n')
	b = strconv.AppendInt(b, timestampMs, 10)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	return append(b, bodyDigest...)
}

// HMACSigner signs with one app secret, keeping the keyed HMAC-SM3 state
// between signatures: for a client that signs every request of a
// connection. It is not safe for concurrent use.
type HMACSigner struct{ mac hash.Hash }

// NewHMACSigner returns a signer for the app secret.
func NewHMACSigner(secret []byte) *HMACSigner { return &HMACSigner{mac: hmac.New(sm3.New, secret)} }

// AppendSign appends SignHMAC(secret, sts) to dst.
func (s *HMACSigner) AppendSign(dst, sts []byte) []byte {
	s.mac.Reset()
	s.mac.Write(sts)
	var sum [sm3.Size]byte
	return hex.AppendEncode(dst, s.mac.Sum(sum[:0]))
}

// SignHMAC returns the lower-case hex HMAC-SM3 of sts under the app secret.
func SignHMAC(secret, sts []byte) string {
	m := hmac.New(sm3.New, secret)
	m.Write(sts)
	return hex.EncodeToString(m.Sum(nil))
}

// ValidNonce reports whether s is a well-formed nonce: 16 to 64 characters
// of A–Z, a–z, 0–9, '_' and '-'.
func ValidNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
