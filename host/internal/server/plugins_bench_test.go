package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt/wasmrttest"
)

// BenchmarkLanding measures landing pages served three ways on one host:
// the host alone (the standard page), through a WASM plugin and through a
// native plugin, each a tiny page, so the ratios show what the plugin
// runtime costs. The caps sub-benchmarks make 20 capability calls per
// request; (caps − home) / 20 is the overhead of one capability call. The
// scenario sub-benchmarks are the smoke load of a real scenario in each
// runtime: the home pages of 康复辅具 (rehab, WASM) and 一码核查
// (wellcheck, native), as citizens scanning a sticker see them.
//
//	go test -run '^$' -bench Landing -benchtime 3000x ./host/internal/server/
func BenchmarkLanding(b *testing.B) {
	h := newHost(b, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 5)
	buildPlugins(h.t)
	for i, name := range h.installProbes(admin) {
		h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[i+1], "plugin": name})
	}
	for i, name := range h.installScenarios(admin, "rehab", "wellcheck") {
		h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[i+3], "plugin": name})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, c := range []struct{ name, path string }{
		{"host-only", "/c/" + codes[0]},
		{"wasm/home", "/c/" + codes[1]},
		{"native/home", "/c/" + codes[2]},
		{"wasm/caps20", "/c/" + codes[1] + "/caps?n=20"},
		{"native/caps20", "/c/" + codes[2] + "/caps?n=20"},
		{"wasm/scenario-rehab", "/c/" + codes[3]},
		{"native/scenario-wellcheck", "/c/" + codes[4]},
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

// installScenarios builds the named plugins of scenarios/ for their own
// runtimes, installs them through the console and enables them.
func (h *host) installScenarios(admin string, names ...string) []string {
	h.t.Helper()
	for _, name := range names {
		dir := filepath.Join("..", "..", "..", "scenarios", name)
		manifest := readFile(h.t, filepath.Join(dir, "plugin.json"))
		var m struct{ Runtime, Entry string }
		if err := json.Unmarshal(manifest, &m); err != nil {
			h.t.Fatal(err)
		}
		out := filepath.Join(h.t.TempDir(), m.Entry)
		args, env := []string{"build", "-trimpath", "-o", out}, append(os.Environ(), "CGO_ENABLED=0")
		if m.Runtime == "wasm" {
			args = append(args, "-buildmode=c-shared")
			env = append(env, "GOOS=wasip1", "GOARCH=wasm")
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir, cmd.Env = dir, env
		if b, err := cmd.CombinedOutput(); err != nil {
			h.t.Fatalf("go build %s: %v\n%s", name, err, b)
		}
		if m.Runtime == "wasm" {
			if err := wasmrttest.Warm(wasmCache, out); err != nil {
				h.t.Fatal(err)
			}
		}
		if a := h.install(admin, manifest, readFile(h.t, out), ""); a.Status != 200 {
			h.t.Fatalf("install %s: %d %s %s", name, a.Status, a.Code, a.Msg)
		}
		h.must(admin, "POST", "/console/plugins/"+name+"/enable", map[string]any{})
	}
	return names
}
