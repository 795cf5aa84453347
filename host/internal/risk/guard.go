package risk

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Event is one generate, show or verify as risk control sees it.
type Event struct {
	Type       string `json:"type"` // verify …
	AppID      string `json:"appId"`
	PlatformID string `json:"platformId"`
	IP         string `json:"ip"`
	UserID     string `json:"userId,omitempty"`
	OrgID      string `json:"orgId,omitempty"` // the accepting organization
	CodeID     string `json:"codeId,omitempty"`
}

// Decision is data.risk.decision.
type Decision struct {
	Action     string   `json:"action"` // allow, flag, intercept
	Indicators []string `json:"indicators"`
}

// GuardConfig wires the guard.
type GuardConfig struct {
	Pool *pgxpool.Pool
	// Eval evaluates a policy query (policy.Engine.Eval).
	Eval func(ctx context.Context, query string, input, out any) error
	// Version names the serving policy bundle (policy.Engine.Version).
	Version func() string
	Redis   redis.UniversalClient // nil: windows in memory (one node)
	// Namespace keeps installations that share a Redis apart (the
	// database's name).
	Namespace string
	Clock     func() time.Time
	Log       *slog.Logger
}

// Guard counts events in sliding one-minute windows per IP, user,
// accepting organization and code — across nodes in Redis — and asks the
// risk policy (policies/risk) to allow, flag or intercept each one.
// Flagged and intercepted events are recorded (风控拦截记录).
type Guard struct {
	cfg GuardConfig
	log *slog.Logger
	win windows

	mu     sync.Mutex
	bounds *bounds // of the serving bundle
}

// bounds are the policy's thresholds and flag ratio, read once per bundle:
// an event whose every indicator is below its flag line is allowed without
// a policy evaluation, which the policy would answer "allow" anyway.
type bounds struct {
	version    string
	thresholds map[string]float64
	flagRatio  float64
}

// quiet reports whether every indicator is below the line where the
// policy starts flagging.
func (g *Guard) quiet(ctx context.Context, indicators map[string]float64) bool {
	if g.cfg.Version == nil {
		return false
	}
	v := g.cfg.Version()
	g.mu.Lock()
	b := g.bounds
	g.mu.Unlock()
	if b == nil || b.version != v {
		b = &bounds{version: v}
		if g.cfg.Eval(ctx, "data.risk.thresholds", map[string]any{}, &b.thresholds) != nil ||
			g.cfg.Eval(ctx, "data.risk.flag_ratio", map[string]any{}, &b.flagRatio) != nil || b.flagRatio <= 0 {
			b.thresholds = nil // a policy without them is always asked
		}
		g.mu.Lock()
		g.bounds = b
		g.mu.Unlock()
	}
	if b.thresholds == nil {
		return false
	}
	for name, n := range indicators {
		if t, ok := b.thresholds[name]; ok && n >= t*b.flagRatio {
			return false
		}
	}
	return true
}

// NewGuard makes the guard.
func NewGuard(cfg GuardConfig) *Guard {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: cfg, log: cfg.Log.With("component", "risk")}
	if cfg.Redis != nil {
		g.win = &redisWindows{rc: cfg.Redis, ns: cfg.Namespace}
	} else {
		g.win = &memoryWindows{n: map[string]int64{}}
	}
	return g
}

// keysOf names an event's indicators and the window keys that count them.
func keysOf(ev Event) map[string]string {
	k := map[string]string{}
	add := func(name, v string) {
		if v != "" {
			k[name] = name[:len(name)-3] + ":" + ev.Type + ":" + v
		}
	}
	add("ip_1m", ev.IP)
	add("user_1m", ev.UserID)
	add("org_1m", ev.OrgID)
	add("code_1m", ev.CodeID)
	return k
}

