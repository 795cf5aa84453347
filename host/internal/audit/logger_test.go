package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func TestRecordConcurrentDenseChain(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	const workers, each = 50, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l.Record(ctx, entry(fmt.Sprintf("w%d.e%d", w, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n, lo, hi, actions int64
	if err := pool.QueryRow(ctx, `SELECT count(*), min(seq), max(seq), count(DISTINCT action) FROM audit_entries`).
		Scan(&n, &lo, &hi, &actions); err != nil {
		t.Fatal(err)
	}
	if n != workers*each || lo != 1 || hi != n || actions != n {
		t.Fatalf("rows=%d seq %d..%d distinct actions=%d, want %d dense from 1", n, lo, hi, actions, workers*each)
	}
	if seq, _ := head(t, ctx, pool); seq != n {
		t.Fatalf("head seq = %d, want %d", seq, n)
	}
	mustVerify(t, ctx, l, n) // spans several verify pages

	// A deletion past the first pages is found where it is.
	if _, err := pool.Exec(ctx, `DELETE FROM audit_entries WHERE seq = 2001`); err != nil {
		t.Fatal(err)
	}
	res, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.BrokenSeq != 2001 || res.Reason != ReasonGap || res.Checked != 2000 {
		t.Fatalf("verify = %+v, want gap at 2001 after 2000 checked", res)
	}
}

// Two hosts on one database keep one chain: the head row lock orders them.
func TestTwoNodesOneChain(t *testing.T) {
	t.Parallel()
	poolA, url := storetest.NewWithURL(t)
	ctx := testCtx(t)
	poolB, err := store.Open(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	nodes := []*Logger{newLogger(t, poolA, Config{}), newLogger(t, poolB, Config{MaxDelay: 2 * time.Millisecond})}
	const workers, each = 20, 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for n, l := range nodes {
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					e := entry(fmt.Sprintf("n%d.w%d.e%d", n, w, i))
					e.PlatformID = fmt.Sprintf("node-%d", n)
					if err := l.Record(ctx, e); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, l := range nodes {
		mustVerify(t, ctx, l, 2*workers*each)
	}
	var a, b int64
	if err := poolA.QueryRow(ctx, `SELECT count(*) FILTER (WHERE platform_id = 'node-0'),
		count(*) FILTER (WHERE platform_id = 'node-1') FROM audit_entries`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != workers*each || b != workers*each {
		t.Fatalf("node entries = %d, %d; want %d each", a, b, workers*each)
	}
}

// A batch whose transaction fails fails every caller in it and leaves the
// chain as it was, so later entries link on.
func TestBatchFailsTogether(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{MaxDelay: 50 * time.Millisecond})
	mustRecord(t, ctx, l, entry("before"))
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_entries RENAME TO audit_entries_away`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { errs[i] = l.Record(ctx, entry("lost")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || errors.Is(err, ErrInvalidEntry) {
			t.Fatalf("record %d = %v, want a write error", i, err)
		}
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_entries_away RENAME TO audit_entries`); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, ctx, l, entry("after"))
	mustVerify(t, ctx, l, 2)
}

// Close waits for every accepted entry: the writer is held on the head lock
// while entries queue up behind it, then Close is called, then the lock goes.
func TestCloseDrainsAndRefuses(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := New(Config{Pool: pool})
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM audit_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	const n = 30
	results := make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { results[0] = l.Record(ctx, entry("first")) })
	waitFor("the writer to wait on the head lock", func() bool {
		var waiting int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting == 1
	})
	for i := 1; i < n; i++ {
		wg.Go(func() { results[i] = l.Record(ctx, entry("queued")) })
	}
	waitFor("entries to queue", func() bool { return len(l.reqs) == n-1 })
	closed := make(chan error, 1)
	go func() { closed <- l.Close(ctx) }()
	waitFor("close to begin", func() bool {
		l.mu.RLock()
		defer l.mu.RUnlock()
		return l.closed
	})
	if err := l.Record(ctx, entry("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("record after close = %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("close returned %v before the queue was written", err)
	default:
	}
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
	mustVerify(t, ctx, l, n)
}

func TestRecordCancelledContext(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Record(cctx, entry("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("record = %v, want context.Canceled", err)
	}
}

func TestRecordInvalidWritesNothing(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	e := entry("")
	if err := l.Record(ctx, e); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("record = %v, want ErrInvalidEntry", err)
	}
	if seq, _ := head(t, ctx, pool); seq != 0 {
		t.Fatalf("head seq = %d after an invalid entry", seq)
	}
	mustVerify(t, ctx, l, 0)
}

func TestRecordFillsFromActorAndClock(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	clock := &fakeClock{t: t0.Add(123456789 * time.Nanosecond), step: time.Second}
	l := newLogger(t, pool, Config{Clock: clock.Now})

	op := actor.With(ctx, &actor.Actor{Kind: actor.KindOperator, OperatorID: 42, Account: "bob",
		PlatformID: "P2", SourceIP: "192.0.2.9", RequestID: "req-op"})
	mustRecord(t, op, l, Entry{Type: TypeOperation, Action: "rule.publish", Result: Success})
	explicit := entry("rule.disable")
	mustRecord(t, op, l, explicit)
	app := actor.With(ctx, &actor.Actor{Kind: actor.KindApp, AppID: "A0001", PlatformID: "P3",
		SourceIP: "198.51.100.1", RequestID: "req-app"})
	mustRecord(t, app, l, Entry{Type: TypeAPI, Action: "code.issue", Result: Failure})

	page, err := l.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	type who struct{ op, acct, plat, ip, req string }
	want := []who{ // newest first
		{"A0001", "A0001", "P3", "198.51.100.1", "req-app"},
		{"7", "alice", "P1", "10.0.0.1", "req-1"}, // the caller's values win
		{"42", "bob", "P2", "192.0.2.9", "req-op"},
	}
	if len(page.Items) != len(want) {
		t.Fatalf("items = %d", len(page.Items))
	}
	for i, e := range page.Items {
		got := who{e.OperatorID, e.Account, e.PlatformID, e.SourceIP, e.RequestID}
		if got != want[i] {
			t.Errorf("item %d = %+v, want %+v", i, got, want[i])
		}
		wantAt := t0.Add(time.Duration(2-i)*time.Second + 123*time.Millisecond)
		if !e.At.Equal(wantAt) {
			t.Errorf("item %d at = %v, want %v (clock cut to ms)", i, e.At, wantAt)
		}
	}
	mustVerify(t, ctx, l, 3)
}

// Hostile text is stored defused and the chain still verifies: what was
// hashed is exactly what PostgreSQL holds and gives back.
func TestHostileTextVerifies(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	details := []string{
		`{"a":1.50,"b":1e2,"c":-0.0,"d":12345678901234567890123,"e":1E-7,"f":[0.10,10]}`,
		`{"k\u0000":"v\u0000","\u2028":"😀","z":"\"\\\/\b\f\n\r\t\u0001","é":{"中":null}}`,
		`{"a":1,"a":2,"nested":{"y":[true,false,null],"x":{}}}`,
		"{\"bad\":\"\xff\xfe\"}",
	}
	for i, d := range details {
		e := entry(fmt.Sprintf("hostile.%d", i))
		e.Detail = []byte(d)
		e.Account = "=cmd|' /C calc'!A0\r\n\x00\xff" + d
		e.Target = string(make([]byte, 4*maxField))
		mustRecord(t, ctx, l, e)
	}
	mustVerify(t, ctx, l, int64(len(details)))
	page, err := l.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Items {
		if len(e.Target) > maxField {
			t.Errorf("target kept %d bytes", len(e.Target))
		}
		for _, r := range e.Account {
			if r < 0x20 {
				t.Errorf("account kept control character %q", r)
			}
		}
	}
}

// The canonical form must survive a trip through jsonb unchanged; Verify
// depends on it.
func TestCanonicalSurvivesJSONB(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	docs := []string{
		`{"n":[1.50,1e2,0.000001,-3.14159e10,1E+20,98765432109876543210.0123456789]}`,
		`{"s":"\u0001\u001f\u007f\u0080\u2028\ufeff","b":"a\\b","q":"\""}`,
		`{"ä":1,"a":2,"A":3,"😀":4,"\ue000":5}`,
		`{"deep":[[[[{"x":[{"y":{}}]}]]]]}`,
	}
	for _, d := range docs {
		c, err := canonicalJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := pool.QueryRow(ctx, `SELECT $1::jsonb::text`, string(c)).Scan(&back); err != nil {
			t.Fatal(err)
		}
		again, err := canonicalJSON([]byte(back))
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(c) {
			t.Errorf("jsonb changed %s\n into %s\n canonical %s", c, back, again)
		}
	}
}
