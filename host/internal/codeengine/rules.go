// Package codeengine is the code engine: code specs (码规范), code rules
// (码规则) with their versions, the rule pools of sub-platforms, the rules
// each app is bound to, and the codes issued under them (object and
// enterprise codes, code relations).
//
// Specs and rules are configured by the main platform. A rule applies to
// the main platform or to one sub-platform. A sub-platform's rule enters
// that platform's pool (码规则池) when pushed, and every push copies the
// content of all its versions there: the platform's apps issue codes by
// the pushed content, so an edit reaches them only with the next push.
// Enabling and disabling rules and versions takes effect everywhere at
// once. Apps bind rules of their own platform's pool; codeDefId names the
// rule.
//
// Issuing, showing and verifying ask Resolve and Version on every request.
// Their answers are cached for Config.CacheTTL (default 2 s); every change
// made through this package drops them on this node at once, so other
// nodes see a change within CacheTTL.
package codeengine

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/ttlcache"
)

// Tenancy is what the rules need to know of platforms, apps and industries
// (package tenancy implements it).
type Tenancy interface {
	// PlatformExists reports whether a platform exists.
	PlatformExists(ctx context.Context, id string) (bool, error)
	// AppResource answers an app's platform and region; ResourceNotFound
	// when there is no such app.
	AppResource(ctx context.Context, appID string) (*policy.Resource, error)
	// UsableIndustry checks that a non-empty industry code names an
	// enabled industry (InvalidParameter naming industryCode if not).
	UsableIndustry(ctx context.Context, code string) error
}

// Config configures the rule service.
type Config struct {
	Pool           *pgxpool.Pool
	Authz          *policy.Engine
	Tenancy        Tenancy
	MainPlatformID string
	Log            *slog.Logger
	Clock          func() time.Time
	CacheTTL       time.Duration // Resolve and Version answers; default 2 s
}

// Rules is the service of specs, rules, versions, pools and bindings. It is
// safe for concurrent use.
type Rules struct {
	cfg Config
	// gen counts committed changes. A cache entry remembers the generation
	// it was read in and is ignored once another change was made, so a
	// change invalidates every answer at once without walking the cache.
	gen   atomic.Uint64
	rules *ttlcache.Cache[string, ruleEntry]
	binds *ttlcache.Cache[bindKey, bindEntry]
}

type ruleEntry struct {
	gen  uint64
	snap *snapshot
	err  error
}

type bindKey struct{ app, rule string }

type bindEntry struct {
	gen   uint64
	bound bool
}

// New returns the rule service.
func New(cfg Config) (*Rules, error) {
	if cfg.Pool == nil || cfg.Authz == nil || cfg.Tenancy == nil || cfg.MainPlatformID == "" {
		return nil, errors.New("codeengine: Pool, Authz, Tenancy and MainPlatformID are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	return &Rules{
		cfg:   cfg,
		rules: ttlcache.New[string, ruleEntry](cfg.CacheTTL, 1<<14, cfg.Clock),
		binds: ttlcache.New[bindKey, bindEntry](cfg.CacheTTL, 1<<18, cfg.Clock),
	}, nil
}

// now is the time stored with changes, at the database's precision.
func (s *Rules) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }

// change runs fn in a transaction and then invalidates every cached answer.
func (s *Rules) change(ctx context.Context, fn func(pgx.Tx) error) error {
	defer s.gen.Add(1)
	return store.Tx(ctx, s.cfg.Pool, fn)
}
