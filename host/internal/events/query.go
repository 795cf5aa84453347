package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Limits of the queries: they answer pages and dashboards, not exports.
const (
	maxHourBuckets = 93 * 24
	maxDayBuckets  = 3700
	maxPlatformIDs = 1000
	maxSubjectIDs  = 100
	maxPageSize    = 500
	maxOffset      = 100_000
)

// CountFilter selects rollup counts.
type CountFilter struct {
	From, To    time.Time // buckets starting in [From, To)
	Granularity string    // "hour" or "day" (hours and days of the writer's location)
	Types       []Type    // empty: every type
	// PlatformIDs is the caller's data scope: nil means every platform, an
	// empty non-nil slice none.
	PlatformIDs []string
	AppID       string // empty: every app
	RuleID      string // empty: every rule
	// GroupBy is a subset of "platform", "app", "rule", "type", "result";
	// counts are always per bucket. Fields not grouped by are empty.
	GroupBy []string
}

// CountRow is the number of events of one bucket and group.
type CountRow struct {
	Bucket     time.Time `json:"bucket"`
	PlatformID string    `json:"platformId,omitempty"`
	AppID      string    `json:"appId,omitempty"`
	RuleID     string    `json:"ruleId,omitempty"`
	Type       Type      `json:"type,omitempty"`
	Result     Result    `json:"result,omitempty"`
	N          int64     `json:"n"`
}

// dimensions of CountFilter.GroupBy, in the order of CountRow's fields.
var dimensions = [...]struct{ name, column string }{
	{"platform", "platform_id"}, {"app", "app_id"}, {"rule", "rule_id"}, {"type", "type"}, {"result", "result"},
}

// where collects AND-ed conditions with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose "?" stands for arg.
func (q *where) add(cond string, arg any) {
	q.args = append(q.args, arg)
	q.conds = append(q.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(q.args)), 1))
}

func (q *where) String() string { return strings.Join(q.conds, " AND ") }

func checkTypes(types []Type) ([]string, error) {
	out := make([]string, len(types))
	for i, t := range types {
		if !t.Valid() {
			return nil, fault.Invalidf("unknown event type %q", t)
		}
		out[i] = string(t)
	}
	return out, nil
}

// Counts answers event counts per hour or day from the rollups (never the
// raw events), ordered by bucket and group. Bad filters are *fault.Error
// of kind Invalid.
func (w *Writer) Counts(ctx context.Context, f CountFilter) ([]CountRow, error) {
	var step time.Duration
	var maxBuckets int
	switch f.Granularity {
	case "hour":
		step, maxBuckets = time.Hour, maxHourBuckets
	case "day":
		step, maxBuckets = 24*time.Hour, maxDayBuckets
	default:
		return nil, fault.Invalidf("granularity must be hour or day")
	}
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return nil, fault.Invalidf("the time range needs from before to")
	}
	if f.To.Sub(f.From) > time.Duration(maxBuckets)*step {
		return nil, fault.Invalidf("the time range spans more than %d %ss", maxBuckets, f.Granularity)
	}
	types, err := checkTypes(f.Types)
	if err != nil {
		return nil, err
	}
	if len(f.PlatformIDs) > maxPlatformIDs {
		return nil, fault.Invalidf("more than %d platforms", maxPlatformIDs)
	}
	var grouped [len(dimensions)]bool
	for _, g := range f.GroupBy {
		i := slices.IndexFunc(dimensions[:], func(d struct{ name, column string }) bool { return d.name == g })
		if i < 0 {
			return nil, fault.Invalidf("cannot group by %q (platform, app, rule, type, result)", g)
		}
		if grouped[i] {
			return nil, fault.Invalidf("group by %q twice", g)
		}
		grouped[i] = true
	}
	if f.PlatformIDs != nil && len(f.PlatformIDs) == 0 {
		return []CountRow{}, nil
	}

	var q where
	q.add("grain = ?", f.Granularity)
	q.add("bucket >= ?", f.From)
	q.add("bucket < ?", f.To)
	if len(types) > 0 {
		q.add("type = ANY(?)", types)
	}
	if f.PlatformIDs != nil {
		q.add("platform_id = ANY(?)", f.PlatformIDs)
	}
	if f.AppID != "" {
		q.add("app_id = ?", f.AppID)
	}
	if f.RuleID != "" {
		q.add("rule_id = ?", f.RuleID)
	}
	cols, keys := []string{"bucket"}, []string{"bucket"}
	for i, d := range dimensions {
		if grouped[i] {
			cols, keys = append(cols, d.column), append(keys, d.column)
		} else {
			cols = append(cols, "''")
		}
	}
	sql := fmt.Sprintf(`SELECT %s, sum(n)::bigint FROM usage_rollups WHERE %s GROUP BY %s ORDER BY %s`,
		strings.Join(cols, ", "), q.String(), strings.Join(keys, ", "), strings.Join(keys, ", "))
	rows, err := w.cfg.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("events: counts: %w", err)
	}
	defer rows.Close()
	out := []CountRow{}
	for rows.Next() {
		var r CountRow
		var typ, res string
		if err := rows.Scan(&r.Bucket, &r.PlatformID, &r.AppID, &r.RuleID, &typ, &res, &r.N); err != nil {
			return nil, fmt.Errorf("events: counts: %w", err)
		}
		r.Bucket, r.Type, r.Result = r.Bucket.In(w.cfg.Location), Type(typ), Result(res)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: counts: %w", err)
	}
	return out, nil
}

