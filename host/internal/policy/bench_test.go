package policy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// benchInput is a typical console question: a region-limited staff member
// of a sub-platform reading one app.
var benchInput = policy.AuthzInput{
	Subject: policy.Subject{
		Type: actor.Staff, PlatformID: "P0002", RegionCode: "310104",
		Permissions: []string{"app.read", "app.update", "operator.read", "role.read", "audit.read"},
	},
	Action:   "app.read",
	Resource: &policy.Resource{PlatformID: "P0002", RegionCode: "310104001"},
}

// BenchmarkAuthorize measures one decision through the prepared query, and
// reports the median (p50) and p99 of single-call latencies as metrics.
func BenchmarkAuthorize(b *testing.B) {
	e := newEngine(b, policy.Config{})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		d, err := e.Authorize(ctx, benchInput)
		lat = append(lat, time.Since(t0))
		if err != nil || !d.Allow {
			b.Fatalf("decision %+v, %v", d, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkAuthorizeParallel is the throughput of decisions on every core.
func BenchmarkAuthorizeParallel(b *testing.B) {
	e := newEngine(b, policy.Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if d, err := e.Authorize(ctx, benchInput); err != nil || !d.Allow {
				b.Fatalf("decision %+v, %v", d, err)
			}
		}
	})
}

// BenchmarkAuthorizeSubjects is one decision per kind of subject: root is
// the cheapest path, a restricted staff member on a resource the dearest.
func BenchmarkAuthorizeSubjects(b *testing.B) {
	e := newEngine(b, policy.Config{})
	for _, bi := range []struct {
		name string
		in   policy.AuthzInput
	}{
		{"root", policy.AuthzInput{Subject: root, Action: "app.read"}},
		{"sub-admin", policy.AuthzInput{Subject: regAdmin, Action: "app.read", Resource: &policy.Resource{PlatformID: "P0002", RegionCode: "310104001"}}},
		{"staff-types", policy.AuthzInput{Subject: subStaff, Action: "code.issue",
			Resource: &policy.Resource{PlatformID: "P0002", RegionCode: "31010401", ObjectType: "well"}}},
	} {
		b.Run(bi.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Authorize(b.Context(), bi.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEval is the generic path (JSON-shaped input and output) on
// data.openapi.decision.
func BenchmarkEval(b *testing.B) {
	e := newEngine(b, policy.Config{})
	in := map[string]any{"app": map[string]any{"enabled": true, "capabilities": []any{"code.issue", "code.verify"}}, "capability": "code.verify"}
	var out struct {
		Allow bool `json:"allow"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Eval(b.Context(), "data.openapi.decision", in, &out); err != nil || !out.Allow {
			b.Fatal(err)
		}
	}
}
