package codec

import (
	"crypto/hmac"
	"encoding/hex"

	"github.com/emmansun/gmsm/sm3"
)

// SM3 returns the SM3 digest of data.
func SM3(data []byte) [32]byte { return sm3.Sum(data) }

// SM3Hex returns the lowercase hex SM3 digest of data.
func SM3Hex(data []byte) string {
	d := sm3.Sum(data)
	return hex.EncodeToString(d[:])
}

// HMACSM3 returns HMAC-SM3(key, data).
func HMACSM3(key, data []byte) []byte {
	m := hmac.New(sm3.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// VerifyHMACSM3Hex reports whether sigHex is the hex HMAC-SM3(key, msg).
// The comparison is constant-time; sigHex may be upper- or lower-case, and
// anything that is not 64 hex digits is simply false.
func VerifyHMACSM3Hex(key, msg []byte, sigHex string) bool {
	if len(sigHex) != 2*sm3.Size {
		return false
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return false
	}
	return hmac.Equal(HMACSM3(key, msg), sig)
}
