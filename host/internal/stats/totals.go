package stats

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/policy"
)

// The statistics' lists (平台统计, 应用统计, 码规则统计) share one shape: a
// CTE "rows" with the list's columns and the sums g, s and v, counted and
// summed whole, then paged in its sort order.

// sumCounts is the select list of Counts over rollup rows r, as g, s, v.
const sumCounts = `coalesce(sum(r.n) FILTER (WHERE r.type = 'generate' AND r.result = 'success'), 0)::bigint AS g,
	coalesce(sum(r.n) FILTER (WHERE r.type = 'show' AND r.result = 'success'), 0)::bigint AS s,
	coalesce(sum(r.n) FILTER (WHERE r.type = 'verify' AND r.result = 'success'), 0)::bigint AS v`

// usageFrom is the rollup rows the statistics read, with their app for
// the scope's region.
const usageFrom = ` FROM usage_rollups r LEFT JOIN apps a ON a.id = r.app_id WHERE `

// rollupSpan selects grain rows of sp's days (or hours) of the three
// counted operations in the caller's scope.
func rollupSpan(a *sqlArgs, sc policy.Scope, grain string, sp span) string {
	return "r.grain = " + a.add(grain) + " AND r.bucket >= " + a.add(sp.from) + " AND r.bucket < " + a.add(sp.to) +
		" AND r.type IN ('generate', 'show', 'verify') AND " + a.scope(sc, rollupScope)
}

