package qr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// errLeaseLost means the job was taken from this worker (presumed dead and
// re-queued, or expired): its work is discarded.
var errLeaseLost = errors.New("qr: job lease lost")

// maxRecoveries is how often a job is re-queued after its worker died
// before it is failed: a job that kills its workers must not kill them all.
const maxRecoveries = 3

// chunkSize is the size of the zip's pieces in the database.
const chunkSize = 1 << 20

// Start runs Workers job workers and the sweeper (re-queuing orphaned
// jobs, expiring old ones) until Close. Call it once.
func (j *Jobs) Start(ctx context.Context) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ctx, j.cancel = context.WithCancel(ctx)
	for range j.cfg.Workers {
		j.wg.Go(func() { j.work(ctx) })
	}
	j.wg.Go(func() { j.sweepLoop(ctx) })
}

// Close stops the workers. A job being rendered is put back in the queue
// (another node or the next start renders it); Close waits for that until
// ctx ends.
func (j *Jobs) Close(ctx context.Context) error {
	j.mu.Lock()
	cancel := j.cancel
	j.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("qr: close: %w", ctx.Err())
	}
}

func (j *Jobs) work(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-j.wake:
		}
		for ctx.Err() == nil {
			jb, err := j.claim(ctx)
			if err != nil {
				if ctx.Err() == nil {
					j.cfg.Log.ErrorContext(ctx, "qr: claiming a job failed", "err", err)
				}
				break
			}
			if jb == nil {
				break
			}
			j.run(ctx, jb)
		}
		t.Reset(j.cfg.Poll)
	}
}

// claimed is a job this worker holds.
type claimed struct {
	id, kind string
	lease    int
	total    int
	style    Style
}

// claim takes the oldest queued job, skipping those other workers are
// claiming at the same moment.
func (j *Jobs) claim(ctx context.Context) (*claimed, error) {
	var c claimed
	var style []byte
	err := j.cfg.Pool.QueryRow(ctx, `UPDATE qr_jobs SET status = 'running', lease = lease + 1, done = 0,
			heartbeat_at = $1, started_at = coalesce(started_at, $1)
		WHERE id = (SELECT id FROM qr_jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, lease, total, style`, j.now()).Scan(&c.id, &c.kind, &c.lease, &c.total, &style)
	if store.NoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(style, &c.style); err != nil {
		return &c, fmt.Errorf("qr: job %s style: %w", c.id, err)
	}
	return &c, nil
}

// run renders a claimed job into chunks and marks it done, or failed, or —
// when this node is shutting down — queued again.
func (j *Jobs) run(ctx context.Context, c *claimed) {
	start := time.Now()
	err := j.render(ctx, c)
	if err == nil {
		j.cfg.Log.InfoContext(ctx, "qr: job done", "job", c.id, "images", c.total, "took", time.Since(start))
		return
	}
	stopping := ctx.Err() != nil
	// The run's context may be over; settle the job anyway.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var settle error
	switch {
	case errors.Is(err, errLeaseLost):
		j.cfg.Log.WarnContext(ctx, "qr: job taken over or expired while rendering", "job", c.id)
		_, settle = j.cfg.Pool.Exec(ctx, `DELETE FROM qr_job_chunks WHERE job_id = $1 AND lease = $2`, c.id, c.lease)
	case stopping:
		settle = j.settle(ctx, c, `status = 'queued', heartbeat_at = NULL`)
	default:
		msg := "internal error"
		if fe, ok := fault.As(err); ok {
			msg = fe.Message
			if ie := (*itemError)(nil); errors.As(err, &ie) {
				msg = fmt.Sprintf("item %d (%s): %s", ie.index+1, ie.name, fe.Message)
			}
		} else {
			j.cfg.Log.ErrorContext(ctx, "qr: job failed", "job", c.id, "err", err)
		}
		settle = j.settle(ctx, c, `status = 'failed', heartbeat_at = NULL, finished_at = $3, error = $4`, j.now(), msg)
		if settle == nil {
			_, settle = j.cfg.Pool.Exec(ctx, `DELETE FROM qr_job_items WHERE job_id = $1`, c.id)
		}
	}
	if settle != nil {
		j.cfg.Log.ErrorContext(ctx, "qr: settling a job failed", "job", c.id, "err", settle)
	}
}

// settle applies set to the job if this worker still holds it and drops
// the chunks it wrote.
func (j *Jobs) settle(ctx context.Context, c *claimed, set string, args ...any) error {
	return store.Tx(ctx, j.cfg.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE qr_jobs SET `+set+` WHERE id = $1 AND lease = $2 AND status = 'running'`,
			append([]any{c.id, c.lease}, args...)...)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM qr_job_chunks WHERE job_id = $1 AND lease = $2`, c.id, c.lease)
		return err
	})
}

