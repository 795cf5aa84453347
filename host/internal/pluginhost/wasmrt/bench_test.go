package wasmrt_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// BenchmarkHandle serves the echo route (one capability call each) from
// parallel callers.
func BenchmarkHandle(b *testing.B) {
	r := start(b, "echo", func(c *wasmrt.Config) { c.Instances = 4 })
	req := request(b, "r", "echo", "/bins/42", map[string][]string{"q": {"full"}})
	host := answer(map[string]string{"greeting": "hi"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Handle(context.Background(), req, host); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCapabilityCall measures one capability call from the guest to
// a host function and back, in a call making many of them.
func BenchmarkCapabilityCall(b *testing.B) {
	const perCall = 1000
	r := start(b, "echo", func(c *wasmrt.Config) { c.Timeout = time.Minute })
	req := request(b, "r", "calls", "/", map[string][]string{"n": {"1000"}})
	res, _ := json.Marshal(plugin.CallResult{Result: json.RawMessage(`{}`)})
	host := func(context.Context, []byte) []byte { return res }
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Handle(context.Background(), req, host); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perCall), "ns/call")
}