// list answers how many rows the CTE with holds and their sums, and
// scans the page o of it (cols from rows, sorted with ties broken by key).
func (s *Service) list(ctx context.Context, with string, args sqlArgs, cols string, o order, key string, scan func(pgx.Rows) error) (int64, Counts, error) {
	var total int64
	var sum Counts
	err := s.cfg.Pool.QueryRow(ctx, with+` SELECT count(*), coalesce(sum(g), 0)::bigint, coalesce(sum(s), 0)::bigint, coalesce(sum(v), 0)::bigint FROM rows`,
		args...).Scan(&total, &sum.Generate, &sum.Show, &sum.Verify)
	if err != nil {
		return 0, Counts{}, fmt.Errorf("stats: count: %w", err)
	}
	if total <= int64(o.offset) {
		return total, sum, nil
	}
	rows, err := s.cfg.Pool.Query(ctx, with+` SELECT `+cols+` FROM rows`+o.sql(key), args...)
	if err != nil {
		return 0, Counts{}, fmt.Errorf("stats: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return 0, Counts{}, fmt.Errorf("stats: list: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, Counts{}, fmt.Errorf("stats: list: %w", err)
	}
	return total, sum, nil
}

// people answers People per key (s.platform_id or s.app_id: a constant)
// over sp, for the given keys, in the caller's scope.
func (s *Service) people(ctx context.Context, sp span, keyCol string, keys []string) (map[string]People, error) {
	out := map[string]People{}
	if len(keys) == 0 {
		return out, nil
	}
	var a sqlArgs
	q := `SELECT ` + keyCol + `, ` + countPeople + ` FROM usage_subject_daily s LEFT JOIN apps a ON a.id = s.app_id
		WHERE s.day >= ` + a.add(dateArg(sp.from)) + ` AND s.day < ` + a.add(dateArg(sp.to)) + ` AND s.result = 'success'
		AND s.type IN ('generate', 'show', 'verify') AND ` + keyCol + ` = ANY(` + a.add(keys) + `) AND ` +
		a.scope(policy.ScopeFrom(ctx), subjectScope) + ` GROUP BY 1`
	rows, err := s.cfg.Pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("stats: people: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var p People
		if err := rows.Scan(&k, &p.GeneratePeople, &p.ShowPeople, &p.VerifyPeople); err != nil {
			return nil, fmt.Errorf("stats: people: %w", err)
		}
		out[k] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: people: %w", err)
	}
	return out, nil
}

// PlatformStatsIn filters the platform statistics (平台统计).
type PlatformStatsIn struct {
	PeriodIn
	PlatformID   string `query:"platformId" validate:"max=16"`
	PlatformName string `query:"platformName" validate:"max=64" doc:"part of the platform's name"`
	PageIn
}

// PlatformRow is one platform's totals.
type PlatformRow struct {
	PlatformID   string `json:"platformId"`
	PlatformName string `json:"platformName"`
	Main         bool   `json:"main" doc:"the main platform"`
	Counts
	People
}

// PlatformPage is a page of platforms' totals.
type PlatformPage struct {
	From  string        `json:"from" doc:"first day"`
	To    string        `json:"to" doc:"last day, included"`
	Total int64         `json:"total"`
	Sum   Counts        `json:"sum" doc:"over every matching platform, not only this page"`
	Items []PlatformRow `json:"items"`
}

// PlatformStats answers the generate, show and verify totals of every
// platform in the caller's scope over the period (default the last 7
// days), platforms without use included, with their holders counted.
func (s *Service) PlatformStats(ctx context.Context, in *PlatformStatsIn) (*PlatformPage, error) {
	o, err := in.PageIn.check()
	if err != nil {
		return nil, err
	}
	return s.platformStats(ctx, in, o)
}

func (s *Service) platformStats(ctx context.Context, in *PlatformStatsIn, o order) (*PlatformPage, error) {
	sp, err := in.resolve(s.cfg.Clock(), Last7Days)
	if err != nil {
		return nil, err
	}
	if err := checkText("platformName", in.PlatformName); err != nil {
		return nil, err
	}
	if in.PlatformID != "" {
		if _, err := s.checkPlatform(ctx, in.PlatformID); err != nil {
			return nil, err
		}
	}
	sc := policy.ScopeFrom(ctx)
	var a sqlArgs
	usage := rollupSpan(&a, sc, "day", sp)
	var filter string
	if in.PlatformID != "" {
		id := a.add(in.PlatformID)
		usage += " AND r.platform_id = " + id
		filter += " AND p.id = " + id
	}
	if in.PlatformName != "" {
		filter += " AND p.name LIKE " + a.add(contains(in.PlatformName))
	}
	with := `WITH u AS (SELECT r.platform_id AS id, ` + sumCounts + usageFrom + usage + ` GROUP BY r.platform_id),
		rows AS (SELECT p.id, p.name, p.kind = 'main' AS main, coalesce(u.g, 0) AS g, coalesce(u.s, 0) AS s, coalesce(u.v, 0) AS v
			FROM platforms p LEFT JOIN u ON u.id = p.id
			WHERE ` + a.scope(sc, policy.ScopeColumns{Platform: "p.id", Region: "p.region_code"}) + filter + `)`
	out := &PlatformPage{From: sp.first(), To: sp.last(), Items: []PlatformRow{}}
	out.Total, out.Sum, err = s.list(ctx, with, a, "id, name, main, g, s, v", o, "id", func(rows pgx.Rows) error {
		var r PlatformRow
		err := rows.Scan(&r.PlatformID, &r.PlatformName, &r.Main, &r.Generate, &r.Show, &r.Verify)
		out.Items = append(out.Items, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Items))
	for i, r := range out.Items {
		ids[i] = r.PlatformID
	}
	people, err := s.people(ctx, sp, "s.platform_id", ids)
	if err != nil {
		return nil, err
	}
	for i := range out.Items {
		out.Items[i].People = people[out.Items[i].PlatformID]
	}
	return out, nil
}

// AppStatsIn filters the app statistics (应用统计).
type AppStatsIn struct {
	PeriodIn
	PlatformID   string `query:"platformId" validate:"max=16"`
	PlatformName string `query:"platformName" validate:"max=64" doc:"part of the platform's name"`
	AppID        string `query:"appId" validate:"max=32"`
	AppName      string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	PageIn
}

// AppRow is one app's totals.
type AppRow struct {
	AppID        string `json:"appId"`
	AppName      string `json:"appName"`
	PlatformID   string `json:"platformId"`
	PlatformName string `json:"platformName"`
	Counts
	People
}

// AppPage is a page of apps' totals.
type AppPage struct {
	From  string   `json:"from" doc:"first day"`
	To    string   `json:"to" doc:"last day, included"`
	Total int64    `json:"total"`
	Sum   Counts   `json:"sum" doc:"over every matching app, not only this page"`
	Items []AppRow `json:"items"`
}

// AppStats answers the totals of every app in the caller's scope over the
// period (default the last 7 days), apps without use included.
func (s *Service) AppStats(ctx context.Context, in *AppStatsIn) (*AppPage, error) {
	o, err := in.PageIn.check()
	if err != nil {
		return nil, err
	}
	return s.appStats(ctx, in, o)
}

func (s *Service) appStats(ctx context.Context, in *AppStatsIn, o order) (*AppPage, error) {
	sp, err := in.resolve(s.cfg.Clock(), Last7Days)
	if err != nil {
		return nil, err
	}
	if err := checkText("platformName", in.PlatformName, "appName", in.AppName); err != nil {
		return nil, err
	}
	if in.PlatformID != "" {
		if _, err := s.checkPlatform(ctx, in.PlatformID); err != nil {
			return nil, err
		}
	}
	if in.AppID != "" {
		if _, err := s.checkApp(ctx, in.AppID); err != nil {
			return nil, err
		}
	}
	sc := policy.ScopeFrom(ctx)
	var a sqlArgs
	usage := rollupSpan(&a, sc, "day", sp) + " AND r.app_id <> ''"
	var filter string
	if in.PlatformID != "" {
		id := a.add(in.PlatformID)
		usage += " AND r.platform_id = " + id
		filter += " AND a.platform_id = " + id
	}
	if in.AppID != "" {
		id := a.add(in.AppID)
		usage += " AND r.app_id = " + id
		filter += " AND a.id = " + id
	}
	if in.PlatformName != "" {
		filter += " AND p.name LIKE " + a.add(contains(in.PlatformName))
	}
	if in.AppName != "" {
		filter += " AND a.name LIKE " + a.add(contains(in.AppName))
	}
	with := `WITH u AS (SELECT r.app_id AS id, ` + sumCounts + usageFrom + usage + ` GROUP BY r.app_id),
		rows AS (SELECT a.id, a.name, p.id AS platform_id, p.name AS platform_name,
				coalesce(u.g, 0) AS g, coalesce(u.s, 0) AS s, coalesce(u.v, 0) AS v
			FROM apps a JOIN platforms p ON p.id = a.platform_id LEFT JOIN u ON u.id = a.id
			WHERE ` + a.scope(sc, policy.ScopeColumns{Platform: "a.platform_id", Region: "a.region_code"}) + filter + `)`
	out := &AppPage{From: sp.first(), To: sp.last(), Items: []AppRow{}}
	out.Total, out.Sum, err = s.list(ctx, with, a, "id, name, platform_id, platform_name, g, s, v", o, "id", func(rows pgx.Rows) error {
		var r AppRow
		err := rows.Scan(&r.AppID, &r.AppName, &r.PlatformID, &r.PlatformName, &r.Generate, &r.Show, &r.Verify)
		out.Items = append(out.Items, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Items))
	for i, r := range out.Items {
		ids[i] = r.AppID
	}
	people, err := s.people(ctx, sp, "s.app_id", ids)
	if err != nil {
		return nil, err
	}
	for i := range out.Items {
		out.Items[i].People = people[out.Items[i].AppID]
	}
	return out, nil
}

// RuleStatsIn filters the code-rule statistics (码规则统计).
type RuleStatsIn struct {
	PeriodIn
	PlatformID   string `query:"platformId" validate:"max=16"`
	PlatformName string `query:"platformName" validate:"max=64" doc:"part of the platform's name"`
	AppID        string `query:"appId" validate:"max=32"`
	AppName      string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	RuleID       string `query:"ruleId" validate:"max=64" doc:"the rule's id (codeDefId), exactly"`
	RuleName     string `query:"ruleName" validate:"max=64" doc:"part of the rule's name"`
	PageIn
}

// RuleRow is one code rule's totals over the matching platforms and apps.
type RuleRow struct {
	RuleID   string `json:"ruleId"`
	RuleName string `json:"ruleName"`
	Kind     string `json:"kind" doc:"person, enterprise, object or virtual"`
	Family   string `json:"family" doc:"identity, health, payment, ..."`
	Counts
}

// RulePage is a page of rules' totals.
type RulePage struct {
	From  string    `json:"from" doc:"first day"`
	To    string    `json:"to" doc:"last day, included"`
	Total int64     `json:"total"`
	Sum   Counts    `json:"sum" doc:"over every matching rule, not only this page"`
	Items []RuleRow `json:"items"`
}

// RuleStats answers the totals per code rule of the apps in the caller's
// scope over the period (default the last 7 days): the rules used at least
// once, summed over the platforms and apps the filters select. Holders
// are not counted per rule (the per-subject rollups know no rule).
func (s *Service) RuleStats(ctx context.Context, in *RuleStatsIn) (*RulePage, error) {
	o, err := in.PageIn.check()
	if err != nil {
		return nil, err
	}
	return s.ruleStats(ctx, in, o)
}

func (s *Service) ruleStats(ctx context.Context, in *RuleStatsIn, o order) (*RulePage, error) {
	sp, err := in.resolve(s.cfg.Clock(), Last7Days)
	if err != nil {
		return nil, err
	}
	if err := checkText("platformName", in.PlatformName, "appName", in.AppName, "ruleId", in.RuleID, "ruleName", in.RuleName); err != nil {
		return nil, err
	}
	if in.PlatformID != "" {
		if _, err := s.checkPlatform(ctx, in.PlatformID); err != nil {
			return nil, err
		}
	}
	if in.AppID != "" {
		if _, err := s.checkApp(ctx, in.AppID); err != nil {
			return nil, err
		}
	}
	sc := policy.ScopeFrom(ctx)
	var a sqlArgs
	usage := rollupSpan(&a, sc, "day", sp) + " AND r.rule_id <> ''"
	if in.PlatformID != "" {
		usage += " AND r.platform_id = " + a.add(in.PlatformID)
	}
	if in.AppID != "" {
		usage += " AND r.app_id = " + a.add(in.AppID)
	}
	if in.RuleID != "" {
		usage += " AND r.rule_id = " + a.add(in.RuleID)
	}
	if in.PlatformName != "" {
		usage += " AND r.platform_id IN (SELECT id FROM platforms WHERE name LIKE " + a.add(contains(in.PlatformName)) + ")"
	}
	if in.AppName != "" {
		usage += " AND a.name LIKE " + a.add(contains(in.AppName))
	}
	var filter string
	if in.RuleName != "" {
		filter = " AND c.name LIKE " + a.add(contains(in.RuleName))
	}
	with := `WITH u AS (SELECT r.rule_id AS id, ` + sumCounts + usageFrom + usage + ` GROUP BY r.rule_id),
		rows AS (SELECT u.id, coalesce(c.name, '') AS name, coalesce(c.kind, '') AS kind, coalesce(c.family, '') AS family, u.g, u.s, u.v
			FROM u LEFT JOIN code_rules c ON c.id = u.id
			WHERE u.g + u.s + u.v > 0` + filter + `)`
	out := &RulePage{From: sp.first(), To: sp.last(), Items: []RuleRow{}}
	out.Total, out.Sum, err = s.list(ctx, with, a, "id, name, kind, family, g, s, v", o, "id", func(rows pgx.Rows) error {
		var r RuleRow
		err := rows.Scan(&r.RuleID, &r.RuleName, &r.Kind, &r.Family, &r.Generate, &r.Show, &r.Verify)
		out.Items = append(out.Items, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
