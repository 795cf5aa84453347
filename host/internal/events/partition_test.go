package events_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func partitions(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage_events'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out[name] = true
	}
	return out
}

// partitionOf answers which partition holds the event of code.
func partitionOf(t *testing.T, pool *pgxpool.Pool, code string) string {
	t.Helper()
	var p string
	if err := pool.QueryRow(t.Context(), "SELECT tableoid::regclass::text FROM usage_events WHERE code_id = $1", code).Scan(&p); err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	return p
}

func TestPartitionsAcrossAMonthBoundary(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	clock := newClock(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
	// Several nodes start at once: each creates the partitions.
	var wg sync.WaitGroup
	ws := make([]*events.Writer, 4)
	for i := range ws {
		wg.Go(func() {
			ws[i] = newWriter(t, pool, clock, func(c *events.Config) { c.PartitionCheck = 20 * time.Millisecond })
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	w := ws[0]
	got := partitions(t, pool)
	for _, p := range []string{"usage_events_default", "usage_events_y2026m11", "usage_events_y2026m12", "usage_events_y2027m01"} {
		if !got[p] {
			t.Fatalf("partitions %v: %s missing", got, p)
		}
	}
	if got["usage_events_y2027m02"] {
		t.Fatal("a partition three months ahead")
	}

	write := func(code string, at time.Time) {
		t.Helper()
		if err := w.Write(t.Context(), events.Event{At: at, Type: events.Verify, Result: events.Success, CodeID: code}); err != nil {
			t.Fatal(err)
		}
	}
	write("last-of-november", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(-time.Microsecond))
	write("first-of-december", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	write("october", time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)) // before any partition: the safety net
	// The clock crosses into January: the ticker creates February and March.
	clock.Set(time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC))
	deadline := time.Now().Add(10 * time.Second)
	for got = partitions(t, pool); !got["usage_events_y2027m03"]; got = partitions(t, pool) {
		if time.Now().After(deadline) {
			t.Fatalf("partitions %v: March not created ahead", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !got["usage_events_y2027m02"] || got["usage_events_y2027m04"] {
		t.Fatalf("partitions %v", got)
	}
	write("new-year", time.Date(2027, 1, 1, 0, 29, 0, 0, time.UTC))
	for code, want := range map[string]string{
		"last-of-november":  "usage_events_y2026m11",
		"first-of-december": "usage_events_y2026m12",
		"october":           "usage_events_default",
		"new-year":          "usage_events_y2027m01",
	} {
		if p := partitionOf(t, pool, code); p != want {
			t.Errorf("%s landed in %s, want %s", code, p, want)
		}
	}
}
