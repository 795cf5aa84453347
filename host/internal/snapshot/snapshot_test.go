package snapshot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestSnapshot: a value is read once per period, again after Invalidate;
// a failed read keeps the last value and is not retried before the
// period ends; with no value ever read, Get answers the error.
func TestSnapshot(t *testing.T) {
	c := &clock{now: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	var reads atomic.Int64
	var fail atomic.Bool
	s := New(Config{Every: 2 * time.Second, Clock: c.Now}, func(context.Context) (int64, error) {
		n := reads.Add(1)
		if fail.Load() {
			return 0, errors.New("database down")
		}
		return n, nil
	})
	ctx := context.Background()
	fail.Store(true)
	if _, err := s.Get(ctx); err == nil {
		t.Fatal("no value and a failed read: no error")
	}
	if _, err := s.Get(ctx); err == nil || reads.Load() != 1 {
		t.Fatalf("retried within the period: %d reads, %v", reads.Load(), err)
	}
	fail.Store(false)
	c.Add(2 * time.Second)
	if v, err := s.Get(ctx); err != nil || v != 2 {
		t.Fatalf("after the period: %d %v", v, err)
	}
	if v, _ := s.Get(ctx); v != 2 || reads.Load() != 2 {
		t.Fatalf("within the period: %d after %d reads", v, reads.Load())
	}
	s.Invalidate()
	if v, _ := s.Get(ctx); v != 3 {
		t.Fatalf("after Invalidate: %d", v)
	}
	fail.Store(true)
	c.Add(3 * time.Second)
	if v, err := s.Get(ctx); err != nil || v != 3 {
		t.Fatalf("a failed read must keep the last value: %d %v", v, err)
	}
	if v, _ := s.Get(ctx); v != 3 || reads.Load() != 4 {
		t.Fatalf("a failed read retried at once: %d reads", reads.Load())
	}
	// A clock that went back is not "fresh".
	fail.Store(false)
	c.Add(-time.Hour)
	if v, _ := s.Get(ctx); v != 5 {
		t.Fatalf("clock went back: %d", v)
	}
}

// TestOneReaderAtATime: callers arriving together share one read.
func TestOneReaderAtATime(t *testing.T) {
	var reads atomic.Int64
	release := make(chan struct{})
	s := New(Config{Every: time.Hour}, func(context.Context) (int, error) {
		reads.Add(1)
		<-release
		return 7, nil
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, _ := s.Get(context.Background()); v != 7 {
				t.Errorf("got %d", v)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if reads.Load() != 1 {
		t.Fatalf("%d reads for 20 callers", reads.Load())
	}
}

// TestInvalidateWhileReading: a change invalidated while a read is under
// way may be missing from what it read, so the next Get reads again.
func TestInvalidateWhileReading(t *testing.T) {
	var reads atomic.Int64
	var s *Value[int64]
	s = New(Config{Every: time.Hour}, func(context.Context) (int64, error) {
		n := reads.Add(1)
		if n == 1 {
			s.Invalidate() // a change committed on this node meanwhile
		}
		return n, nil
	})
	ctx := context.Background()
	if v, _ := s.Get(ctx); v != 1 {
		t.Fatalf("first: %d", v)
	}
	if v, _ := s.Get(ctx); v != 2 {
		t.Fatalf("after an Invalidate during the read: %d, want a new read", v)
	}
	if v, _ := s.Get(ctx); v != 2 {
		t.Fatalf("then fresh: %d", v)
	}
}
