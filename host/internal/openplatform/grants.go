// Package openplatform is the open platform (开放平台): the developer
// portal (accounts, qualifications and their review, apps, applications
// for capabilities, notifications: see Portal) and how partners' apps are
// granted capabilities of the open API, with quotas. This file holds the
// grants and their enforcement on every signed call.
//
// A capability is a group of App routes (httpapi.Route.CapabilityName: a
// route's first tag, or the name it Needs): issuing personal codes,
// decoding codes, object codes ... An app restricted to its grants may
// call the routes of the capabilities it holds, each within its quota per
// day or month (Beijing days); the policy data.openapi.decision
// (policies/openapi) decides, answering 403 UnauthorizedOperation or 429
// LimitExceeded.Quota. Apps of a frozen developer are refused every call
// (UnauthorizedOperation). Apps not restricted (the city's own, created by its
// administrators) call every route, without a policy evaluation.
//
// Grants are a snapshot in memory that every node re-reads every two
// seconds; a change made on a node applies there at once. Quota counters
// live in Redis across nodes (in memory on a single node).
package openplatform

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/snapshot"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Config wires the grants.
type Config struct {
	Pool *pgxpool.Pool
	// Eval evaluates a policy query (policy.Engine.Eval).
	Eval  func(ctx context.Context, query string, input, out any) error
	Redis redis.UniversalClient // nil: quota counters in memory (one node)
	// Namespace keeps installations that share a Redis apart.
	Namespace string
	Clock     func() time.Time
	Log       *slog.Logger
	Reload    time.Duration // default 2 s
}

// Grants keeps the apps' capability grants and enforces them.
type Grants struct {
	cfg      Config
	log      *slog.Logger
	counters counters

	snap *snapshot.Value[*grantsSnapshot]

	catalogue map[string]*Capability // set once by KnowRoutes
}

// appGrants is one restricted app's grants.
type appGrants struct {
	restricted bool
	// frozen: the app's developer is frozen (开发者冻结); its calls are
	// refused whatever it was granted.
	frozen bool
	grants map[string]Grant
}

// Grant is a capability granted to an app.
type Grant struct {
	Capability string     `json:"capability"`
	Name       string     `json:"name,omitempty"`
	Quota      *int64     `json:"quota,omitempty" doc:"calls per period; absent: unlimited"`
	Period     string     `json:"period" doc:"day or month (Beijing time)"`
	Used       int64      `json:"used" doc:"calls so far this period"`
	GrantedBy  string     `json:"grantedBy,omitempty"`
	GrantedAt  *time.Time `json:"grantedAt,omitempty"`
	quotaValue int64
}

// Capability is one capability of the catalogue.
type Capability struct {
	Code   string     `json:"code"`
	Name   string     `json:"name"`
	Basic  bool       `json:"basic" doc:"every app holds it (its own information)"`
	Routes []RouteRef `json:"routes"`
}

// RouteRef is one route of a capability.
type RouteRef struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// names are the capabilities' Chinese names; the catalogue is built from
// the routes, so a capability missing here is shown by its code.
var names = map[string]string{
	"personal-code":   "个人码（一人一码）生码亮码",
	"health-code":     "健康码生码亮码",
	"payment-code":    "支付码生码亮码",
	"code-decode":     "解码验码",
	"bind-data":       "数据绑定",
	"enterprise-code": "一企一码",
	"object-code":     "一物一码",
	"code-relations":  "码间关系",
	"qr":              "码图片生成",
	"landing":         "落地页",
	"plugins":         "插件数据同步",
	"whitelists":      "白名单查询",
	"interop":         "互联互通解析",
	"open-api":        "应用信息",
}

// basic capabilities are held by every app.
var basic = map[string]bool{"open-api": true}

// New makes the grants.
func New(cfg Config) *Grants {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	g := &Grants{cfg: cfg, log: cfg.Log.With("component", "openplatform"), catalogue: map[string]*Capability{}}
	g.snap = snapshot.New(snapshot.Config{Every: cfg.Reload, Clock: cfg.Clock, Log: g.log, What: "capability grants"}, g.read)
	if cfg.Redis != nil {
		g.counters = &redisCounters{rc: cfg.Redis, ns: cfg.Namespace}
	} else {
		g.counters = &memoryCounters{n: map[string]memoryCount{}}
	}
	return g
}