func (j *Jobs) render(ctx context.Context, c *claimed) error {
	p, err := prepare(c.style)
	if err != nil {
		return err
	}
	items, err := j.items(ctx, c.id)
	if err != nil {
		return err
	}
	if len(items) != c.total {
		return fmt.Errorf("qr: job %s has %d of its %d items", c.id, len(items), c.total)
	}
	// Checked again here: this node may lack the font of the one that
	// accepted the job.
	if err := j.r.checkItems(p, items); err != nil {
		return err
	}
	cw := &chunkWriter{ctx: ctx, j: j, c: c, buf: make([]byte, 0, chunkSize)}
	last := 0
	progress := func(done int) error {
		if done-last < j.cfg.ProgressEvery {
			return nil
		}
		last = done
		return j.beat(ctx, c, done)
	}
	if err := j.r.writeZip(ctx, cw, items, p, progress); err != nil {
		return err
	}
	if err := cw.flush(); err != nil {
		return err
	}
	return store.Tx(ctx, j.cfg.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE qr_jobs SET status = 'done', done = total, heartbeat_at = NULL, finished_at = $3,
				zip_bytes = $4, zip_chunks = $5
			WHERE id = $1 AND lease = $2 AND status = 'running'`, c.id, c.lease, j.now(), cw.size, cw.seq)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errLeaseLost
		}
		if _, err := tx.Exec(ctx, `DELETE FROM qr_job_chunks WHERE job_id = $1 AND lease <> $2`, c.id, c.lease); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM qr_job_items WHERE job_id = $1`, c.id)
		return err
	})
}

func (j *Jobs) items(ctx context.Context, id string) ([]Item, error) {
	rows, err := j.cfg.Pool.Query(ctx, `SELECT name, content, caption FROM qr_job_items WHERE job_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("qr: job %s items: %w", id, err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Item, error) {
		var it Item
		err := row.Scan(&it.Name, &it.Content, &it.Caption)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("qr: job %s items: %w", id, err)
	}
	return items, nil
}

// beat records progress and proves this worker alive.
func (j *Jobs) beat(ctx context.Context, c *claimed, done int) error {
	tag, err := j.cfg.Pool.Exec(ctx, `UPDATE qr_jobs SET done = $3, heartbeat_at = $4 WHERE id = $1 AND lease = $2 AND status = 'running'`,
		c.id, c.lease, done, j.now())
	if err != nil {
		return fmt.Errorf("qr: job %s progress: %w", c.id, err)
	}
	if tag.RowsAffected() == 0 {
		return errLeaseLost
	}
	return nil
}

// chunkWriter stores the zip as it is written, chunkSize bytes a row.
type chunkWriter struct {
	ctx  context.Context
	j    *Jobs
	c    *claimed
	buf  []byte
	seq  int
	size int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.j.cfg.Pool.Exec(w.ctx, `INSERT INTO qr_job_chunks (job_id, lease, seq, data) VALUES ($1, $2, $3, $4)`,
		w.c.id, w.c.lease, w.seq, w.buf)
	if err != nil {
		return fmt.Errorf("qr: job %s chunk %d: %w", w.c.id, w.seq, err)
	}
	w.seq++
	w.size += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

func (j *Jobs) sweepLoop(ctx context.Context) {
	t := time.NewTicker(j.cfg.SweepEvery)
	defer t.Stop()
	for {
		if err := j.Sweep(ctx); err != nil && ctx.Err() == nil {
			j.cfg.Log.ErrorContext(ctx, "qr: sweeping jobs failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep re-queues running jobs whose worker stopped heart-beating (failing
// them after maxRecoveries), expires jobs past their retention with their
// zips and items, and deletes chunks no run will use. Any node may sweep at
// any time; Start does it every SweepEvery.
func (j *Jobs) Sweep(ctx context.Context) error {
	now := j.now()
	tag, err := j.cfg.Pool.Exec(ctx, `UPDATE qr_jobs SET recoveries = recoveries + 1, heartbeat_at = NULL,
			status = CASE WHEN recoveries + 1 >= $3 THEN 'failed' ELSE 'queued' END,
			finished_at = CASE WHEN recoveries + 1 >= $3 THEN $1::timestamptz END,
			error = CASE WHEN recoveries + 1 >= $3 THEN $4::text ELSE error END
		WHERE status = 'running' AND heartbeat_at < $2`, now, now.Add(-j.cfg.StaleAfter), maxRecoveries,
		fmt.Sprintf("rendering was interrupted %d times", maxRecoveries))
	if err != nil {
		return fmt.Errorf("qr: re-queue orphaned jobs: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		j.cfg.Log.WarnContext(ctx, "qr: re-queued jobs whose worker stopped", "jobs", n)
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
	return store.Tx(ctx, j.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE qr_jobs SET status = 'expired', heartbeat_at = NULL WHERE status <> 'expired' AND expires_at <= $1`, now); err != nil {
			return fmt.Errorf("qr: expire jobs: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM qr_job_items i USING qr_jobs j WHERE i.job_id = j.id AND j.status IN ('done', 'failed', 'expired')`); err != nil {
			return fmt.Errorf("qr: delete items: %w", err)
		}
		// A chunk belongs to the job's current run while it runs or is done;
		// any other is left by a dead or superseded run.
		if _, err := tx.Exec(ctx, `DELETE FROM qr_job_chunks c USING qr_jobs j
			WHERE c.job_id = j.id AND (j.status NOT IN ('running', 'done') OR c.lease <> j.lease)`); err != nil {
			return fmt.Errorf("qr: delete stale chunks: %w", err)
		}
		return nil
	})
}
