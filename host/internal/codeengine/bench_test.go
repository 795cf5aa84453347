package codeengine_test

import (
	"testing"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// BenchmarkResolve is what every show and generate asks: a rule and a
// binding, answered from the cache.
func BenchmarkResolve(b *testing.B) {
	e := newEnv(b)
	ctx := e.ctx(mainAdmin())
	app := e.app(tenancy.MainPlatformID, "随申办")
	in := identityRule("")
	r, err := e.rules.CreateRule(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.rules.Resolve(ctx, app, r.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