// KnowRoutes builds the capability catalogue from the mounted App routes.
// Call it once, after every route is mounted.
func (g *Grants) KnowRoutes(routes []*httpapi.Route) {
	for _, r := range routes {
		if r.Auth != httpapi.App {
			continue
		}
		code := r.CapabilityName()
		c := g.catalogue[code]
		if c == nil {
			name := names[code]
			if name == "" {
				name = code
			}
			c = &Capability{Code: code, Name: name, Basic: basic[code]}
			g.catalogue[code] = c
		}
		c.Routes = append(c.Routes, RouteRef{Method: r.Method, Path: r.Path, Summary: r.Summary})
	}
}

var cst = time.FixedZone("CST", 8*3600)

// periodKey names the current day or month (Beijing time) and when it ends.
func periodKey(period string, now time.Time) (string, time.Time) {
	t := now.In(cst)
	if period == "month" {
		return t.Format("200601"), time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, cst)
	}
	return t.Format("20060102"), time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, cst)
}

func counterKey(appID, capability, period string, now time.Time) (string, time.Time) {
	p, end := periodKey(period, now)
	return appID + ":" + capability + ":" + p, end
}

// Permit implements httpapi.Grants.
func (g *Grants) Permit(ctx context.Context, route *httpapi.Route, appID string) error {
	a, err := g.current(ctx).lookup(ctx, g, appID)
	if err != nil {
		// An app created after the snapshot whose grants cannot be read
		// is not let through unrestricted.
		g.log.Warn("reading an app's grants: call refused", "app", appID, "err", err)
		return fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "the app's grants cannot be read right now; try again")
	}
	if a == nil || !a.restricted {
		return nil
	}
	capability := route.CapabilityName()
	if basic[capability] && !a.frozen {
		return nil
	}
	grant, granted := a.grants[capability]
	usage := map[string]int64{}
	var counted string
	now := g.cfg.Clock()
	if granted && grant.quotaValue > 0 && !a.frozen {
		key, end := counterKey(appID, capability, grant.Period, now)
		n, err := g.counters.incr(ctx, key, end)
		if err != nil {
			// A quota that cannot be counted is not given away.
			g.log.Warn("quota counters unavailable: call refused", "err", err)
			return fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "quotas cannot be counted right now; try again")
		}
		usage[capability], counted = n-1, key
	}
	caps := make([]string, 0, len(a.grants))
	quotas := map[string]int64{}
	for c, gr := range a.grants {
		caps = append(caps, c)
		if gr.quotaValue > 0 {
			quotas[c] = gr.quotaValue
		}
	}
	input := map[string]any{
		"app":        map[string]any{"id": appID, "enabled": !a.frozen, "capabilities": caps, "quotas": quotas},
		"capability": capability,
		"usage":      usage,
	}
	var d struct {
		Allow  bool   `json:"allow"`
		Reason string `json:"reason"`
		Code   string `json:"code"`
	}
	if err := g.cfg.Eval(ctx, "data.openapi.decision", input, &d); err != nil {
		if counted != "" {
			g.counters.decr(context.WithoutCancel(ctx), counted)
		}
		return fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the open-API policy is unavailable; try again")
	}
	if d.Allow {
		return nil
	}
	if counted != "" {
		g.counters.decr(context.WithoutCancel(ctx), counted)
	}
	if a.frozen {
		return fault.E(fault.Denied, fault.CodeUnauthorizedOperation, "%s: the app's developer is frozen (开发者已冻结)", d.Reason)
	}
	if d.Code == fault.CodeQuota {
		return fault.E(fault.Limited, fault.CodeQuota, "%s (能力配额已用完): apply for more quota", d.Reason)
	}
	return fault.E(fault.Denied, fault.CodeUnauthorizedOperation, "%s (未授权的能力): apply for the capability %s", d.Reason, capability)
}

// grantsSnapshot is the grants of every restricted app as read at one
// time, and the ids of every app that existed then. An app created since
// (on any node) is looked up once by itself: otherwise it would pass
// unrestricted until the next reload.
type grantsSnapshot struct {
	apps  map[string]*appGrants
	known map[string]bool

	mu   sync.Mutex
	late map[string]*appGrants // nil value: looked up, not restricted
}

