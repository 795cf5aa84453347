// Package codekeys keeps the SM2 keys that sign dynamic codes: one active key
// per platform, rotation that keeps old keys verifying until the codes they
// signed have expired, the signer and verifier the code engine uses, and the
// public key set scanners download for offline verification (/api/keys).
package codekeys

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/codeformat"
)

const purposeKey = "code-signing-key"

// Config configures the key ring.
type Config struct {
	Pool   *pgxpool.Pool
	Sealer *codec.Sealer
	Log    *slog.Logger
	Clock  func() time.Time
	// MaxCodeValidity is how long a retired key keeps verifying: the
	// longest validity of any code it may have signed. Default 24 h.
	MaxCodeValidity time.Duration
	// CacheTTL bounds how long this node keeps using a key after another
	// node rotated it. Default 5 s.
	CacheTTL time.Duration
}

// Ring is the key ring. It is safe for concurrent use.
type Ring struct {
	cfg Config

	mu      sync.RWMutex
	signers map[string]*signerEntry // platform → active key
	pubs    map[uint32]*pubEntry    // kid → verification key
}

type signerEntry struct {
	kid    uint32
	priv   *codec.SM2PrivateKey
	loaded time.Time
}

type pubEntry struct {
	platform    string
	pub         *codeformat.PublicKey
	verifyUntil time.Time // zero while active
	loaded      time.Time
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
	return &Ring{cfg: cfg, signers: map[string]*signerEntry{}, pubs: map[uint32]*pubEntry{}}, nil
}

// EnsureKey gives platformID an active key if it has none. Several nodes
// may call it at once: one key wins.
func (r *Ring) EnsureKey(ctx context.Context, platformID string) error {
	return store.Tx(ctx, r.cfg.Pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM code_signing_keys WHERE platform_id = $1 AND status = 'active'`, platformID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		_, err := r.insertKey(ctx, tx, platformID, true)
		return err
	})
}

// insertKey creates a new active key; with ignoreConflict a concurrent
// creation of the platform's active key is not an error.
func (r *Ring) insertKey(ctx context.Context, tx pgx.Tx, platformID string, ignoreConflict bool) (uint32, error) {
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
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	kid := binary.BigEndian.Uint32(b[:])
	q := `INSERT INTO code_signing_keys (kid, platform_id, public_key, private_sealed, status, created_at)
		VALUES ($1, $2, $3, $4, 'active', $5)`
	if ignoreConflict {
		q += ` ON CONFLICT DO NOTHING`
	}
	if _, err := tx.Exec(ctx, q, int64(kid), platformID, priv.Public().Hex(), sealed, r.cfg.Clock()); err != nil {
		return 0, fmt.Errorf("codekeys: insert key: %w", err)
	}
	return kid, nil
}

// Rotate retires platformID's active key (it keeps verifying for
// MaxCodeValidity) and makes a new one active. It returns the new key id.
func (r *Ring) Rotate(ctx context.Context, platformID string) (uint32, error) {
	now := r.cfg.Clock()
	var kid uint32
	err := store.Tx(ctx, r.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE code_signing_keys SET status = 'retired', retired_at = $2, verify_until = $3
			WHERE platform_id = $1 AND status = 'active'`, platformID, now, now.Add(r.cfg.MaxCodeValidity)); err != nil {
			return err
		}
		var err error
		kid, err = r.insertKey(ctx, tx, platformID, false)
		return err
	})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	delete(r.signers, platformID)
	r.pubs = map[uint32]*pubEntry{}
	r.mu.Unlock()
	r.cfg.Log.Info("code signing key rotated", "platform", platformID, "kid", kid)
	return kid, nil
}

// Signer answers platformID's active key: its id (which the signed bytes
// must carry) and a function signing with exactly that key (ASN.1 DER SM2).
func (r *Ring) Signer(ctx context.Context, platformID string) (uint32, func(msg []byte) ([]byte, error), error) {
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
	var kid int64
	var sealed string
	err := r.cfg.Pool.QueryRow(ctx, `SELECT kid, private_sealed FROM code_signing_keys WHERE platform_id = $1 AND status = 'active'`, platformID).Scan(&kid, &sealed)
	if store.NoRows(err) {
		if err := r.EnsureKey(ctx, platformID); err != nil {
			return nil, err
		}
		return r.signer(ctx, platformID)
	}
	if err != nil {
		return nil, fmt.Errorf("codekeys: load signer: %w", err)
	}
	pemText, err := r.cfg.Sealer.Open(sealed, purposeKey)
	if err != nil {
		return nil, fmt.Errorf("codekeys: open key %d: %w", kid, err)
	}
	priv, err := codec.ParseSM2PrivateKey(string(pemText))
	if err != nil {
		return nil, err
	}
	e = &signerEntry{kid: uint32(kid), priv: priv, loaded: now}
	r.mu.Lock()
	r.signers[platformID] = e
	r.mu.Unlock()
	return e, nil
}

