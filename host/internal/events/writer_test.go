package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

var now = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

var allTypes = []events.Type{events.Generate, events.Show, events.Verify, events.Activate, events.Cancel,
	events.Relation, events.ScanUpload, events.Landing, events.PluginAction}

var allResults = []events.Result{events.Success, events.Failure, events.Intercepted}

// randomEvent draws an event between 100 days before now and now, often on
// the edges of hours, days (UTC and CST) and months.
func randomEvent(r *rand.Rand) events.Event {
	at := now.Add(-time.Duration(r.Int64N(int64(100 * 24 * time.Hour))))
	switch r.IntN(4) {
	case 0: // an hour's edge
		at = at.Truncate(time.Hour).Add(time.Duration(r.IntN(3)-1) * time.Microsecond)
	case 1: // a CST midnight's edge
		y, m, d := at.In(cst).Date()
		at = time.Date(y, m, d, 0, 0, 0, 0, cst).Add(time.Duration(r.IntN(3)-1) * time.Microsecond)
	case 2: // a UTC month's edge (partition boundary)
		at = time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3)-1) * time.Microsecond)
	}
	e := events.Event{
		At: at, Type: allTypes[r.IntN(len(allTypes))], Result: allResults[r.IntN(len(allResults))],
		PlatformID: fmt.Sprintf("P%04d", r.IntN(3)), AppID: fmt.Sprintf("cc%d", r.IntN(4)), RuleID: fmt.Sprintf("R%d", r.IntN(3)),
		RuleVersion: r.IntN(3) + 1, Kind: "person", CodeID: fmt.Sprintf("c%d", r.IntN(1000)), OrgID: "GATE-1",
	}
	if r.IntN(5) > 0 {
		e.SubjectID = fmt.Sprintf("h%d", r.IntN(20))
	}
	if r.IntN(3) == 0 { // an object code, of a district
		e.Kind, e.RegionCode = "object", fmt.Sprintf("31010%d", r.IntN(4))
	}
	if r.IntN(3) == 0 {
		e.Detail = json.RawMessage(`{"k":"值"}`)
	}
	return e
}

func TestWriteIsDurable(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	ctx := t.Context()
	// 100 writers; each checks its own event is there the moment Write
	// returns, through another connection.
	var acked atomic.Int64
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 20 {
				code := fmt.Sprintf("g%d-%d", g, i)
				evs := []events.Event{{Type: events.Verify, Result: events.Success, PlatformID: "P0000", AppID: "cc1", CodeID: code}}
				if i%5 == 0 { // some calls carry several events
					evs = append(evs, events.Event{Type: events.Show, Result: events.Success, PlatformID: "P0000", AppID: "cc1", CodeID: code})
				}
				if err := w.Write(ctx, evs...); err != nil {
					t.Error(err)
					return
				}
				acked.Add(int64(len(evs)))
				if n := count(t, pool, "SELECT count(*) FROM usage_events WHERE code_id = $1", code); n != int64(len(evs)) {
					t.Errorf("%s: %d rows right after Write returned, want %d", code, n, len(evs))
				}
			}
		})
	}
	wg.Wait()
	if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != acked.Load() || n != 2400 {
		t.Fatalf("%d events stored, %d acknowledged", n, acked.Load())
	}
	for _, grain := range []string{"hour", "day"} {
		if n := count(t, pool, "SELECT sum(n)::bigint FROM usage_rollups WHERE grain = $1", grain); n != 2400 {
			t.Fatalf("%s rollups sum to %d, want 2400", grain, n)
		}
	}
	// Zero times took the clock; events landed in the clock's month.
	if n := count(t, pool, "SELECT count(*) FROM usage_events_y2026m11 WHERE at = $1", now); n != 2400 {
		t.Fatalf("%d events at the clock's time in November's partition", n)
	}
}

