package nonce

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestMemoryFull(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Unix(1700000000, 0)
	m := NewMemory(func() time.Time { return now })
	m.shardLimit = 2
	full, stored := 0, ""
	for i := range 1000 {
		n := fmt.Sprintf("nonce-%012d", i)
		fresh, err := m.Use(ctx, "app", n, time.Minute)
		switch {
		case errors.Is(err, ErrFull):
			full++
		case err != nil || !fresh:
			t.Fatalf("Use(%s) = %v, %v", n, fresh, err)
		default:
			stored = n
		}
	}
	if got := m.Len(); got != 2*memoryShards {
		t.Fatalf("holds %d entries, want the limit %d", got, 2*memoryShards)
	}
	if full != 1000-2*memoryShards {
		t.Fatalf("%d uses refused as full, want %d", full, 1000-2*memoryShards)
	}
	// A full store still answers a replay as a replay.
	if fresh, err := m.Use(ctx, "app", stored, time.Minute); fresh || err != nil {
		t.Fatalf("replay on a full store: %v, %v; want not fresh, no error", fresh, err)
	}
	now = now.Add(time.Minute)
	if fresh, err := m.Use(ctx, "app", "nonce-after-expiry", time.Minute); !fresh || err != nil {
		t.Fatalf("after expiry the store is not usable again: %v, %v", fresh, err)
	}
}

// TestMemoryEntryCost checks the per-entry figure MemoryLimit's comment
// gives.
func TestMemoryEntryCost(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a large store")
	}
	const n = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemory(nil)
	for i := range n {
		if _, err := m.Use(t.Context(), "app", fmt.Sprintf("nonce-%012d", i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per entry", perEntry)
	if perEntry > 100 {
		t.Fatalf("%.0f bytes per entry; MemoryLimit's documented bound assumes at most 100", perEntry)
	}
	runtime.KeepAlive(m)
}
