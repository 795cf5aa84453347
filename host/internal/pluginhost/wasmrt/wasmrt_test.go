package wasmrt_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func TestEcho(t *testing.T) {
	t.Parallel()
	r := start(t, "echo", nil)
	var got plugin.Call
	host := func(_ context.Context, call []byte) []byte {
		if err := json.Unmarshal(call, &got); err != nil {
			t.Errorf("undecodable call %q: %v", call, err)
		}
		res, _ := json.Marshal(plugin.CallResult{Result: json.RawMessage(`{"greeting":"hello from the host"}`)})
		return res
	}
	out, err := r.Handle(t.Context(), request(t, "req-7", "echo", "/bins/42", map[string][]string{"q": {"full"}}), host)
	if err != nil {
		t.Fatal(err)
	}
	if p, want := page(t, out), "<p>path=/bins/42 q=full greeting=hello from the host</p>"; p != want {
		t.Errorf("page %q, want %q", p, want)
	}
	if got.RequestID != "req-7" || got.Capability != plugin.RecordsRead || got.Op != "get" || string(got.Args) != `{"q":"full"}` {
		t.Errorf("capability call %+v (args %s), want req-7 records.read get {\"q\":\"full\"}", got, got.Args)
	}
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	r := start(t, "echo", nil)
	for _, tc := range []struct {
		route, code, message string
	}{
		{"fail", plugin.ErrNotFound + ".Record", "no record /x"},
		{"oops", plugin.ErrInternal, "oops at /x"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			out, err := r.Handle(t.Context(), request(t, "r", tc.route, "/x", nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			o := outcome(t, out)
			if o.Error == nil || o.Error.Code != tc.code || o.Error.Message != tc.message {
				t.Errorf("outcome %s, want error %s: %s", out, tc.code, tc.message)
			}
		})
	}
}

func TestCapabilityWithoutHost(t *testing.T) {
	t.Parallel()
	r := start(t, "echo", nil)
	out, err := r.Handle(t.Context(), request(t, "r", "echo", "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(t, out); o.Error == nil || o.Error.Code != plugin.ErrUnavailable {
		t.Errorf("outcome %s, want the capability refused as unavailable", out)
	}
}

// TestConcurrent checks that each call's capability calls reach that
// call's host function, whichever instance serves it.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	r := start(t, "echo", func(c *wasmrt.Config) { c.Instances = 4 })
	const calls = 50
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			q := fmt.Sprint("q", i)
			out, err := r.Handle(t.Context(), request(t, fmt.Sprint("req-", i), "echo", fmt.Sprint("/p/", i), map[string][]string{"q": {q}}),
				answer(map[string]string{"greeting": fmt.Sprint("hi ", i)}))
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			if p, want := page(t, out), fmt.Sprintf("<p>path=/p/%d q=q%d greeting=hi %d</p>", i, i, i); p != want {
				t.Errorf("call %d: page %q, want %q", i, p, want)
			}
		})
	}
	wg.Wait()
}

// failing names a misbehaving guest, the route that makes it misbehave
// and what the call must fail with.
type failing struct {
	guest, route string
	edit         func(*wasmrt.Config)
	want         error
	inMessage    string
	within       time.Duration
}

func TestFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []failing{
		{guest: "panic", route: "panic", want: runner.ErrCrashed, inMessage: "plugin crashed: panic: kaput at /boom (wasm error: unreachable)", within: 5 * time.Second},
		{guest: "loop", route: "loop", edit: func(c *wasmrt.Config) { c.Timeout = 300 * time.Millisecond },
			want: runner.ErrTimeout, inMessage: "interrupted after", within: time.Second},
		{guest: "echo", route: "sleep", edit: func(c *wasmrt.Config) { c.Timeout = 300 * time.Millisecond },
			want: runner.ErrTimeout, inMessage: "interrupted after", within: time.Second},
		{guest: "alloc", route: "alloc", edit: func(c *wasmrt.Config) { c.MemoryLimitMB = 32; c.Timeout = time.Minute },
			want: runner.ErrOutOfMemory, inMessage: "of 32 MB: fatal error: out of memory", within: time.Minute},
	} {
		t.Run(tc.guest+"/"+tc.route, func(t *testing.T) {
			t.Parallel()
			testFailure(t, tc)
		})
	}
}

// testFailure makes the guest fail, then checks that the runner serves the
// next calls, on a new instance.
func testFailure(t *testing.T, tc failing) {
	logs := &records{}
	r := start(t, tc.guest, func(c *wasmrt.Config) {
		c.Instances = 1 // the next call needs a new instance
		c.Log = slog.New(logs)
		if tc.edit != nil {
			tc.edit(c)
		}
	})
	begin := time.Now()
	_, err := r.Handle(t.Context(), request(t, "r1", tc.route, "/boom", nil), nil)
	took := time.Since(begin)
	if !errors.Is(err, tc.want) {
		t.Fatalf("error %v, want %v", err, tc.want)
	}
	t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
	if msg := err.Error(); !strings.Contains(msg, "test-"+tc.guest) || !strings.Contains(msg, tc.inMessage) {
		t.Errorf("error %q should name the plugin and say %q", msg, tc.inMessage)
	}
	if took > tc.within {
		t.Errorf("failed after %s, want within %s", took, tc.within)
	}
	for i := range 2 {
		out, err := r.Handle(t.Context(), request(t, "r2", "ok", "/", nil), nil)
		if err != nil {
			t.Fatalf("call %d after the failure: %v", i+1, err)
		}
		if p := page(t, out); !strings.HasPrefix(p, "ok") {
			t.Errorf("page %q after the failure", p)
		}
	}
	if err := r.Health(t.Context()); err != nil {
		t.Errorf("Health after the failure: %v", err)
	}
}