// Check counts the event and answers nil, or a 403 RiskIntercepted when
// the policy intercepts it. A guard that cannot count or decide lets the
// event through: risk control must not take the platform down with it.
func (g *Guard) Check(ctx context.Context, ev Event) error {
	now := g.cfg.Clock()
	keys := keysOf(ev)
	names := make([]string, 0, len(keys))
	list := make([]string, 0, len(keys))
	for name, key := range keys {
		names, list = append(names, name), append(list, key)
	}
	counts, err := g.win.add(ctx, list, now)
	if err != nil {
		g.log.Warn("risk windows unavailable: event allowed", "err", err)
		return nil
	}
	indicators := make(map[string]float64, len(keys))
	for i, name := range names {
		indicators[name] = counts[i]
	}
	if g.quiet(ctx, indicators) {
		return nil
	}
	var d Decision
	if err := g.cfg.Eval(ctx, "data.risk.decision", map[string]any{"event": ev, "indicators": indicators}, &d); err != nil {
		g.log.Warn("risk policy unavailable: event allowed", "err", err)
		return nil
	}
	if d.Action != "flag" && d.Action != "intercept" {
		return nil
	}
	ind, _ := json.Marshal(indicators)
	_, err = g.cfg.Pool.Exec(context.WithoutCancel(ctx), `INSERT INTO risk_records (action, event_type, app_id, platform_id, ip, user_id, org_id, code_id,
		indicators, triggered, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.Action, ev.Type, ev.AppID, ev.PlatformID, ev.IP, ev.UserID, ev.OrgID, ev.CodeID, ind, d.Indicators, now)
	if err != nil {
		g.log.Warn("recording a risk decision", "err", err)
	}
	if d.Action == "intercept" {
		return fault.E(fault.Denied, fault.CodeRiskIntercepted, "intercepted by risk control (风控拦截): %v over their thresholds", d.Indicators)
	}
	return nil
}

// windows count events in sliding one-minute windows: the current
// minute's count plus the previous minute's, weighted by how much of it the
// last sixty seconds still cover.
type windows interface {
	// add counts one event in each key's window (one round trip for all)
	// and answers their sliding counts.
	add(ctx context.Context, keys []string, now time.Time) ([]float64, error)
	reset(ctx context.Context, key string, now time.Time) error
}

func minuteKeys(ns, key string, now time.Time) (cur, prev string) {
	m := now.Unix() / 60
	p := "citycode:risk:" + ns + ":" + key + ":"
	return p + strconv.FormatInt(m, 10), p + strconv.FormatInt(m-1, 10)
}

func sliding(cur, prev int64, now time.Time) float64 {
	elapsed := float64(now.Unix()%60) + float64(now.Nanosecond())/1e9
	return float64(cur) + float64(prev)*(60-elapsed)/60
}

type redisWindows struct {
	rc redis.UniversalClient
	ns string
}

func (w *redisWindows) add(ctx context.Context, keys []string, now time.Time) ([]float64, error) {
	pipe := w.rc.TxPipeline()
	incrs := make([]*redis.IntCmd, len(keys))
	olds := make([]*redis.StringCmd, len(keys))
	for i, key := range keys {
		cur, prev := minuteKeys(w.ns, key, now)
		incrs[i] = pipe.Incr(ctx, cur)
		pipe.Expire(ctx, cur, 2*time.Minute)
		olds[i] = pipe.Get(ctx, prev)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	out := make([]float64, len(keys))
	for i := range keys {
		p, _ := olds[i].Int64()
		out[i] = sliding(incrs[i].Val(), p, now)
	}
	return out, nil
}

func (w *redisWindows) reset(ctx context.Context, key string, now time.Time) error {
	cur, prev := minuteKeys(w.ns, key, now)
	return w.rc.Del(ctx, cur, prev).Err()
}

type memoryWindows struct {
	mu sync.Mutex
	n  map[string]int64
}

func (w *memoryWindows) add(_ context.Context, keys []string, now time.Time) ([]float64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.n) > 1<<20 {
		clear(w.n) // a bounded memory: at worst, windows start afresh
	}
	out := make([]float64, len(keys))
	for i, key := range keys {
		cur, prev := minuteKeys("", key, now)
		w.n[cur]++
		out[i] = sliding(w.n[cur], w.n[prev], now)
	}
	return out, nil
}

func (w *memoryWindows) reset(_ context.Context, key string, now time.Time) error {
	cur, prev := minuteKeys("", key, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.n, cur)
	delete(w.n, prev)
	return nil
}
