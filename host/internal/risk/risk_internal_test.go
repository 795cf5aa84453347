package risk

import (
	"context"
	"testing"
	"time"
)

// TestCIDR: an address is its own range, ranges are masked, and ranges
// wide enough to shut out a city by mistake are refused.
func TestCIDR(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.9": "203.0.113.9/32", "203.0.113.9/24": "203.0.113.0/24", "::ffff:198.51.100.1": "198.51.100.1/32",
		"2001:db8::1/48": "2001:db8::/48", "10.0.0.0/8": "10.0.0.0/8"} {
		if p, err := parseCIDR(in); err != nil || p.String() != want {
			t.Errorf("parseCIDR(%q) = %v, %v", in, p, err)
		}
	}
	for _, in := range []string{"0.0.0.0/0", "10.0.0.0/7", "::/0", "2001::/16", "x", "1.2.3.4/33", ""} {
		if p, err := parseCIDR(in); err == nil {
			t.Errorf("parseCIDR(%q) accepted as %v", in, p)
		}
	}
}

// TestSlidingWindow: the count over the last minute weighs the previous
// minute by how much of it the last sixty seconds still cover.
func TestSlidingWindow(t *testing.T) {
	w := &memoryWindows{n: map[string]int64{}}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for range 30 {
		w.add(ctx, []string{"ip:verify:x"}, t0.Add(50*time.Second))
	}
	// 15 s into the next minute: 45 of the previous 60 s still count.
	if n, _ := w.add(ctx, []string{"ip:verify:x", "user:verify:u"}, t0.Add(75*time.Second)); n[0] != 1+30*45.0/60 || n[1] != 1 {
		t.Fatalf("sliding counts %v", n)
	}
	if err := w.reset(ctx, "ip:verify:x", t0.Add(76*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.add(ctx, []string{"ip:verify:x"}, t0.Add(77*time.Second)); n[0] != 1 {
		t.Fatalf("after reset %v", n)
	}
	if k := keysOf(Event{Type: "verify", IP: "1.2.3.4", UserID: "u"}); k["ip_1m"] != "ip:verify:1.2.3.4" || k["user_1m"] != "user:verify:u" || k["org_1m"] != "" {
		t.Fatalf("keys %v", k)
	}
}
