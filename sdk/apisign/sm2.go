package apisign

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PrivateKey is an app's SM2 signing key. It is safe for concurrent use.
type PrivateKey struct{ k *sm2.PrivateKey }

// ParsePrivateKey reads an SM2 private key in the forms keys are handed
// around in: PEM ("PRIVATE KEY" PKCS#8 or "EC PRIVATE KEY" SEC 1), base64 or
// hex of that DER, or the hex of the raw 32-byte private scalar.
func ParsePrivateKey(s string) (*PrivateKey, error) {
	b, err := keyBytes(s)
	if err != nil {
		return nil, err
	}
	if len(b) == 32 {
		k, err := sm2.NewPrivateKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return &PrivateKey{k: k}, nil
	}
	if k, err := smx509.ParsePKCS8PrivateKey(b); err == nil {
		if sk, ok := k.(*sm2.PrivateKey); ok {
			return &PrivateKey{k: sk}, nil
		}
		return nil, ErrKey
	}
	k, err := smx509.ParseSM2PrivateKey(b)
	if err != nil {
		return nil, ErrKey
	}
	return &PrivateKey{k: k}, nil
}

func keyBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		if block, _ := pem.Decode([]byte(s)); block != nil {
			return block.Bytes, nil
		}
		return nil, ErrKey
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err == nil && len(b) > 0 {
		return b, nil
	}
	return nil, ErrKey
}

// SignSM2 returns the standard base64 of the ASN.1 DER SM2 signature of sts
// (SM3 over ZA with the default user id 1234567812345678, then sts).
// Signatures are randomized: signing twice gives two different, equally
// valid values.
func SignSM2(priv *PrivateKey, sts []byte) (string, error) {
	sig, err := sm2.SignASN1(rand.Reader, priv.k, sts, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
