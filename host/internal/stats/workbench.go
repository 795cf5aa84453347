package stats

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Profile is the calling operator as the workbench greets them.
type Profile struct {
	Account     string     `json:"account"`
	Name        string     `json:"name,omitempty"`
	LastLoginAt *time.Time `json:"lastLoginAt,omitempty" doc:"the account's last login as recorded at login (this session's, unless it logged in again since)"`
}

// Alert is an interoperability alert (互联互通告警记录) as the workbench
// lists it.
type Alert struct {
	CodeName   string    `json:"codeName" doc:"the business code's name (业务码名称)"`
	AppName    string    `json:"appName"`
	PlatformID string    `json:"platformId"`
	At         time.Time `json:"at" doc:"when the alert was raised"`
	Reason     string    `json:"reason"`
}

// WorkbenchIn chooses the workbench's periods.
type WorkbenchIn struct {
	RankPeriod string `query:"rankPeriod" validate:"max=16" doc:"the rankings' period: yesterday (default), 7d or 30d"`
	UserDays   int    `query:"userDays" doc:"days of the registration trend: 7 (default) or 30"`
}

// Workbench is the operations workbench (运营管理工作台) in one answer.
type Workbench struct {
	User            Profile       `json:"user"`
	Yesterday       Counts        `json:"yesterday" doc:"yesterday's generations, shows and verifications (昨日生码量、用码量、验码量)"`
	Overview        Overview      `json:"overview"`
	RankPeriod      string        `json:"rankPeriod"`
	AppRanking      []TopItem     `json:"appRanking" doc:"apps by use (shows and verifications), top 5"`
	PlatformRanking []TopItem     `json:"platformRanking" doc:"sub-platforms by use, top 5"`
	Engine          Engine        `json:"engine"`
	Trend           *Trend        `json:"trend" doc:"the last 7 days"`
	Registrations   Registrations `json:"registrations"`
	Alerts          []Alert       `json:"alerts" doc:"the latest interoperability alerts, newest first"`
	// AlertsUnavailable tells an empty Alerts from alerts that could not
	// be read: the rest of the workbench does not wait for them.
	AlertsUnavailable bool `json:"alertsUnavailable,omitempty"`
}

// Overview counts what the caller's scope holds (平台概况).
type Overview struct {
	SubPlatforms int64 `json:"subPlatforms"`
	Apps         int64 `json:"apps"`
	Users        int64 `json:"users" doc:"persons registered with an app in your scope"`
}

// Engine is the code engine's load per platform (码引擎运行监控), from the
// hourly rollups: code operations (generate, show, verify, activate,
// cancel, relation, scan upload) and how many failed.
type Engine struct {
	Hour      time.Time    `json:"hour" doc:"start of the last complete hour"`
	Platforms []EngineLoad `json:"platforms" doc:"every platform in your scope, busiest first"`
}

// EngineLoad is one platform's code-engine load.
type EngineLoad struct {
	PlatformID   string `json:"platformId"`
	PlatformName string `json:"platformName"`
	LastHour     Load   `json:"lastHour" doc:"the last complete hour"`
	ThisHour     Load   `json:"thisHour" doc:"the current hour so far"`
}

// Load counts code-engine calls of an hour.
type Load struct {
	Calls       int64   `json:"calls"`
	Failed      int64   `json:"failed"`
	Intercepted int64   `json:"intercepted" doc:"refused by risk control (not errors of the engine)"`
	ErrorRate   float64 `json:"errorRate" doc:"failed / calls; 0 without calls"`
}

// Registrations is the user registration trend (用户注册趋势): persons
// registering with an app of the caller's scope for the first time, per
// day (today included).
type Registrations struct {
	Days   []string `json:"days" doc:"YYYY-MM-DD"`
	Values []int64  `json:"values"`
	Total  int64    `json:"total"`
}

// engineTypes are the events of code-engine calls.
var engineTypes = []string{"generate", "show", "verify", "activate", "cancel", "relation", "scan_upload"}

// maxAlerts is how many alerts the workbench lists.
const maxAlerts = 10