func (s *grantsSnapshot) lookup(ctx context.Context, g *Grants, appID string) (*appGrants, error) {
	if a := s.apps[appID]; a != nil || s.known[appID] {
		return a, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.late[appID]; ok {
		return a, nil
	}
	one, err := g.readApps(ctx, `m.app_id = $1`, appID)
	if err != nil {
		return nil, err
	}
	if len(s.late) > 10_000 {
		clear(s.late) // bounded: unknown ids are only looked up again
	}
	s.late[appID] = one[appID]
	return one[appID], nil
}

// current answers the grants in force. When they cannot be read the last
// ones stay; before any was read, every app is looked up by itself.
func (g *Grants) current(ctx context.Context) *grantsSnapshot {
	s, err := g.snap.Get(ctx)
	if err != nil {
		g.log.Warn("reading capability grants: apps are looked up one by one", "err", err)
		return &grantsSnapshot{apps: map[string]*appGrants{}, known: map[string]bool{}, late: map[string]*appGrants{}}
	}
	return s
}

func (g *Grants) read(ctx context.Context) (*grantsSnapshot, error) {
	s := &grantsSnapshot{known: map[string]bool{}, late: map[string]*appGrants{}}
	// Known ids first: an app created between the two reads is then
	// unknown, and looked up by itself.
	rows, err := g.cfg.Pool.Query(ctx, `SELECT id FROM apps`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		s.known[id] = true
	}
	if s.apps, err = g.readApps(ctx, `true`); err != nil {
		return nil, err
	}
	return s, nil
}

// readApps reads the grants of the restricted apps (and of frozen
// developers' apps) that cond selects.
func (g *Grants) readApps(ctx context.Context, cond string, args ...any) (map[string]*appGrants, error) {
	out := map[string]*appGrants{}
	// Apps of frozen developers are in the snapshot even when an
	// administrator lifted their restriction: freezing stops every call.
	rows, err := g.cfg.Pool.Query(ctx, `SELECT m.app_id, c.capability, c.quota, c.period, coalesce(d.status = 'frozen', false)
		FROM app_grant_modes m LEFT JOIN app_capabilities c ON c.app_id = m.app_id
		LEFT JOIN open_apps o ON o.app_id = m.app_id LEFT JOIN open_developers d ON d.id = o.developer_id
		WHERE (m.restricted OR d.status = 'frozen') AND `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var app string
		var capability, period *string
		var quota *int64
		var frozen bool
		if err := rows.Scan(&app, &capability, &quota, &period, &frozen); err != nil {
			return nil, err
		}
		a := out[app]
		if a == nil {
			a = &appGrants{restricted: true, frozen: frozen, grants: map[string]Grant{}}
			out[app] = a
		}
		if capability != nil {
			gr := Grant{Capability: *capability, Period: *period}
			if quota != nil {
				gr.quotaValue = *quota
			}
			a.grants[*capability] = gr
		}
	}
	return out, rows.Err()
}

func (g *Grants) invalidate() { g.snap.Invalidate() }

// Routes declares the console's capability catalogue and grants (能力授权).
func (g *Grants) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/capabilities", g.catalogueRoute).
			Doc("能力目录", "The open API's capabilities, each with its routes; filter by a keyword of the code, name or a route's path or summary.").
			Tag("open-platform").Console("capability.read"),
		httpapi.Handle(http.MethodGet, "/console/apps/:appId/grants", g.getRoute).
			Doc("应用能力授权", "Whether the app is restricted to its grants, and its granted capabilities with quota, period and this period's use.").
			Tag("open-platform").Console("capability.read"),
		httpapi.Handle(http.MethodPut, "/console/apps/:appId/grants", g.putRoute).
			Doc("分配/回收能力", "Replaces the app's grants (allocating and reclaiming capabilities and quotas) and whether it is restricted to them; applies on every node within two seconds.").
			Tag("open-platform").Console("capability.grant"),
		httpapi.Handle(http.MethodGet, "/console/capabilities/:code/usage", g.usageRoute).
			Doc("能力使用监控", "The apps of the caller's scope holding the capability, with their quota and this period's use.").
			Tag("open-platform").Console("capability.read"),
	}
}

// CatalogueIn filters the catalogue.
type CatalogueIn struct {
	Keyword string `query:"keyword" validate:"max=64"`
}

// Catalogue is the capability catalogue.
type Catalogue struct {
	Items []Capability `json:"items"`
}

func (g *Grants) catalogueRoute(_ context.Context, in *CatalogueIn) (*Catalogue, error) {
	out := &Catalogue{Items: []Capability{}}
	kw := strings.ToLower(strings.TrimSpace(in.Keyword))
	for _, c := range g.catalogue {
		match := kw == "" || strings.Contains(c.Code, kw) || strings.Contains(c.Name, kw)
		for _, r := range c.Routes {
			match = match || strings.Contains(strings.ToLower(r.Path), kw) || strings.Contains(r.Summary, kw)
		}
		if match {
			out.Items = append(out.Items, *c)
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Code < out.Items[j].Code })
	return out, nil
}

