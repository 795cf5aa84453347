// Package holder makes holder-signed codes on the holder's device, for weak
// networks (as transit ride codes do): the app registers the device's SM2
// public key once (/api/registerHolderDevice) and keeps the certificate the
// platform answers; from then on every refreshed code is made here, with no
// server reachable. Scanners verify it offline with sdk/verify.
//
//	priv, pub, _ := holder.GenerateDeviceKey()      // keep priv on the device
//	// register pub → holderCert (base64)
//	h, _ := holder.New(holderCert, priv)
//	code, _ := h.Code(time.Now(), 60*time.Second)   // bytes for a QR code in byte mode
package holder

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Holder makes codes from one certificate and device key.
type Holder struct {
	cert []byte
	key  *sm2.PrivateKey
}

// GenerateDeviceKey makes a device key pair: the private scalar and the
// uncompressed public point, both hex.
func GenerateDeviceKey() (privHex, pubHex string, err error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	d := make([]byte, 32)
	k.D.FillBytes(d)
	p := make([]byte, 65)
	p[0] = 4
	k.PublicKey.X.FillBytes(p[1:33])
	k.PublicKey.Y.FillBytes(p[33:])
	return hex.EncodeToString(d), hex.EncodeToString(p), nil
}

// New checks the certificate (base64, as the platform answered it) and the
// device's private key (hex of the 32-byte scalar).
func New(certBase64, privHex string) (*Holder, error) {
	cert, err := base64.StdEncoding.DecodeString(strings.TrimSpace(certBase64))
	if err != nil {
		return nil, errors.New("holder: certificate is not base64")
	}
	d, err := hex.DecodeString(strings.TrimSpace(privHex))
	if err != nil {
		return nil, errors.New("holder: private key is not hex")
	}
	key, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, err
	}
	h := &Holder{cert: cert, key: key}
	// Make one code to check the certificate names this device's key.
	probe, err := h.Code(time.Now(), time.Second)
	if err != nil {
		return nil, err
	}
	p, err := codeformat.ParseHolder(probe)
	if err != nil {
		return nil, err
	}
	if !p.DeviceKey.Equal(key.Public()) {
		return nil, errors.New("holder: the certificate is for another device key")
	}
	return h, nil
}

// Code makes a code valid for validity from at: raw bytes for a QR code in
// byte mode. APIs that carry codes in JSON take it base64 (CodeBase64).
func (h *Holder) Code(at time.Time, validity time.Duration) (string, error) {
	return codeformat.HolderCode(h.cert, at, validity, func(msg []byte) ([]byte, error) {
		return sm2.SignASN1(rand.Reader, h.key, msg, sm2.DefaultSM2SignerOpts)
	})
}

// CodeBase64 is Code in base64, the codeContentType byte_base64 of the API.
func (h *Holder) CodeBase64(at time.Time, validity time.Duration) (string, error) {
	c, err := h.Code(at, validity)
	return base64.StdEncoding.EncodeToString([]byte(c)), err
}
