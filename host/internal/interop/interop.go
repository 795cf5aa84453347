// Package interop is the interconnection subsystem (互联互通): business
// codes other systems issue (业务码 — a bank's payment code, another
// city's pass) are registered with a match rule and a parse target, so an
// app that scans one asks the platform what it is and is sent to its
// landing page or given what its own parse service answers.
//
// Every parse is logged (业务码解析日志, the content masked); alert rules
// (告警管理) watch each code's failure rate and volume and write alert
// records (告警记录); mutual-recognition scenes (互通场景) are authorized
// to decode chosen codes and have their routing switched on and off.
//
// The parse path reads a snapshot in memory — codes with their compiled
// match rules, enabled alert rules, scenes and their grants — re-read every
// two seconds by every node and at once on the node that made a change.
// Alert windows are counted in memory per node (see RATIONALE.md).
package interop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/snapshot"
)

// App is what the service needs to know of an app.
type App struct {
	ID         string
	Name       string
	PlatformID string
	RegionCode string
}

// Config wires the service.
type Config struct {
	Pool *pgxpool.Pool
	// Sealer seals the scenes' contact phone numbers.
	Sealer         *codec.Sealer
	MainPlatformID string
	// App answers an app's name, platform and region, or an error whose
	// fault kind is NotFound when there is no such app.
	App func(ctx context.Context, appID string) (*App, error)
	// AllowTarget reports whether a URL may be a parse target of a
	// platform's business code (redirect landing page or parse service):
	// the platform's service whitelist. It is asked about the https form
	// of the URL, at save and again at every parse.
	AllowTarget func(ctx context.Context, platformID, url string) (bool, error)
	// AllowInsecure accepts http:// targets and parse services on loopback
	// addresses (development and tests only).
	AllowInsecure bool
	Clock         func() time.Time
	Log           *slog.Logger
	Reload        time.Duration // how often the snapshot is re-read (default 2 s)
}

// Service registers business codes, parses them and watches their alerts.
type Service struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client

	snap *snapshot.Value[*registered]
	// matchers keeps compiled rules across reloads (under load): the same
	// rule is not compiled again every two seconds.
	matchers map[string]*matcher

	tmu     sync.Mutex
	tallies map[int64]*tally    // by business code
	fired   map[int64]time.Time // by alert rule: when this node last saw it fire
}

// New makes the service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Sealer == nil || cfg.App == nil || cfg.AllowTarget == nil || cfg.MainPlatformID == "" {
		return nil, errors.New("interop: Pool, Sealer, App, AllowTarget and MainPlatformID are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "interop"), matchers: map[string]*matcher{},
		tallies: map[int64]*tally{}, fired: map[int64]time.Time{}}
	s.snap = snapshot.New(snapshot.Config{Every: cfg.Reload, Clock: cfg.Clock, Log: s.log, What: "business codes"},
		func(ctx context.Context) (*registered, error) {
			next, err := s.read(ctx)
			if err == nil {
				s.prune(next)
			}
			return next, err
		})
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: s.checkAddress}
	s.client = &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute},
		// A parse service's redirect is not followed: it could point
		// anywhere, the whitelist having been checked for its own URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// checkAddress refuses, at connect time (after DNS, so a whitelisted name
// that resolves to such an address is caught too), loopback, link-local
// (cloud metadata), unspecified and multicast addresses unless insecure
// use is allowed. Private ranges are allowed: parse services of other
// government systems live on the e-government network.
func (s *Service) checkAddress(_, address string, _ syscall.RawConn) error {
	if s.cfg.AllowInsecure {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("interop: %s is not an address a parse service may have", host)
	}
	return nil
}

// Routes declares the console's management of business codes, logs,
// alerts and scenes, and the apps' parse endpoint.
func (s *Service) Routes() []*httpapi.Route {
	return slices.Concat(s.codeRoutes(), s.parseRoutes(), s.alertRoutes(), s.sceneRoutes())
}

// snapshot is what the parse path reads.
type registered struct {
	codes  []*codeEntry // in precedence order (see precedes)
	rules  map[int64][]ruleEntry
	scenes map[int64]*sceneEntry
}

type codeEntry struct {
	ID         int64
	Name       string
	AppID      string
	AppName    string
	PlatformID string
	RegionCode string
	TargetKind string
	TargetURL  string
	Timeout    time.Duration
	Enabled    bool
	m          *matcher
}

type ruleEntry struct {
	ID           int64
	TemplateID   string
	TemplateName string
	Metric       string
	Threshold    float64
	Window       int
	MinSamples   int64
	Cooldown     time.Duration
}