// AppIn names an app.
type AppIn struct {
	AppID string `path:"appId" validate:"required,max=32"`
}

// AppGrants are an app's grants.
type AppGrants struct {
	AppID      string  `json:"appId"`
	Restricted bool    `json:"restricted" doc:"calls are limited to the granted capabilities"`
	Grants     []Grant `json:"grants"`
}

// appInScope answers NotFound for an app that does not exist or is outside
// the caller's scope.
func (g *Grants) appInScope(ctx context.Context, appID string) error {
	var platformID string
	err := g.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM apps WHERE id = $1`, appID).Scan(&platformID)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(platformID, "", "")) {
		return fault.NotFoundf("app %s not found", appID)
	}
	return err
}

func (g *Grants) grantsOf(ctx context.Context, appID string) (*AppGrants, error) {
	out := &AppGrants{AppID: appID, Grants: []Grant{}}
	err := g.cfg.Pool.QueryRow(ctx, `SELECT restricted FROM app_grant_modes WHERE app_id = $1`, appID).Scan(&out.Restricted)
	if err != nil && !store.NoRows(err) {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT capability, quota, period, granted_by, granted_at FROM app_capabilities WHERE app_id = $1 ORDER BY capability`, appID)
	if err != nil {
		return nil, err
	}
	grants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Grant, error) {
		var gr Grant
		var at time.Time
		err := r.Scan(&gr.Capability, &gr.Quota, &gr.Period, &gr.GrantedBy, &at)
		gr.GrantedAt = &at
		return gr, err
	})
	if err != nil {
		return nil, err
	}
	now := g.cfg.Clock()
	for i := range grants {
		if c := g.catalogue[grants[i].Capability]; c != nil {
			grants[i].Name = c.Name
		}
		if grants[i].Quota != nil {
			key, _ := counterKey(appID, grants[i].Capability, grants[i].Period, now)
			if n, err := g.counters.get(ctx, key); err == nil {
				grants[i].Used = n
			}
		}
	}
	out.Grants = append(out.Grants, grants...)
	return out, nil
}

func (g *Grants) getRoute(ctx context.Context, in *AppIn) (*AppGrants, error) {
	if err := g.appInScope(ctx, in.AppID); err != nil {
		return nil, err
	}
	return g.grantsOf(ctx, in.AppID)
}

// PutIn replaces an app's grants.
type PutIn struct {
	AppID      string    `path:"appId" validate:"required,max=32"`
	Restricted bool      `json:"restricted"`
	Grants     []GrantIn `json:"grants" validate:"max=100,dive"`
}

// GrantIn is one capability to grant.
type GrantIn struct {
	Capability string `json:"capability" validate:"required,max=64"`
	Quota      *int64 `json:"quota" validate:"omitempty,min=1,max=1000000000000" doc:"calls per period; absent: unlimited"`
	Period     string `json:"period" validate:"omitempty,oneof=day month" doc:"day (default) or month"`
}

