package server_test

import (
	"strings"
	"testing"
	"time"
)

// TestPluginBreaker: a plugin that fails five times in a row on a node
// rests thirty seconds there — its landing page falls back to the
// standard page and its actions answer 503 at once, and the health check
// says so — then one call goes through, and success closes the breaker.
func TestPluginBreaker(t *testing.T) {
	t.Parallel()
	buildPlugins(t)
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	h := newHost(t, hostOpts{clock: clock.Now})
	admin := h.admin()
	codes := h.objectCodes(admin, 1)
	h.installProbes(admin)
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[0], "plugin": "probe-wasm"})
	home := func() (int, string, string) {
		status, page, hdr := h.scan("GET", "/c/"+codes[0], nil, "")
		return status, page, hdr.Get("X-CityCode-Plugin")
	}
	if status, page, _ := home(); status != 200 || !strings.Contains(page, "probe ok") {
		t.Fatalf("the plugin's page: %d %.100s", status, page)
	}
	// Four crashes, then a success: the count starts again.
	for range 4 {
		if status, _, _ := h.scan("GET", "/c/"+codes[0]+"/panic", nil, ""); status != 502 {
			t.Fatalf("a crash: %d", status)
		}
	}
	if status, page, _ := home(); status != 200 || !strings.Contains(page, "probe ok") {
		t.Fatalf("after four crashes: %d %.100s", status, page)
	}
	// Five in a row open it.
	for range 5 {
		h.scan("GET", "/c/"+codes[0]+"/panic", nil, "")
	}
	status, page, plugin := home()
	if status != 200 || strings.Contains(page, "probe ok") || plugin != "" {
		t.Fatalf("resting: the standard page expected, got %d %q %.100s", status, plugin, page)
	}
	if status, _, _ := h.scan("GET", "/c/"+codes[0]+"/write?text=x", nil, ""); status != 503 {
		t.Fatalf("an action while resting: %d", status)
	}
	var health struct {
		Checks []struct {
			Name    string
			Healthy bool
			Error   string
		}
	}
	h.must(admin, "GET", "/console/monitor/health", nil).decode(t, &health)
	open := false
	for _, c := range health.Checks {
		open = open || (c.Name == "plugin:probe-wasm" && !c.Healthy && strings.Contains(c.Error, "breaker open"))
	}
	if !open {
		t.Fatalf("health: %+v", health)
	}
	// After the rest, a success closes it.
	clock.Add(31 * time.Second)
	if status, page, _ := home(); status != 200 || !strings.Contains(page, "probe ok") {
		t.Fatalf("after the rest: %d %.100s", status, page)
	}
	if status, page, _ := home(); status != 200 || !strings.Contains(page, "probe ok") {
		t.Fatalf("closed again: %d %.100s", status, page)
	}
}
