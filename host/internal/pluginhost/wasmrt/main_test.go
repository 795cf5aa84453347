package wasmrt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt/wasmrttest"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// The guests under testdata, built once per test binary.
var guestNames = []string{"echo", "panic", "loop", "alloc", "badabi"}

var (
	guestDir string // where the .wasm files are
	// cacheDir is wazero's compilation cache, shared by the tests and kept
	// across runs so that the suite compiles each guest once.
	cacheDir = filepath.Join(os.TempDir(), "citycode-wazero-test-cache")
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmrt-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guestDir = dir
	if err := buildGuests(dir, guestNames); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	var modules []string
	for _, name := range guestNames {
		modules = append(modules, filepath.Join(dir, name+".wasm"))
	}
	if err := wasmrttest.Warm(cacheDir, modules...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGuests builds testdata/<name> into dir/<name>.wasm, concurrently.
func buildGuests(dir string, names []string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build the test guests: %w", err)
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, name+".wasm"), "./testdata/"+name)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building guest %s: %w\n%s", name, err, out)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// guest answers a built guest module.
func guest(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(guestDir, name+".wasm"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// start makes a runner of a guest, closed at the end of the test. edit
// adjusts the configuration.
func start(tb testing.TB, name string, edit func(*wasmrt.Config)) *wasmrt.Runner {
	tb.Helper()
	cfg := wasmrt.Config{Name: "test-" + name, Module: guest(tb, name), CacheDir: cacheDir}
	if edit != nil {
		edit(&cfg)
	}
	r, err := wasmrt.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r
}

// request encodes a Request for a route.
func request(tb testing.TB, id, route, path string, query map[string][]string) []byte {
	tb.Helper()
	b, err := json.Marshal(plugin.Request{ID: id, Route: route, Kind: plugin.Landing, Method: "GET", Path: path, Query: query})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// page decodes an Outcome and answers the page of its response.
func page(tb testing.TB, out []byte) string {
	tb.Helper()
	o := outcome(tb, out)
	if o.Error != nil || o.Response == nil {
		tb.Fatalf("outcome %s: want a response", out)
	}
	if o.Response.Status != 200 {
		tb.Fatalf("status %d, want 200", o.Response.Status)
	}
	return string(o.Response.Body)
}

func outcome(tb testing.TB, out []byte) plugin.Outcome {
	tb.Helper()
	var o plugin.Outcome
	if err := json.Unmarshal(out, &o); err != nil {
		tb.Fatalf("undecodable outcome %q: %v", out, err)
	}
	return o
}

// answer is a HostFunc answering every capability call with result.
func answer(result any) runner.HostFunc {
	b, err := json.Marshal(result)
	if err != nil {
		panic(err)
	}
	res, _ := json.Marshal(plugin.CallResult{Result: b})
	return func(context.Context, []byte) []byte { return res }
}

// records is a slog.Handler keeping what is logged.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) WithGroup(string) slog.Handler            { return h }

func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// WithAttrs keeps the logger's attributes on the records it handles.
func (h *records) WithAttrs(as []slog.Attr) slog.Handler { return &withAttrs{h, as} }

type withAttrs struct {
	*records
	attrs []slog.Attr
}

func (h *withAttrs) WithAttrs(as []slog.Attr) slog.Handler {
	return &withAttrs{h.records, append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *withAttrs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	return h.records.Handle(ctx, r)
}

// find answers the attributes of the first record with the message.
func (h *records) find(msg string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{"level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		return attrs, true
	}
	return nil, false
}
