package events

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The statements of a batch travel in one pipeline and run in one
// implicit transaction, committed at its end: one round trip per batch.
// The upserts lock rollup rows in the order of their arrays, which flush
// sorts: two nodes committing overlapping batches wait for each other but
// never deadlock. Keys are unique within a statement (aggregated first).
const (
	insertEvents = `INSERT INTO usage_events (at, type, result, platform_id, app_id, rule_id, rule_version, kind,
			subject_id, code_id, org_id, region_code, detail)
		SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[])`
	upsertRollups = `INSERT INTO usage_rollups (grain, bucket, platform_id, app_id, rule_id, type, result, n)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
		ON CONFLICT (grain, bucket, platform_id, app_id, rule_id, type, result) DO UPDATE SET n = usage_rollups.n + excluded.n`
	upsertSubjects = `INSERT INTO usage_subject_daily (subject_id, day, app_id, platform_id, type, result, n)
		SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
		ON CONFLICT (subject_id, day, app_id, platform_id, type, result) DO UPDATE SET n = usage_subject_daily.n + excluded.n`
	upsertRegions = `INSERT INTO usage_region_daily (day, platform_id, region_code, kind, type, result, n)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
		ON CONFLICT (day, platform_id, region_code, kind, type, result) DO UPDATE SET n = usage_region_daily.n + excluded.n`
)

// rollKey is one row of usage_rollups: grain "day" or "hour", bucket the
// unix second its hour or day (in the writer's location) begins.
type rollKey struct {
	grain                            string
	bucket                           int64
	platform, app, rule, typ, result string
}

func (a rollKey) compare(b rollKey) int {
	return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.platform, b.platform),
		cmp.Compare(a.app, b.app), cmp.Compare(a.rule, b.rule), cmp.Compare(a.typ, b.typ), cmp.Compare(a.result, b.result))
}

// subjectKey is one row of usage_subject_daily; day is the unix second of
// the local date's midnight in UTC (how a date travels to PostgreSQL).
type subjectKey struct {
	subject                    string
	day                        int64
	app, platform, typ, result string
}

func (a subjectKey) compare(b subjectKey) int {
	return cmp.Or(cmp.Compare(a.subject, b.subject), cmp.Compare(a.day, b.day), cmp.Compare(a.app, b.app),
		cmp.Compare(a.platform, b.platform), cmp.Compare(a.typ, b.typ), cmp.Compare(a.result, b.result))
}

// regionKey is one row of usage_region_daily; day as in subjectKey.
type regionKey struct {
	day                                 int64
	platform, region, kind, typ, result string
}

func (a regionKey) compare(b regionKey) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.platform, b.platform), cmp.Compare(a.region, b.region),
		cmp.Compare(a.kind, b.kind), cmp.Compare(a.typ, b.typ), cmp.Compare(a.result, b.result))
}

// flush commits the n events of batch and their rollups in one transaction.
func (w *Writer) flush(batch []*request, n int) error {
	ctx, cancel := context.WithTimeout(w.ctx, flushTimeout)
	defer cancel()
	rolls := map[rollKey]int64{}
	subjects := map[subjectKey]int64{}
	regions := map[regionKey]int64{}
	cols := newEventColumns(n)
	loc := w.cfg.Location
	for _, r := range batch {
		for i := range r.evs {
			e := &r.evs[i]
			cols.add(e)
			t := e.At.In(loc)
			y, m, d := t.Date()
			typ, res := string(e.Type), string(e.Result)
			rolls[rollKey{"hour", time.Date(y, m, d, t.Hour(), 0, 0, 0, loc).Unix(), e.PlatformID, e.AppID, e.RuleID, typ, res}]++
			rolls[rollKey{"day", time.Date(y, m, d, 0, 0, 0, 0, loc).Unix(), e.PlatformID, e.AppID, e.RuleID, typ, res}]++
			date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
			if e.SubjectID != "" {
				subjects[subjectKey{e.SubjectID, date, e.AppID, e.PlatformID, typ, res}]++
			}
			if e.RegionCode != "" {
				regions[regionKey{date, e.PlatformID, e.RegionCode, e.Kind, typ, res}]++
			}
		}
	}
	b := &pgx.Batch{}
	b.Queue(insertEvents, cols.args()...)
	b.Queue(upsertRollups, rollupArgs(rolls)...)
	if len(subjects) > 0 {
		b.Queue(upsertSubjects, subjectArgs(subjects)...)
	}
	// Personal codes name no region: their batches skip the statement.
	if len(regions) > 0 {
		b.Queue(upsertRegions, regionArgs(regions)...)
	}
	if err := w.cfg.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("events: commit %d events: %w", n, err)
	}
	return nil
}

