// Package verify checks the platform's dynamic codes offline, as a
// turnstile or a hospital scanner does without a network: load the key set
// from the platform's GET /api/keys once a day, then verify every scanned
// code locally, platform-signed and holder-signed alike. Online decoding
// adds what an offline scanner cannot know: revocation, blacklists, and
// the holder's identity.
//
//	ks, err := verify.NewKeySet(body) // the answer of GET {platform}/api/keys
//	res, err := ks.Verify(scanned, time.Now())
//	if err == nil && !res.Expired { open the gate }
//
// A KeySet is immutable and safe for concurrent use.
package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Errors of Verify. Each means: refuse the code.
var (
	ErrMalformed    = errors.New("verify: not a code of this platform's format")
	ErrUnknownKey   = errors.New("verify: the code's key is not in the key set (reload it, or the code is forged)")
	ErrBadSignature = errors.New("verify: the signature does not verify (altered or forged code)")
	ErrKeyExpired   = errors.New("verify: the code's key was not valid when the code was issued, or no longer verifies codes")
	ErrNotYetValid  = errors.New("verify: the code is dated in the future")
	ErrCertificate  = errors.New("verify: the code is dated outside its holder certificate's validity")
)

// MaxClockSkew is how far apart the issuer's and the scanner's clocks may
// be: a code dated further in the future is refused, and a key's window of
// issue times is widened by it at both ends.
const MaxClockSkew = 5 * time.Minute

// Algorithm is the only signature algorithm of the key set; keys of other
// algorithms are skipped, for scanners older than the key set.
const Algorithm = "SM2"

// Key is one key of the published set: the JSON of GET /api/keys.
type Key struct {
	KeyID       codeformat.KeyID `json:"kid" doc:"8 hex digits, as codes carry it"`
	PlatformID  string           `json:"platformId" doc:"the platform whose codes the key signs"`
	Algorithm   string           `json:"alg" doc:"SM2: SM3 with the default user id 1234567812345678; codes carry signatures as r||s"`
	PublicKey   string           `json:"publicKey" doc:"hex of the uncompressed point 04||X||Y"`
	Status      string           `json:"status" doc:"active: signs codes; retired: rotated out, verifies the codes it signed until verifyUntil; expired (console only): no longer published"`
	NotBefore   time.Time        `json:"notBefore" doc:"the key signs codes issued from then"`
	NotAfter    *time.Time       `json:"notAfter,omitempty" doc:"when the key was rotated out: it signed no code issued after"`
	VerifyUntil *time.Time       `json:"verifyUntil,omitempty" doc:"a retired key verifies codes until then"`
}

// KeySet is a set of platform verification keys.
type KeySet struct {
	keys map[codeformat.KeyID]entry
}

type entry struct {
	Key
	pub *codeformat.PublicKey
}

// NewKeySet reads the answer of GET /api/keys: the whole envelope
// ({"Response": {"Data": {"keys": [...]}}}) or its Data ({"keys": [...]}).
func NewKeySet(keysJSON []byte) (*KeySet, error) {
	var doc struct {
		Keys     []Key `json:"keys"`
		Response *struct {
			Data  struct{ Keys []Key } `json:"Data"`
			Error *struct{ Code, Message string }
		} `json:"Response"`
	}
	if err := json.Unmarshal(keysJSON, &doc); err != nil {
		return nil, fmt.Errorf("verify: key set: %w", err)
	}
	keys := doc.Keys
	if r := doc.Response; r != nil {
		if r.Error != nil {
			return nil, fmt.Errorf("verify: the key endpoint answered %s: %s", r.Error.Code, r.Error.Message)
		}
		keys = r.Data.Keys
	}
	return NewKeySetOf(keys)
}

// NewKeySetOf builds a key set from keys. Keys of another algorithm are
// skipped; a key that does not parse, a key id given twice, or a set with
// no usable key is an error.
func NewKeySetOf(keys []Key) (*KeySet, error) {
	ks := &KeySet{keys: make(map[codeformat.KeyID]entry, len(keys))}
	for _, k := range keys {
		if k.Algorithm != Algorithm {
			continue
		}
		pub, err := codeformat.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("verify: key %s: %w", k.KeyID, err)
		}
		if _, dup := ks.keys[k.KeyID]; dup {
			return nil, fmt.Errorf("verify: key %s listed twice", k.KeyID)
		}
		ks.keys[k.KeyID] = entry{Key: k, pub: pub}
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("verify: the key set holds no SM2 key")
	}
	return ks, nil
}

// Result is a verified code.
type Result struct {
	// Code is the code's content. For a holder-signed code, IssuedAt is
	// the time the device gave it and Validity the certificate's code
	// validity.
	codeformat.Code
	// Expired tells the scanner to ask the holder to refresh the code. An
	// expired code is genuine: it is not an error.
	Expired bool
	// HolderMode is true for a code the holder's device made and signed;
	// Certificate is then the platform's certificate of that device.
	HolderMode  bool
	Certificate *codeformat.Certificate
}

// Verify checks a scanned code: its layout, the platform key it names
// (which must belong to the platform the code names and have been valid
// when the code, or its holder certificate, was issued), its signatures,
// and its time. It answers one of the package's errors for a code to
// refuse, and Result.Expired for a genuine code past its validity.
func (ks *KeySet) Verify(text string, now time.Time) (*Result, error) {
	if codeformat.IsHolder(text) {
		return ks.verifyHolder(text, now)
	}
	p, err := codeformat.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	k, err := ks.key(p.KeyID, p.PlatformID)
	if err != nil {
		return nil, err
	}
	if !codeformat.Verify(p, k.pub) {
		return nil, ErrBadSignature
	}
	if err := k.covers(p.IssuedAt, now); err != nil {
		return nil, err
	}
	if p.IssuedAt.After(now.Add(MaxClockSkew)) {
		return nil, ErrNotYetValid
	}
	return &Result{Code: p.Code, Expired: p.Expired(now)}, nil
}

func (ks *KeySet) verifyHolder(text string, now time.Time) (*Result, error) {
	p, err := codeformat.ParseHolder(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cert := &p.Cert.Certificate
	k, err := ks.key(cert.KeyID, cert.PlatformID)
	if err != nil {
		return nil, err
	}
	if !codeformat.VerifyHolder(p, k.pub) {
		return nil, ErrBadSignature
	}
	if err := k.covers(cert.IssuedAt, now); err != nil {
		return nil, err
	}
	if p.At.Before(cert.IssuedAt.Add(-MaxClockSkew)) || !p.At.Before(cert.ExpiresAt()) {
		return nil, ErrCertificate
	}
	if p.At.After(now.Add(MaxClockSkew)) {
		return nil, ErrNotYetValid
	}
	c := p.Code()
	return &Result{Code: c, Expired: c.Expired(now), HolderMode: true, Certificate: cert}, nil
}

// key answers the key kid if it belongs to platform.
func (ks *KeySet) key(kid codeformat.KeyID, platform string) (*entry, error) {
	k, ok := ks.keys[kid]
	if !ok || k.PlatformID != platform {
		return nil, ErrUnknownKey
	}
	return &k, nil
}

// covers checks that the key signed at issued (within its window, widened
// by MaxClockSkew) and still verifies at now.
func (k *entry) covers(issued, now time.Time) error {
	if issued.Before(k.NotBefore.Add(-MaxClockSkew)) || k.NotAfter != nil && issued.After(k.NotAfter.Add(MaxClockSkew)) {
		return ErrKeyExpired
	}
	if k.VerifyUntil != nil && !now.Before(*k.VerifyUntil) {
		return ErrKeyExpired
	}
	return nil
}
