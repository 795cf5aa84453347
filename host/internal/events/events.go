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

// Record is one stored event, as the console lists them.
type Record struct {
	At     time.Time       `json:"at"`
	Type   string          `json:"type"`
	Result string          `json:"result"`
	AppID  string          `json:"appId"`
	RuleID string          `json:"ruleId"`
	OrgID  string          `json:"orgId"`
	CodeID string          `json:"codeId"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

// SubjectRecords answers the events of the given subjects (a person's
// handles) between from and to, newest first, and how many there are.
func (w *Writer) SubjectRecords(ctx context.Context, subjects []string, types []string, from, to time.Time, offset, limit int) ([]Record, int64, error) {
	if limit <= 0 || limit > 500 {
		limit = 20
	}
	var total int64
	if err := w.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_events WHERE subject_id = ANY($1) AND at >= $2 AND at < $3
		AND (cardinality($4::text[]) = 0 OR type = ANY($4))`, subjects, from, to, types).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := w.cfg.Pool.Query(ctx, `SELECT at, type, result, app_id, rule_id, org_id, code_id, detail FROM usage_events
		WHERE subject_id = ANY($1) AND at >= $2 AND at < $3 AND (cardinality($4::text[]) = 0 OR type = ANY($4))
		ORDER BY at DESC OFFSET $5 LIMIT $6`, subjects, from, to, types, offset, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		var detail []byte
		if err := rows.Scan(&r.At, &r.Type, &r.Result, &r.AppID, &r.RuleID, &r.OrgID, &r.CodeID, &detail); err != nil {
			return nil, 0, err
		}
		r.Detail = detail
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Summary counts a subject's successful events by period and type.
type Summary struct {
	Today     map[string]int64 `json:"today"`
	Yesterday map[string]int64 `json:"yesterday"`
	Last7     map[string]int64 `json:"last7Days"`
	Last30    map[string]int64 `json:"last30Days"`
	ByApp     map[string]int64 `json:"byApp30Days"`
}

// SubjectSummary counts the subjects' successful events of the last 30 days
// (days in location), by type, and by app.
func (w *Writer) SubjectSummary(ctx context.Context, subjects []string, now time.Time, location *time.Location) (*Summary, error) {
	day := time.Date(now.In(location).Year(), now.In(location).Month(), now.In(location).Day(), 0, 0, 0, 0, location)
	s := &Summary{Today: map[string]int64{}, Yesterday: map[string]int64{}, Last7: map[string]int64{}, Last30: map[string]int64{}, ByApp: map[string]int64{}}
	rows, err := w.cfg.Pool.Query(ctx, `SELECT at, type, app_id FROM usage_events
		WHERE subject_id = ANY($1) AND at >= $2 AND result = 'success'`, subjects, day.AddDate(0, 0, -29))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var typ, app string
		if err := rows.Scan(&at, &typ, &app); err != nil {
			return nil, err
		}
		switch {
		case !at.Before(day):
			s.Today[typ]++
		case !at.Before(day.AddDate(0, 0, -1)):
			s.Yesterday[typ]++
		}
		if !at.Before(day.AddDate(0, 0, -6)) {
			s.Last7[typ]++
		}
		s.Last30[typ]++
		s.ByApp[app]++
	}
	return s, rows.Err()
}
