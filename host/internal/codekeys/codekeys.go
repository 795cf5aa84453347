// Package codekeys keeps the SM2 keys that sign dynamic codes (table
// code_signing_keys): one active key per platform; rotation that keeps old
// keys verifying until the codes they signed have expired; the signer the
// code API issues codes with; the online verifier; and the public key set
// scanners download for offline verification (GET /api/keys, read by
// sdk/verify).
//
// Private keys are stored sealed (codec.Sealer, purpose "code-signing-key")
// and opened only into this process's memory. A Ring is safe for
// concurrent use, and several hosts may share one database: key creation
// and rotation are serialized per platform in PostgreSQL, and a rotation
// made on one host reaches the others' caches within Config.CacheTTL.
package codekeys

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/verify"
)

const purposeKey = "code-signing-key"

// Errors.
var (
	// ErrNoKey: the platform has no code signing key (Rotate).
	ErrNoKey = errors.New("codekeys: the platform has no code signing key")
	// ErrRefused wraps every refusal of Verify, together with the
	// sdk/verify error saying why (ErrMalformed, ErrUnknownKey, ...).
	ErrRefused = errors.New("codekeys: code refused")
)

// Config configures the key ring.
type Config struct {
	Pool   *pgxpool.Pool
	Sealer *codec.Sealer
	Authz  *policy.Engine // for Routes only
	Log    *slog.Logger
	Clock  func() time.Time
	// MaxCodeValidity is how long after a rotation the old key must still
	// verify: the longest validity of anything it may have signed, codes
	// and holder certificates alike. Default 24 h.
	MaxCodeValidity time.Duration
	// CacheTTL bounds how long a host keeps signing with a key another
	// host rotated out, and how old its verification key set may be.
	// Default 5 s.
	CacheTTL time.Duration
}

// Ring is the key ring.
type Ring struct {
	cfg Config

	mu      sync.RWMutex
	signers map[string]*signerEntry // platform → its active key

	set atomic.Pointer[snapshot] // the verification keys
}

type signerEntry struct {
	kid    codeformat.KeyID
	priv   *codec.SM2PrivateKey
	loaded time.Time
}

type snapshot struct {
	ks     *verify.KeySet // nil when there is no key at all
	loaded time.Time
}