func TestPanicLogged(t *testing.T) {
	t.Parallel()
	logs := &records{}
	r := start(t, "panic", func(c *wasmrt.Config) { c.Log = slog.New(logs) })
	if _, err := r.Handle(t.Context(), request(t, "r", "panic", "/here", nil), nil); !errors.Is(err, runner.ErrCrashed) {
		t.Fatalf("error %v, want ErrCrashed", err)
	}
	attrs, ok := logs.find("panic: kaput at /here")
	if !ok {
		t.Fatal("the panic is not in the log")
	}
	if attrs["plugin"] != "test-panic" || attrs["stream"] != "stderr" || attrs["level"] != "WARN" {
		t.Errorf("panic logged with %v, want plugin=test-panic stream=stderr at WARN", attrs)
	}
}

func TestStdoutLogged(t *testing.T) {
	t.Parallel()
	logs := &records{}
	r := start(t, "echo", func(c *wasmrt.Config) { c.Name = "echo-log"; c.Log = slog.New(logs) })
	if _, err := r.Handle(t.Context(), request(t, "r", "log", "/said", nil), nil); err != nil {
		t.Fatal(err)
	}
	attrs, ok := logs.find("echo: serving /said")
	if !ok {
		t.Fatal("the guest's line is not in the log")
	}
	if attrs["plugin"] != "echo-log" || attrs["stream"] != "stdout" || attrs["level"] != "INFO" {
		t.Errorf("line logged with %v, want plugin=echo-log stream=stdout at INFO", attrs)
	}
	if _, ok := logs.find("echo: no newline at the end"); ok {
		t.Error("an unfinished line was logged before the instance ended")
	}
}

func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	r := start(t, "loop", nil) // Timeout 2 s; the caller's deadline is shorter
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := r.Handle(ctx, request(t, "r", "loop", "/", nil), nil)
	if !errors.Is(err, runner.ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("interrupted after %s, want about 200ms", took)
	}
}

