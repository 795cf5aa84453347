// Package tenancy manages who uses the platform: the main platform and its
// sub-platforms, the apps of each platform with their developer and keys,
// and the shared reference data they point at — regions (区划), industries,
// departments, dictionary groups and items.
//
// Every method authorizes its caller (actor.From(ctx)) with the policy
// engine itself, so the rules hold whether the call comes from a console
// route or from another package: lists are filtered in SQL by the caller's
// data scope, and reading or changing one record outside it answers 403
// UnauthorizedOperation. Client mistakes come back as *fault.Error; anything
// else is an internal error.
//
// The package owns the tables regions, industries, tenancy_seeds, platforms,
// apps, developers, departments, dict_groups and dict_items; other packages
// reach their data through this API only.
package tenancy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// MainPlatformID is the id of the main platform (主平台), created by Seed.
// It can be neither deleted nor disabled.
const MainPlatformID = "P0000"

// Status of a platform, app, region, industry or dictionary item.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Kinds of platform.
const (
	KindMain = "main"
	KindSub  = "sub"
)

// DefaultSecretsCacheTTL is how long AppSecrets answers are cached when
// Config.SecretsCacheTTL is zero.
const DefaultSecretsCacheTTL = 2 * time.Second

var (
	// ErrAppNotFound is returned by AppSecrets when no app has the id.
	ErrAppNotFound = errors.New("tenancy: app not found")
	// ErrAdminAccountTaken may be returned (wrapped) by an AdminProvisioner
	// when the account already exists; CreatePlatform then answers 409
	// ResourceAlreadyExists and stores nothing.
	ErrAdminAccountTaken = errors.New("tenancy: administrator account already taken")
)

// AdminProvisioner creates the administrator of a new sub-platform. The
// host wires it to the operator accounts of package auth.
type AdminProvisioner interface {
	// CreatePlatformAdmin creates the platform's administrator inside tx and
	// returns its one-time password. If the account is taken it returns
	// ErrAdminAccountTaken (wrapped) or a *fault.Error; any error rolls the
	// whole platform creation back. A non-empty regionCode confines the
	// administrator to that region; tenancy passes "" so a sub-platform's
	// administrator sees its whole platform.
	CreatePlatformAdmin(ctx context.Context, tx pgx.Tx, platformID, account, regionCode string) (oneTimePassword string, err error)
}

// Config holds the Service's dependencies.
type Config struct {
	Pool   *pgxpool.Pool
	Authz  *policy.Engine
	Sealer *codec.Sealer // seals app secrets, data keys and developers' mobile numbers
	// Admins creates each new sub-platform's administrator. Without it
	// CreatePlatform fails.
	Admins AdminProvisioner
	Log    *slog.Logger     // nil discards
	Clock  func() time.Time // nil is time.Now
	// SecretsCacheTTL bounds how long AppSecrets may answer from memory after
	// another host changed the app: 0 is DefaultSecretsCacheTTL, negative
	// turns the cache off. Changes made through this Service are seen at once.
	SecretsCacheTTL time.Duration
	// Rand supplies app ids, secrets and data keys; nil is crypto/rand.
	Rand io.Reader
}

// Service is the tenancy service. It is safe for concurrent use.
type Service struct {
	pool    *pgxpool.Pool
	authz   *policy.Engine
	sealer  *codec.Sealer
	admins  AdminProvisioner
	log     *slog.Logger
	clock   func() time.Time
	rand    io.Reader
	secrets *secretCache
}

// New returns a Service. Pool, Authz and Sealer are required.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Authz == nil || cfg.Sealer == nil {
		return nil, errors.New("tenancy: Pool, Authz and Sealer are required")
	}
	s := &Service{
		pool:   cfg.Pool,
		authz:  cfg.Authz,
		sealer: cfg.Sealer,
		admins: cfg.Admins,
		log:    cfg.Log,
		clock:  cfg.Clock,
		rand:   cfg.Rand,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	ttl := cfg.SecretsCacheTTL
	if ttl == 0 {
		ttl = DefaultSecretsCacheTTL
	}
	s.secrets = newSecretCache(ttl, s.clock)
	return s, nil
}

// now is the clock at the database's precision.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// random returns n bytes from the configured source.
func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("tenancy: random: %w", err)
	}
	return b, nil
}
