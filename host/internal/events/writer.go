package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("events: writer closed")

// Defaults, measured on a 2-core machine (see RATIONALE.md).
const (
	DefaultMaxBatch       = 2000
	DefaultMaxDelay       = time.Millisecond
	DefaultPartitionCheck = time.Hour
	flushTimeout          = 15 * time.Second

	// A pause in arrivals longer than pauseGaps average gaps (at least
	// minPause) ends the gathering of a batch.
	pauseGaps = 4
	minPause  = 50 * time.Microsecond
)

// Config configures a Writer.
type Config struct {
	Pool  *pgxpool.Pool
	Log   *slog.Logger     // default: discard
	Clock func() time.Time // event times (when zero) and partition months; default time.Now
	// Location is where hours and days begin for the rollups and the
	// per-subject summaries; default UTC+8 (China Standard Time). Keep it
	// fixed for a database: rollups written under two calendars don't add up.
	Location *time.Location
	// MaxBatch bounds the events of one transaction; default DefaultMaxBatch.
	MaxBatch int
	// MaxDelay is how long a batch may wait for more events while the
	// writer is busy (the previous batch served several callers), trading
	// a little latency for fewer commits; a lone caller never waits.
	// Default DefaultMaxDelay; negative: never wait.
	MaxDelay time.Duration
	// PartitionCheck is how often the monthly partitions are created
	// ahead; default DefaultPartitionCheck.
	PartitionCheck time.Duration
}

// Writer commits usage events in groups: see the package documentation for
// the durability contract. It is safe for concurrent use; Close stops it.
type Writer struct {
	cfg    Config
	ctx    context.Context // the writer's lifetime; cancelled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	pending  []*request
	pendingN int // events in pending
	closed   bool
	// lastArrival and avgGap (a moving average of the time between
	// arrivals) tell gather when arrivals pause.
	lastArrival time.Time
	avgGap      time.Duration
	wake        chan struct{} // the loop has work: pending became non-empty, reached MaxBatch, or closed

	loopDone     chan struct{}
	maintainDone chan struct{}

	partMu sync.Mutex
	parts  map[string]bool // partitions known to exist

	batches, committed atomic.Int64 // for Stats
}

type request struct {
	evs    []Event
	queued time.Time // monotonic, for MaxDelay
	done   chan error
}

// New creates the missing monthly partitions (this month and the next
// two) and starts a Writer. ctx bounds that start-up work; its values (not
// its cancellation) are kept for the writer's background work.
func New(ctx context.Context, cfg Config) (*Writer, error) {
	if cfg.Pool == nil {
		return nil, errors.New("events: Config.Pool is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*3600)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.PartitionCheck <= 0 {
		cfg.PartitionCheck = DefaultPartitionCheck
	}
	w := &Writer{cfg: cfg, wake: make(chan struct{}, 1), loopDone: make(chan struct{}), maintainDone: make(chan struct{}),
		parts: map[string]bool{}}
	if err := w.EnsurePartitions(ctx); err != nil {
		return nil, err
	}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.loop()
	go w.maintain()
	return w, nil
}

// Write stores evs and returns nil only once they are committed, together
// with their rollups. On error none of evs may be reported as done: the
// caller answers an error. (After a lost connection or ctx's end the
// transaction may still have committed: counts can be over, never under,
// what callers acknowledged.) Write validates every event first: an
// invalid one fails the call with a *fault.Error of kind Invalid and
// nothing is written. Events with a zero At get the writer's clock.
func (w *Writer) Write(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	now := w.cfg.Clock()
	r := &request{evs: make([]Event, len(evs)), done: make(chan error, 1)}
	copy(r.evs, evs)
	for i := range r.evs {
		e := &r.evs[i]
		if e.At.IsZero() {
			e.At = now
		}
		// The database keeps microseconds; rollups must bucket the same instant.
		e.At = e.At.Truncate(time.Microsecond)
		if err := e.check(now); err != nil {
			return err
		}
	}
	r.queued = time.Now()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.pending = append(w.pending, r)
	w.pendingN += len(r.evs)
	if gap := r.queued.Sub(w.lastArrival); gap > 0 {
		w.avgGap += (min(gap, w.cfg.MaxDelay) - w.avgGap) / 8
		w.lastArrival = r.queued
	}
	signal := len(w.pending) == 1 || (w.pendingN >= w.cfg.MaxBatch && w.pendingN-len(r.evs) < w.cfg.MaxBatch)
	w.mu.Unlock()
	if signal {
		w.signal()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("events: waiting for commit: %w", ctx.Err())
	}
}

// Close stops accepting events, waits until every accepted one is
// committed or failed, and stops the background work. When ctx ends first,
// the flush in progress is abandoned (its callers get an error) and Close
// returns ctx's error.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.signal()
	var err error
	select {
	case <-w.loopDone:
	case <-ctx.Done():
		err = ctx.Err()
	}
	w.cancel()
	<-w.loopDone
	<-w.maintainDone
	return err
}

