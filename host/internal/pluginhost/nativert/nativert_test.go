package nativert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func TestEchoRoundTrip(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, "echo", nil)
	if err := r.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := r.Handle(t.Context(), reqJSON(t, "req-1", "echo", "/hello", map[string][]string{"a": {"1"}}), taggingHost(t, "req-1", "answer-1"))
	if err != nil {
		t.Fatal(err)
	}
	a := decode(t, out)
	if a.Path != "/hello" || a.Query["a"][0] != "1" || a.RequestID != "req-1" ||
		a.Result.Tag != "answer-1" || a.Result.RequestID != "req-1" || a.Result.Op != "records.read.get" {
		t.Fatalf("answer %+v", a)
	}
}

func TestConcurrentCallsKeepTheirCapabilities(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, "echo", nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			id, tag := fmt.Sprintf("req-%d", i), fmt.Sprintf("tag-%d", i)
			// Staggered sleeps interleave the calls inside the plugin.
			q := map[string][]string{"sleep": {strconv.Itoa(i % 7 * 3)}}
			out, err := r.Handle(t.Context(), reqJSON(t, id, "echo", "/"+id, q), taggingHost(t, id, tag))
			if err != nil {
				t.Error(err)
				return
			}
			if a := decode(t, out); a.Result.Tag != tag || a.Result.RequestID != id || a.Path != "/"+id {
				t.Errorf("request %s got %+v", id, a)
			}
		})
	}
	wg.Wait()
}

