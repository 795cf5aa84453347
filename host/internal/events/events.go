// Package events is the durable pipeline of usage events: every generate,
// show, verify, activation and landing visit goes through Writer.Write,
// which returns only after the event is committed. Concurrent writes are
// grouped into one transaction (COPY into the month's partition, plus the
// hourly and daily rollups), so the cost per event is a small share of one
// commit rather than a commit each.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/store"
)

// Event is one usage event. SubjectID is an opaque reference (never a name
// or a certificate number).
type Event struct {
	At          time.Time
	Type        string // generate, show, verify, activate, cancel, relation, scan_upload, landing, plugin_action
	Result      string // success, failure, intercepted
	PlatformID  string
	AppID       string
	RuleID      string
	RuleVersion int
	Kind        string
	SubjectID   string
	CodeID      string
	OrgID       string
	RegionCode  string
	Detail      json.RawMessage
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("events: writer closed")

// Config configures a Writer.
type Config struct {
	Pool     *pgxpool.Pool
	Log      *slog.Logger
	Clock    func() time.Time
	MaxBatch int // events per transaction; default 5000
}

// Writer commits events in groups. It is safe for concurrent use.
type Writer struct {
	cfg      Config
	reqs     chan *request
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	partMu   sync.Mutex
	months   map[string]bool // partitions known to exist
	location *time.Location
}

type request struct {
	evs []Event
	err chan error
}

// New starts a Writer; Close stops it.
func New(ctx context.Context, cfg Config) (*Writer, error) {
	if cfg.Pool == nil {
		return nil, errors.New("events: Pool is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 5000
	}
	w := &Writer{cfg: cfg, reqs: make(chan *request, 4096), done: make(chan struct{}), months: map[string]bool{}, location: time.UTC}
	now := cfg.Clock()
	for i := 0; i < 3; i++ {
		if err := w.ensurePartition(ctx, now.AddDate(0, i, 0)); err != nil {
			return nil, err
		}
	}
	go w.loop()
	return w, nil
}

// Write commits evs and returns when they are durable (or the transaction
// failed: then none of them is stored and the caller must not report
// success).
func (w *Writer) Write(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	r := &request{evs: evs, err: make(chan error, 1)}
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return ctx.Err()
	}
	w.closeMu.RUnlock()
	select {
	case err := <-r.err:
		return err
	case <-ctx.Done():
		// The batch may still commit; the caller answers failure either way,
		// which can only over-count, never lose an acknowledged event.
		return ctx.Err()
	}
}

// Close drains pending writes and stops the writer.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.closeMu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	for first := range w.reqs {
		batch := []*request{first}
		n := len(first.evs)
	collect:
		for n < w.cfg.MaxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break collect
				}
				batch = append(batch, r)
				n += len(r.evs)
			default:
				break collect
			}
		}
		err := w.flush(batch, n)
		for _, r := range batch {
			r.err <- err
		}
	}
}

func (w *Writer) flush(batch []*request, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows := make([][]any, 0, n)
	type key struct {
		grain                            string
		bucket                           time.Time
		platform, app, rule, typ, result string
	}
	counts := map[key]int64{}
	for _, r := range batch {
		for i := range r.evs {
			e := &r.evs[i]
			if e.At.IsZero() {
				e.At = w.cfg.Clock()
			}
			if err := w.ensurePartition(ctx, e.At); err != nil {
				return err
			}
			var detail any
			if len(e.Detail) > 0 {
				detail = string(e.Detail)
			}
			rows = append(rows, []any{e.At, e.Type, e.Result, e.PlatformID, e.AppID, e.RuleID, e.RuleVersion, e.Kind,
				e.SubjectID, e.CodeID, e.OrgID, e.RegionCode, detail})
			at := e.At.In(w.location)
			counts[key{"hour", at.Truncate(time.Hour), e.PlatformID, e.AppID, e.RuleID, e.Type, e.Result}]++
			day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, w.location)
			counts[key{"day", day, e.PlatformID, e.AppID, e.RuleID, e.Type, e.Result}]++
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// A fixed order of the upserts keeps two nodes from deadlocking.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.grain != b.grain {
			return a.grain < b.grain
		}
		if !a.bucket.Equal(b.bucket) {
			return a.bucket.Before(b.bucket)
		}
		return fmt.Sprint(a.platform, a.app, a.rule, a.typ, a.result) < fmt.Sprint(b.platform, b.app, b.rule, b.typ, b.result)
	})
	return store.Tx(ctx, w.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"usage_events"},
			[]string{"at", "type", "result", "platform_id", "app_id", "rule_id", "rule_version", "kind", "subject_id", "code_id", "org_id", "region_code", "detail"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("events: copy: %w", err)
		}
		b := &pgx.Batch{}
		for _, k := range keys {
			b.Queue(`INSERT INTO usage_rollups (grain, bucket, platform_id, app_id, rule_id, type, result, n)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (grain, bucket, platform_id, app_id, rule_id, type, result) DO UPDATE SET n = usage_rollups.n + EXCLUDED.n`,
				k.grain, k.bucket, k.platform, k.app, k.rule, k.typ, k.result, counts[k])
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("events: rollups: %w", err)
		}
		return nil
	})
}

// ensurePartition creates the monthly partition holding t, once per process
// and safely when several nodes try at once.
func (w *Writer) ensurePartition(ctx context.Context, t time.Time) error {
	t = t.In(w.location)
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, w.location)
	name := fmt.Sprintf("usage_events_y%04dm%02d", start.Year(), int(start.Month()))
	w.partMu.Lock()
	defer w.partMu.Unlock()
	if w.months[name] {
		return nil
	}
	err := store.Tx(ctx, w.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7419055)`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || exists {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s PARTITION OF usage_events FOR VALUES FROM ('%s') TO ('%s')`,
			name, start.Format(time.RFC3339), start.AddDate(0, 1, 0).Format(time.RFC3339)))
		return err
	})
	if err != nil {
		return fmt.Errorf("events: partition %s: %w", name, err)
	}
	w.months[name] = true
	return nil
}