// Workbench answers the operations workbench of the caller.
func (s *Service) Workbench(ctx context.Context, in *WorkbenchIn) (*Workbench, error) {
	now := s.cfg.Clock()
	rank := Period(in.RankPeriod)
	switch rank {
	case "":
		rank = Yesterday
	case Yesterday, Last7Days, Last30Days:
	default:
		return nil, fault.Invalidf("parameter \"rankPeriod\" must be one of: yesterday 7d 30d")
	}
	days := in.UserDays
	switch days {
	case 0:
		days = 7
	case 7, 30:
	default:
		return nil, fault.Invalidf("parameter \"userDays\" must be 7 or 30")
	}
	out := &Workbench{RankPeriod: string(rank), User: Profile{Account: actor.AccountOf(ctx)}}
	if s.cfg.Profile != nil {
		p, err := s.cfg.Profile(ctx)
		if err != nil {
			return nil, err
		}
		out.User = p
	}

	yesterday, _ := PeriodIn{Period: string(Yesterday)}.resolve(now, "")
	totals, err := s.totals(ctx, yesterday)
	if err != nil {
		return nil, err
	}
	out.Yesterday = totals
	if out.Overview, err = s.overview(ctx); err != nil {
		return nil, err
	}
	ranked, _ := PeriodIn{Period: string(rank)}.resolve(now, "")
	use := []string{"show", "verify"}
	if out.AppRanking, err = s.top(ctx, ranked, true, use, "", false); err != nil {
		return nil, err
	}
	if out.PlatformRanking, err = s.top(ctx, ranked, false, use, "", true); err != nil {
		return nil, err
	}
	platforms, err := s.platformsInScope(ctx)
	if err != nil {
		return nil, err
	}
	if out.Engine, err = s.engine(ctx, platforms, now); err != nil {
		return nil, err
	}
	week, _ := PeriodIn{Period: string(Last7Days)}.resolve(now, "")
	if out.Trend, err = s.trend(ctx, week, "", "", now); err != nil {
		return nil, err
	}
	if out.Registrations, err = s.registrations(ctx, now, days); err != nil {
		return nil, err
	}
	out.Alerts = []Alert{}
	if s.cfg.Alerts != nil {
		alerts, err := s.cfg.Alerts(ctx, maxAlerts)
		if err != nil {
			s.log.WarnContext(ctx, "interop alerts unavailable for the workbench", "err", err)
			out.AlertsUnavailable, alerts = true, nil
		}
		// The source should scope its alerts; what it lets through from
		// elsewhere is not shown.
		for _, al := range alerts {
			if _, ok := platforms[al.PlatformID]; ok && len(out.Alerts) < maxAlerts {
				out.Alerts = append(out.Alerts, al)
			}
		}
	}
	return out, nil
}

// totals answers the counts of sp over the caller's scope.
func (s *Service) totals(ctx context.Context, sp span) (Counts, error) {
	var a sqlArgs
	var c Counts
	err := s.cfg.Pool.QueryRow(ctx, `SELECT `+sumCounts+usageFrom+rollupSpan(&a, policy.ScopeFrom(ctx), "day", sp), a...).
		Scan(&c.Generate, &c.Show, &c.Verify)
	if err != nil {
		return Counts{}, fmt.Errorf("stats: totals: %w", err)
	}
	return c, nil
}

func (s *Service) overview(ctx context.Context) (Overview, error) {
	sc := policy.ScopeFrom(ctx)
	var a sqlArgs
	q := `SELECT (SELECT count(*) FROM platforms p WHERE p.kind = 'sub' AND ` +
		a.scope(sc, policy.ScopeColumns{Platform: "p.id", Region: "p.region_code"}) + `),
		(SELECT count(*) FROM apps a WHERE ` + a.scope(sc, policy.ScopeColumns{Platform: "a.platform_id", Region: "a.region_code"}) + `),
		(SELECT count(DISTINCT u.person_id) FROM person_app_users u LEFT JOIN apps a ON a.id = u.app_id WHERE ` +
		a.scope(sc, policy.ScopeColumns{Platform: "u.platform_id", Region: "a.region_code"}) + `)`
	var o Overview
	if err := s.cfg.Pool.QueryRow(ctx, q, a...).Scan(&o.SubPlatforms, &o.Apps, &o.Users); err != nil {
		return Overview{}, fmt.Errorf("stats: overview: %w", err)
	}
	return o, nil
}

