package codec

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// sealPrefix versions the text form of sealed secrets so the scheme can
// change (new KDF, new cipher) while old rows still open.
const sealPrefix = "v1:"

// Sealer protects stored secrets — app secrets, SM4 data keys, personal data
// — under the host's master key. It derives two independent keys from the
// master key: an SM4-GCM key for sealing and an HMAC-SM3 key for blind
// indexes, so neither use can be turned against the other. It is safe for
// concurrent use.
type Sealer struct {
	aead     *AEAD
	indexKey []byte
	subject  cipher.Block // hides subject ids in codes; see SealSubject
}

// NewSealer returns the Sealer for a 16-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != SM4KeySize {
		return nil, ErrKeySize
	}
	aead, err := NewAEAD(HMACSM3(masterKey, []byte("citycode/seal/v1"))[:SM4KeySize])
	if err != nil {
		return nil, err
	}
	subject, err := sm4.NewCipher(HMACSM3(masterKey, []byte("citycode/subject/v1"))[:SM4KeySize])
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, indexKey: HMACSM3(masterKey, []byte("citycode/blind-index/v1")), subject: subject}, nil
}

// ParseMasterKey decodes a 16-byte master key written as 32 hex digits or as
// base64 (standard or URL alphabet, padded or not), as it appears in
// configuration. Surrounding white space is ignored.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*SM4KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != SM4KeySize {
				return nil, ErrKeySize
			}
			return k, nil
		}
	}
	return nil, ErrMalformed
}

// Seal encrypts plain for storage and returns its text form "v1:<base64>".
// purpose names what the value is (e.g. "app.secret", "person.mobile") and is
// authenticated as associated data: a value sealed for one purpose does not
// open for another, so a row's ciphertext cannot be copied into a column of
// a different meaning. Sealing the same value twice gives different texts.
func (s *Sealer) Seal(plain []byte, purpose string) (string, error) {
	if purpose == "" {
		return "", ErrPurpose
	}
	return sealPrefix + base64.StdEncoding.EncodeToString(s.aead.Seal(plain, []byte(purpose))), nil
}

// Open returns the plaintext of a Seal text for the same purpose. It returns
// ErrMalformed for text that is not a sealed value of a known version and
// ErrOpen when authentication fails (tampered, other master key, other
// purpose).
func (s *Sealer) Open(text, purpose string) ([]byte, error) {
	rest, ok := strings.CutPrefix(text, sealPrefix)
	if !ok {
		return nil, ErrMalformed
	}
	sealed, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, ErrMalformed
	}
	return s.aead.Open(sealed, []byte(purpose))
}

// BlindIndex returns the lowercase hex HMAC-SM3 of value under a key derived
// from the master key, for exact-match look-ups of sealed personal data
// without decrypting every row. Equal (value, purpose) pairs give equal
// indexes; different purposes give unrelated ones, so an index of a mobile
// number says nothing about the same digits as another field. Callers
// normalize value first (trim, upper-case the check letter of an ID number)
// so that look-ups match.
func (s *Sealer) BlindIndex(value, purpose string) string {
	msg := make([]byte, 0, len(purpose)+1+len(value))
	msg = append(append(append(msg, purpose...), 0), value...)
	return hex.EncodeToString(HMACSM3(s.indexKey, msg))
}
