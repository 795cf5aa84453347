package codec

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// SM2PrivateKey is an SM2 signing key. It is safe for concurrent use.
type SM2PrivateKey struct{ k *sm2.PrivateKey }

// SM2PublicKey is an SM2 verification key. It is safe for concurrent use.
type SM2PublicKey struct{ k *ecdsa.PublicKey }

// Public returns the public half of k.
func (k *SM2PrivateKey) Public() *SM2PublicKey { return &SM2PublicKey{k: &k.k.PublicKey} }

// PEM returns the public key as a PKIX "PUBLIC KEY" PEM block, the form the
// host stores and publishes.
func (k *SM2PublicKey) PEM() string {
	der, err := smx509.MarshalPKIXPublicKey(k.k)
	if err != nil {
		// Unreachable: k was parsed or generated as a valid SM2 point.
		panic("codec: marshal SM2 public key: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Hex returns the public key as the hex of its uncompressed point 04||X||Y.
func (k *SM2PublicKey) Hex() string {
	return hex.EncodeToString(append([]byte{4}, append(k.k.X.FillBytes(make([]byte, 32)), k.k.Y.FillBytes(make([]byte, 32))...)...))
}

// Equal reports whether k and o are the same key.
func (k *SM2PublicKey) Equal(o *SM2PublicKey) bool { return o != nil && k.k.Equal(o.k) }

// GenerateSM2Key returns a new key pair as PEM: the private key as PKCS#8
// "PRIVATE KEY", the public key as PKIX "PUBLIC KEY".
func GenerateSM2Key() (privPEM, pubPEM string, err error) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	k := &SM2PrivateKey{k: priv}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), k.Public().PEM(), nil
}

// ParseSM2PrivateKey accepts the forms keys are pasted in: PEM ("PRIVATE
// KEY" PKCS#8 or "EC PRIVATE KEY" SEC 1), base64 or hex of that DER, or the
// hex of the raw 32-byte scalar. A key on another curve is refused with
// ErrKey.
func ParseSM2PrivateKey(s string) (*SM2PrivateKey, error) {
	b, ok := keyBytes(s)
	if !ok {
		return nil, ErrKey
	}
	if len(b) == 32 {
		k, err := sm2.NewPrivateKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return &SM2PrivateKey{k: k}, nil
	}
	if k, err := smx509.ParsePKCS8PrivateKey(b); err == nil {
		if sk, ok := k.(*sm2.PrivateKey); ok {
			return &SM2PrivateKey{k: sk}, nil
		}
		return nil, ErrKey
	}
	k, err := smx509.ParseSM2PrivateKey(b)
	if err != nil {
		return nil, ErrKey
	}
	return &SM2PrivateKey{k: k}, nil
}

// ParseSM2PublicKey accepts PEM (PKIX "PUBLIC KEY"), base64 or hex of the
// PKIX DER, and the hex (or base64) of the uncompressed point 04||X||Y, with
// or without the leading 04. A point off the SM2 curve or a key of another
// algorithm is refused with ErrKey.
func ParseSM2PublicKey(s string) (*SM2PublicKey, error) {
	b, ok := keyBytes(s)
	if !ok {
		return nil, ErrKey
	}
	if len(b) == 64 {
		b = append([]byte{4}, b...)
	}
	if len(b) == 65 && b[0] == 4 {
		k, err := sm2.NewPublicKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return &SM2PublicKey{k: k}, nil
	}
	k, err := smx509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, ErrKey
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok || pk.Curve != sm2.P256() {
		return nil, ErrKey
	}
	return &SM2PublicKey{k: pk}, nil
}

// keyBytes turns pasted key text into bytes: a PEM block's contents, else
// hex, else base64.
func keyBytes(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, false
		}
		return block.Bytes, true
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		return b, true
	}
	s = strings.Join(strings.Fields(s), "") // base64 pasted across lines
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// SM2Sign signs msg with the standard SM2 scheme: SM3 over ZA (from the
// default user id 1234567812345678 and the public key) and msg. The result
// is an ASN.1 DER signature; signatures are randomized.
func SM2Sign(priv *SM2PrivateKey, msg []byte) ([]byte, error) {
	return sm2.SignASN1(rand.Reader, priv.k, msg, sm2.DefaultSM2SignerOpts)
}

// SM2Verify reports whether sig is a valid ASN.1 DER SM2Sign signature of
// msg under pub. A nil key or malformed signature is simply false.
func SM2Verify(pub *SM2PublicKey, msg, sig []byte) bool {
	return pub != nil && sm2.VerifyASN1WithSM2(pub.k, nil, msg, sig)
}
