package codec

import (
	"crypto/rand"
	"encoding/base64"
)

// Random returns n bytes from the operating system's CSPRNG.
func Random(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error: it crashes the program rather
	// than hand out predictable bytes.
	_, _ = rand.Read(b)
	return b
}

// RandomToken returns nBytes random bytes as URL-safe base64 without
// padding: 16 bytes give 22 characters, 32 give 43. Use it for ids, app
// secrets and URL tokens.
func RandomToken(nBytes int) string {
	return base64.RawURLEncoding.EncodeToString(Random(nBytes))
}