// New returns the ring.
func New(cfg Config) (*Ring, error) {
	if cfg.Pool == nil || cfg.Sealer == nil {
		return nil, errors.New("codekeys: Pool and Sealer are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxCodeValidity <= 0 {
		cfg.MaxCodeValidity = 24 * time.Hour
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	return &Ring{cfg: cfg, signers: map[string]*signerEntry{}}, nil
}

// EnsureKey gives platformID an active key if it has none. It is
// idempotent, and several hosts may call it at once: one key is made.
func (r *Ring) EnsureKey(ctx context.Context, platformID string) error {
	return store.Tx(ctx, r.cfg.Pool, func(tx pgx.Tx) error {
		if err := lockPlatform(ctx, tx, platformID); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM code_signing_keys WHERE platform_id = $1 AND status = 'active')`,
			platformID).Scan(&exists); err != nil || exists {
			return err
		}
		kid, err := r.insertKey(ctx, tx, platformID)
		if err == nil {
			r.cfg.Log.InfoContext(ctx, "code signing key created", "platform", platformID, "kid", kid)
		}
		return err
	})
}

// lockPlatform serializes key creation and rotation of one platform
// across hosts until the transaction ends.
func lockPlatform(ctx context.Context, tx pgx.Tx, platformID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('code_signing_keys:' || $1, 0))`, platformID)
	return err
}

// insertKey makes a new active key with a random 4-byte id.
func (r *Ring) insertKey(ctx context.Context, tx pgx.Tx, platformID string) (codeformat.KeyID, error) {
	privPEM, _, err := codec.GenerateSM2Key()
	if err != nil {
		return 0, err
	}
	priv, err := codec.ParseSM2PrivateKey(privPEM)
	if err != nil {
		return 0, err
	}
	sealed, err := r.cfg.Sealer.Seal([]byte(privPEM), purposeKey)
	if err != nil {
		return 0, err
	}
	for range 8 { // a taken id (1 in 4 billion a key) draws again
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		kid := codeformat.KeyID(binary.BigEndian.Uint32(b[:]))
		tag, err := tx.Exec(ctx, `INSERT INTO code_signing_keys (kid, platform_id, public_key, private_sealed, status, created_at)
			VALUES ($1, $2, $3, $4, 'active', $5) ON CONFLICT (kid) DO NOTHING`,
			int64(kid), platformID, priv.Public().Hex(), sealed, r.cfg.Clock())
		if err != nil {
			return 0, fmt.Errorf("codekeys: insert key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return kid, nil
		}
	}
	return 0, errors.New("codekeys: no free key id")
}

// Rotate makes a new key active for platformID and retires the old one: it
// signs nothing more and verifies what it signed until now +
// MaxCodeValidity, when it drops out of the published set. A platform
// without a key answers ErrNoKey (as a NotFound fault).
func (r *Ring) Rotate(ctx context.Context, platformID string) (codeformat.KeyID, error) {
	now := r.cfg.Clock()
	var kid codeformat.KeyID
	err := store.Tx(ctx, r.cfg.Pool, func(tx pgx.Tx) error {
		if err := lockPlatform(ctx, tx, platformID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE code_signing_keys SET status = 'retired', retired_at = $2, verify_until = $3
			WHERE platform_id = $1 AND status = 'active'`, platformID, now, now.Add(r.cfg.MaxCodeValidity))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fault.Wrap(ErrNoKey, fault.NotFound, fault.CodeResourceNotFound, "platform "+platformID+" has no code signing key")
		}
		kid, err = r.insertKey(ctx, tx, platformID)
		return err
	})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	delete(r.signers, platformID)
	r.mu.Unlock()
	r.set.Store(nil)
	r.cfg.Log.InfoContext(ctx, "code signing key rotated", "platform", platformID, "kid", kid)
	return kid, nil
}

// Signer answers platformID's active key id (which the signed code must
// carry) and a function signing with exactly that key (SM2, ASN.1 DER). A
// platform without a key gets one. The key is cached for CacheTTL.
func (r *Ring) Signer(ctx context.Context, platformID string) (codeformat.KeyID, codeformat.Signer, error) {
	e, err := r.signer(ctx, platformID)
	if err != nil {
		return 0, nil, err
	}
	return e.kid, func(msg []byte) ([]byte, error) { return codec.SM2Sign(e.priv, msg) }, nil
}

func (r *Ring) signer(ctx context.Context, platformID string) (*signerEntry, error) {
	now := r.cfg.Clock()
	r.mu.RLock()
	e := r.signers[platformID]
	r.mu.RUnlock()
	if e != nil && now.Sub(e.loaded) < r.cfg.CacheTTL {
		return e, nil
	}
	e, err := r.loadSigner(ctx, platformID)
	if errors.Is(err, ErrNoKey) {
		if err := r.EnsureKey(ctx, platformID); err != nil {
			return nil, err
		}
		e, err = r.loadSigner(ctx, platformID)
	}
	if err != nil {
		return nil, err
	}
	e.loaded = now
	r.mu.Lock()
	r.signers[platformID] = e
	r.mu.Unlock()
	return e, nil
}

func (r *Ring) loadSigner(ctx context.Context, platformID string) (*signerEntry, error) {
	var kid int64
	var pubHex, sealed string
	err := r.cfg.Pool.QueryRow(ctx, `SELECT kid, public_key, private_sealed FROM code_signing_keys
		WHERE platform_id = $1 AND status = 'active'`, platformID).Scan(&kid, &pubHex, &sealed)
	if store.NoRows(err) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("codekeys: load signer: %w", err)
	}
	pemText, err := r.cfg.Sealer.Open(sealed, purposeKey)
	if err != nil {
		return nil, fmt.Errorf("codekeys: open key %s: %w", codeformat.KeyID(kid), err)
	}
	priv, err := codec.ParseSM2PrivateKey(string(pemText))
	if err != nil {
		return nil, fmt.Errorf("codekeys: key %s: %w", codeformat.KeyID(kid), err)
	}
	// A sealed key copied onto another row would sign codes that name a
	// key id whose public key does not match: refuse it here.
	if priv.Public().Hex() != pubHex {
		return nil, fmt.Errorf("codekeys: key %s: the private key does not match the public key", codeformat.KeyID(kid))
	}
	return &signerEntry{kid: codeformat.KeyID(kid), priv: priv}, nil
}

// PublicKeys answers every key that currently verifies codes, of every
// platform: active keys, and retired keys until their verifyUntil.
func (r *Ring) PublicKeys(ctx context.Context) ([]verify.Key, error) {
	return r.keys(ctx, `WHERE status = 'active' OR verify_until > $1 ORDER BY platform_id, retired_at DESC NULLS FIRST, created_at DESC, kid`, r.cfg.Clock())
}

// keys answers the keys that rest (a WHERE clause and what follows) selects.
func (r *Ring) keys(ctx context.Context, rest string, args ...any) ([]verify.Key, error) {
	rows, err := r.cfg.Pool.Query(ctx, `SELECT kid, platform_id, public_key, status, created_at, retired_at, verify_until
		FROM code_signing_keys `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("codekeys: list keys: %w", err)
	}
	now := r.cfg.Clock()
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (verify.Key, error) {
		var k verify.Key
		var kid int64
		err := row.Scan(&kid, &k.PlatformID, &k.PublicKey, &k.Status, &k.NotBefore, &k.NotAfter, &k.VerifyUntil)
		k.KeyID, k.Algorithm = codeformat.KeyID(kid), verify.Algorithm
		if k.VerifyUntil != nil && !now.Before(*k.VerifyUntil) {
			k.Status = "expired"
		}
		return k, err
	})
}

// Verifier answers the current verification key set, cached for CacheTTL:
// what a scanner loading /api/keys now would hold. A host with no key at
// all answers ErrNoKey.
func (r *Ring) Verifier(ctx context.Context) (*verify.KeySet, error) {
	s, err := r.snapshot(ctx, false)
	if err != nil {
		return nil, err
	}
	if s.ks == nil {
		return nil, ErrNoKey
	}
	return s.ks, nil
}

func (r *Ring) snapshot(ctx context.Context, reload bool) (*snapshot, error) {
	now := r.cfg.Clock()
	if s := r.set.Load(); s != nil && !reload && now.Sub(s.loaded) < r.cfg.CacheTTL {
		return s, nil
	}
	keys, err := r.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{loaded: now}
	if len(keys) > 0 {
		if s.ks, err = verify.NewKeySetOf(keys); err != nil {
			return nil, fmt.Errorf("codekeys: %w", err)
		}
	}
	r.set.Store(s)
	return s, nil
}

// Verify checks a code online, platform-signed or holder-signed (raw
// bytes), exactly as sdk/verify does offline with the published keys, at
// the ring's clock. A refused code answers an error wrapping ErrRefused
// and the sdk/verify error; any other error is the ring's own failure.
// An expired code is no error: Result.Expired. Revocation and the rule's
// state are the caller's to check.
func (r *Ring) Verify(ctx context.Context, text string) (*verify.Result, error) {
	res, err := r.verifyWith(ctx, text, false)
	if errors.Is(err, verify.ErrUnknownKey) {
		// Maybe a key another host has just made: read the keys again.
		res, err = r.verifyWith(ctx, text, true)
	}
	return res, err
}

func (r *Ring) verifyWith(ctx context.Context, text string, reload bool) (*verify.Result, error) {
	s, err := r.snapshot(ctx, reload)
	if err != nil {
		return nil, err
	}
	if s.ks == nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, verify.ErrUnknownKey)
	}
	res, err := s.ks.Verify(text, r.cfg.Clock())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return res, nil
}
