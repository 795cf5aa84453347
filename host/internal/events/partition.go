package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/store"
)

// partitionLock is the advisory lock key serializing partition creation
// across nodes (CREATE TABLE IF NOT EXISTS alone can still collide).
const partitionLock = 7419055

// monthsAhead is how many months after the current one get their
// partition ahead of time. Write refuses events more than a day in the
// future, so an event never lands in the default partition for a month
// that is about to get its own (which would make creating it fail).
const monthsAhead = 2

// EnsurePartitions creates the monthly partitions of usage_events (UTC
// months) for the clock's month and the next two, when missing. New and a
// background ticker call it; it is safe on several nodes at once. Events
// of months without a partition (older ones, such as late scan uploads)
// land in the default partition.
func (w *Writer) EnsurePartitions(ctx context.Context) error {
	now := w.cfg.Clock().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var errs []error
	for i := range monthsAhead + 1 {
		if err := w.ensurePartition(ctx, first.AddDate(0, i, 0)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// partitionName is the name of the partition holding the UTC month of t.
func partitionName(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("usage_events_y%04dm%02d", t.Year(), int(t.Month()))
}

func (w *Writer) ensurePartition(ctx context.Context, from time.Time) error {
	name := partitionName(from)
	w.partMu.Lock()
	defer w.partMu.Unlock()
	if w.parts[name] {
		return nil
	}
	err := store.Tx(ctx, w.cfg.Pool, func(tx pgx.Tx) error {
		// Creating a partition briefly locks the parent against writers;
		// rather than queue them behind a long wait, give up and retry at
		// the next check.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF usage_events FOR VALUES FROM ('%s') TO ('%s')`,
			name, from.Format(time.RFC3339), from.AddDate(0, 1, 0).Format(time.RFC3339)))
		return err
	})
	if err != nil {
		return fmt.Errorf("events: create partition %s: %w", name, err)
	}
	w.parts[name] = true
	return nil
}