// platformsInScope answers the names of the platforms the caller sees, by id.
func (s *Service) platformsInScope(ctx context.Context) (map[string]string, error) {
	var a sqlArgs
	rows, err := s.cfg.Pool.Query(ctx, `SELECT p.id, p.name FROM platforms p WHERE `+
		a.scope(policy.ScopeFrom(ctx), policy.ScopeColumns{Platform: "p.id", Region: "p.region_code"}), a...)
	if err != nil {
		return nil, fmt.Errorf("stats: platforms: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("stats: platforms: %w", err)
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: platforms: %w", err)
	}
	return out, nil
}

func (s *Service) engine(ctx context.Context, platforms map[string]string, now time.Time) (Engine, error) {
	this := now.Truncate(time.Hour)
	e := Engine{Hour: this.Add(-time.Hour).In(beijing), Platforms: []EngineLoad{}}
	loads := map[string]*EngineLoad{}
	for id, name := range platforms {
		loads[id] = &EngineLoad{PlatformID: id, PlatformName: name}
	}
	var a sqlArgs
	thisHour := a.add(this)
	q := `SELECT r.platform_id, r.bucket = ` + thisHour + `, sum(r.n)::bigint,
		coalesce(sum(r.n) FILTER (WHERE r.result = 'failure'), 0)::bigint,
		coalesce(sum(r.n) FILTER (WHERE r.result = 'intercepted'), 0)::bigint` + usageFrom +
		`r.grain = 'hour' AND r.bucket >= ` + a.add(this.Add(-time.Hour)) + ` AND r.bucket <= ` + thisHour + `
		AND r.type = ANY(` + a.add(engineTypes) + `) AND ` + a.scope(policy.ScopeFrom(ctx), rollupScope) + ` GROUP BY 1, 2`
	rows, err := s.cfg.Pool.Query(ctx, q, a...)
	if err != nil {
		return Engine{}, fmt.Errorf("stats: engine: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var current bool
		var l Load
		if err := rows.Scan(&id, &current, &l.Calls, &l.Failed, &l.Intercepted); err != nil {
			return Engine{}, fmt.Errorf("stats: engine: %w", err)
		}
		el := loads[id]
		if el == nil {
			continue // events naming a platform that no longer exists
		}
		if l.Calls > 0 {
			l.ErrorRate = float64(l.Failed) / float64(l.Calls)
		}
		if current {
			el.ThisHour = l
		} else {
			el.LastHour = l
		}
	}
	if err := rows.Err(); err != nil {
		return Engine{}, fmt.Errorf("stats: engine: %w", err)
	}
	for _, l := range loads {
		e.Platforms = append(e.Platforms, *l)
	}
	slices.SortFunc(e.Platforms, func(x, y EngineLoad) int {
		return cmp.Or(cmp.Compare(y.LastHour.Calls+y.ThisHour.Calls, x.LastHour.Calls+x.ThisHour.Calls), cmp.Compare(x.PlatformID, y.PlatformID))
	})
	return e, nil
}

func (s *Service) registrations(ctx context.Context, now time.Time, days int) (Registrations, error) {
	today := midnight(now)
	from := today.AddDate(0, 0, 1-days)
	r := Registrations{Days: make([]string, days), Values: make([]int64, days)}
	index := map[string]int{}
	for i := range days {
		d := from.AddDate(0, 0, i).Format(dateLayout)
		r.Days[i], index[d] = d, i
	}
	// A person's registration is their first app user in the scope.
	var a sqlArgs
	q := `SELECT (first AT TIME ZONE INTERVAL '+08:00')::date, count(*) FROM (
			SELECT min(u.created_at) AS first FROM person_app_users u LEFT JOIN apps a ON a.id = u.app_id
			WHERE ` + a.scope(policy.ScopeFrom(ctx), policy.ScopeColumns{Platform: "u.platform_id", Region: "a.region_code"}) + `
			GROUP BY u.person_id) f
		WHERE first >= ` + a.add(from) + ` AND first < ` + a.add(today.AddDate(0, 0, 1)) + ` GROUP BY 1`
	rows, err := s.cfg.Pool.Query(ctx, q, a...)
	if err != nil {
		return Registrations{}, fmt.Errorf("stats: registrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			return Registrations{}, fmt.Errorf("stats: registrations: %w", err)
		}
		if i, ok := index[day.Format(dateLayout)]; ok {
			r.Values[i] = n
			r.Total += n
		}
	}
	if err := rows.Err(); err != nil {
		return Registrations{}, fmt.Errorf("stats: registrations: %w", err)
	}
	return r, nil
}
