package events_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// machineCPU answers the CPU time used by the whole machine so far (this
// process, PostgreSQL and everything else), from /proc/stat; ok is false
// where there is no /proc.
func machineCPU() (d time.Duration, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return 0, false
	}
	fields := strings.Fields(s.Text()) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, v := range fields[1:min(len(fields), 9)] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * (time.Second / 100), true // USER_HZ
}

// benchEvent is the i-th event of a benchmark: a verify of a personal code
// (no region), or with EVBENCH_REGION=1 a landing visit of an object code
// in one of 16 districts, which the per-region rollup also counts.
func benchEvent(i int64) events.Event {
	if os.Getenv("EVBENCH_REGION") != "" {
		return events.Event{Type: events.Landing, Result: events.Success, PlatformID: "P000" + strconv.FormatInt(i%3, 10),
			RuleID: "R0002", Kind: "object", SubjectID: "o" + strconv.FormatInt(i%50_000, 10), CodeID: strconv.FormatInt(i, 36),
			RegionCode: strconv.FormatInt(310101+i%16, 10)}
	}
	return events.Event{Type: events.Verify, Result: events.Success, PlatformID: "P0000",
		AppID: "cc" + strconv.FormatInt(i%8, 10), RuleID: "R0001", Kind: "person",
		SubjectID: "h" + strconv.FormatInt(i%50_000, 36), CodeID: strconv.FormatInt(i, 36), OrgID: "GATE-1"}
}

// BenchmarkWriteParallel measures events per second with many concurrent
// callers, each waiting for its commit as a request would, and the CPU the
// whole machine spends per event (writer and PostgreSQL).
func BenchmarkWriteParallel(b *testing.B) {
	delays := []time.Duration{0}
	if v := os.Getenv("EVBENCH_DELAYS"); v != "" {
		delays = nil
		for _, f := range strings.Split(v, ",") {
			d, _ := time.ParseDuration(f)
			delays = append(delays, d)
		}
	}
	for _, delay := range delays {
		for _, callers := range []int{16, 64, 256} {
			b.Run("delay="+delay.String()+"/callers="+strconv.Itoa(callers), func(b *testing.B) {
				pool := storetest.New(b)
				w := newWriter(b, pool, newClock(time.Now()), func(c *events.Config) { c.Clock = time.Now; c.MaxDelay = delay })
				var ru0 syscall.Rusage
				syscall.Getrusage(0, &ru0)
				var seq atomic.Int64
				b.SetParallelism((callers + 1) / 2) // GOMAXPROCS is 2 here
				cpu0, ok := machineCPU()
				start := time.Now()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := seq.Add(1)
						if err := w.Write(b.Context(), benchEvent(i)); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.StopTimer()
				elapsed := time.Since(start)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				if cpu1, ok2 := machineCPU(); ok && ok2 {
					b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
				}
				var ru1 syscall.Rusage
				syscall.Getrusage(0, &ru1)
				goCPU := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
				b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-µs/event")
			})
		}
	}
}

// BenchmarkWritePaced offers events at a fixed rate, each from its own
// goroutine as HTTP requests would, and reports the CPU the machine spends
// per event and the commit latency: the cost of events at the code
// engine's target load.
func BenchmarkWritePaced(b *testing.B) {
	delays := []time.Duration{0}
	if v := os.Getenv("EVBENCH_DELAYS"); v != "" {
		delays = nil
		for _, f := range strings.Split(v, ",") {
			d, _ := time.ParseDuration(f)
			delays = append(delays, d)
		}
	}
	for _, delay := range delays {
		for _, rate := range []int{10_000, 20_000} {
			b.Run(fmt.Sprintf("delay=%v/rate=%d", delay, rate), func(b *testing.B) {
				pool := storetest.New(b)
				w := newWriter(b, pool, newClock(time.Now()), func(c *events.Config) { c.Clock = time.Now; c.MaxDelay = delay })
				lat := make([]time.Duration, b.N)
				var ru0 syscall.Rusage
				syscall.Getrusage(0, &ru0)
				var wg sync.WaitGroup
				cpu0, ok := machineCPU()
				start := time.Now()
				b.ResetTimer()
				// Open loop: 64 pacers each start requests at Poisson
				// arrival times, every request in its own goroutine.
				const pacers = 64
				var next atomic.Int64
				for p := range pacers {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(p), 1))
						due := start
						for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
							due = due.Add(time.Duration(r.ExpFloat64() * float64(time.Second) * pacers / float64(rate)))
							if d := time.Until(due); d > 0 {
								time.Sleep(d)
							}
							wg.Go(func() {
								t0 := time.Now()
								if os.Getenv("EVBENCH_NOOP") != "" {
									time.Sleep(2 * time.Millisecond)
								} else if err := w.Write(b.Context(), benchEvent(i)); err != nil {
									b.Error(err)
								}
								lat[i] = time.Since(t0)
							})
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				elapsed := time.Since(start)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				if cpu1, ok2 := machineCPU(); ok && ok2 {
					b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
				}
				var ru1 syscall.Rusage
				syscall.Getrusage(0, &ru1)
				goCPU := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
				b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-µs/event")
				st := w.Stats()
				b.ReportMetric(float64(st.Events)/float64(max(st.Batches, 1)), "ev/batch")
				slices.Sort(lat)
				b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}
