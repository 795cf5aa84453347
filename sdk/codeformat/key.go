package codeformat

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// ErrKey is returned for public keys that do not parse as SM2 keys.
var ErrKey = errors.New("codeformat: not an SM2 public key")

// PublicKey is an SM2 verification key: a platform's, or a holder device's.
// It is immutable and safe for concurrent use.
type PublicKey struct {
	k *ecdsa.PublicKey
	// za is Z_A of GB/T 32918.2 for the default user id, a hash of the
	// curve and the key that every verification with the key would
	// otherwise compute again.
	za []byte
}

// NewPublicKey wraps an SM2 public key.
func NewPublicKey(pub *ecdsa.PublicKey) *PublicKey {
	za, _ := sm2.CalculateZA(pub, defaultUID) // fails only for a uid over 8 KiB
	return &PublicKey{k: pub, za: za}
}

// defaultUID is the user id of GB/T 35276 that signers use when none is
// agreed, and the one sm2.SignASN1 uses by default.
var defaultUID = []byte("1234567812345678")

// ParsePublicKey reads an SM2 public key in the forms keys are handed
// around in: PEM (PKIX "PUBLIC KEY"), hex or base64 of the PKIX DER, hex or
// base64 of the uncompressed point 04||X||Y (the form /api/keys publishes),
// or of the compressed point 02|03||X. Points off the curve are refused.
func ParsePublicKey(s string) (*PublicKey, error) {
	b, err := keyBytes(s)
	if err != nil {
		return nil, err
	}
	switch {
	case len(b) == 65 && b[0] == 4:
		k, err := sm2.NewPublicKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return NewPublicKey(k), nil
	case len(b) == 33 && (b[0] == 2 || b[0] == 3):
		return decompress(b)
	}
	k, err := smx509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, ErrKey
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok || pk.Curve != sm2.P256() {
		return nil, ErrKey
	}
	return NewPublicKey(pk), nil
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

// decompress reads a compressed point and checks it is on the curve.
func decompress(b []byte) (*PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(sm2.P256(), b)
	if x == nil {
		return nil, ErrKey
	}
	k, err := sm2.NewPublicKey(uncompressed(x, y))
	if err != nil {
		return nil, ErrKey
	}
	return NewPublicKey(k), nil
}

func uncompressed(x, y *big.Int) []byte {
	b := make([]byte, 65)
	b[0] = 4
	x.FillBytes(b[1:33])
	y.FillBytes(b[33:])
	return b
}

// Hex is the hex of the uncompressed point 04||X||Y.
func (k *PublicKey) Hex() string { return hex.EncodeToString(uncompressed(k.k.X, k.k.Y)) }

// compressed is the 33-byte compressed point.
func (k *PublicKey) compressed() []byte { return elliptic.MarshalCompressed(sm2.P256(), k.k.X, k.k.Y) }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool {
	return k != nil && o != nil && k.k.Equal(o.k)
}

// ecSig is an SM2 signature in ASN.1: codes carry the fixed-size r||s
// instead, eight bytes shorter and with exactly one encoding.
type ecSig struct{ R, S *big.Int }

// signRaw signs msg and answers r||s.
func signRaw(sign Signer, msg []byte) ([]byte, error) {
	der, err := sign(msg)
	if err != nil {
		return nil, err
	}
	var sig ecSig
	if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 ||
		sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, errors.New("codeformat: the signer returned a malformed SM2 signature")
	}
	out := make([]byte, SignatureSize)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// verifyRaw reports whether sig (r||s) is pub's SM2 signature of msg with
// the default user id.
func verifyRaw(pub *PublicKey, msg, sig []byte) bool {
	if pub == nil || len(sig) != SignatureSize {
		return false
	}
	der, err := asn1.Marshal(ecSig{R: new(big.Int).SetBytes(sig[:32]), S: new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		return false
	}
	h := sm3.New()
	h.Write(pub.za)
	h.Write(msg)
	return sm2.VerifyASN1(pub.k, h.Sum(nil), der)
}
