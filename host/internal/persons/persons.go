// Package persons keeps the people who hold personal codes (一人一码): who
// they are (sealed with SM4, found by HMAC-SM3 blind indexes, shown masked),
// the userId each app knows them by, the scenes they allowed to see their
// identity in full, and the data apps bind to them (health status, ...).
//
// Nothing here is readable without the master key: a database dump holds
// only ciphertexts, blind indexes and masked copies.
package persons

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/ttlcache"
)

// Sealing purposes: a ciphertext of one never opens as another.
const (
	purposeName     = "person.name"
	purposeCertNo   = "person.cert-no"
	purposeMobile   = "person.mobile"
	purposeCert     = "person.cert-index"
	purposeMobileIx = "person.mobile-index"
	purposeBound    = "person.bound-data"
)

// ErrUnknownUser is wrapped when an app's userId names nobody.
var ErrUnknownUser = errors.New("persons: unknown user")

// Config configures a Service.
type Config struct {
	Pool   *pgxpool.Pool
	Sealer *codec.Sealer
	Authz  *policy.Engine // decides disclosure (policies/openapi)
	Log    *slog.Logger
	Clock  func() time.Time
	Rand   io.Reader // user ids; nil is crypto/rand
	// CacheTTL bounds how stale the hot-path answers of decoding may be on
	// other nodes (an authorization granted or withdrawn elsewhere); a
	// change made through this Service applies here at once. Default 2 s.
	CacheTTL time.Duration
}

// Service is the person registry. It is safe for concurrent use.
type Service struct {
	pool   *pgxpool.Pool
	sealer *codec.Sealer
	authz  *policy.Engine
	log    *slog.Logger
	clock  func() time.Time
	rand   io.Reader

	handles     *ttlcache.Cache[int64, User]         // handle → user: the pair never changes
	consents    *ttlcache.Cache[consentKey, bool]    // (person, org) → authorized
	disclosures *ttlcache.Cache[disclosureKey, bool] // policy answers by input
}

type consentKey struct {
	person int64
	org    string
}

type disclosureKey struct {
	org, family, app, bundle string
	authorized               bool
}

// New returns the registry.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Sealer == nil || cfg.Authz == nil {
		return nil, errors.New("persons: Pool, Sealer and Authz are required")
	}
	s := &Service{pool: cfg.Pool, sealer: cfg.Sealer, authz: cfg.Authz, log: cfg.Log, clock: cfg.Clock, rand: cfg.Rand}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	ttl := cfg.CacheTTL
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	s.handles = ttlcache.New[int64, User](15*ttl, 1<<18, s.clock)
	s.consents = ttlcache.New[consentKey, bool](ttl, 1<<18, s.clock)
	s.disclosures = ttlcache.New[disclosureKey, bool](ttl, 1<<12, s.clock)
	return s, nil
}

// User is a person as one app knows them.
type User struct {
	// Handle is the numeric id of this (app, person) pair, which personal
	// codes carry sealed (codec.Sealer.SealSubject).
	Handle     int64
	UserID     string
	AppID      string
	PlatformID string
	PersonID   int64
	CertType   CertType
	Masked     Identity // desensitized identity, safe to show anywhere
}

// Open registers id (when the certificate is new) and returns the userId
// the app knows the person by, creating it on first use. Opening again with
// the same certificate returns the same userId. The name must match the one
// on record for the certificate (a mismatch is refused, so an app cannot
// rename a person); a new mobile number replaces the old one.
func (s *Service) Open(ctx context.Context, appID, platformID string, id Identity) (*User, error) {
	id, err := id.normalized()
	if err != nil {
		return nil, err
	}
	certIndex := s.sealer.BlindIndex(string(id.CertType)+":"+id.CertNo, purposeCert)
	var u *User
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		personID, err := s.upsertPerson(ctx, tx, id, certIndex)
		if err != nil {
			return err
		}
		u, err = s.appUser(ctx, tx, appID, platformID, personID)
		return err
	})
	if err != nil {
		return nil, err
	}
	u.CertType, u.Masked = id.CertType, id.Masked()
	return u, nil
}

