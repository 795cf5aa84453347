package risk

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/snapshot"
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
	Rules      []int64  `json:"rules"`
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
	// MainPlatformID is the city's platform: its rules for every app
	// (app_id '') cover every platform.
	MainPlatformID string
	Clock          func() time.Time
	Log            *slog.Logger
	Reload         time.Duration // how often the configuration is re-read; default 2 s
}

// Guard counts events in sliding windows — the indicators (风控指标) per
// IP, user, accepting organization, app or code, across nodes in Redis —
// and asks the risk policy (policies/risk), with the rules (风控规则) that
// apply to the event's app and model, to allow, flag or intercept it.
// Flagged and intercepted events are recorded (风控拦截记录).
//
// The configuration (indicators, enabled rules, apps' modes) is a snapshot
// in memory that every node re-reads every two seconds; a change made on a
// node applies there at once.
type Guard struct {
	cfg GuardConfig
	log *slog.Logger
	win windows

	mu     sync.Mutex
	bounds *bounds // of the serving bundle

	snap *snapshot.Value[*setup]
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
// policy starts flagging: the rule's line where a rule names the
// indicator, the policy's default otherwise.
func (g *Guard) quiet(ctx context.Context, indicators map[string]float64, rules []ruleInput) bool {
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
			g.cfg.Eval(ctx, "data.risk.flag_ratio", map[string]any{}, &b.flagRatio) != nil || b.flagRatio <= 0 || b.flagRatio > 1 {
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
		ruled := false
		for _, r := range rules {
			if r.Indicator != name {
				continue
			}
			ruled = true
			if (r.Action == "flag" && n > r.Threshold) || (r.Action == "intercept" && n >= r.Threshold*b.flagRatio) {
				return false
			}
		}
		if t, ok := b.thresholds[name]; ok && !ruled && n >= t*b.flagRatio {
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
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	g := &Guard{cfg: cfg, log: cfg.Log.With("component", "risk")}
	g.snap = snapshot.New(snapshot.Config{Every: cfg.Reload, Clock: cfg.Clock, Log: g.log, What: "the risk configuration"}, g.read)
	if cfg.Redis != nil {
		g.win = &redisWindows{rc: cfg.Redis, ns: cfg.Namespace}
	} else {
		g.win = &memoryWindows{n: map[string]int64{}}
	}
	return g
}

// counted is one indicator's window for one event.
type counted struct {
	name string
	key  windowKey
}

// keysOf names the indicators that count ev and their windows' keys:
// counts are per indicator, event type and value of its dimension.
func keysOf(inds []Indicator, ev Event) []counted {
	out := make([]counted, 0, len(inds))
	for _, ind := range inds {
		if !slices.Contains(ind.EventTypes, ev.Type) {
			continue
		}
		if v := ev.value(ind.Dimension); v != "" {
			out = append(out, counted{ind.Code, windowKey{ind.Code + ":" + ev.Type + ":" + v, ind.Window()}})
		}
	}
	return out
}

// value is the event's value of an indicator dimension.
func (ev Event) value(dimension string) string {
	switch dimension {
	case "ip":
		return ev.IP
	case "user":
		return ev.UserID
	case "org":
		return ev.OrgID
	case "app":
		return ev.AppID
	case "code":
		return ev.CodeID
	}
	return ""
}

// Check counts the event and answers nil, or a 403 RiskIntercepted when
// the policy intercepts it and the app is enforced. A guard that cannot
// count or decide lets the event through: risk control must not take the
// platform down with it.
func (g *Guard) Check(ctx context.Context, ev Event) error {
	s := g.setup(ctx)
	mode := s.modes[ev.AppID]
	if mode == ModeOff {
		return nil
	}
	now := g.cfg.Clock()
	keys := keysOf(s.indicators, ev)
	if len(keys) == 0 {
		return nil
	}
	list := make([]windowKey, len(keys))
	for i, k := range keys {
		list[i] = k.key
	}
	counts, err := g.win.add(ctx, list, now)
	if err != nil {
		g.log.Warn("risk windows unavailable: event allowed", "err", err)
		return nil
	}
	indicators := make(map[string]float64, len(keys))
	for i, k := range keys {
		indicators[k.name] = counts[i]
	}
	rules := s.applicable(ev, g.cfg.MainPlatformID)
	if g.quiet(ctx, indicators, rules) {
		return nil
	}
	var d Decision
	input := map[string]any{"event": ev, "indicators": indicators, "rules": rules}
	if err := g.cfg.Eval(ctx, "data.risk.decision", input, &d); err != nil {
		g.log.Warn("risk policy unavailable: event allowed", "err", err)
		return nil
	}
	if d.Action != "flag" && d.Action != "intercept" {
		return nil
	}
	enforced := d.Action == "intercept" && mode != ModeMonitor
	if d.Rules == nil {
		d.Rules = []int64{}
	}
	ind, _ := json.Marshal(indicators)
	_, err = g.cfg.Pool.Exec(context.WithoutCancel(ctx), `INSERT INTO risk_records (action, event_type, app_id, platform_id, ip, user_id, org_id, code_id,
		indicators, triggered, rule_ids, enforced, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		d.Action, ev.Type, ev.AppID, ev.PlatformID, ev.IP, ev.UserID, ev.OrgID, ev.CodeID, ind, d.Indicators, d.Rules, enforced || d.Action == "flag", now)
	if err != nil {
		g.log.Warn("recording a risk decision", "err", err)
	}
	if enforced {
		return fault.E(fault.Denied, fault.CodeRiskIntercepted, "intercepted by risk control (风控拦截): %v over their thresholds", d.Indicators)
	}
	return nil
}

// windowKey is one counter and the length of its sliding window.
type windowKey struct {
	key    string
	window time.Duration
}

// windows count events in sliding windows: the current window's count
// plus the previous window's, weighted by how much of it the last window
// length still covers.
type windows interface {
	// add counts one event in each key's window (one round trip for all)
	// and answers their sliding counts.
	add(ctx context.Context, keys []windowKey, now time.Time) ([]float64, error)
	// peek answers a window's sliding count without counting.
	peek(ctx context.Context, key windowKey, now time.Time) (float64, error)
	reset(ctx context.Context, key windowKey, now time.Time) error
}

func bucketKeys(ns string, k windowKey, now time.Time) (cur, prev string) {
	w := int64(k.window / time.Second)
	b := now.Unix() / w
	p := "citycode:risk:" + ns + ":" + k.key + ":" + strconv.FormatInt(w, 10) + ":"
	return p + strconv.FormatInt(b, 10), p + strconv.FormatInt(b-1, 10)
}

func sliding(cur, prev int64, window time.Duration, now time.Time) float64 {
	w := window.Seconds()
	elapsed := float64(now.Unix()%int64(w)) + float64(now.Nanosecond())/1e9
	return float64(cur) + float64(prev)*(w-elapsed)/w
}

type redisWindows struct {
	rc redis.UniversalClient
	ns string
}

func (w *redisWindows) add(ctx context.Context, keys []windowKey, now time.Time) ([]float64, error) {
	pipe := w.rc.TxPipeline()
	incrs := make([]*redis.IntCmd, len(keys))
	olds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cur, prev := bucketKeys(w.ns, k, now)
		incrs[i] = pipe.Incr(ctx, cur)
		pipe.Expire(ctx, cur, 2*k.window)
		olds[i] = pipe.Get(ctx, prev)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	out := make([]float64, len(keys))
	for i, k := range keys {
		p, _ := olds[i].Int64()
		out[i] = sliding(incrs[i].Val(), p, k.window, now)
	}
	return out, nil
}

func (w *redisWindows) peek(ctx context.Context, k windowKey, now time.Time) (float64, error) {
	cur, prev := bucketKeys(w.ns, k, now)
	vs, err := w.rc.MGet(ctx, cur, prev).Result()
	if err != nil {
		return 0, err
	}
	n := func(v any) int64 {
		s, _ := v.(string)
		i, _ := strconv.ParseInt(s, 10, 64)
		return i
	}
	return sliding(n(vs[0]), n(vs[1]), k.window, now), nil
}

func (w *redisWindows) reset(ctx context.Context, k windowKey, now time.Time) error {
	cur, prev := bucketKeys(w.ns, k, now)
	return w.rc.Del(ctx, cur, prev).Err()
}

type memoryWindows struct {
	mu sync.Mutex
	n  map[string]int64
}

func (w *memoryWindows) add(_ context.Context, keys []windowKey, now time.Time) ([]float64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.n) > 1<<20 {
		clear(w.n) // a bounded memory: at worst, windows start afresh
	}
	out := make([]float64, len(keys))
	for i, k := range keys {
		cur, prev := bucketKeys("", k, now)
		w.n[cur]++
		out[i] = sliding(w.n[cur], w.n[prev], k.window, now)
	}
	return out, nil
}

func (w *memoryWindows) peek(_ context.Context, k windowKey, now time.Time) (float64, error) {
	cur, prev := bucketKeys("", k, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	return sliding(w.n[cur], w.n[prev], k.window, now), nil
}

func (w *memoryWindows) reset(_ context.Context, k windowKey, now time.Time) error {
	cur, prev := bucketKeys("", k, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.n, cur)
	delete(w.n, prev)
	return nil
}