// rollupsEqualRaw compares every rollup with counts computed by SQL from the
// raw events, both ways.
func rollupsEqualRaw(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for name, sql := range map[string]string{
		"hour": `SELECT date_trunc('hour', at), platform_id, app_id, rule_id, type, result, count(*) FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6`,
		"day": `SELECT date_trunc('day', at AT TIME ZONE INTERVAL '+08:00') AT TIME ZONE INTERVAL '+08:00',
			platform_id, app_id, rule_id, type, result, count(*) FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6`,
	} {
		rollup := `SELECT bucket, platform_id, app_id, rule_id, type, result, n FROM usage_rollups WHERE grain = '` + name + `'`
		if n := count(t, pool, `SELECT count(*) FROM ((`+sql+`) EXCEPT (`+rollup+`)) x`); n != 0 {
			t.Errorf("%d %s groups of raw events differ from the rollups", n, name)
		}
		if n := count(t, pool, `SELECT count(*) FROM ((`+rollup+`) EXCEPT (`+sql+`)) x`); n != 0 {
			t.Errorf("%d %s rollups differ from the raw events", n, name)
		}
	}
	raw := `SELECT subject_id, (at AT TIME ZONE INTERVAL '+08:00')::date, app_id, platform_id, type, result, count(*)
		FROM usage_events WHERE subject_id <> '' GROUP BY 1, 2, 3, 4, 5, 6`
	rollup := `SELECT subject_id, day, app_id, platform_id, type, result, n FROM usage_subject_daily`
	if n := count(t, pool, `SELECT count(*) FROM ((`+raw+`) EXCEPT (`+rollup+`)) x`) +
		count(t, pool, `SELECT count(*) FROM ((`+rollup+`) EXCEPT (`+raw+`)) x`); n != 0 {
		t.Errorf("%d per-subject rollups differ from the raw events", n)
	}
	raw = `SELECT (at AT TIME ZONE INTERVAL '+08:00')::date, platform_id, region_code, kind, type, result, count(*)
		FROM usage_events WHERE region_code <> '' GROUP BY 1, 2, 3, 4, 5, 6`
	rollup = `SELECT day, platform_id, region_code, kind, type, result, n FROM usage_region_daily`
	if n := count(t, pool, `SELECT count(*) FROM ((`+raw+`) EXCEPT (`+rollup+`)) x`) +
		count(t, pool, `SELECT count(*) FROM ((`+rollup+`) EXCEPT (`+raw+`)) x`); n != 0 {
		t.Errorf("%d per-region rollups differ from the raw events", n)
	}
	if count(t, pool, `SELECT count(*) FROM usage_events WHERE region_code <> ''`) > 0 && count(t, pool, `SELECT count(*) FROM usage_region_daily`) == 0 {
		t.Error("no per-region rollups")
	}
}

