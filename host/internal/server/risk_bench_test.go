package server_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/client"
)

// BenchmarkDecodeRisk measures identity decodes with risk control off and
// on (the shipped rules, their thresholds raised so that the load itself
// is never intercepted: every decode pays the windows in Redis and the
// policy decision, none is refused). Read the ratio of the two req/s.
//
//	go test -run '^$' -bench DecodeRisk -benchtime 3000x ./host/internal/server/
func BenchmarkDecodeRisk(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			h := newHost(b, hostOpts{redis: true, risk: on})
			admin := h.admin()
			if on {
				bundle := embeddedBundle(b)
				bundle["risk/risk.rego"] = strings.Replace(bundle["risk/risk.rego"],
					`{"user_1m": 30, "ip_1m": 120, "org_1m": 600, "code_1m": 60}`,
					`{"user_1m": 1e12, "ip_1m": 1e12, "org_1m": 1e12, "code_1m": 1e12}`, 1)
				delete(bundle, "risk/risk_test.rego")
				h.must(admin, "PUT", "/console/policies", map[string]any{"files": bundle})
			}
			var rule struct {
				ID string `json:"id"`
			}
			h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
				"function": map[string]any{"validitySeconds": 600, "refreshSeconds": 60, "offlineVerifiable": true}}).decode(b, &rule)
			h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
			app := h.app(admin, map[string]any{"name": "随申办"})
			h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
			secret, _ := hex.DecodeString(app.AppSecret)
			ctx := context.Background()
			c := client.New(h.URL, app.AppID, secret, client.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}))
			var opened struct {
				UserID string `json:"userId"`
			}
			if err := c.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule.ID,
				"userExt": userExtOf("王五", "11010519491231002X", "13800138000")}, &opened); err != nil {
				b.Fatal(err)
			}
			var shown struct {
				CodeContent string `json:"codeContent"`
			}
			if err := c.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &shown); err != nil {
				b.Fatal(err)
			}
			body := map[string]any{"cityCodeAppId": app.AppID, "codeContent": shown.CodeContent, "acceptOrgId": "瑞金医院"}
			var failed atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Call(ctx, "/identity/decodeIdentityCode", body, nil); err != nil {
						failed.Add(1)
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d decodes failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
		})
	}
}
