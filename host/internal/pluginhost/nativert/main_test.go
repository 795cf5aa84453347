package nativert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// The test plugins, under testdata/, built once per test binary.
var pluginNames = []string{"echo", "panicker", "exiter", "sleeper", "chatty"}

// binary is a built test plugin.
type binary struct {
	path string
	sm3  string
}

var bins = map[string]binary{}

// helperEnv makes the test binary a tiny host (see runHelperHost).
const helperEnv = "NATIVERT_HELPER_HOST"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(runHelperHost(spec))
	}
	dir, err := os.MkdirTemp("", "nativert-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = buildPlugins(dir)
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildPlugins builds the test plugins into dir, concurrently.
func buildPlugins(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build the test plugins: %w", err)
	}
	errs := make([]error, len(pluginNames))
	var wg sync.WaitGroup
	for i, name := range pluginNames {
		wg.Go(func() {
			out := filepath.Join(dir, name)
			b, err := exec.Command(goTool, "build", "-o", out, "./testdata/"+name).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("building testdata/%s: %w\n%s", name, err, b)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, name := range pluginNames {
		path := filepath.Join(dir, name)
		sum, err := sm3File(path)
		if err != nil {
			return err
		}
		bins[name] = binary{path: path, sm3: sum}
	}
	return nil
}

func sm3File(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := codec.SM3(b)
	return hex.EncodeToString(sum[:]), nil
}

// runHelperHost is a host in its own process for TestNoOrphans: it starts
// the plugin named by spec (path:sm3), prints the plugin's pid, and waits
// to be killed.
func runHelperHost(spec string) int {
	path, sum, _ := strings.Cut(spec, ":")
	ctx := context.Background()
	r, err := New(ctx, Config{Name: "orphan", Path: path, SM3: sum})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := r.Handle(ctx, reqJSON(nil, "id", "plain", "/", nil), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pidOf(nil, out))
	select {}
}

// logSink collects a runner's JSON log; a failed test prints it.
type logSink struct {
	mu    sync.Mutex
	lines bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines.Write(p)
}

// records answers the log records so far.
func (s *logSink) records() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.lines.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			recs = append(recs, rec)
		}
	}
	return recs
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines.String()
}

// newRunner starts a runner of a test plugin, closed at the end of the test.
func newRunner(t testing.TB, name string, tune func(*Config)) (*Runner, *logSink) {
	t.Helper()
	sink := &logSink{}
	cfg := Config{
		Name: name, Path: bins[name].path, SM3: bins[name].sm3,
		Log: slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tune != nil {
		tune(&cfg)
	}
	r, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, sink)
		}
	})
	return r, sink
}

func reqJSON(t testing.TB, id, route, path string, query map[string][]string) []byte {
	b, err := json.Marshal(plugin.Request{ID: id, Route: route, Method: "GET", Path: path, Query: query})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer is what the test plugins answer in their bodies.
type answer struct {
	PID       int                 `json:"pid"`
	Path      string              `json:"path"`
	Query     map[string][]string `json:"query"`
	RequestID string              `json:"requestId"`
	Result    struct {
		Tag       string `json:"tag"`
		RequestID string `json:"requestId"`
		Op        string `json:"op"`
	} `json:"result"`
	Calls int `json:"calls"`
}

// decode reads an Outcome that must be a response.
func decode(t testing.TB, out []byte) answer {
	var o plugin.Outcome
	if err := json.Unmarshal(out, &o); err != nil || o.Response == nil {
		t.Fatalf("outcome %s (%v), want a response", out, err)
	}
	var a answer
	if err := json.Unmarshal(o.Response.Body, &a); err != nil {
		t.Fatalf("body %s: %v", o.Response.Body, err)
	}
	return a
}

func pidOf(t testing.TB, out []byte) int {
	var o plugin.Outcome
	var a answer
	if json.Unmarshal(out, &o) != nil || o.Response == nil || json.Unmarshal(o.Response.Body, &a) != nil {
		if t != nil {
			t.Fatalf("outcome %s has no pid", out)
		}
	}
	return a.PID
}

// taggingHost is the HostFunc of one request: it answers every capability
// call with tag and fails the test when a call of another request reaches it.
func taggingHost(t testing.TB, requestID, tag string) runner.HostFunc {
	return func(_ context.Context, call []byte) []byte {
		var c plugin.Call
		if err := json.Unmarshal(call, &c); err != nil {
			t.Errorf("undecodable call %s", call)
		}
		if c.RequestID != requestID {
			t.Errorf("the call %s of request %s reached the HostFunc of request %s", call, c.RequestID, requestID)
		}
		b, _ := json.Marshal(plugin.CallResult{Result: mustJSON(map[string]string{"tag": tag, "requestId": c.RequestID, "op": string(c.Capability) + "." + c.Op})})
		return b
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
