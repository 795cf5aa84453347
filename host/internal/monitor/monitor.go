// Package monitor is the console's view of this node's health (监控和熔断管理):
// every endpoint's calls by status class and latency, read from the HTTP
// layer's Prometheus histogram, and health checks of the database, Redis
// and the plugins.
//
// Figures are this node's since it started; a cluster's are scraped from
// every node's /metrics.
package monitor

import (
	"context"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Check is one dependency's health check.
type Check func(ctx context.Context) error

// Config wires the monitor.
type Config struct {
	Gatherer prometheus.Gatherer
	// Checks are the dependencies' health checks, by name (database,
	// redis); nil ones are skipped.
	Checks map[string]Check
	// Plugins answers each plugin's health on this node (name → error,
	// nil when healthy).
	Plugins func(ctx context.Context) (map[string]error, error)
}

// Monitor serves the view.
type Monitor struct{ cfg Config }

// New makes the monitor.
func New(cfg Config) *Monitor { return &Monitor{cfg: cfg} }

// Routes declares the console's routes.
func (m *Monitor) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/monitor/endpoints", m.endpointsRoute).
			Doc("接口监控", "Every endpoint this node served since it started: calls by status class (2xx, 4xx, 5xx), error rate and latency (mean, p50, p99 estimated from the histogram), worst first.").
			Tag("monitor").Console("monitor.read"),
		httpapi.Handle(http.MethodGet, "/console/monitor/health", m.healthRoute).
			Doc("健康检查", "Pings the database and Redis and asks every plugin for its health on this node, with each check's latency.").
			Tag("monitor").Console("monitor.read"),
	}
}

// Endpoint is one route's figures.
type Endpoint struct {
	Method    string           `json:"method"`
	Route     string           `json:"route"`
	Calls     uint64           `json:"calls"`
	ByStatus  map[string]int64 `json:"byStatus" doc:"2xx, 3xx, 4xx, 5xx"`
	ErrorRate float64          `json:"errorRate" doc:"5xx / calls"`
	MeanMS    float64          `json:"meanMs"`
	P50MS     float64          `json:"p50Ms"`
	P99MS     float64          `json:"p99Ms"`
}

// EndpointList is every endpoint.
type EndpointList struct {
	Items []Endpoint `json:"items"`
}

// mainOnly keeps the node's figures to the main platform's
// administrators: they span every platform.
func mainOnly(ctx context.Context) error {
	if !actor.OnMainPlatform(ctx) {
		return fault.Deniedf("monitoring is for the main platform's administrators")
	}
	return nil
}

func (m *Monitor) endpointsRoute(ctx context.Context, _ *httpapi.Empty) (*EndpointList, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	mfs, err := m.cfg.Gatherer.Gather()
	if err != nil {
		return nil, err
	}
	type acc struct {
		e       *Endpoint
		sum     float64
		buckets map[float64]uint64
	}
	by := map[string]*acc{}
	for _, mf := range mfs {
		if mf.GetName() != "citycode_http_request_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			key := labels["method"] + " " + labels["route"]
			a := by[key]
			if a == nil {
				a = &acc{e: &Endpoint{Method: labels["method"], Route: labels["route"], ByStatus: map[string]int64{}}, buckets: map[float64]uint64{}}
				by[key] = a
			}
			h := mt.GetHistogram()
			n := h.GetSampleCount()
			a.e.Calls += n
			a.sum += h.GetSampleSum()
			if s := labels["status"]; len(s) == 3 {
				a.e.ByStatus[s[:1]+"xx"] += int64(n)
			}
			for _, b := range h.GetBucket() {
				a.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
			}
		}
	}
	out := &EndpointList{Items: []Endpoint{}}
	for _, a := range by {
		e := a.e
		if e.Calls > 0 {
			e.ErrorRate = float64(e.ByStatus["5xx"]) / float64(e.Calls)
			e.MeanMS = a.sum / float64(e.Calls) * 1000
			e.P50MS = quantile(a.buckets, e.Calls, 0.5) * 1000
			e.P99MS = quantile(a.buckets, e.Calls, 0.99) * 1000
		}
		out.Items = append(out.Items, *e)
	}
	sort.Slice(out.Items, func(i, j int) bool {
		a, b := out.Items[i], out.Items[j]
		if a.ErrorRate != b.ErrorRate {
			return a.ErrorRate > b.ErrorRate
		}
		if a.P99MS != b.P99MS {
			return a.P99MS > b.P99MS
		}
		return a.Method+a.Route < b.Method+b.Route
	})
	return out, nil
}

// quantile estimates a quantile from cumulative buckets by linear
// interpolation within the bucket that holds it, as Prometheus's
// histogram_quantile does.
func quantile(buckets map[float64]uint64, total uint64, q float64) float64 {
	bounds := make([]float64, 0, len(buckets))
	for b := range buckets {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, ub := range bounds {
		c := buckets[ub]
		if float64(c) >= rank {
			if math.IsInf(ub, 1) {
				return lower
			}
			if c == below {
				return ub
			}
			return lower + (ub-lower)*(rank-float64(below))/float64(c-below)
		}
		lower, below = ub, c
	}
	return lower
}

// Health is the result of the checks.
type Health struct {
	Healthy bool          `json:"healthy"`
	Checks  []CheckResult `json:"checks"`
}

// CheckResult is one check.
type CheckResult struct {
	Name      string  `json:"name"`
	Healthy   bool    `json:"healthy"`
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latencyMs"`
}

func (m *Monitor) healthRoute(ctx context.Context, _ *httpapi.Empty) (*Health, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	h := &Health{Healthy: true, Checks: []CheckResult{}}
	add := func(name string, start time.Time, err error) {
		r := CheckResult{Name: name, Healthy: err == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			r.Error = err.Error()
			h.Healthy = false
		}
		h.Checks = append(h.Checks, r)
	}
	names := make([]string, 0, len(m.cfg.Checks))
	for n := range m.cfg.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c := m.cfg.Checks[n]; c != nil {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			start := time.Now()
			err := c(cctx)
			cancel()
			add(n, start, err)
		}
	}
	if m.cfg.Plugins != nil {
		start := time.Now()
		ps, err := m.cfg.Plugins(ctx)
		if err != nil {
			add("plugins", start, err)
		}
		pnames := make([]string, 0, len(ps))
		for n := range ps {
			pnames = append(pnames, n)
		}
		sort.Strings(pnames)
		for _, n := range pnames {
			add("plugin:"+n, start, ps[n])
		}
	}
	return h, nil
}
