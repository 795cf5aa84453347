// Package holder makes holder-signed codes on the holder's own device, for
// weak networks (as transit ride codes do). The app registers the device's
// SM2 public key once (/api/registerHolderDevice) and keeps the certificate
// the platform answers; from then on the device makes every refreshed code
// itself, with no server reachable, and a scanner verifies platform key →
// certificate → code offline with sdk/verify. The layout is in
// sdk/codeformat (version 2).
//
//	priv, pub, _ := holder.GenerateDeviceKey()  // keep priv on the device
//	// register pub, keep the answer's holderCert
//	h, _ := holder.New(holderCert, priv)
//	code, _ := h.Code(time.Now())              // bytes for a QR code in byte mode
//
// A Holder is immutable and safe for concurrent use.
package holder

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Errors of New and Code.
var (
	ErrCertificate = errors.New("holder: not a holder certificate")
	ErrKey         = errors.New("holder: not an SM2 private key")
	ErrWrongKey    = errors.New("holder: the certificate is for another device key")
	ErrExpired     = errors.New("holder: the certificate has expired; register the device again")
)

// Holder makes codes from one certificate and its device key.
type Holder struct {
	cert   []byte
	parsed *codeformat.ParsedCertificate
	key    *sm2.PrivateKey
}

// GenerateDeviceKey makes a device key pair: the hex of the private
// scalar (keep it on the device, in its key store) and the hex of the
// uncompressed public point 04||X||Y (register it).
func GenerateDeviceKey() (privHex, pubHex string, err error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return hex.EncodeToString(k.D.FillBytes(make([]byte, 32))), codeformat.NewPublicKey(&k.PublicKey).Hex(), nil
}

// New reads the certificate (base64, as the platform answered it) and the
// device's private key (hex of the 32-byte scalar, or PEM / base64 / hex of
// PKCS#8 or SEC 1 DER), and checks that the certificate names this key.
func New(certText, devicePriv string) (*Holder, error) {
	cert, err := base64.StdEncoding.DecodeString(strings.TrimSpace(certText))
	if err != nil {
		return nil, ErrCertificate
	}
	parsed, err := codeformat.ParseCertificate(cert)
	if err != nil {
		return nil, ErrCertificate
	}
	key, err := parsePrivateKey(devicePriv)
	if err != nil {
		return nil, err
	}
	if !parsed.DeviceKey.Equal(codeformat.NewPublicKey(&key.PublicKey)) {
		return nil, ErrWrongKey
	}
	return &Holder{cert: cert, parsed: parsed, key: key}, nil
}

// Certificate is what the platform certified: rule, subject, validity.
func (h *Holder) Certificate() codeformat.Certificate { return h.parsed.Certificate }

// Code makes the code for now, valid for the certificate's code validity:
// raw bytes for a QR code in byte mode (do not transcode them to UTF-8).
// After the certificate expires it answers ErrExpired.
func (h *Holder) Code(now time.Time) (string, error) {
	if !now.Before(h.parsed.ExpiresAt()) {
		return "", ErrExpired
	}
	return codeformat.HolderCode(h.cert, now, func(msg []byte) ([]byte, error) {
		return sm2.SignASN1(rand.Reader, h.key, msg, sm2.DefaultSM2SignerOpts)
	})
}

// CodeBase64 is Code in standard base64, as the platform's JSON APIs
// (decode, scan upload) take holder codes.
func (h *Holder) CodeBase64(now time.Time) (string, error) {
	c, err := h.Code(now)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString([]byte(c)), nil
}

func parsePrivateKey(s string) (*sm2.PrivateKey, error) {
	s = strings.TrimSpace(s)
	var b []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, ErrKey
		}
		b = block.Bytes
	} else if h, err := hex.DecodeString(s); err == nil {
		b = h
	} else if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		b = d
	} else {
		return nil, ErrKey
	}
	if len(b) == 32 {
		k, err := sm2.NewPrivateKey(b)
		if err != nil {
			return nil, ErrKey
		}
		return k, nil
	}
	if k, err := smx509.ParsePKCS8PrivateKey(b); err == nil {
		if sk, ok := k.(*sm2.PrivateKey); ok {
			return sk, nil
		}
		return nil, ErrKey
	}
	k, err := smx509.ParseSM2PrivateKey(b)
	if err != nil {
		return nil, ErrKey
	}
	return k, nil
}
