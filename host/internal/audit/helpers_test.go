package audit

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fakeClock returns t0, t0+step, t0+2·step, ...
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func newLogger(t testing.TB, pool *pgxpool.Pool, cfg Config) *Logger {
	t.Helper()
	cfg.Pool = pool
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler) // failures are asserted, not read
	}
	l := New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

func entry(action string) Entry {
	return Entry{Type: TypeOperation, Action: action, Target: "app:A0001", Result: Success,
		Account: "alice", OperatorID: "7", PlatformID: "P1", SourceIP: "10.0.0.1", RequestID: "req-1",
		Detail: []byte(`{"name":"张*","n":1}`)}
}

func mustRecord(t testing.TB, ctx context.Context, l *Logger, e Entry) {
	t.Helper()
	if err := l.Record(ctx, e); err != nil {
		t.Fatalf("record %s: %v", e.Action, err)
	}
}

func mustVerify(t testing.TB, ctx context.Context, l *Logger, want int64) {
	t.Helper()
	res, err := l.Verify(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.OK || res.Checked != want {
		t.Fatalf("verify = %+v, want OK with %d entries", res, want)
	}
}

func head(t testing.TB, ctx context.Context, pool *pgxpool.Pool) (int64, string) {
	t.Helper()
	var seq int64
	var hash string
	if err := pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&seq, &hash); err != nil {
		t.Fatal(err)
	}
	return seq, hash
}
