// Package verify checks the platform's dynamic codes offline, as a turnstile
// or a hospital scanner does without network: load the key set from the
// platform's /api/keys once a day, then verify every scanned code locally.
// Online decoding adds what an offline scanner cannot know: revocation,
// blacklists and the holder's identity.
//
//	ks, err := verify.NewKeySet(body) // GET {platform}/api/keys
//	res, err := ks.Verify(scanned, time.Now())
//	if err == nil && !res.Expired { open the gate }
package verify

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Errors of Verify.
var (
	ErrMalformed    = errors.New("verify: not a code of this platform's format")
	ErrUnknownKey   = errors.New("verify: the code's key is not in the key set")
	ErrBadSignature = errors.New("verify: the signature does not verify (altered or forged code)")
	ErrKeyExpired   = errors.New("verify: the code's key no longer verifies codes")
)

// KeySet is the platform's published verification keys.
type KeySet struct {
	keys map[uint32]key
}

type key struct {
	platform    string
	pub         *codeformat.PublicKey
	verifyUntil time.Time
}

type wireKey struct {
	KeyID       uint32     `json:"kid"`
	PlatformID  string     `json:"platformId"`
	Algorithm   string     `json:"alg"`
	PublicKey   string     `json:"publicKey"`
	VerifyUntil *time.Time `json:"verifyUntil"`
}

// NewKeySet reads the answer of /api/keys: the whole envelope or its Data.
func NewKeySet(body []byte) (*KeySet, error) {
	var env struct {
		Response struct {
			Data struct {
				Keys []wireKey `json:"keys"`
			}
		}
		Keys []wireKey `json:"keys"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	keys := env.Keys
	if len(keys) == 0 {
		keys = env.Response.Data.Keys
	}
	if len(keys) == 0 {
		return nil, errors.New("verify: the key set holds no keys")
	}
	ks := &KeySet{keys: map[uint32]key{}}
	for _, k := range keys {
		if k.Algorithm != "SM2" {
			continue
		}
		pub, err := codeformat.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, err
		}
		e := key{platform: k.PlatformID, pub: pub}
		if k.VerifyUntil != nil {
			e.verifyUntil = *k.VerifyUntil
		}
		ks.keys[k.KeyID] = e
	}
	return ks, nil
}

// Result is a verified code.
type Result struct {
	codeformat.Code
	Expired bool
	// Holder is true for holder-signed codes (made on the device); then
	// CertificateExpires is when the device's certificate ends.
	Holder             bool
	CertificateExpires time.Time
}

// Verify checks a scanned code's format and signature and reports whether
// it has expired at now. An expired code is not an error: Result.Expired
// tells the scanner to ask the holder to refresh it.
func (ks *KeySet) Verify(text string, now time.Time) (*Result, error) {
	if codeformat.IsHolder(text) {
		return ks.verifyHolder(text, now)
	}
	p, err := codeformat.Parse(text)
	if err != nil {
		return nil, ErrMalformed
	}
	pub, err := ks.key(p.KeyID, p.PlatformID, now)
	if err != nil {
		return nil, err
	}
	if !p.Verify(pub) {
		return nil, ErrBadSignature
	}
	return &Result{Code: p.Code, Expired: p.Expired(now)}, nil
}

func (ks *KeySet) verifyHolder(text string, now time.Time) (*Result, error) {
	p, err := codeformat.ParseHolder(text)
	if err != nil {
		return nil, ErrMalformed
	}
	pub, err := ks.key(p.KeyID, p.PlatformID, now)
	if err != nil {
		return nil, err
	}
	if !p.Verify(pub) {
		return nil, ErrBadSignature
	}
	return &Result{Code: p.Code, Expired: p.Expired(now), Holder: true, CertificateExpires: p.Expires}, nil
}

// key answers the platform key kid if it belongs to platform and still
// verifies at now.
func (ks *KeySet) key(kid uint32, platform string, now time.Time) (*codeformat.PublicKey, error) {
	k, ok := ks.keys[kid]
	if !ok || k.platform != platform {
		return nil, ErrUnknownKey
	}
	if !k.verifyUntil.IsZero() && !now.Before(k.verifyUntil) {
		return nil, ErrKeyExpired
	}
	return k.pub, nil
}
