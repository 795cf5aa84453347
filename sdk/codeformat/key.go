package codeformat

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// ErrKey is returned for public keys that do not parse as SM2 keys.
var ErrKey = errors.New("codeformat: not an SM2 public key")

// PublicKey is a platform's SM2 verification key.
type PublicKey struct{ k *ecdsa.PublicKey }

// ParsePublicKey reads an SM2 public key: PEM (PKIX), base64 or hex of the
// PKIX DER, or hex of the uncompressed point 04||X||Y.
func ParsePublicKey(s string) (*PublicKey, error) {
	s = strings.TrimSpace(s)
	var b []byte
	switch {
	case strings.HasPrefix(s, "-----BEGIN"):
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, ErrKey
		}
		b = block.Bytes
	default:
		var err error
		if b, err = hex.DecodeString(s); err != nil {
			if b, err = base64.StdEncoding.DecodeString(s); err != nil {
				return nil, ErrKey
			}
		}
	}
	if len(b) == 65 && b[0] == 4 {
		k, err := sm2.NewPublicKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return &PublicKey{k: k}, nil
	}
	k, err := smx509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, ErrKey
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, ErrKey
	}
	return &PublicKey{k: pk}, nil
}

// Verify reports whether p carries a valid signature of pub.
func (p *Parsed) Verify(pub *PublicKey) bool {
	if pub == nil || p == nil {
		return false
	}
	der, err := RawToDER(p.Signature)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub.k, nil, p.Signed, der)
}

// Equal reports whether k is the public key pub (a crypto.PublicKey).
func (k *PublicKey) Equal(pub any) bool {
	if k == nil {
		return false
	}
	return k.k.Equal(pub)
}

// NewPublicKey wraps an SM2 public key.
func NewPublicKey(pub *ecdsa.PublicKey) *PublicKey { return &PublicKey{k: pub} }
