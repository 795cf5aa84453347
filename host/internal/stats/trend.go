package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// TrendIn selects a usage trend (用码趋势): of every platform in the
// caller's scope, of one platform (平台用码趋势) or of one app (应用用码趋势).
type TrendIn struct {
	PeriodIn
	PlatformID string `query:"platformId" validate:"max=16" doc:"one platform; empty: every platform in your scope"`
	AppID      string `query:"appId" validate:"max=32" doc:"one app"`
}

// Trend is one series per counted operation over the period's hours
// (today, yesterday) or days (the other periods).
type Trend struct {
	From        string      `json:"from" doc:"first day"`
	To          string      `json:"to" doc:"last day, included"`
	Granularity string      `json:"granularity" doc:"hour or day"`
	Buckets     []time.Time `json:"buckets" doc:"start of each hour or day (Beijing time); today's hours up to the current one"`
	Series      []Series    `json:"series" doc:"generate, show and verify, in that order"`
}

// Series is one operation's counts, one per bucket.
type Series struct {
	Type   string  `json:"type" doc:"generate, show or verify"`
	Name   string  `json:"name" doc:"生码量, 亮码量 or 验码量"`
	Values []int64 `json:"values"`
	Total  int64   `json:"total"`
}

// Trend answers the trend in.PeriodIn selects (default the last 7 days).
func (s *Service) Trend(ctx context.Context, in *TrendIn) (*Trend, error) {
	now := s.cfg.Clock()
	sp, err := in.resolve(now, Last7Days)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.checkPair(ctx, in.PlatformID, in.AppID, false); err != nil {
		return nil, err
	}
	return s.trend(ctx, sp, in.PlatformID, in.AppID, now)
}

// checkPair checks the platform and app filters of one figure: each in
// the caller's scope, the app of the platform when both are given, and,
// when required, at least one of them. The platform answered is the
// app's when an app is named.
func (s *Service) checkPair(ctx context.Context, platformID, appID string, required bool) (platformRef, appRef, error) {
	if required && platformID == "" && appID == "" {
		return platformRef{}, appRef{}, fault.Missing("platformId")
	}
	var p platformRef
	var a appRef
	var err error
	if platformID != "" {
		if p, err = s.checkPlatform(ctx, platformID); err != nil {
			return platformRef{}, appRef{}, err
		}
	}
	if appID != "" {
		if a, err = s.checkApp(ctx, appID); err != nil {
			return platformRef{}, appRef{}, err
		}
		if platformID != "" && a.platform.id != platformID {
			return platformRef{}, appRef{}, fault.Invalidf("app %s is not an app of platform %s", appID, platformID)
		}
		p = a.platform
	}
	return p, a, nil
}