func (s *Service) upsertPerson(ctx context.Context, tx pgx.Tx, id Identity, certIndex string) (int64, error) {
	now := s.clock()
	var personID int64
	var nameSealed string
	err := tx.QueryRow(ctx, `SELECT id, name_sealed FROM persons WHERE cert_index = $1 FOR UPDATE`, certIndex).Scan(&personID, &nameSealed)
	switch {
	case store.NoRows(err):
		sealed, err := s.sealIdentity(id)
		if err != nil {
			return 0, err
		}
		// ON CONFLICT: two apps opening the same new person at once.
		err = tx.QueryRow(ctx, `
			INSERT INTO persons (cert_type, cert_index, cert_no_sealed, cert_no_masked, name_sealed, name_masked,
			                     mobile_sealed, mobile_masked, mobile_index, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (cert_index) DO UPDATE SET updated_at = persons.updated_at
			RETURNING id`,
			string(id.CertType), certIndex, sealed[0], MaskCertNo(id.CertNo), sealed[1], MaskName(id.Name),
			sealed[2], MaskMobile(id.Mobile), s.mobileIndex(id.Mobile), now).Scan(&personID)
		if err != nil {
			return 0, fmt.Errorf("persons: insert: %w", err)
		}
		return personID, nil
	case err != nil:
		return 0, fmt.Errorf("persons: find: %w", err)
	}
	name, err := s.sealer.Open(nameSealed, purposeName)
	if err != nil {
		return 0, fmt.Errorf("persons: open name of %d: %w", personID, err)
	}
	if string(name) != id.Name {
		return 0, fault.Invalidf("the name does not match the certificate on record")
	}
	if id.Mobile != "" {
		m, err := s.sealer.Seal([]byte(id.Mobile), purposeMobile)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE persons SET mobile_sealed = $2, mobile_masked = $3, mobile_index = $4, updated_at = $5
			WHERE id = $1 AND mobile_index <> $4`, personID, m, MaskMobile(id.Mobile), s.mobileIndex(id.Mobile), now); err != nil {
			return 0, fmt.Errorf("persons: update mobile: %w", err)
		}
	}
	return personID, nil
}

func (s *Service) sealIdentity(id Identity) ([3]string, error) {
	var out [3]string
	var err error
	if out[0], err = s.sealer.Seal([]byte(id.CertNo), purposeCertNo); err != nil {
		return out, err
	}
	if out[1], err = s.sealer.Seal([]byte(id.Name), purposeName); err != nil {
		return out, err
	}
	if id.Mobile != "" {
		if out[2], err = s.sealer.Seal([]byte(id.Mobile), purposeMobile); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Service) mobileIndex(m string) string {
	if m == "" {
		return ""
	}
	return s.sealer.BlindIndex(m, purposeMobileIx)
}

func (s *Service) appUser(ctx context.Context, tx pgx.Tx, appID, platformID string, personID int64) (*User, error) {
	u := &User{AppID: appID, PlatformID: platformID, PersonID: personID}
	err := tx.QueryRow(ctx, `SELECT id, user_id FROM person_app_users WHERE app_id = $1 AND person_id = $2`, appID, personID).Scan(&u.Handle, &u.UserID)
	if err == nil {
		return u, nil
	}
	if !store.NoRows(err) {
		return nil, fmt.Errorf("persons: find user: %w", err)
	}
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, err
	}
	u.UserID = "u" + hex.EncodeToString(b)
	err = tx.QueryRow(ctx, `
		INSERT INTO person_app_users (app_id, user_id, person_id, platform_id, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (app_id, person_id) DO UPDATE SET app_id = EXCLUDED.app_id
		RETURNING id, user_id`, appID, u.UserID, personID, platformID, s.clock()).Scan(&u.Handle, &u.UserID)
	if err != nil {
		return nil, fmt.Errorf("persons: insert user: %w", err)
	}
	return u, nil
}

// User returns the person an app knows as userID; unknown ids (also another
// app's) answer ResourceNotFound wrapping ErrUnknownUser.
func (s *Service) User(ctx context.Context, appID, userID string) (*User, error) {
	u := &User{AppID: appID, UserID: userID}
	var ct string
	err := s.pool.QueryRow(ctx, `
		SELECT u.id, u.platform_id, u.person_id, p.cert_type, p.name_masked, p.cert_no_masked, p.mobile_masked
		FROM person_app_users u JOIN persons p ON p.id = u.person_id
		WHERE u.app_id = $1 AND u.user_id = $2`, appID, userID).
		Scan(&u.Handle, &u.PlatformID, &u.PersonID, &ct, &u.Masked.Name, &u.Masked.CertNo, &u.Masked.Mobile)
	if store.NoRows(err) {
		return nil, &fault.Error{Kind: fault.NotFound, Code: fault.CodeResourceNotFound,
			Message: fmt.Sprintf("userId %q is not a user of this app", userID), Err: ErrUnknownUser}
	}
	if err != nil {
		return nil, fmt.Errorf("persons: user: %w", err)
	}
	u.CertType = CertType(ct)
	u.Masked.CertType = u.CertType
	return u, nil
}

// UserByHandle returns the (app, person) pair a personal code carries;
// ResourceNotFound wrapping ErrUnknownUser when there is none.
func (s *Service) UserByHandle(ctx context.Context, handle int64) (*User, error) {
	if u, ok := s.handles.Get(handle); ok {
		return &u, nil
	}
	u := &User{Handle: handle}
	var ct string
	err := s.pool.QueryRow(ctx, `
		SELECT u.app_id, u.user_id, u.platform_id, u.person_id, p.cert_type, p.name_masked, p.cert_no_masked, p.mobile_masked
		FROM person_app_users u JOIN persons p ON p.id = u.person_id
		WHERE u.id = $1`, handle).
		Scan(&u.AppID, &u.UserID, &u.PlatformID, &u.PersonID, &ct, &u.Masked.Name, &u.Masked.CertNo, &u.Masked.Mobile)
	if store.NoRows(err) {
		return nil, &fault.Error{Kind: fault.NotFound, Code: fault.CodeResourceNotFound, Message: "the code's holder is unknown", Err: ErrUnknownUser}
	}
	if err != nil {
		return nil, fmt.Errorf("persons: user by handle: %w", err)
	}
	u.CertType = CertType(ct)
	u.Masked.CertType = u.CertType
	s.handles.Put(handle, *u)
	return u, nil
}

// UserOfPerson returns the userId an app knows a person by ("" if the app
// never opened a code for them).
func (s *Service) UserOfPerson(ctx context.Context, appID string, personID int64) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT user_id FROM person_app_users WHERE app_id = $1 AND person_id = $2`, appID, personID).Scan(&id)
	if store.NoRows(err) {
		return "", nil
	}
	return id, err
}

// Identity returns a person's full identity, unsealed. Callers decide
// disclosure first (Disclose) and never log the result.
func (s *Service) Identity(ctx context.Context, personID int64) (Identity, error) {
	var id Identity
	var ct, certNo, name, mobile string
	err := s.pool.QueryRow(ctx, `SELECT cert_type, cert_no_sealed, name_sealed, mobile_sealed FROM persons WHERE id = $1`, personID).
		Scan(&ct, &certNo, &name, &mobile)
	if store.NoRows(err) {
		return id, fault.NotFoundf("person not found")
	}
	if err != nil {
		return id, fmt.Errorf("persons: identity: %w", err)
	}
	id.CertType = CertType(ct)
	for _, f := range []struct {
		dst     *string
		text    string
		purpose string
	}{{&id.CertNo, certNo, purposeCertNo}, {&id.Name, name, purposeName}, {&id.Mobile, mobile, purposeMobile}} {
		if f.text == "" {
			continue
		}
		b, err := s.sealer.Open(f.text, f.purpose)
		if err != nil {
			return id, fmt.Errorf("persons: open %s of %d: %w", f.purpose, personID, err)
		}
		*f.dst = string(b)
	}
	return id, nil
}

// MaskedIdentity returns a person's desensitized identity without unsealing.
func (s *Service) MaskedIdentity(ctx context.Context, personID int64) (Identity, error) {
	var id Identity
	var ct string
	err := s.pool.QueryRow(ctx, `SELECT cert_type, cert_no_masked, name_masked, mobile_masked FROM persons WHERE id = $1`, personID).
		Scan(&ct, &id.CertNo, &id.Name, &id.Mobile)
	if store.NoRows(err) {
		return id, fault.NotFoundf("person not found")
	}
	id.CertType = CertType(ct)
	return id, err
}
