package traffic

import (
	"context"
	"net/http"
	"strings"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
)

// KnowRoutes gives the app routes limits may name; call it once every
// route is mounted.
func (s *Service) KnowRoutes(routes []*httpapi.Route) {
	known := map[string]bool{}
	for _, r := range routes {
		if r.Auth == httpapi.App {
			known[r.Method+" "+r.Path] = true
		}
	}
	s.mu.Lock()
	s.known = known
	s.mu.Unlock()
}

// Routes declares the console's management of traffic limits.
func (s *Service) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/traffic-limits", s.listRoute).
			Doc("场景限流列表", "Every traffic limit with its state and the calls counted against its total cap.").
			Tag("traffic").Console("traffic.read"),
		httpapi.Handle(http.MethodPost, "/console/traffic-limits", s.createRoute).
			Doc("新增场景限流", "Limits the calls apps make to an open-API route (all apps together, or one app's): per second and per minute (429 LimitExceeded.RateLimit with Retry-After), and a total cap that suspends the route (429 LimitExceeded.Quota) until an administrator restores it. Counted across every node through Redis.").
			Tag("traffic").Console("traffic.create"),
		httpapi.Handle(http.MethodPut, "/console/traffic-limits/:id", s.updateRoute).
			Doc("修改场景限流", "Changes a limit's rates, cap and note; the counts so far stay.").
			Tag("traffic").Console("traffic.update"),
		httpapi.Handle(http.MethodDelete, "/console/traffic-limits/:id", s.deleteRoute).
			Doc("删除场景限流", "Removes a limit; its route is no longer limited by it.").
			Tag("traffic").Console("traffic.delete"),
		httpapi.Handle(http.MethodPost, "/console/traffic-limits/:id/restore", s.restoreRoute).
			Doc("恢复服务", "Restores a route its total cap suspended (人工恢复): the count starts again from zero.").
			Tag("traffic").Console("traffic.restore"),
	}
}

// mainOnly refuses operators of sub-platforms: limits protect the whole
// platform's APIs.
func mainOnly(ctx context.Context) error {
	if !actor.OnMainPlatform(ctx) {
		return fault.Deniedf("traffic limits are set by the main platform's administrators")
	}
	return nil
}

// LimitList is every limit.
type LimitList struct {
	Items []Limit `json:"items"`
}

func (s *Service) listRoute(ctx context.Context, _ *httpapi.Empty) (*LimitList, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	ls, err := s.list(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].Used, err = s.ctr.used(ctx, ls[i]); err != nil {
			return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the traffic counters are unavailable; try again")
		}
	}
	if ls == nil {
		ls = []Limit{}
	}
	return &LimitList{Items: ls}, nil
}

// LimitIn is a limit as an administrator sets it.
type LimitIn struct {
	Route     string `json:"route" validate:"required,max=200"`
	AppID     string `json:"appId" validate:"max=32"`
	PerSecond int    `json:"perSecond" validate:"min=0,max=1000000"`
	PerMinute int    `json:"perMinute" validate:"min=0,max=100000000"`
	TotalCap  int64  `json:"totalCap" validate:"min=0"`
	Note      string `json:"note" validate:"max=200"`
}

func (s *Service) check(ctx context.Context, in *LimitIn) error {
	in.Route = strings.Join(strings.Fields(in.Route), " ")
	s.mu.RLock()
	ok := s.known[in.Route]
	s.mu.RUnlock()
	if !ok {
		return errRoute(in.Route)
	}
	if in.PerSecond == 0 && in.PerMinute == 0 && in.TotalCap == 0 {
		return fault.Invalidf("set at least one of perSecond, perMinute and totalCap")
	}
	if in.PerSecond > 0 && in.PerMinute > 0 && in.PerMinute < in.PerSecond {
		return fault.Invalidf("parameter %q: %d a minute is less than %d a second", "perMinute", in.PerMinute, in.PerSecond)
	}
	if in.AppID != "" {
		var n int
		if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM apps WHERE id = $1`, in.AppID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fault.NotFoundf("app %s not found", in.AppID)
		}
	}
	return nil
}

func (s *Service) createRoute(ctx context.Context, in *LimitIn) (*Limit, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	if err := s.check(ctx, in); err != nil {
		return nil, err
	}
	var id int64
	err := s.cfg.Pool.QueryRow(ctx, `INSERT INTO traffic_limits (route, app_id, per_second, per_minute, total_cap, note, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (route, app_id) DO NOTHING RETURNING id`,
		in.Route, in.AppID, in.PerSecond, in.PerMinute, in.TotalCap, in.Note, actor.AccountOf(ctx), s.cfg.Clock()).Scan(&id)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceInUse, "%s already has a limit for this app; change it instead", in.Route)
	}
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.one(ctx, id)
}

// LimitUpdateIn changes a limit.
type LimitUpdateIn struct {
	ID int64 `path:"id" json:"-" validate:"min=1"`
	LimitIn
}

func (s *Service) updateRoute(ctx context.Context, in *LimitUpdateIn) (*Limit, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	old, err := s.one(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.Route == "" {
		in.Route = old.Route
	}
	if err := s.check(ctx, &in.LimitIn); err != nil {
		return nil, err
	}
	if in.Route != old.Route || in.AppID != old.AppID {
		return nil, fault.Invalidf("a limit's route and app stay; delete it and create another")
	}
	_, err = s.cfg.Pool.Exec(ctx, `UPDATE traffic_limits SET per_second = $2, per_minute = $3, total_cap = $4, note = $5, updated_by = $6, updated_at = $7
		WHERE id = $1`, in.ID, in.PerSecond, in.PerMinute, in.TotalCap, in.Note, actor.AccountOf(ctx), s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.one(ctx, in.ID)
}

// IDIn names a limit.
type IDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

func (s *Service) deleteRoute(ctx context.Context, in *IDIn) (*httpapi.Empty, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	l, err := s.one(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `DELETE FROM traffic_limits WHERE id = $1`, in.ID); err != nil {
		return nil, err
	}
	_ = s.ctr.restore(ctx, *l)
	s.invalidate()
	return &httpapi.Empty{}, nil
}

func (s *Service) restoreRoute(ctx context.Context, in *IDIn) (*Limit, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	l, err := s.one(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	// The counters start again, then the table says active; nodes see it
	// within their reload interval (2 s).
	if err := s.ctr.restore(ctx, *l); err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the traffic counters are unavailable; try again")
	}
	_, err = s.cfg.Pool.Exec(ctx, `UPDATE traffic_limits SET state = 'active', tripped_at = NULL, updated_by = $2, updated_at = $3 WHERE id = $1`,
		in.ID, actor.AccountOf(ctx), s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.one(ctx, in.ID)
}

func (s *Service) one(ctx context.Context, id int64) (*Limit, error) {
	l, err := scanLimit(s.cfg.Pool.QueryRow(ctx, `SELECT `+limitCols+` FROM traffic_limits WHERE id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("traffic limit %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	l.Used, _ = s.ctr.used(ctx, l)
	return &l, nil
}
