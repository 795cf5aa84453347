package nativert

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHandle is one request through the process and back, callers in
// parallel, without capability calls.
func BenchmarkHandle(b *testing.B) {
	r, _ := newRunner(b, "echo", nil)
	req := reqJSON(b, "id", "plain", "/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Handle(b.Context(), req, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCapabilityCall is one capability call from the plugin to the
// host and back: a single request makes b.N of them.
func BenchmarkCapabilityCall(b *testing.B) {
	r, _ := newRunner(b, "echo", func(c *Config) { c.Timeout = 10 * time.Minute })
	host := func(context.Context, []byte) []byte { return []byte(`{"result":{}}`) }
	req := reqJSON(b, "id", "loop", "/", map[string][]string{"n": {strconv.Itoa(b.N)}})
	b.ReportAllocs()
	b.ResetTimer()
	out, err := r.Handle(b.Context(), req, host)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if a := decode(b, out); a.Calls != b.N {
		b.Fatalf("%d calls, want %d", a.Calls, b.N)
	}
}

// BenchmarkStart is what a restart costs: the SM3 check of the executable,
// the launch, the handshake and Init (and the stop, outside the timer).
func BenchmarkStart(b *testing.B) {
	cfg := Config{Name: "echo", Path: bins["echo"].path, SM3: bins["echo"].sm3}
	for b.Loop() {
		r, err := New(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := r.Close(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkVerify is the SM3 check alone.
func BenchmarkVerify(b *testing.B) {
	cfg, sum, err := Config{Name: "echo", Path: bins["echo"].path, SM3: bins["echo"].sm3}.check()
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{cfg: cfg, sum: sum}
	for b.Loop() {
		if err := r.verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHealth is a bare gRPC round trip to the process (go-plugin's
// health service): the floor under BenchmarkHandle, measured in the same
// run.
func BenchmarkHealth(b *testing.B) {
	r, _ := newRunner(b, "echo", nil)
	for b.Loop() {
		if err := r.Health(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleSerial is BenchmarkHandle with one caller.
func BenchmarkHandleSerial(b *testing.B) {
	r, _ := newRunner(b, "echo", nil)
	req := reqJSON(b, "id", "plain", "/", nil)
	for b.Loop() {
		if _, err := r.Handle(b.Context(), req, nil); err != nil {
			b.Fatal(err)
		}
	}
}
