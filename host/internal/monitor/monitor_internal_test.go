package monitor

import (
	"math"
	"testing"
)

// TestQuantile: estimated inside the bucket that holds the rank, as
// Prometheus does.
func TestQuantile(t *testing.T) {
	// 100 samples: 50 under 10 ms, 40 more under 50 ms, 10 under 1 s.
	b := map[float64]uint64{0.01: 50, 0.05: 90, 1: 100, math.Inf(1): 100}
	for _, c := range []struct{ q, want float64 }{{0.5, 0.01}, {0.25, 0.005}, {0.7, 0.03}, {0.95, 0.525}} {
		if got := quantile(b, 100, c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantile(map[float64]uint64{0.1: 0, math.Inf(1): 5}, 5, 0.5); got != 0.1 {
		t.Errorf("all above the last bound: %v", got)
	}
}