type sceneEntry struct {
	ID         int64
	Code       string
	Name       string
	PlatformID string
	Enabled    bool
	Routing    bool
	grants     map[int64]bool
}

// current answers the registered codes, rules and scenes in force. When
// the database cannot be read the last ones stay.
func (s *Service) current(ctx context.Context) (*registered, error) {
	return s.snap.Get(ctx)
}

// prune forgets the counts of codes no enabled rule watches any more and
// the cooldowns of rules that are gone or disabled.
func (s *Service) prune(snap *registered) {
	live := map[int64]bool{}
	for _, rs := range snap.rules {
		for _, r := range rs {
			live[r.ID] = true
		}
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	for id := range s.tallies {
		if len(snap.rules[id]) == 0 {
			delete(s.tallies, id)
		}
	}
	for id := range s.fired {
		if !live[id] {
			delete(s.fired, id)
		}
	}
}

// invalidate makes the next parse re-read the snapshot: a change made on
// this node applies here at once.
func (s *Service) invalidate() { s.snap.Invalidate() }

func (s *Service) read(ctx context.Context) (*registered, error) {
	snap := &registered{rules: map[int64][]ruleEntry{}, scenes: map[int64]*sceneEntry{}}
	used := map[string]*matcher{}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, name, app_id, app_name, platform_id, region_code, match_kind, match_value,
		target_kind, target_url, timeout_ms, status = 'enabled' FROM interop_codes`)
	if err != nil {
		return nil, fmt.Errorf("interop: read codes: %w", err)
	}
	for rows.Next() {
		c := &codeEntry{}
		var kind, value string
		var timeout int
		if err := rows.Scan(&c.ID, &c.Name, &c.AppID, &c.AppName, &c.PlatformID, &c.RegionCode, &kind, &value,
			&c.TargetKind, &c.TargetURL, &timeout, &c.Enabled); err != nil {
			rows.Close()
			return nil, fmt.Errorf("interop: read codes: %w", err)
		}
		c.Timeout = time.Duration(timeout) * time.Millisecond
		key := kind + "\x00" + value
		m := s.matchers[key]
		if m == nil {
			if m, err = compileMatch(kind, value); err != nil {
				// Rules are checked when saved; one that no longer
				// compiles (a stricter check since) matches nothing.
				s.log.Warn("a business code's match rule does not compile", "code", c.ID, "err", err)
				continue
			}
		}
		used[key], c.m = m, m
		snap.codes = append(snap.codes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("interop: read codes: %w", err)
	}
	s.matchers = used
	slices.SortFunc(snap.codes, precedes)

	rows, err = s.cfg.Pool.Query(ctx, `SELECT r.id, r.code_id, t.id, t.name, t.metric, r.threshold, r.window_sec, r.min_samples, r.cooldown_sec
		FROM interop_alert_rules r JOIN interop_alert_templates t ON t.id = r.template_id WHERE r.status = 'enabled' ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("interop: read alert rules: %w", err)
	}
	for rows.Next() {
		var r ruleEntry
		var code int64
		var cooldown int
		if err := rows.Scan(&r.ID, &code, &r.TemplateID, &r.TemplateName, &r.Metric, &r.Threshold, &r.Window, &r.MinSamples, &cooldown); err != nil {
			rows.Close()
			return nil, fmt.Errorf("interop: read alert rules: %w", err)
		}
		r.Cooldown = time.Duration(cooldown) * time.Second
		snap.rules[code] = append(snap.rules[code], r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("interop: read alert rules: %w", err)
	}

	rows, err = s.cfg.Pool.Query(ctx, `SELECT s.id, s.code, s.name, s.platform_id, s.status = 'enabled', s.routing,
		coalesce(array_agg(g.code_id) FILTER (WHERE g.code_id IS NOT NULL), '{}')
		FROM interop_scenes s LEFT JOIN interop_scene_grants g ON g.scene_id = s.id GROUP BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("interop: read scenes: %w", err)
	}
	for rows.Next() {
		sc := &sceneEntry{grants: map[int64]bool{}}
		var grants []int64
		if err := rows.Scan(&sc.ID, &sc.Code, &sc.Name, &sc.PlatformID, &sc.Enabled, &sc.Routing, &grants); err != nil {
			rows.Close()
			return nil, fmt.Errorf("interop: read scenes: %w", err)
		}
		for _, g := range grants {
			sc.grants[g] = true
		}
		snap.scenes[sc.ID] = sc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("interop: read scenes: %w", err)
	}
	return snap, nil
}