// eventColumns holds a batch's events column by column, for unnest.
type eventColumns struct {
	at                                                                 []time.Time
	typ, result, platform, app, rule, kind, subject, code, org, region []string
	version                                                            []int32
	detail                                                             [][]byte // nil: NULL
}

func newEventColumns(n int) *eventColumns {
	s := func() []string { return make([]string, 0, n) }
	return &eventColumns{at: make([]time.Time, 0, n), typ: s(), result: s(), platform: s(), app: s(), rule: s(), kind: s(),
		subject: s(), code: s(), org: s(), region: s(), version: make([]int32, 0, n), detail: make([][]byte, 0, n)}
}

func (c *eventColumns) add(e *Event) {
	c.at = append(c.at, e.At)
	c.typ, c.result = append(c.typ, string(e.Type)), append(c.result, string(e.Result))
	c.platform, c.app, c.rule = append(c.platform, e.PlatformID), append(c.app, e.AppID), append(c.rule, e.RuleID)
	c.kind, c.subject, c.code = append(c.kind, e.Kind), append(c.subject, e.SubjectID), append(c.code, e.CodeID)
	c.org, c.region = append(c.org, e.OrgID), append(c.region, e.RegionCode)
	c.version = append(c.version, int32(e.RuleVersion))
	var d []byte
	if len(e.Detail) > 0 {
		d = e.Detail
	}
	c.detail = append(c.detail, d)
}

func (c *eventColumns) args() []any {
	return []any{c.at, c.typ, c.result, c.platform, c.app, c.rule, c.version, c.kind, c.subject, c.code, c.org, c.region, c.detail}
}

func rollupArgs(m map[rollKey]int64) []any {
	keys := make([]rollKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, rollKey.compare)
	grain, platform, app, rule, typ, result := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)),
		make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	bucket, n := make([]time.Time, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		grain[i], bucket[i], platform[i], app[i], rule[i], typ[i], result[i], n[i] = k.grain, time.Unix(k.bucket, 0), k.platform, k.app, k.rule, k.typ, k.result, m[k]
	}
	return []any{grain, bucket, platform, app, rule, typ, result, n}
}

func subjectArgs(m map[subjectKey]int64) []any {
	keys := make([]subjectKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, subjectKey.compare)
	subject, app, platform, typ, result := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)),
		make([]string, len(keys)), make([]string, len(keys))
	day, n := make([]time.Time, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		subject[i], day[i], app[i], platform[i], typ[i], result[i], n[i] = k.subject, time.Unix(k.day, 0).UTC(), k.app, k.platform, k.typ, k.result, m[k]
	}
	return []any{subject, day, app, platform, typ, result, n}
}

func regionArgs(m map[regionKey]int64) []any {
	keys := make([]regionKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, regionKey.compare)
	platform, region, kind, typ, result := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)),
		make([]string, len(keys)), make([]string, len(keys))
	day, n := make([]time.Time, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		day[i], platform[i], region[i], kind[i], typ[i], result[i], n[i] = time.Unix(k.day, 0).UTC(), k.platform, k.region, k.kind, k.typ, k.result, m[k]
	}
	return []any{day, platform, region, kind, typ, result, n}
}

// isDataError reports whether the database refused the data itself (data
// exception or integrity violation), rather than failing to commit.
func isDataError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"))
}
