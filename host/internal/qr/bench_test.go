package qr_test

import (
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/qr"
)

// reportRate adds images per second over all goroutines.
func reportRate(b *testing.B, images int) {
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

func benchRender(b *testing.B, r *qr.Renderer, s qr.Style) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Render(url, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	reportRate(b, b.N)
}

// BenchmarkRenderPNG is the image render rate on every core at 4 pixels
// per module, the size of a code printed on a small label.
func BenchmarkRenderPNG(b *testing.B) { benchRender(b, &qr.Renderer{}, qr.Style{ModulePx: 4}) }

func BenchmarkRenderPNGCaption(b *testing.B) {
	benchRender(b, cjkRenderer(b), qr.Style{ModulePx: 4, Caption: "徐汇区公共厕所 310104-000123"})
}

func BenchmarkRenderPNGLogo(b *testing.B) {
	benchRender(b, &qr.Renderer{}, qr.Style{ModulePx: 4, Logo: testLogo(b, 120, 120, "png")})
}

func BenchmarkRenderSVG(b *testing.B) { benchRender(b, &qr.Renderer{}, qr.Style{Format: "svg"}) }

// BenchmarkJob is the batch job rate: 1,000 captioned codes submitted,
// rendered by a worker, zipped and stored in PostgreSQL.
func BenchmarkJob(b *testing.B) {
	e := newEnv(b)
	ctx := testCtx(b)
	j := e.jobs(b, func(c *qr.Config) { c.Poll = time.Millisecond })
	j.Start(ctx)
	items := codes(1000)
	b.ResetTimer()
	for range b.N {
		id, err := j.Submit(ctx, spec("P0001", items))
		ok(b, err)
		for {
			jb, err := j.Get(ctx, id)
			ok(b, err)
			if jb.Status == qr.StatusDone {
				break
			}
			if jb.Status == qr.StatusFailed {
				b.Fatal(jb.Error)
			}
			time.Sleep(time.Millisecond)
		}
	}
	reportRate(b, b.N*len(items))
}