// SubjectFilter selects raw events of subjects.
type SubjectFilter struct {
	// SubjectIDs are the subject's ids (a person holds one per app): 1 to
	// 100 of them.
	SubjectIDs []string
	Types      []Type    // empty: every type
	From, To   time.Time // events in [From, To); zero: unbounded
	AppID      string    // empty: every app
	PlatformID string    // empty: every platform
	Offset     int       // at most 100,000
	Limit      int       // 1 to 500; 0: 20
}

// Page is a page of events with the number of all that match.
type Page struct {
	Total int64   `json:"total"`
	Items []Event `json:"items"`
}

// SubjectRecords answers the raw events of the subjects, newest first, with
// how many match in all (the per-user generation and usage records). Bad
// filters are *fault.Error of kind Invalid.
func (w *Writer) SubjectRecords(ctx context.Context, f SubjectFilter) (Page, error) {
	if len(f.SubjectIDs) == 0 || len(f.SubjectIDs) > maxSubjectIDs || slices.Contains(f.SubjectIDs, "") {
		return Page{}, fault.Invalidf("1 to %d non-empty subject ids are needed", maxSubjectIDs)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Page{}, fault.Invalidf("from must be before to")
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	if f.Limit < 0 || f.Limit > maxPageSize {
		return Page{}, fault.Invalidf("the page size must be 1 to %d", maxPageSize)
	}
	if f.Offset < 0 || f.Offset > maxOffset {
		return Page{}, fault.Invalidf("the offset must be 0 to %d", maxOffset)
	}
	types, err := checkTypes(f.Types)
	if err != nil {
		return Page{}, err
	}
	var q where
	q.add("subject_id = ANY(?)", f.SubjectIDs)
	if !f.From.IsZero() {
		q.add("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q.add("at < ?", f.To)
	}
	if len(types) > 0 {
		q.add("type = ANY(?)", types)
	}
	if f.AppID != "" {
		q.add("app_id = ?", f.AppID)
	}
	if f.PlatformID != "" {
		q.add("platform_id = ?", f.PlatformID)
	}
	page := Page{Items: []Event{}}
	if err := w.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_events WHERE `+q.String(), q.args...).Scan(&page.Total); err != nil {
		return Page{}, fmt.Errorf("events: subject records: %w", err)
	}
	if page.Total <= int64(f.Offset) {
		return page, nil
	}
	n := len(q.args)
	rows, err := w.cfg.Pool.Query(ctx, fmt.Sprintf(`SELECT at, type, result, platform_id, app_id, rule_id, rule_version, kind,
		subject_id, code_id, org_id, region_code, detail FROM usage_events WHERE %s ORDER BY at DESC OFFSET $%d LIMIT $%d`,
		q.String(), n+1, n+2), append(q.args, f.Offset, f.Limit)...)
	if err != nil {
		return Page{}, fmt.Errorf("events: subject records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var typ, res string
		var detail []byte
		if err := rows.Scan(&e.At, &typ, &res, &e.PlatformID, &e.AppID, &e.RuleID, &e.RuleVersion, &e.Kind,
			&e.SubjectID, &e.CodeID, &e.OrgID, &e.RegionCode, &detail); err != nil {
			return Page{}, fmt.Errorf("events: subject records: %w", err)
		}
		e.Type, e.Result, e.Detail = Type(typ), Result(res), json.RawMessage(detail)
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("events: subject records: %w", err)
	}
	return page, nil
}

// Summary counts a subject's successful events by type: today, yesterday,
// the last 7 and 30 days (today included, days of the writer's location),
// and over those 30 days by app and by platform.
type Summary struct {
	Today      map[Type]int64            `json:"today"`
	Yesterday  map[Type]int64            `json:"yesterday"`
	Last7Days  map[Type]int64            `json:"last7Days"`
	Last30Days map[Type]int64            `json:"last30Days"`
	ByApp      map[string]map[Type]int64 `json:"byApp"`      // last 30 days
	ByPlatform map[string]map[Type]int64 `json:"byPlatform"` // last 30 days
}

// SubjectSummary answers the Summary of the subjects (see SubjectFilter)
// as of now, from the per-subject daily rollups.
func (w *Writer) SubjectSummary(ctx context.Context, subjectIDs []string, now time.Time) (Summary, error) {
	if len(subjectIDs) == 0 || len(subjectIDs) > maxSubjectIDs || slices.Contains(subjectIDs, "") {
		return Summary{}, fault.Invalidf("1 to %d non-empty subject ids are needed", maxSubjectIDs)
	}
	if now.IsZero() {
		return Summary{}, fault.Invalidf("the summary needs a time")
	}
	y, m, d := now.In(w.cfg.Location).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	s := Summary{Today: map[Type]int64{}, Yesterday: map[Type]int64{}, Last7Days: map[Type]int64{}, Last30Days: map[Type]int64{},
		ByApp: map[string]map[Type]int64{}, ByPlatform: map[string]map[Type]int64{}}
	rows, err := w.cfg.Pool.Query(ctx, `SELECT day, app_id, platform_id, type, sum(n)::bigint FROM usage_subject_daily
		WHERE subject_id = ANY($1) AND day BETWEEN $2 AND $3 AND result = 'success' GROUP BY 1, 2, 3, 4`,
		subjectIDs, today.AddDate(0, 0, -29), today)
	if err != nil {
		return Summary{}, fmt.Errorf("events: subject summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var app, platform, typ string
		var n int64
		if err := rows.Scan(&day, &app, &platform, &typ, &n); err != nil {
			return Summary{}, fmt.Errorf("events: subject summary: %w", err)
		}
		t := Type(typ)
		switch age := int(today.Sub(day) / (24 * time.Hour)); {
		case age == 0:
			s.Today[t] += n
		case age == 1:
			s.Yesterday[t] += n
		}
		if today.Sub(day) < 7*24*time.Hour {
			s.Last7Days[t] += n
		}
		s.Last30Days[t] += n
		add(s.ByApp, app, t, n)
		add(s.ByPlatform, platform, t, n)
	}
	if err := rows.Err(); err != nil {
		return Summary{}, fmt.Errorf("events: subject summary: %w", err)
	}
	return s, nil
}

func add(m map[string]map[Type]int64, k string, t Type, n int64) {
	if m[k] == nil {
		m[k] = map[Type]int64{}
	}
	m[k][t] += n
}
