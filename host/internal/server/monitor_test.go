package server_test

import (
	"testing"
)

// TestMonitor: 监控和熔断管理 — the endpoints this node served, by status
// class with latency, and health checks of the database, Redis and the
// plugins; sub-platform administrators lack the menu.
func TestMonitor(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{redis: true})
	admin := h.admin()
	for range 3 {
		h.must(admin, "GET", "/console/apps", nil)
	}
	if a := h.call(admin, "GET", "/console/apps/cc0000000000000000", nil); a.Status != 404 {
		t.Fatalf("unknown app: %d", a.Status)
	}
	var eps struct {
		Items []struct {
			Method, Route string
			Calls         uint64
			ByStatus      map[string]int64
			P99MS         float64 `json:"p99Ms"`
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/monitor/endpoints", nil).decode(t, &eps)
	found := map[string]bool{}
	for _, e := range eps.Items {
		switch e.Method + " " + e.Route {
		case "GET /console/apps":
			found["list"] = e.Calls >= 3 && e.ByStatus["2xx"] >= 3 && e.P99MS > 0
		case "GET /console/apps/:appId":
			found["one"] = e.ByStatus["4xx"] >= 1
		}
	}
	if !found["list"] || !found["one"] {
		t.Fatalf("endpoints: %+v", eps)
	}
	var health struct {
		Healthy bool
		Checks  []struct {
			Name    string
			Healthy bool
		}
	}
	h.must(admin, "GET", "/console/monitor/health", nil).decode(t, &health)
	names := map[string]bool{}
	for _, c := range health.Checks {
		names[c.Name] = c.Healthy
	}
	if !health.Healthy || !names["database"] || !names["redis"] {
		t.Fatalf("health: %+v", health)
	}
	_, sub := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	if a := h.call(sub, "GET", "/console/monitor/endpoints", nil); a.Status != 403 {
		t.Fatalf("a sub-platform administrator: %d", a.Status)
	}
}
