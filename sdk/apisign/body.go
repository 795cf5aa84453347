package apisign

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"

	"github.com/emmansun/gmsm/sm4"
)

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// EncryptBody returns the wire form of an encrypted body: standard base64
// (padded) of nonce(12) || ciphertext || tag(16), SM4-GCM under the 16-byte
// data key with a random nonce and no associated data. Sign the returned
// bytes, not the plaintext.
func EncryptBody(key, plaintext []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	sealed := make([]byte, gcmNonceSize, gcmNonceSize+len(plaintext)+gcmTagSize)
	_, _ = rand.Read(sealed) // never fails; crashes the program instead
	sealed = gcm.Seal(sealed, sealed[:gcmNonceSize], plaintext, nil)
	return base64.StdEncoding.AppendEncode(nil, sealed), nil
}

// DecryptBody reverses EncryptBody. It returns ErrKeySize for a bad key and
// ErrDecrypt for anything that is not a body sealed under key.
func DecryptBody(key, wire []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	sealed, err := base64.StdEncoding.AppendDecode(nil, wire)
	if err != nil || len(sealed) < gcmNonceSize+gcmTagSize {
		return nil, ErrDecrypt
	}
	plain, err := gcm.Open(nil, sealed[:gcmNonceSize], sealed[gcmNonceSize:], nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, ErrKeySize
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