func TestPanicIsAnOutcome(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, "panicker", nil)
	if native.CodePanic != "InternalError.PluginPanic" {
		t.Fatalf("CodePanic = %q", native.CodePanic)
	}
	before := pidOf(t, mustHandle(t, r, "ok"))
	out, err := r.Handle(t.Context(), reqJSON(t, "id", "panic", "/p", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var o plugin.Outcome
	if err := json.Unmarshal(out, &o); err != nil || o.Error == nil ||
		o.Error.Code != native.CodePanic || !strings.Contains(o.Error.Message, "boom at /p") {
		t.Fatalf("outcome %s (%v)", out, err)
	}
	if after := pidOf(t, mustHandle(t, r, "ok")); after != before {
		t.Fatalf("pid %d after the panic, %d before: the process did not survive", after, before)
	}
	if err := r.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestExitedProcessIsRestarted(t *testing.T) {
	t.Parallel()
	r, sink := newRunner(t, "exiter", nil)
	before := pidOf(t, mustHandle(t, r, "ok"))
	_, err := r.Handle(t.Context(), reqJSON(t, "id", "exit", "/", nil), nil)
	if !errors.Is(err, runner.ErrCrashed) {
		t.Fatalf("in-flight call: %v, want ErrCrashed", err)
	}
	if err := r.Health(t.Context()); !errors.Is(err, runner.ErrUnavailable) {
		t.Fatalf("Health right after the exit: %v, want ErrUnavailable", err)
	}
	if _, err := r.Handle(t.Context(), reqJSON(t, "id", "ok", "/", nil), nil); !errors.Is(err, runner.ErrUnavailable) {
		t.Fatalf("call during the outage: %v, want ErrUnavailable", err)
	}
	eventually(t, 5*time.Second, "the runner did not turn healthy again", func() bool { return r.Health(t.Context()) == nil })
	if after := pidOf(t, mustHandle(t, r, "ok")); after == before || after == 0 {
		t.Fatalf("pid %d after the restart, %d before", after, before)
	}
	if !hasRecord(sink, func(rec map[string]any) bool { return rec["msg"] == "plugin restarted" && rec["plugin"] == "exiter" }) {
		t.Fatal("no plugin restarted record in the log")
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, "sleeper", func(c *Config) { c.Timeout = 300 * time.Millisecond })
	before := pidOf(t, mustHandle(t, r, "ok"))
	start := time.Now()
	_, err := r.Handle(t.Context(), reqJSON(t, "id", "sleep", "/", nil), nil)
	if !errors.Is(err, runner.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the timeout took %v", d)
	}
	// The overrunning handler cannot be stopped inside the process, so the
	// process is recycled: a replacement takes over without an outage
	// (every call below succeeds) and the old process goes away.
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := pidOf(t, mustHandle(t, r, "ok"))
		if after != before && syscall.Kill(before, 0) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not recycled after a timeout (now %d)", before, after)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCallerDeadlineIsATimeout(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, "sleeper", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.Handle(ctx, reqJSON(t, "id", "sleep", "/", nil), nil); !errors.Is(err, runner.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestRestartRefusesTamperedExecutable(t *testing.T) {
	t.Parallel()
	path := copyBinary(t, "echo")
	r, sink := newRunner(t, "echo", func(c *Config) { c.Path = path; c.Backoff = 50 * time.Millisecond })
	pid := pidOf(t, mustHandleEcho(t, r))
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The running file cannot be opened for writing (ETXTBSY): replace it,
	// as a deployment or an attacker would.
	replace(t, path, flipped(original))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the restart of a tampered executable was not refused", func() bool {
		return errors.Is(r.Health(t.Context()), runner.ErrChecksum)
	})
	_, err = r.Handle(t.Context(), reqJSON(t, "id", "echo", "/", nil), nil)
	if !errors.Is(err, runner.ErrUnavailable) || !errors.Is(err, runner.ErrChecksum) {
		t.Fatalf("call while refused: %v, want ErrUnavailable and ErrChecksum", err)
	}
	if !hasRecord(sink, func(rec map[string]any) bool {
		return rec["msg"] == "plugin restart failed" && strings.Contains(fmt.Sprint(rec["error"]), "checksum")
	}) {
		t.Fatal("no log record of the refused restart")
	}
	// Putting the right file back heals the runner.
	replace(t, path, original)
	eventually(t, 5*time.Second, "the runner did not recover with the original file", func() bool { return r.Health(t.Context()) == nil })
	if after := pidOf(t, mustHandleEcho(t, r)); after == pid {
		t.Fatal("still the killed pid")
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tampered := copyBinary(t, "echo")
	b, err := os.ReadFile(tampered)
	if err != nil {
		t.Fatal(err)
	}
	replace(t, tampered, flipped(b))
	for _, tc := range []struct {
		name, path, sum string
		want            error
	}{
		{"tampered file", tampered, bins["echo"].sm3, runner.ErrChecksum},
		{"another plugin's checksum", bins["echo"].path, bins["chatty"].sm3, runner.ErrChecksum},
		{"malformed checksum", bins["echo"].path, "abc", nil},
		{"missing file", filepath.Join(t.TempDir(), "nothing"), bins["echo"].sm3, nil},
		{"not a plugin", "/bin/true", sm3Must(t, "/bin/true"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(t.Context(), Config{Name: "refused", Path: tc.path, SM3: tc.sum})
			if err == nil {
				_ = r.Close(t.Context())
				t.Fatal("New succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.want == nil && errors.Is(err, runner.ErrChecksum) {
				t.Fatalf("err %v should not be a checksum error", err)
			}
		})
	}
}

func TestOutputReachesTheLog(t *testing.T) {
	t.Parallel()
	r, sink := newRunner(t, "chatty", nil)
	mustHandle(t, r, "talk")
	for _, want := range []struct{ stream, text string }{
		{"stdout", "chatty says hello on stdout for id"},
		{"stderr", "chatty says hello on stderr for id"},
		{"stderr", "chatty says hello through log for id"},
	} {
		eventually(t, 5*time.Second, fmt.Sprintf("no %s line %q with plugin=chatty in the log", want.stream, want.text), func() bool {
			return hasRecord(sink, func(rec map[string]any) bool {
				return rec["plugin"] == "chatty" && rec["stream"] == want.stream && strings.Contains(fmt.Sprint(rec["msg"]), want.text)
			})
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	t.Run("waits for calls in flight", func(t *testing.T) {
		t.Parallel()
		r, _ := newRunner(t, "echo", nil)
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := r.Handle(t.Context(), reqJSON(t, "id", "echo", "/", nil), func(context.Context, []byte) []byte {
				close(started)
				<-release
				return []byte(`{"result":{}}`)
			})
			done <- err
		}()
		<-started
		closed := make(chan error, 1)
		go func() { closed <- r.Close(t.Context()) }()
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) with a call in flight", err)
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := r.Handle(t.Context(), reqJSON(t, "id", "plain", "/", nil), nil); !errors.Is(err, runner.ErrClosed) {
			t.Fatalf("Handle while closing: %v, want ErrClosed", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("the call in flight failed: %v", err)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if err := r.Health(t.Context()); !errors.Is(err, runner.ErrClosed) {
			t.Fatalf("Health after Close: %v", err)
		}
	})
	t.Run("gives up when ctx ends", func(t *testing.T) {
		t.Parallel()
		// Not newRunner: its cleanup would see this Close's error again.
		r, err := New(t.Context(), Config{Name: "echo", Path: bins["echo"].path, SM3: bins["echo"].sm3})
		if err != nil {
			t.Fatal(err)
		}
		pid := pidOf(t, mustHandle(t, r, "plain"))
		started := make(chan struct{})
		go func() {
			_, _ = r.Handle(t.Context(), reqJSON(t, "id", "echo", "/", nil), func(ctx context.Context, _ []byte) []byte {
				close(started)
				<-ctx.Done()
				return []byte(`{}`)
			})
		}()
		<-started
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v, want DeadlineExceeded", err)
		}
		eventually(t, 5*time.Second, "the process outlived Close", func() bool { return !alive(pid) })
	})
}

// TestNoOrphans kills a host with SIGKILL, which runs no cleanup, and
// expects its plugin to die with it.
func TestNoOrphans(t *testing.T) {
	t.Parallel()
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), helperEnv+"="+bins["echo"].path+":"+bins["echo"].sm3)
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	host.Stderr = &stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = host.Process.Kill(); _ = host.Wait() }()
	line := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := stdout.Read(b)
		line <- strings.TrimSpace(string(b[:n]))
	}()
	var pid int
	select {
	case l := <-line:
		if pid, err = strconv.Atoi(l); err != nil || pid <= 0 {
			t.Fatalf("helper host printed %q; stderr: %s", l, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("helper host printed no pid; stderr: %s", stderr.String())
	}
	if !alive(pid) {
		t.Fatalf("plugin %d is not running", pid)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	killed := time.Now()
	eventually(t, 5*time.Second, fmt.Sprintf("plugin %d outlived its SIGKILLed host", pid), func() bool { return !alive(pid) })
	t.Logf("the plugin died %v after its host", time.Since(killed))
}

// alive reports whether pid runs: it exists and is not a zombie (a dead
// process its new parent has not reaped yet).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

func mustHandle(t testing.TB, r *Runner, route string) []byte {
	t.Helper()
	out, err := r.Handle(t.Context(), reqJSON(t, "id", route, "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustHandleEcho(t testing.TB, r *Runner) []byte {
	t.Helper()
	out, err := r.Handle(t.Context(), reqJSON(t, "id", "echo", "/", nil), taggingHost(t, "id", "x"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hasRecord(sink *logSink, match func(map[string]any) bool) bool {
	for _, rec := range sink.records() {
		if match(rec) {
			return true
		}
	}
	return false
}

// copyBinary copies a test plugin into the test's own directory.
func copyBinary(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(bins[name].path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// replace puts content at path through a rename.
func replace(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, content, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// flipped is b with one byte in the middle inverted.
func flipped(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)/2] ^= 0xff
	return c
}

func sm3Must(t *testing.T, path string) string {
	sum, err := sm3File(path)
	if err != nil {
		t.Skip(err)
	}
	return sum
}