func (s *Service) trend(ctx context.Context, sp span, platformID, appID string, now time.Time) (*Trend, error) {
	out := &Trend{From: sp.first(), To: sp.last(), Granularity: "day"}
	next := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	to := sp.to
	if sp.period == Today || sp.period == Yesterday {
		out.Granularity = "hour"
		next = func(t time.Time) time.Time { return t.Add(time.Hour) }
		// Beijing hours begin with UTC hours: truncating the instant is
		// truncating the local hour.
		if h := now.Truncate(time.Hour).Add(time.Hour); h.Before(to) {
			to = h
		}
	}
	index := map[int64]int{}
	for t := sp.from; t.Before(to); t = next(t) {
		index[t.Unix()] = len(out.Buckets)
		out.Buckets = append(out.Buckets, t)
	}
	out.Series = []Series{{Type: "generate", Name: "生码量"}, {Type: "show", Name: "亮码量"}, {Type: "verify", Name: "验码量"}}
	for i := range out.Series {
		out.Series[i].Values = make([]int64, len(out.Buckets))
	}
	var a sqlArgs
	q := `SELECT r.bucket, ` + sumCounts + usageFrom + rollupSpan(&a, policy.ScopeFrom(ctx), out.Granularity, span{sp.period, sp.from, to})
	if platformID != "" {
		q += " AND r.platform_id = " + a.add(platformID)
	}
	if appID != "" {
		q += " AND r.app_id = " + a.add(appID)
	}
	rows, err := s.cfg.Pool.Query(ctx, q+" GROUP BY r.bucket", a...)
	if err != nil {
		return nil, fmt.Errorf("stats: trend: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var c [3]int64
		if err := rows.Scan(&at, &c[0], &c[1], &c[2]); err != nil {
			return nil, fmt.Errorf("stats: trend: %w", err)
		}
		i, ok := index[at.Unix()]
		if !ok {
			continue // a rollup bucket of another calendar; see beijing
		}
		for k := range out.Series {
			out.Series[k].Values[i] += c[k]
			out.Series[k].Total += c[k]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: trend: %w", err)
	}
	return out, nil
}

// DailyIn selects a daily report (日报): of one platform (平台日报) or one
// app (应用日报) — one at a time, as the manual has it.
type DailyIn struct {
	PeriodIn
	PlatformID string `query:"platformId" validate:"max=16" doc:"the platform; platformId or appId is required"`
	AppID      string `query:"appId" validate:"max=32" doc:"the app (its platform is implied)"`
}

// DailyRow is one day of a daily report.
type DailyRow struct {
	Date string `json:"date" doc:"YYYY-MM-DD"`
	Counts
	People
	Failed      int64 `json:"failed" doc:"generations, shows and verifications that failed"`
	Intercepted int64 `json:"intercepted" doc:"generations, shows and verifications refused by risk control"`
}

// Daily is a daily report: a row per day of the period, oldest first,
// days without use included.
type Daily struct {
	PlatformID   string     `json:"platformId"`
	PlatformName string     `json:"platformName"`
	AppID        string     `json:"appId,omitempty"`
	AppName      string     `json:"appName,omitempty"`
	From         string     `json:"from" doc:"first day"`
	To           string     `json:"to" doc:"last day, included"`
	Sum          Counts     `json:"sum"`
	Items        []DailyRow `json:"items"`
}

// Daily answers the daily report in selects (default the last 7 days).
func (s *Service) Daily(ctx context.Context, in *DailyIn) (*Daily, error) {
	sp, err := in.resolve(s.cfg.Clock(), Last7Days)
	if err != nil {
		return nil, err
	}
	p, app, err := s.checkPair(ctx, in.PlatformID, in.AppID, true)
	if err != nil {
		return nil, err
	}
	out := &Daily{PlatformID: p.id, PlatformName: p.name, AppID: app.id, AppName: app.name, From: sp.first(), To: sp.last(), Items: []DailyRow{}}
	index := map[string]int{}
	for t := sp.from; t.Before(sp.to); t = t.AddDate(0, 0, 1) {
		d := t.Format(dateLayout)
		index[d] = len(out.Items)
		out.Items = append(out.Items, DailyRow{Date: d})
	}

	sc := policy.ScopeFrom(ctx)
	var a sqlArgs
	q := `SELECT r.bucket, ` + sumCounts + `,
		coalesce(sum(r.n) FILTER (WHERE r.result = 'failure'), 0)::bigint,
		coalesce(sum(r.n) FILTER (WHERE r.result = 'intercepted'), 0)::bigint` + usageFrom + rollupSpan(&a, sc, "day", sp) +
		" AND r.platform_id = " + a.add(out.PlatformID)
	if out.AppID != "" {
		q += " AND r.app_id = " + a.add(out.AppID)
	}
	rows, err := s.cfg.Pool.Query(ctx, q+" GROUP BY r.bucket", a...)
	if err != nil {
		return nil, fmt.Errorf("stats: daily: %w", err)
	}
	for rows.Next() {
		var at time.Time
		var r DailyRow
		if err := rows.Scan(&at, &r.Generate, &r.Show, &r.Verify, &r.Failed, &r.Intercepted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("stats: daily: %w", err)
		}
		if i, ok := index[at.In(beijing).Format(dateLayout)]; ok {
			r.Date = out.Items[i].Date
			out.Items[i] = r
			out.Sum.Generate, out.Sum.Show, out.Sum.Verify = out.Sum.Generate+r.Generate, out.Sum.Show+r.Show, out.Sum.Verify+r.Verify
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: daily: %w", err)
	}

	a = nil
	q = `SELECT s.day, ` + countPeople + ` FROM usage_subject_daily s LEFT JOIN apps a ON a.id = s.app_id
		WHERE s.day >= ` + a.add(dateArg(sp.from)) + ` AND s.day < ` + a.add(dateArg(sp.to)) + ` AND s.result = 'success'
		AND s.type IN ('generate', 'show', 'verify') AND s.platform_id = ` + a.add(out.PlatformID) + ` AND ` + a.scope(sc, subjectScope)
	if out.AppID != "" {
		q += " AND s.app_id = " + a.add(out.AppID)
	}
	rows, err = s.cfg.Pool.Query(ctx, q+" GROUP BY s.day", a...)
	if err != nil {
		return nil, fmt.Errorf("stats: daily people: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var p People
		if err := rows.Scan(&day, &p.GeneratePeople, &p.ShowPeople, &p.VerifyPeople); err != nil {
			return nil, fmt.Errorf("stats: daily people: %w", err)
		}
		if i, ok := index[day.Format(dateLayout)]; ok {
			out.Items[i].People = p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: daily people: %w", err)
	}
	return out, nil
}