func (g *Grants) putRoute(ctx context.Context, in *PutIn) (*AppGrants, error) {
	if err := g.appInScope(ctx, in.AppID); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, gr := range in.Grants {
		if g.catalogue[gr.Capability] == nil {
			return nil, fault.Invalidf("parameter %q: no capability %s (see /console/capabilities)", "grants", gr.Capability)
		}
		if seen[gr.Capability] {
			return nil, fault.Invalidf("parameter %q: %s granted twice", "grants", gr.Capability)
		}
		seen[gr.Capability] = true
		if gr.Period == "" {
			in.Grants[i].Period = "day"
		}
	}
	by, now := actor.AccountOf(ctx), g.cfg.Clock()
	err := store.Tx(ctx, g.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO app_grant_modes (app_id, restricted, updated_by, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app_id) DO UPDATE SET restricted = EXCLUDED.restricted, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
			in.AppID, in.Restricted, by, now); err != nil {
			return err
		}
		keep := make([]string, 0, len(in.Grants))
		for _, gr := range in.Grants {
			keep = append(keep, gr.Capability)
			// A grant whose terms do not change keeps who granted it and when.
			if _, err := tx.Exec(ctx, `INSERT INTO app_capabilities (app_id, capability, quota, period, granted_by, granted_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (app_id, capability) DO UPDATE SET quota = EXCLUDED.quota, period = EXCLUDED.period,
					granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at
				WHERE app_capabilities.quota IS DISTINCT FROM EXCLUDED.quota OR app_capabilities.period <> EXCLUDED.period`,
				in.AppID, gr.Capability, gr.Quota, gr.Period, by, now); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM app_capabilities WHERE app_id = $1 AND NOT (capability = ANY($2))`, in.AppID, keep)
		return err
	})
	if err != nil {
		return nil, err
	}
	g.invalidate()
	return g.grantsOf(ctx, in.AppID)
}

// UsageIn names a capability.
type UsageIn struct {
	Code string `path:"code" validate:"required,max=64"`
}

// Usage is a capability's use by the apps holding it.
type Usage struct {
	Capability string     `json:"capability"`
	Apps       []AppUsage `json:"apps"`
}

// AppUsage is one app's use of a capability.
type AppUsage struct {
	AppID      string `json:"appId"`
	AppName    string `json:"appName"`
	PlatformID string `json:"platformId"`
	Restricted bool   `json:"restricted"`
	Grant
}

func (g *Grants) usageRoute(ctx context.Context, in *UsageIn) (*Usage, error) {
	if g.catalogue[in.Code] == nil {
		return nil, fault.NotFoundf("capability %s not found", in.Code)
	}
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "a.platform_id"}, 2)
	rows, err := g.cfg.Pool.Query(ctx, `SELECT a.id, a.name, a.platform_id, coalesce(m.restricted, false), c.quota, c.period
		FROM app_capabilities c JOIN apps a ON a.id = c.app_id LEFT JOIN app_grant_modes m ON m.app_id = c.app_id
		WHERE c.capability = $1 AND `+clause+` ORDER BY a.id LIMIT 1000`, append([]any{in.Code}, args...)...)
	if err != nil {
		return nil, err
	}
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppUsage, error) {
		var u AppUsage
		u.Capability = in.Code
		return u, r.Scan(&u.AppID, &u.AppName, &u.PlatformID, &u.Restricted, &u.Quota, &u.Period)
	})
	if err != nil {
		return nil, err
	}
	now := g.cfg.Clock()
	for i := range apps {
		key, _ := counterKey(apps[i].AppID, in.Code, apps[i].Period, now)
		if n, err := g.counters.get(ctx, key); err == nil {
			apps[i].Used = n
		}
	}
	if apps == nil {
		apps = []AppUsage{}
	}
	return &Usage{Capability: in.Code, Apps: apps}, nil
}

// counters count calls per app, capability and period.
type counters interface {
	incr(ctx context.Context, key string, expires time.Time) (int64, error)
	decr(ctx context.Context, key string)
	get(ctx context.Context, key string) (int64, error)
}

type redisCounters struct {
	rc redis.UniversalClient
	ns string
}

func (c *redisCounters) full(key string) string { return "citycode:quota:" + c.ns + ":" + key }

func (c *redisCounters) incr(ctx context.Context, key string, expires time.Time) (int64, error) {
	pipe := c.rc.TxPipeline()
	n := pipe.Incr(ctx, c.full(key))
	// Kept a day past the period's end for the usage pages.
	pipe.ExpireAt(ctx, c.full(key), expires.Add(24*time.Hour))
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return n.Val(), nil
}

func (c *redisCounters) decr(ctx context.Context, key string) { c.rc.Decr(ctx, c.full(key)) }

func (c *redisCounters) get(ctx context.Context, key string) (int64, error) {
	n, err := c.rc.Get(ctx, c.full(key)).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

type memoryCounters struct {
	mu sync.Mutex
	n  map[string]memoryCount
}

type memoryCount struct {
	n       int64
	expires time.Time
}

func (c *memoryCounters) incr(_ context.Context, key string, expires time.Time) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) > 100_000 {
		// Periods that are over are dropped (kept a day, like Redis).
		for k, v := range c.n {
			if time.Now().After(v.expires.Add(24 * time.Hour)) {
				delete(c.n, k)
			}
		}
	}
	v := c.n[key]
	v.n++
	v.expires = expires
	c.n[key] = v
	return v.n, nil
}

func (c *memoryCounters) decr(_ context.Context, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.n[key]; ok {
		v.n--
		c.n[key] = v
	}
}

func (c *memoryCounters) get(_ context.Context, key string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key].n, nil
}
