package events_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

var base = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func TestWriteIsDurableAndRollupsMatch(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	w, err := events.New(ctx, events.Config{Pool: pool, Clock: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	var wg sync.WaitGroup
	want := map[string]int{}
	var mu sync.Mutex
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 20 {
				e := events.Event{At: base.Add(time.Duration(r.IntN(72)) * time.Hour), Type: []string{"show", "verify"}[r.IntN(2)],
					Result: "success", PlatformID: "P0000", AppID: fmt.Sprintf("cc%d", r.IntN(3)), RuleID: "R0001", SubjectID: fmt.Sprintf("h%d", i)}
				if err := w.Write(ctx, e); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[e.At.Format("2006-01-02")+e.Type]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var n int
	pool.QueryRow(ctx, "SELECT count(*) FROM usage_events").Scan(&n)
	if n != 2000 {
		t.Fatalf("%d events stored, 2000 acknowledged", n)
	}
	for _, grain := range []string{"hour", "day"} {
		var sum int
		pool.QueryRow(ctx, "SELECT sum(n) FROM usage_rollups WHERE grain = $1", grain).Scan(&sum)
		if sum != 2000 {
			t.Fatalf("%s rollups sum to %d", grain, sum)
		}
	}
	rows, _ := pool.Query(ctx, "SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD') || type, sum(n) FROM usage_rollups WHERE grain = 'day' GROUP BY 1")
	got := map[string]int{}
	for rows.Next() {
		var k string
		var v int
		rows.Scan(&k, &v)
		got[k] = v
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("day rollup %s = %d, want %d", k, got[k], v)
		}
	}
}

func TestEventsLandInMonthlyPartitions(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	w, err := events.New(ctx, events.Config{Pool: pool, Clock: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	// Next month exists ahead; five months on is created when first needed.
	for _, at := range []time.Time{base, time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(2027, 4, 2, 0, 0, 0, 0, time.UTC)} {
		if err := w.Write(ctx, events.Event{At: at, Type: "verify", Result: "success"}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, "SELECT tableoid::regclass::text, count(*) FROM usage_events GROUP BY 1 ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		rows.Scan(&p, &n)
		got[p] = n
	}
	for _, p := range []string{"usage_events_y2026m11", "usage_events_y2026m12", "usage_events_y2027m04"} {
		if got[p] != 1 {
			t.Fatalf("partitions %v: want one event in %s", got, p)
		}
	}
}

func TestWriteFailsWhenTheDatabaseIsGone(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	w, err := events.New(ctx, events.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	if err := w.Write(ctx, events.Event{Type: "verify", Result: "success"}); err == nil {
		t.Fatal("an event was acknowledged without a database")
	}
	w.Close(ctx)
	if err := w.Write(ctx, events.Event{Type: "verify", Result: "success"}); err != events.ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

func BenchmarkWriteParallel(b *testing.B) {
	pool := storetest.New(b)
	ctx := context.Background()
	w, err := events.New(ctx, events.Config{Pool: pool})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(ctx)
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(ctx, events.Event{Type: "verify", Result: "success", PlatformID: "P0000", AppID: "cc1", RuleID: "R0001"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
