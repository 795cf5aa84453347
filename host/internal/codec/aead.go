package codec

import (
	"crypto/cipher"

	"github.com/emmansun/gmsm/sm4"
)

// Sizes of the SM4-GCM framing.
const (
	SM4KeySize   = 16
	GCMNonceSize = 12
	GCMTagSize   = 16
)

// AEAD is SM4-GCM under one key, framed as nonce(12) || ciphertext || tag
// with a fresh random nonce per message. Build it once per key: building
// costs about four seals. It is safe for concurrent use.
//
// Random 96-bit nonces are safe for up to 2^32 messages under one key; data
// keys and the master key are far below that.
type AEAD struct{ gcm cipher.AEAD }

// NewAEAD returns the SM4-GCM AEAD for a 16-byte key.
func NewAEAD(key []byte) (*AEAD, error) {
	if len(key) != SM4KeySize {
		return nil, ErrKeySize
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &AEAD{gcm: gcm}, nil
}

// Seal encrypts and authenticates plaintext and authenticates aad (which is
// not included in the output). The result is nonce || ciphertext || tag,
// len(plaintext)+28 bytes.
func (a *AEAD) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, GCMNonceSize, GCMNonceSize+len(plaintext)+GCMTagSize)
	copy(out, Random(GCMNonceSize))
	return a.gcm.Seal(out, out[:GCMNonceSize], plaintext, aad)
}

// Open reverses Seal given the same aad. It returns ErrMalformed when sealed
// is too short to hold a nonce and tag, and ErrOpen when authentication
// fails.
func (a *AEAD) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < GCMNonceSize+GCMTagSize {
		return nil, ErrMalformed
	}
	plain, err := a.gcm.Open(nil, sealed[:GCMNonceSize], sealed[GCMNonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