// Errors of Verify.
var (
	ErrUnknownKey = errors.New("codekeys: unknown key")
	ErrKeyExpired = errors.New("codekeys: key no longer verifies")
	ErrSignature  = errors.New("codekeys: bad signature")
)

// PublicKey answers the verification key kid of platformID, if it still
// verifies codes.
func (r *Ring) PublicKey(ctx context.Context, kid uint32, platformID string) (*codeformat.PublicKey, error) {
	e, err := r.pub(ctx, kid)
	if err != nil {
		return nil, err
	}
	if e.platform != platformID {
		return nil, ErrUnknownKey
	}
	if !e.verifyUntil.IsZero() && !r.cfg.Clock().Before(e.verifyUntil) {
		return nil, ErrKeyExpired
	}
	return e.pub, nil
}

// Verify checks p's signature with the key it names, which must belong to
// the platform p names and still be valid for verification.
func (r *Ring) Verify(ctx context.Context, p *codeformat.Parsed) error {
	e, err := r.pub(ctx, p.KeyID)
	if err != nil {
		return err
	}
	if e.platform != p.PlatformID {
		return ErrUnknownKey
	}
	if !e.verifyUntil.IsZero() && !r.cfg.Clock().Before(e.verifyUntil) {
		return ErrKeyExpired
	}
	if !p.Verify(e.pub) {
		return ErrSignature
	}
	return nil
}

func (r *Ring) pub(ctx context.Context, kid uint32) (*pubEntry, error) {
	now := r.cfg.Clock()
	r.mu.RLock()
	e := r.pubs[kid]
	r.mu.RUnlock()
	if e != nil && now.Sub(e.loaded) < r.cfg.CacheTTL {
		return e, nil
	}
	var platform, pubHex string
	var until *time.Time
	err := r.cfg.Pool.QueryRow(ctx, `SELECT platform_id, public_key, verify_until FROM code_signing_keys WHERE kid = $1`, int64(kid)).Scan(&platform, &pubHex, &until)
	if store.NoRows(err) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, fmt.Errorf("codekeys: load key: %w", err)
	}
	pub, err := codeformat.ParsePublicKey(pubHex)
	if err != nil {
		return nil, err
	}
	e = &pubEntry{platform: platform, pub: pub, loaded: now}
	if until != nil {
		e.verifyUntil = *until
	}
	r.mu.Lock()
	r.pubs[kid] = e
	r.mu.Unlock()
	return e, nil
}

// PublicKey is one key of the published set.
type PublicKey struct {
	KeyID       uint32     `json:"kid"`
	PlatformID  string     `json:"platformId"`
	Algorithm   string     `json:"alg" doc:"SM2 (default user id 1234567812345678), signatures r||s"`
	PublicKey   string     `json:"publicKey" doc:"hex of the uncompressed point 04||X||Y"`
	Status      string     `json:"status" doc:"active | retired"`
	NotBefore   time.Time  `json:"notBefore"`
	VerifyUntil *time.Time `json:"verifyUntil,omitempty" doc:"a retired key verifies codes until then"`
}

// PublicKeys answers every key that currently verifies codes.
func (r *Ring) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	rows, err := r.cfg.Pool.Query(ctx, `SELECT kid, platform_id, public_key, status, created_at, verify_until
		FROM code_signing_keys WHERE status = 'active' OR verify_until > $1 ORDER BY platform_id, created_at`, r.cfg.Clock())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PublicKey{}
	for rows.Next() {
		var k PublicKey
		var kid int64
		if err := rows.Scan(&kid, &k.PlatformID, &k.PublicKey, &k.Status, &k.NotBefore, &k.VerifyUntil); err != nil {
			return nil, err
		}
		k.KeyID, k.Algorithm = uint32(kid), "SM2"
		out = append(out, k)
	}
	return out, rows.Err()
}
