// Package codeengine holds the code engine's configuration: code specs
// (码规范), code rules (码规则) and their versions, the rule pools of
// sub-platforms and the rules each app is bound to. Resolve and Version are
// what issuing and verifying codes ask on every request.
package codeengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Apps tells which platform an app belongs to (package tenancy).
type Apps interface {
	AppPlatform(ctx context.Context, appID string) (string, error)
}

// Config configures the engine's rule service.
type Config struct {
	Pool           *pgxpool.Pool
	Authz          *policy.Engine
	Apps           Apps
	MainPlatformID string
	Log            *slog.Logger
	Clock          func() time.Time
	CacheTTL       time.Duration // Resolve cache; default 2 s
}

// Rules is the rule service. It is safe for concurrent use.
type Rules struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]cached // "app|rule" or "rule#version"
}

type cached struct {
	r   *Resolved
	err error
	at  time.Time
}

// New returns the rule service.
func New(cfg Config) (*Rules, error) {
	if cfg.Pool == nil || cfg.Authz == nil || cfg.Apps == nil || cfg.MainPlatformID == "" {
		return nil, errors.New("codeengine: Pool, Authz, Apps and MainPlatformID are required")
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
	return &Rules{cfg: cfg, cache: map[string]cached{}}, nil
}

// Field is a spec, extension or data-collection field.
type Field struct {
	Name     string `json:"name" validate:"required,max=64"`
	Label    string `json:"label" validate:"max=64"`
	Type     string `json:"type" validate:"omitempty,oneof=string number boolean date enum" doc:"string (default), number, boolean, date, enum"`
	Length   int    `json:"length" validate:"min=0,max=4096"`
	Required bool   `json:"required"`
}

// Function is a rule version's function settings.
type Function struct {
	ValiditySeconds int  `json:"validitySeconds" validate:"min=0,max=31536000" doc:"dynamic codes: 10..86400; static: 0 = never expires"`
	RefreshSeconds  int  `json:"refreshSeconds" validate:"min=0,max=86400" doc:"how often the app shows a new code; <= validity"`
	Offline         bool `json:"offlineVerifiable" doc:"SM2-signed codes scanners verify offline with /api/keys; false = online verification only"`
}

// Resolved is a rule at one version, as issuing and verifying need it.
type Resolved struct {
	RuleID         string
	Name           string
	Form, Kind     string
	Family         string
	PlatformID     string
	Version        int
	Function       Function
	Collection     []Field
	Published      bool
	RuleEnabled    bool
	VersionEnabled bool
}

// Active reports whether codes of this version may be issued and verified.
func (r *Resolved) Active() bool { return r.Published && r.RuleEnabled && r.VersionEnabled }

// CheckCollection validates the data-collection fields of a request.
func (r *Resolved) CheckCollection(params map[string]any) error {
	for _, f := range r.Collection {
		v, ok := params[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required {
				return fault.Missing(f.Name)
			}
			continue
		}
		okType := true
		switch f.Type {
		case "number":
			switch v.(type) {
			case float64, json.Number:
			default:
				okType = false
			}
		case "boolean":
			_, okType = v.(bool)
		case "", "string", "date", "enum":
			_, okType = v.(string)
		}
		if !okType {
			return fault.Invalidf("parameter %q must be a %s", f.Name, typeName(f.Type))
		}
	}
	return nil
}

func typeName(t string) string {
	if t == "" {
		return "string"
	}
	return t
}

// Resolve answers the rule codeDefID at its current version (the highest
// enabled one) for appID, which must be bound to it.
func (s *Rules) Resolve(ctx context.Context, appID, codeDefID string) (*Resolved, error) {
	key := appID + "|" + codeDefID
	if r, err, ok := s.cached(key); ok {
		return r, err
	}
	r, err := s.resolve(ctx, appID, codeDefID)
	s.put(key, r, err)
	return r, err
}

func (s *Rules) resolve(ctx context.Context, appID, codeDefID string) (*Resolved, error) {
	var bound bool
	err := s.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_rule_bindings WHERE app_id = $1 AND rule_id = $2)`, appID, codeDefID).Scan(&bound)
	if err != nil {
		return nil, fmt.Errorf("codeengine: binding: %w", err)
	}
	r, err := s.load(ctx, codeDefID, 0)
	if err != nil {
		return nil, err
	}
	if !bound {
		return nil, fault.Deniedf("app is not bound to code rule %s", codeDefID)
	}
	switch {
	case !r.Published:
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "code rule %s is not published", codeDefID)
	case !r.RuleEnabled:
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "code rule %s is disabled", codeDefID)
	case !r.VersionEnabled:
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "code rule %s has no enabled version", codeDefID)
	}
	return r, nil
}

// Version answers rule ruleID at version v, also when disabled (see
// Resolved.Active), for verifying codes issued under it.
func (s *Rules) Version(ctx context.Context, ruleID string, v int) (*Resolved, error) {
	key := fmt.Sprintf("%s#%d", ruleID, v)
	if r, err, ok := s.cached(key); ok {
		return r, err
	}
	r, err := s.load(ctx, ruleID, v)
	s.put(key, r, err)
	return r, err
}

// load reads a rule at version v, or at its highest enabled version (else
// its highest) when v is 0.
func (s *Rules) load(ctx context.Context, ruleID string, v int) (*Resolved, error) {
	r := &Resolved{}
	var status string
	var fn, coll []byte
	err := s.cfg.Pool.QueryRow(ctx, `
		SELECT r.id, r.name, r.form, r.kind, r.family, r.platform_id, r.status, r.enabled,
		       v.version, v.function, v.collection, v.enabled
		FROM code_rules r JOIN code_rule_versions v ON v.rule_id = r.id
		WHERE r.id = $1 AND ($2 = 0 OR v.version = $2)
		ORDER BY v.enabled DESC, v.version DESC LIMIT 1`, ruleID, v).
		Scan(&r.RuleID, &r.Name, &r.Form, &r.Kind, &r.Family, &r.PlatformID, &status, &r.RuleEnabled, &r.Version, &fn, &coll, &r.VersionEnabled)
	if store.NoRows(err) {
		if v == 0 {
			return nil, fault.NotFoundf("code rule %s does not exist", ruleID)
		}
		return nil, fault.NotFoundf("code rule %s has no version %d", ruleID, v)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: load rule: %w", err)
	}
	r.Published = status == "published"
	if err := json.Unmarshal(fn, &r.Function); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(coll, &r.Collection); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Rules) cached(key string) (*Resolved, error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[key]
	if !ok || s.cfg.Clock().Sub(c.at) >= s.cfg.CacheTTL {
		return nil, nil, false
	}
	return c.r, c.err, true
}

func (s *Rules) put(key string, r *Resolved, err error) {
	if err != nil && fault.KindOf(err) == fault.Internal {
		return // never cache a failure of the database
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) > 100_000 {
		s.cache = map[string]cached{}
	}
	s.cache[key] = cached{r: r, err: err, at: s.cfg.Clock()}
}

// invalidate drops every cached answer: rule changes are rare, and a change
// on this node must apply here at once (other nodes within CacheTTL).
func (s *Rules) invalidate() {
	s.mu.Lock()
	s.cache = map[string]cached{}
	s.mu.Unlock()
}

func (s *Rules) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	defer s.invalidate()
	return store.Tx(ctx, s.cfg.Pool, fn)
}
