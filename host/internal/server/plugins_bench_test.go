package server_test

import (
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLanding measures landing pages served three ways on one host:
// the host alone (the standard page), through a WASM plugin and through a
// native plugin, each a tiny page, so the ratios show what the plugin
// runtime costs. The caps sub-benchmarks make 20 capability calls per
// request; (caps − home) / 20 is the overhead of one capability call.
//
//	go test -run '^$' -bench Landing -benchtime 3000x ./host/internal/server/
func BenchmarkLanding(b *testing.B) {
	h := newHost(b, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 3)
	buildPlugins(h.t)
	for i, name := range h.installProbes(admin) {
		h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[i+1], "plugin": name})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, c := range []struct{ name, path string }{
		{"host-only", "/c/" + codes[0]},
		{"wasm/home", "/c/" + codes[1]},
		{"native/home", "/c/" + codes[2]},
		{"wasm/caps20", "/c/" + codes[1] + "/caps?n=20"},
		{"native/caps20", "/c/" + codes[2] + "/caps?n=20"},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			var next, failed atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					t0 := time.Now()
					resp, err := client.Get(h.URL + c.path)
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed.Add(1)
					}
					lat[i] = time.Since(t0)
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d requests failed", failed.Load())
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
