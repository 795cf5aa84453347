package traffic

import (
	"context"
	"testing"
	"time"
)

// TestMemoryCounter: on one node without Redis, the windows and the cap
// hold as they do in Redis, and a refused call counts nowhere.
func TestMemoryCounter(t *testing.T) {
	c := newMemoryCounter()
	ctx := context.Background()
	l := Limit{ID: 1, PerSecond: 3, PerMinute: 5, TotalCap: 7, State: "active", counterKey: "k"}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	count := func(n int, at time.Time) (got map[verdict]int) {
		got = map[verdict]int{}
		for range n {
			v, _, err := c.admit(ctx, l, at)
			if err != nil {
				t.Fatal(err)
			}
			got[v]++
		}
		return got
	}
	if g := count(5, now); g[admitted] != 3 || g[perSecond] != 2 {
		t.Fatalf("first second: %v", g)
	}
	if v, wait, _ := c.admit(ctx, l, now.Add(400*time.Millisecond)); v != perSecond || wait != 600*time.Millisecond {
		t.Fatalf("wait for the next second: %v %v", v, wait)
	}
	if g := count(3, now.Add(time.Second)); g[admitted] != 2 || g[perMinute] != 1 {
		t.Fatalf("the minute's five: %v", g)
	}
	if g := count(3, now.Add(time.Minute)); g[admitted] != 2 || g[tripped] != 1 {
		t.Fatalf("the cap of seven: %v", g)
	}
	if g := count(2, now.Add(2*time.Minute)); g[tripped] != 2 {
		t.Fatalf("tripped stays: %v", g)
	}
	if n, _ := c.used(ctx, l); n != 7 {
		t.Fatalf("used: %d", n)
	}
	if err := c.restore(ctx, l); err != nil {
		t.Fatal(err)
	}
	if g := count(1, now.Add(3*time.Minute)); g[admitted] != 1 {
		t.Fatalf("restored: %v", g)
	}
}