func TestRollupsEqualRawCounts(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			pool := storetest.New(t)
			w := newWriter(t, pool, newClock(now), func(c *events.Config) { c.MaxBatch = 1 + int(seed)*50 })
			r := rand.New(rand.NewPCG(seed, 7))
			// Calls of 1 to 10 events from 16 writers; the expected day counts
			// are kept in Go as a second, independent reckoning.
			var calls [][]events.Event
			want := map[string]int64{}
			for range 300 {
				evs := make([]events.Event, 1+r.IntN(10))
				for i := range evs {
					evs[i] = randomEvent(r)
					y, m, d := evs[i].At.In(cst).Date()
					want[fmt.Sprintf("%04d-%02d-%02d/%s/%s/%s/%s", y, m, d, evs[i].AppID, evs[i].RuleID, evs[i].Type, evs[i].Result)]++
				}
				calls = append(calls, evs)
			}
			var wg sync.WaitGroup
			next := atomic.Int64{}
			for range 16 {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(calls)); i = next.Add(1) - 1 {
						if err := w.Write(t.Context(), calls[i]...); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			rollupsEqualRaw(t, pool)
			rows, err := w.Counts(t.Context(), events.CountFilter{From: now.AddDate(0, 0, -140), To: now.Add(time.Hour),
				Granularity: "day", GroupBy: []string{"app", "rule", "type", "result"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, row := range rows {
				got[fmt.Sprintf("%s/%s/%s/%s/%s", row.Bucket.Format("2006-01-02"), row.AppID, row.RuleID, row.Type, row.Result)] += row.N
			}
			if len(got) != len(want) {
				t.Fatalf("%d day groups counted, want %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: counted %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

func TestTwoNodesWriteConcurrently(t *testing.T) {
	t.Parallel()
	pool, url := storetest.NewWithURL(t)
	other, err := store.Open(t.Context(), url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	clock := newClock(now)
	// Two hosts, each with its own pool and writer, start at once (both
	// create the partitions) and write overlapping rollup keys in opposite
	// orders: a lock-order bug would surface as a deadlock error.
	nodes := make([]*events.Writer, 2)
	var start sync.WaitGroup
	for i, p := range []*pgxpool.Pool{pool, other} {
		start.Go(func() { nodes[i] = newWriter(t, p, clock, func(c *events.Config) { c.MaxDelay = -1 }) })
	}
	start.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for range 25 {
				evs := make([]events.Event, 8)
				for i := range evs {
					evs[i] = events.Event{At: now.Add(-time.Duration(r.IntN(3)) * time.Hour), Type: events.Verify, Result: events.Success,
						PlatformID: "P0000", AppID: fmt.Sprintf("cc%d", r.IntN(3)), RuleID: "R1", SubjectID: fmt.Sprintf("h%d", r.IntN(4)),
						Kind: "object", RegionCode: fmt.Sprintf("31010%d", r.IntN(3))}
				}
				if g%2 == 1 {
					for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
						evs[i], evs[j] = evs[j], evs[i]
					}
				}
				if err := nodes[g%2].Write(t.Context(), evs...); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != 40*25*8 {
		t.Fatalf("%d events, want %d", n, 40*25*8)
	}
	if n := count(t, pool, "SELECT sum(n)::bigint FROM usage_rollups WHERE grain = 'hour'"); n != 40*25*8 {
		t.Fatalf("hour rollups sum to %d, want %d", n, 40*25*8)
	}
	rollupsEqualRaw(t, pool)
}

func TestInvalidEventsAreRefused(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	good := events.Event{Type: events.Verify, Result: events.Success, PlatformID: "P0000"}
	for _, tc := range []struct {
		name string
		mod  func(*events.Event)
	}{
		{"unknown type", func(e *events.Event) { e.Type = "delete" }},
		{"empty type", func(e *events.Event) { e.Type = "" }},
		{"unknown result", func(e *events.Event) { e.Result = "ok" }},
		{"unknown kind", func(e *events.Event) { e.Kind = "animal" }},
		{"NUL in an id", func(e *events.Event) { e.AppID = "cc\x001" }},
		{"invalid UTF-8", func(e *events.Event) { e.OrgID = "\xff\xfe" }},
		{"id too long", func(e *events.Event) { e.PlatformID = strings.Repeat("P", 65) }},
		{"code id too long", func(e *events.Event) { e.CodeID = strings.Repeat("c", 257) }},
		{"negative rule version", func(e *events.Event) { e.RuleVersion = -1 }},
		{"detail not JSON", func(e *events.Event) { e.Detail = json.RawMessage(`{"a":`) }},
		{"detail with NUL", func(e *events.Event) { e.Detail = json.RawMessage(`{"a":"\u0000"}`) }},
		{"detail too large", func(e *events.Event) { e.Detail = json.RawMessage(`"` + strings.Repeat("x", 5000) + `"`) }},
		{"far in the future", func(e *events.Event) { e.At = now.Add(25 * time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := good
			tc.mod(&bad)
			// The good event of the same call is not written either.
			err := w.Write(t.Context(), good, bad)
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("got %v, want an Invalid fault", err)
			}
		})
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != 0 {
		t.Fatalf("%d events written from refused calls", n)
	}
	// A day ahead is still accepted (clock skew), and the past always is.
	if err := w.Write(t.Context(), events.Event{At: now.Add(23 * time.Hour), Type: events.Show, Result: events.Success},
		events.Event{At: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), Type: events.ScanUpload, Result: events.Success}); err != nil {
		t.Fatal(err)
	}
}

func TestOneBadEventFailsOnlyItsCaller(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now), func(c *events.Config) { c.MaxDelay = 50 * time.Millisecond })
	// Valid JSON that jsonb refuses (numeric overflow) gets past the checks
	// and fails in the database, inside a batch shared with others.
	var wg sync.WaitGroup
	var ok atomic.Int64
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			e := events.Event{Type: events.Verify, Result: events.Success, CodeID: fmt.Sprint(i)}
			if i == 13 {
				e.Detail = json.RawMessage(`{"n":1e1000000}`)
			}
			if err := w.Write(t.Context(), e); err != nil {
				errs <- fmt.Errorf("%d: %w", i, err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	close(errs)
	var failed []error
	for err := range errs {
		failed = append(failed, err)
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0].Error(), "13: ") {
		t.Fatalf("failures: %v", failed)
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != ok.Load() || n != 63 {
		t.Fatalf("%d events stored, %d acknowledged", n, ok.Load())
	}
	rollupsEqualRaw(t, pool)
}

func TestWriteFailsWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	ev := events.Event{Type: events.Verify, Result: events.Success}

	t.Run("closed pool", func(t *testing.T) {
		t.Parallel()
		pool, url := storetest.NewWithURL(t)
		own, err := store.Open(t.Context(), url, 4)
		if err != nil {
			t.Fatal(err)
		}
		w := newWriter(t, own, newClock(now))
		own.Close()
		if err := w.Write(t.Context(), ev); err == nil {
			t.Fatal("an event was acknowledged without a database")
		}
		if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != 0 {
			t.Fatalf("%d events", n)
		}
	})

	t.Run("database refusing connections, then back", func(t *testing.T) {
		t.Parallel()
		pool, url := storetest.NewWithURL(t)
		own, err := store.Open(t.Context(), url, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(own.Close)
		w := newWriter(t, own, newClock(now))
		if err := w.Write(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		var db string
		pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&db)
		admin, err := pgx.Connect(t.Context(), storetest.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		exec := func(sql string) {
			if _, err := admin.Exec(t.Context(), sql); err != nil {
				t.Fatal(err)
			}
		}
		exec("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS false")
		t.Cleanup(func() { pool.Exec(context.Background(), "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS true") })
		exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'")
		failed := 0
		for range 5 {
			if err := w.Write(t.Context(), ev); err != nil {
				failed++
			}
		}
		if failed != 5 {
			t.Fatalf("%d of 5 writes acknowledged while the database was away", 5-failed)
		}
		exec("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS true")
		if err := w.Write(t.Context(), ev); err != nil {
			t.Fatalf("after the database came back: %v", err)
		}
		if n := count(t, own, "SELECT count(*) FROM usage_events"); n != 2 {
			t.Fatalf("%d events, want the 2 acknowledged", n)
		}
	})

	t.Run("cancelled context and closed writer", func(t *testing.T) {
		t.Parallel()
		pool := storetest.New(t)
		w, err := events.New(t.Context(), events.Config{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.Write(ctx, ev); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v", err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(t.Context(), ev); !errors.Is(err, events.ErrClosed) {
			t.Fatalf("after close: %v", err)
		}
	})
}

func TestCloseDrainsAcceptedWrites(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w, err := events.New(t.Context(), events.Config{Pool: pool, MaxBatch: 7})
	if err != nil {
		t.Fatal(err)
	}
	var acked, refused atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			switch err := w.Write(t.Context(), events.Event{Type: events.Show, Result: events.Success}); {
			case err == nil:
				acked.Add(1)
			case errors.Is(err, events.ErrClosed):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if acked.Load()+refused.Load() != 200 {
		t.Fatalf("%d acknowledged + %d refused", acked.Load(), refused.Load())
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_events"); n != acked.Load() {
		t.Fatalf("%d events stored, %d acknowledged", n, acked.Load())
	}
}

func TestLargeCallExceedsMaxBatch(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now), func(c *events.Config) { c.MaxBatch = 10 })
	evs := make([]events.Event, 2500)
	for i := range evs {
		evs[i] = events.Event{Type: events.Generate, Result: events.Success, SubjectID: fmt.Sprint("h", i%7)}
	}
	if err := w.Write(t.Context(), evs...); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT sum(n)::bigint FROM usage_subject_daily"); n != 2500 {
		t.Fatalf("subject rollups sum to %d", n)
	}
}
