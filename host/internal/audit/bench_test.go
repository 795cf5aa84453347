package audit

import (
	"testing"

	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// BenchmarkRecordParallel measures durable, chained appends from many
// concurrent requests (64 goroutines per CPU), each waiting for its commit.
func BenchmarkRecordParallel(b *testing.B) {
	pool := storetest.New(b)
	ctx := testCtx(b)
	l := newLogger(b, pool, Config{})
	e := entry("app.create")
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.StopTimer()
	mustVerify(b, ctx, l, int64(b.N))
}
