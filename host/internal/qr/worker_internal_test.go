package qr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// TestPresumedDeadWorkerCannotOverwrite covers a worker that was only slow:
// its job was re-queued and claimed again, and when it comes back its
// progress, chunks and result are refused and cleaned up, while the new
// run completes.
func TestPresumedDeadWorkerCannotOverwrite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := policy.New(ctx, policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	j, err := NewJobs(Config{Pool: storetest.New(t), Authz: eng, Log: slog.New(slog.DiscardHandler), Renderer: &Renderer{},
		Clock: func() time.Time { return now }, StaleAfter: time.Minute, ProgressEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Item, 30)
	for i := range items {
		items[i] = Item{Name: fmt.Sprint(i), Content: fmt.Sprintf("https://c.example/c/%d", i)}
	}
	id, err := j.Submit(ctx, JobSpec{PlatformID: "P0001", CreatedBy: "admin", Kind: "object", Items: items})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := j.claim(ctx)
	if err != nil || slow == nil || slow.lease != 1 {
		t.Fatalf("first claim: %+v %v", slow, err)
	}
	if again, err := j.claim(ctx); again != nil || err != nil {
		t.Fatalf("a running job was claimed twice: %+v %v", again, err)
	}
	now = now.Add(2 * time.Minute)
	if err := j.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := j.claim(ctx)
	if err != nil || fresh == nil || fresh.lease != 2 {
		t.Fatalf("claim after re-queue: %+v %v", fresh, err)
	}
	if err := j.beat(ctx, slow, 5); !errors.Is(err, errLeaseLost) {
		t.Fatalf("progress of the old run: %v", err)
	}
	j.run(ctx, slow) // renders, then finds its lease gone
	var status string
	var lease, oldChunks int
	if err := j.cfg.Pool.QueryRow(ctx, `SELECT status, lease, (SELECT count(*) FROM qr_job_chunks WHERE job_id = $1 AND lease = 1)
		FROM qr_jobs WHERE id = $1`, id).Scan(&status, &lease, &oldChunks); err != nil {
		t.Fatal(err)
	}
	if status != StatusRunning || lease != 2 || oldChunks != 0 {
		t.Fatalf("after the old run: %s, lease %d, %d chunks of it", status, lease, oldChunks)
	}
	j.run(ctx, fresh)
	jb, err := j.Get(ctx, id)
	if err != nil || jb.Status != StatusDone || jb.lease != 2 || jb.Done != 30 {
		t.Fatalf("after the new run: %+v %v", jb, err)
	}
}
