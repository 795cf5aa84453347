// Package traffic is scene traffic control (场景限流管控): limits on the
// calls apps make to an open-API route — per second, per minute, and a
// total cap that trips the route until an administrator restores it.
//
// Counting is shared by every node through Redis when it is configured: one
// Lua script checks and counts a call against all of a limit's windows at
// once, and takes back what it counted when a window refuses, so the calls
// admitted never exceed a limit, whichever node admitted them. Without
// Redis the same rules hold in memory, for one node.
package traffic

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/snapshot"
)

// Limit is one route's (or one app's calls of a route's) limits.
type Limit struct {
	ID        int64      `json:"id"`
	Route     string     `json:"route" doc:"METHOD and path of an open-API route: POST /identity/decodeIdentityCode"`
	AppID     string     `json:"appId,omitempty" doc:"empty: every app's calls together"`
	PerSecond int        `json:"perSecond"`
	PerMinute int        `json:"perMinute"`
	TotalCap  int64      `json:"totalCap" doc:"calls admitted in total before the route is suspended (0: none)"`
	State     string     `json:"state" doc:"active, or tripped by the total cap"`
	TrippedAt *time.Time `json:"trippedAt,omitempty"`
	Used      int64      `json:"used" doc:"calls counted against the total cap"`
	Note      string     `json:"note,omitempty"`
	UpdatedBy string     `json:"updatedBy"`
	UpdatedAt time.Time  `json:"updatedAt"`

	counterKey string
}

// Config wires the limiter.
type Config struct {
	Pool   *pgxpool.Pool
	Redis  redis.UniversalClient // nil: counts in memory (one node)
	Clock  func() time.Time
	Log    *slog.Logger
	Reload time.Duration // how often limits are re-read (default 2 s)
}

// Service admits calls and manages the limits.
type Service struct {
	cfg Config
	log *slog.Logger
	ctr counter

	limits *snapshot.Value[map[string][]Limit] // by route

	mu    sync.RWMutex
	known map[string]bool // the app routes a limit may name
}

// New makes the limiter; limits are read on first use and every Reload.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "traffic")}
	s.limits = snapshot.New(snapshot.Config{Every: cfg.Reload, Clock: cfg.Clock, Log: s.log, What: "traffic limits"},
		func(ctx context.Context) (map[string][]Limit, error) {
			all, err := s.list(ctx, "")
			if err != nil {
				return nil, err
			}
			m := map[string][]Limit{}
			for _, l := range all {
				m[l.Route] = append(m[l.Route], l)
			}
			return m, nil
		})
	if cfg.Redis != nil {
		s.ctr = &redisCounter{rc: cfg.Redis}
	} else {
		s.ctr = newMemoryCounter()
	}
	return s
}

// Admit implements httpapi.Limiter: it counts an app's call of a route
// against the route's limits, or refuses it with 429.
func (s *Service) Admit(ctx context.Context, r *httpapi.Route, appID string) error {
	ls, err := s.limitsOf(ctx, r.Method+" "+r.Path)
	if err != nil || len(ls) == 0 {
		// Limits protect the platform; an unreadable table must not stop
		// it. The failure is logged by limitsOf.
		return nil
	}
	now := s.cfg.Clock()
	for _, l := range ls {
		if l.AppID != "" && l.AppID != appID {
			continue
		}
		v, wait, err := s.ctr.admit(ctx, l, now)
		if err != nil {
			s.log.Warn("traffic counter unavailable: call admitted", "route", l.Route, "err", err)
			return nil
		}
		switch v {
		case perSecond, perMinute:
			what := "每秒"
			if v == perMinute {
				what = "每分钟"
			}
			e := fault.E(fault.Limited, fault.CodeRateLimit, "%s calls of %s exceed the limit (%s %d 次)", what, l.Route, what, l.limitOf(v))
			e.RetryAfter = wait
			return e
		case tripped:
			if l.State != "tripped" {
				s.trip(ctx, l, now)
			}
			e := fault.E(fault.Limited, fault.CodeQuota, "%s is suspended: its total of %d calls is reached (场景限流); an administrator must restore it", l.Route, l.TotalCap)
			e.RetryAfter = time.Minute
			return e
		}
	}
	return nil
}

// trip records that a limit's total cap was reached.
func (s *Service) trip(ctx context.Context, l Limit, now time.Time) {
	tag, err := s.cfg.Pool.Exec(context.WithoutCancel(ctx), `UPDATE traffic_limits SET state = 'tripped', tripped_at = $2
		WHERE id = $1 AND state = 'active'`, l.ID, now)
	if err != nil {
		s.log.Warn("recording a tripped limit", "limit", l.ID, "err", err)
		return
	}
	if tag.RowsAffected() == 1 {
		s.log.Warn("traffic limit tripped: route suspended until restored", "route", l.Route, "app", l.AppID, "cap", l.TotalCap)
	}
	s.invalidate()
}

func (l Limit) limitOf(v verdict) int {
	if v == perMinute {
		return l.PerMinute
	}
	return l.PerSecond
}

// limitsOf answers a route's limits from a snapshot re-read every Reload.
func (s *Service) limitsOf(ctx context.Context, route string) ([]Limit, error) {
	m, err := s.limits.Get(ctx)
	if err != nil {
		s.log.Warn("reading traffic limits", "err", err)
		return nil, err
	}
	return m[route], nil
}

func (s *Service) invalidate() { s.limits.Invalidate() }

func (s *Service) list(ctx context.Context, route string) ([]Limit, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+limitCols+` FROM traffic_limits WHERE $1 = '' OR route = $1 ORDER BY route, app_id`, route)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Limit, error) { return scanLimit(r) })
}

