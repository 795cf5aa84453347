package risk

import (
	"context"
	"slices"
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

// TestSlidingWindow: the count over the last window weighs the previous
// window by how much of it the last window length still covers.
func TestSlidingWindow(t *testing.T) {
	w := &memoryWindows{n: map[string]int64{}}
	ctx := context.Background()
	ip := windowKey{"ip_1m:verify:x", time.Minute}
	user := windowKey{"user_1m:verify:u", time.Minute}
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for range 30 {
		w.add(ctx, []windowKey{ip}, t0.Add(50*time.Second))
	}
	// 15 s into the next minute: 45 of the previous 60 s still count.
	if n, _ := w.add(ctx, []windowKey{ip, user}, t0.Add(75*time.Second)); n[0] != 1+30*45.0/60 || n[1] != 1 {
		t.Fatalf("sliding counts %v", n)
	}
	if n, _ := w.peek(ctx, ip, t0.Add(75*time.Second)); n != 1+30*45.0/60 {
		t.Fatalf("peek %v", n)
	}
	if err := w.reset(ctx, ip, t0.Add(76*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.add(ctx, []windowKey{ip}, t0.Add(77*time.Second)); n[0] != 1 {
		t.Fatalf("after reset %v", n)
	}
	// An hour's window: 30 minutes into the next hour, half the previous
	// hour's count still counts.
	hour := windowKey{"ip_1h:verify:x", time.Hour}
	for range 10 {
		w.add(ctx, []windowKey{hour}, t0.Add(10*time.Minute))
	}
	if n, _ := w.add(ctx, []windowKey{hour}, t0.Add(90*time.Minute)); n[0] != 1+10*0.5 {
		t.Fatalf("hour window %v", n)
	}
}

// TestKeysOf: an event counts in the indicators of its type that have a
// value for their dimension, each per event type.
func TestKeysOf(t *testing.T) {
	inds := append(builtinIndicators(), Indicator{Code: "app_gen_1h", Dimension: "app", WindowSeconds: 3600, EventTypes: []string{"generate"}})
	k := keysOf(inds, Event{Type: "verify", IP: "1.2.3.4", UserID: "u", AppID: "a1"})
	got := map[string]windowKey{}
	for _, c := range k {
		got[c.name] = c.key
	}
	if len(got) != 2 || got["ip_1m"] != (windowKey{"ip_1m:verify:1.2.3.4", time.Minute}) || got["user_1m"].key != "user_1m:verify:u" {
		t.Fatalf("verify keys %v", got)
	}
	k = keysOf(inds, Event{Type: "generate", AppID: "a1"})
	if len(k) != 1 || k[0].key != (windowKey{"app_gen_1h:generate:a1", time.Hour}) {
		t.Fatalf("generate keys %v", k)
	}
}

// TestApplicable: per indicator, the app's own rules win over its
// platform's, which win over the city's; other models, apps and platforms
// do not apply.
func TestApplicable(t *testing.T) {
	s := &setup{rules: []Rule{
		{ID: 1, PlatformID: "main", Model: "verify", Indicator: "ip_1m", Threshold: 100, Action: "intercept"},
		{ID: 2, PlatformID: "p1", Model: "verify", Indicator: "ip_1m", Threshold: 50, Action: "intercept"},
		{ID: 3, PlatformID: "p1", AppID: "a1", Model: "verify", Indicator: "ip_1m", Threshold: 500, Action: "intercept"},
		{ID: 4, PlatformID: "p1", AppID: "a1", Model: "verify", Indicator: "ip_1m", Threshold: 300, Action: "flag"},
		{ID: 5, PlatformID: "main", Model: "verify", Indicator: "user_1m", Threshold: 5, Action: "flag"},
		{ID: 6, PlatformID: "p1", AppID: "a1", Model: "show", Indicator: "user_1m", Threshold: 1, Action: "intercept"},
		{ID: 7, PlatformID: "p2", Model: "verify", Indicator: "user_1m", Threshold: 1, Action: "intercept"},
	}}
	ids := func(rs []ruleInput) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		ev   Event
		want []int64
	}{
		{Event{Type: "verify", AppID: "a1", PlatformID: "p1"}, []int64{3, 4, 5}},
		{Event{Type: "verify", AppID: "a2", PlatformID: "p1"}, []int64{2, 5}},
		{Event{Type: "verify", AppID: "a9", PlatformID: "p9"}, []int64{1, 5}},
		{Event{Type: "show", AppID: "a1", PlatformID: "p1"}, []int64{6}},
		{Event{Type: "generate", AppID: "a1", PlatformID: "p1"}, nil},
	} {
		if got := ids(s.applicable(c.ev, "main")); !slices.Equal(got, c.want) {
			t.Errorf("%+v: rules %v, want %v", c.ev, got, c.want)
		}
	}
}