// Stats counts what a Writer committed since it started.
type Stats struct {
	Batches int64 // transactions committed
	Events  int64 // events in them
}

// Stats reports the committed batches and events; their ratio is the
// group-commit factor the benchmarks report.
func (w *Writer) Stats() Stats {
	return Stats{Batches: w.batches.Load(), Events: w.committed.Load()}
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// loop is the single flusher: it takes what is pending (up to MaxBatch
// events, whole requests), commits it in one transaction, and answers
// every request of the batch.
func (w *Writer) loop() {
	defer close(w.loopDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	busy, failing := false, false
	var batch []*request
	for {
		w.mu.Lock()
		for len(w.pending) == 0 {
			if w.closed {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if busy && w.cfg.MaxDelay > 0 {
			w.gather(timer)
		}
		n, k := 0, 0
		for k < len(w.pending) && (k == 0 || n+len(w.pending[k].evs) <= w.cfg.MaxBatch) {
			n += len(w.pending[k].evs)
			k++
		}
		batch = append(batch[:0], w.pending[:k]...)
		rest := copy(w.pending, w.pending[k:])
		clear(w.pending[rest:])
		w.pending = w.pending[:rest]
		w.pendingN -= n
		w.mu.Unlock()

		err := w.commit(batch, n)
		if err == nil {
			w.batches.Add(1)
			w.committed.Add(int64(n))
		}
		busy = len(batch) > 1
		if err != nil && !failing {
			w.cfg.Log.Error("usage events not committed; writes fail until the database answers", "events", n, "err", err)
		} else if err == nil && failing {
			w.cfg.Log.Info("usage events are committed again")
		}
		failing = err != nil
		clear(batch)
	}
}

// gather lets the pending batch fill while events keep coming: it waits
// until MaxDelay after the oldest pending event, but stops as soon as
// arrivals pause for several average gaps between arrivals (callers that
// wait for their commit before writing again are then all in), when
// MaxBatch is reached, or on Close. Called and returning with w.mu held.
func (w *Writer) gather(timer *time.Timer) {
	// A token left by the arrivals during the last flush is stale: only
	// reaching MaxBatch or Close may cut the wait short.
	select {
	case <-w.wake:
	default:
	}
	deadline := w.pending[0].queued.Add(w.cfg.MaxDelay)
	for w.pendingN < w.cfg.MaxBatch && !w.closed {
		until := w.lastArrival.Add(min(max(pauseGaps*w.avgGap, minPause), w.cfg.MaxDelay))
		if deadline.Before(until) {
			until = deadline
		}
		wait := time.Until(until)
		if wait <= 0 {
			return
		}
		w.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-w.wake:
			timer.Stop()
		}
		w.mu.Lock()
	}
}

// commit writes batch and answers its requests. A batch refused for its
// data (an event the checks let through but the database refuses) is
// retried request by request, so one bad event fails only its own caller.
func (w *Writer) commit(batch []*request, n int) error {
	err := w.flush(batch, n)
	if err != nil && len(batch) > 1 && isDataError(err) {
		var last error
		for _, r := range batch {
			e := w.flush([]*request{r}, len(r.evs))
			r.done <- e
			if e != nil {
				last = e
			}
		}
		return last
	}
	for _, r := range batch {
		r.done <- err
	}
	return err
}

// maintain creates partitions ahead until the writer stops.
func (w *Writer) maintain() {
	defer close(w.maintainDone)
	t := time.NewTicker(w.cfg.PartitionCheck)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			if err := w.EnsurePartitions(w.ctx); err != nil && w.ctx.Err() == nil {
				w.cfg.Log.Error("usage event partitions not created ahead", "err", err)
			}
		}
	}
}