const limitCols = `id, route, app_id, per_second, per_minute, total_cap, state, tripped_at, note, updated_by, updated_at, counter_key`

func scanLimit(r pgx.Row) (Limit, error) {
	var l Limit
	err := r.Scan(&l.ID, &l.Route, &l.AppID, &l.PerSecond, &l.PerMinute, &l.TotalCap, &l.State, &l.TrippedAt, &l.Note, &l.UpdatedBy, &l.UpdatedAt, &l.counterKey)
	return l, err
}

// verdict is a counter's answer.
type verdict int

const (
	admitted verdict = iota
	perSecond
	perMinute
	tripped
)

// counter counts calls against a limit's windows.
type counter interface {
	admit(ctx context.Context, l Limit, now time.Time) (verdict, time.Duration, error)
	used(ctx context.Context, l Limit) (int64, error)
	restore(ctx context.Context, l Limit) error
}

// keys of a limit in Redis (or memory), under its own counter key: a limit
// created again starts afresh, and installations sharing a Redis do not mix.
func keys(l Limit, now time.Time) (trip, sec, minute, total string) {
	p := "citycode:traffic:" + l.counterKey + ":"
	return p + "tripped", p + "s:" + strconv.FormatInt(now.Unix(), 10), p + "m:" + strconv.FormatInt(now.Unix()/60, 10), p + "total"
}

// admitScript checks and counts one call against the windows at once (a
// window's key names its second or minute, so it outlives the window a
// little to spare a slow burst from a reset):
// KEYS = tripped flag, second, minute, total; ARGV = per second, per
// minute, total cap. It answers 0 (admitted), 1 (second), 2 (minute) or 3
// (tripped); a refused call is not counted anywhere.
var admitScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 3 end
local ps, pm, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if ps > 0 then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('PEXPIRE', KEYS[2], 10000) end
  if n > ps then redis.call('DECR', KEYS[2]) return 1 end
end
if pm > 0 then
  local n = redis.call('INCR', KEYS[3])
  if n == 1 then redis.call('PEXPIRE', KEYS[3], 120000) end
  if n > pm then
    redis.call('DECR', KEYS[3])
    if ps > 0 then redis.call('DECR', KEYS[2]) end
    return 2
  end
end
if cap > 0 then
  local n = redis.call('INCR', KEYS[4])
  if n > cap then
    redis.call('DECR', KEYS[4])
    if ps > 0 then redis.call('DECR', KEYS[2]) end
    if pm > 0 then redis.call('DECR', KEYS[3]) end
    redis.call('SET', KEYS[1], '1')
    return 3
  end
end
return 0`)

type redisCounter struct{ rc redis.UniversalClient }

func (c *redisCounter) admit(ctx context.Context, l Limit, now time.Time) (verdict, time.Duration, error) {
	if l.State == "tripped" {
		return tripped, 0, nil
	}
	trip, sec, minute, total := keys(l, now)
	v, err := admitScript.Run(ctx, c.rc, []string{trip, sec, minute, total}, l.PerSecond, l.PerMinute, l.TotalCap).Int()
	if err != nil {
		return admitted, 0, err
	}
	return verdict(v), untilNext(now, verdict(v)), nil
}

func (c *redisCounter) used(ctx context.Context, l Limit) (int64, error) {
	_, _, _, total := keys(l, time.Time{})
	n, err := c.rc.Get(ctx, total).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

func (c *redisCounter) restore(ctx context.Context, l Limit) error {
	trip, _, _, total := keys(l, time.Time{})
	return c.rc.Del(ctx, trip, total).Err()
}

// untilNext is how long a refused caller waits: to the next second or
// minute.
func untilNext(now time.Time, v verdict) time.Duration {
	switch v {
	case perSecond:
		return now.Truncate(time.Second).Add(time.Second).Sub(now)
	case perMinute:
		return now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	}
	return 0
}

// memoryCounter is the one-node counter.
type memoryCounter struct {
	mu sync.Mutex
	n  map[string]int64
	at map[string]time.Time // when a window key may be forgotten
}

func newMemoryCounter() *memoryCounter {
	return &memoryCounter{n: map[string]int64{}, at: map[string]time.Time{}}
}

func (c *memoryCounter) admit(_ context.Context, l Limit, now time.Time) (verdict, time.Duration, error) {
	if l.State == "tripped" {
		return tripped, 0, nil
	}
	trip, sec, minute, total := keys(l, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.at {
		if now.After(t) {
			delete(c.n, k)
			delete(c.at, k)
		}
	}
	if c.n[trip] > 0 {
		return tripped, 0, nil
	}
	if l.PerSecond > 0 && c.n[sec] >= int64(l.PerSecond) {
		return perSecond, untilNext(now, perSecond), nil
	}
	if l.PerMinute > 0 && c.n[minute] >= int64(l.PerMinute) {
		return perMinute, untilNext(now, perMinute), nil
	}
	if l.TotalCap > 0 && c.n[total] >= l.TotalCap {
		c.n[trip] = 1
		return tripped, 0, nil
	}
	c.n[sec]++
	c.n[minute]++
	c.n[total]++
	c.at[sec], c.at[minute] = now.Add(2*time.Second), now.Add(61*time.Second)
	return admitted, 0, nil
}

func (c *memoryCounter) used(_ context.Context, l Limit) (int64, error) {
	_, _, _, total := keys(l, time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[total], nil
}

func (c *memoryCounter) restore(_ context.Context, l Limit) error {
	trip, _, _, total := keys(l, time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.n, trip)
	delete(c.n, total)
	return nil
}

var _ httpapi.Limiter = (*Service)(nil)

func errRoute(route string) error {
	return fault.Invalidf("parameter %q: %q is not an app route of this platform (METHOD /path, as in the OpenAPI document)", "route", route)
}
