package nonce_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/nonce"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestMemoryUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := nonce.NewMemory(newFakeClock().Now)
	steps := []struct {
		app, nonce string
		want       bool
	}{
		{"app1", "nonce-0000000000000001", true},
		{"app1", "nonce-0000000000000001", false}, // replay
		{"app1", "nonce-0000000000000002", true},  // another nonce
		{"app2", "nonce-0000000000000001", true},  // same nonce, another app
		{"app2", "nonce-0000000000000001", false},
		{"app1\x00x", "y", true}, // odd ids do not alias each other
		{"app1", "\x00xy", true},
	}
	for i, s := range steps {
		fresh, err := m.Use(ctx, s.app, s.nonce, time.Minute)
		if err != nil || fresh != s.want {
			t.Fatalf("step %d Use(%q, %q) = %v, %v; want %v", i, s.app, s.nonce, fresh, err, s.want)
		}
	}
}

func TestMemoryExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := nonce.NewMemory(clock.Now)
	use := func() bool {
		t.Helper()
		fresh, err := m.Use(ctx, "app", "nonce-expiry-000001", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !use() {
		t.Fatal("first use not fresh")
	}
	clock.Advance(10*time.Second - time.Nanosecond)
	if use() {
		t.Fatal("fresh again 1 ns before the ttl passed")
	}
	clock.Advance(time.Nanosecond)
	if !use() {
		t.Fatal("not fresh once the ttl passed")
	}
	if use() {
		t.Fatal("reuse after expiry is not recorded")
	}
	// A different ttl per call is honoured: a long ttl outlives short ones.
	if fresh, _ := m.Use(ctx, "app", "nonce-long-ttl-0001", time.Hour); !fresh {
		t.Fatal("long-ttl nonce not fresh")
	}
	clock.Advance(30 * time.Minute)
	if fresh, _ := m.Use(ctx, "app", "nonce-long-ttl-0001", time.Second); fresh {
		t.Fatal("long-ttl nonce forgotten early")
	}
}

func TestMemorySweepsExpired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := nonce.NewMemory(clock.Now)
	const n = 20000
	for round := range 5 {
		for i := range n {
			if fresh, err := m.Use(ctx, "app", fmt.Sprintf("r%d-nonce-%012d", round, i), time.Minute); !fresh || err != nil {
				t.Fatalf("round %d nonce %d: %v, %v", round, i, fresh, err)
			}
		}
		// Each round's uses sweep the previous round, all expired by now.
		if got := m.Len(); got != n {
			t.Fatalf("round %d: %d entries held, want %d (expired ones not swept)", round, got, n)
		}
		clock.Advance(time.Minute)
	}
}

func TestMemoryConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := nonce.NewMemory(nil)
	const goroutines, nonces = 32, 200
	var fresh [nonces]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			for i := range nonces {
				ok, err := m.Use(ctx, "app", fmt.Sprintf("same-nonce-%06d", i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					fresh[i].Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range fresh {
		if got := fresh[i].Load(); got != 1 {
			t.Fatalf("nonce %d was fresh for %d of %d goroutines, want exactly 1", i, got, goroutines)
		}
	}
}

func TestMemoryBadTTL(t *testing.T) {
	t.Parallel()
	m := nonce.NewMemory(nil)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if fresh, err := m.Use(t.Context(), "app", "nonce-bad-ttl-00001", ttl); fresh || !errors.Is(err, nonce.ErrTTL) {
			t.Errorf("ttl %v: %v, %v; want ErrTTL", ttl, fresh, err)
		}
	}
}