func TestCallerCanceled(t *testing.T) {
	t.Parallel()
	r := start(t, "loop", nil)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := r.Handle(ctx, request(t, "r", "loop", "/", nil), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if _, err := r.Handle(t.Context(), request(t, "r", "ok", "/", nil), nil); err != nil {
		t.Errorf("next call: %v", err)
	}
}

// TestWaitForInstance holds the only instance in a capability call: a
// second call waits for it, bounded by its context.
func TestWaitForInstance(t *testing.T) {
	t.Parallel()
	r := start(t, "echo", func(c *wasmrt.Config) { c.Instances = 1 })
	entered, release := make(chan struct{}), make(chan struct{})
	blocking := func(context.Context, []byte) []byte {
		close(entered)
		<-release
		res, _ := json.Marshal(plugin.CallResult{Result: json.RawMessage(`{"greeting":"late"}`)})
		return res
	}
	first := make(chan error, 1)
	go func() {
		_, err := r.Handle(t.Context(), request(t, "r1", "echo", "/", nil), blocking)
		first <- err
	}()
	<-entered
	if err := r.Health(t.Context()); err != nil {
		t.Errorf("Health while the only instance is busy: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.Handle(ctx, request(t, "r2", "ok", "/", nil), nil); !errors.Is(err, runner.ErrTimeout) {
		t.Errorf("second call: error %v, want ErrTimeout", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first call: %v", err)
	}
	if _, err := r.Handle(t.Context(), request(t, "r3", "ok", "/", nil), nil); err != nil {
		t.Errorf("third call: %v", err)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		module []byte
		want   error // nil: any error
		says   string
	}{
		{"wrong ABI", guest(t, "badabi"), runner.ErrABI, "the module speaks ABI 99.3, this host speaks " + plugin.ABI},
		{"not WASM", []byte("#!/bin/sh\necho hello\n"), nil, "not a usable WASM module"},
		{"empty", nil, nil, "not a usable WASM module"},
		{"no exports", []byte("\x00asm\x01\x00\x00\x00"), runner.ErrABI, "does not export citycode_abi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := wasmrt.New(t.Context(), wasmrt.Config{Name: "refused", Module: tc.module, CacheDir: cacheDir})
			if err == nil {
				r.Close(t.Context())
				t.Fatal("New accepted the module")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, "refused") || !strings.Contains(msg, tc.says) {
				t.Errorf("error %q should name the plugin and say %q", msg, tc.says)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []wasmrt.Config{
		{Module: guest(t, "echo")},
		{Name: "x", Module: guest(t, "echo"), MemoryLimitMB: 5000},
		{Name: "x", Module: guest(t, "echo"), Instances: -1},
		{Name: "x", Module: guest(t, "echo"), MemoryLimitMB: 1}, // below the Go guest's initial memory
	} {
		if r, err := wasmrt.New(t.Context(), cfg); err == nil {
			r.Close(t.Context())
			t.Errorf("New accepted name %q, %d MB, %d instances", cfg.Name, cfg.MemoryLimitMB, cfg.Instances)
		}
	}
}

// TestCloseWaits closes the runner while a call is in flight: Close waits
// for it, and new calls are refused meanwhile.
func TestCloseWaits(t *testing.T) {
	t.Parallel()
	r, err := wasmrt.New(t.Context(), wasmrt.Config{Name: "closing", Module: guest(t, "echo"), CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	blocking := func(context.Context, []byte) []byte {
		close(entered)
		<-release
		res, _ := json.Marshal(plugin.CallResult{Result: json.RawMessage(`{"greeting":"bye"}`)})
		return res
	}
	inFlight := make(chan error, 1)
	go func() {
		out, err := r.Handle(t.Context(), request(t, "r1", "echo", "/", nil), blocking)
		if err == nil && !strings.Contains(page(t, out), "greeting=bye") {
			err = fmt.Errorf("page %s", out)
		}
		inFlight <- err
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- r.Close(t.Context()) }()
	for !errors.Is(r.Health(t.Context()), runner.ErrClosed) {
		time.Sleep(time.Millisecond)
	}
	if _, err := r.Handle(t.Context(), request(t, "r2", "ok", "/", nil), nil); !errors.Is(err, runner.ErrClosed) {
		t.Errorf("call while closing: error %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a call in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-inFlight; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseInterrupts closes the runner with a call that does not end:
// Close gives up when its context does and interrupts the call.
func TestCloseInterrupts(t *testing.T) {
	t.Parallel()
	r, err := wasmrt.New(t.Context(), wasmrt.Config{Name: "closing", Module: guest(t, "loop"), CacheDir: cacheDir, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() {
		_, err := r.Handle(t.Context(), request(t, "r1", "loop", "/", nil), nil)
		inFlight <- err
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: error %v, want DeadlineExceeded", err)
	}
	select {
	case err := <-inFlight:
		if !errors.Is(err, runner.ErrClosed) {
			t.Errorf("the call in flight: error %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call in flight was not interrupted")
	}
}

// TestBodyApart: an upload reaches the guest the same whether it travels
// inside the request's JSON or apart from it (ABI 1.1), and a guest built
// with this SDK takes it apart.
func TestBodyApart(t *testing.T) {
	r := start(t, "echo", func(c *wasmrt.Config) { c.Timeout = time.Minute })
	if !r.TakesBody() {
		t.Fatal("a guest of this SDK should take the body apart")
	}
	body := make([]byte, 3<<20)
	for i := range body {
		body[i] = byte(i * 7)
	}
	sum := sha256.Sum256(body)
	want := fmt.Sprintf("body=%d sha256=%x", len(body), sum[:8])
	inline, _ := json.Marshal(plugin.Request{ID: "r", Route: "body", Kind: plugin.Action, Method: "POST", Path: "/", Body: body})
	bare, _ := json.Marshal(plugin.Request{ID: "r", Route: "body", Kind: plugin.Action, Method: "POST", Path: "/"})
	empty := sha256.Sum256(nil)
	for _, tc := range []struct {
		name, want string
		call       func() ([]byte, error)
	}{
		{"inline", want, func() ([]byte, error) { return r.Handle(context.Background(), inline, nil) }},
		{"apart", want, func() ([]byte, error) { return r.HandleBody(context.Background(), bare, body, nil) }},
		{"empty, apart", fmt.Sprintf("body=0 sha256=%x", empty[:8]), func() ([]byte, error) { return r.HandleBody(context.Background(), bare, nil, nil) }},
	} {
		out, err := tc.call()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var o plugin.Outcome
		if err := json.Unmarshal(out, &o); err != nil || o.Response == nil || !strings.Contains(string(o.Response.Body), tc.want) {
			t.Fatalf("%s: %s %v", tc.name, out, err)
		}
	}
}

// BenchmarkUpload serves a 1 MB upload with its body inside the request's
// JSON and apart from it.
func BenchmarkUpload(b *testing.B) {
	r := start(b, "echo", func(c *wasmrt.Config) { c.Timeout = time.Minute })
	body := make([]byte, 1<<20)
	inline, _ := json.Marshal(plugin.Request{ID: "r", Route: "body", Kind: plugin.Action, Method: "POST", Path: "/", Body: body})
	bare, _ := json.Marshal(plugin.Request{ID: "r", Route: "body", Kind: plugin.Action, Method: "POST", Path: "/"})
	b.Run("inline", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Handle(context.Background(), inline, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apart", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.HandleBody(context.Background(), bare, body, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
