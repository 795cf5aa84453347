package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// TestPluginScaffoldJourney is a vendor's first hour, for both runtimes:
// scaffold a plugin, test it, install it into a running host, enable and
// bind it, and scan a code to see its landing page — with the host picking
// the plugin up without a restart.
func TestPluginScaffoldJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins and starts a host process")
	}
	_, dbURL := storetest.NewWithURL(t)
	key := hex.EncodeToString(codec.Random(16))
	pluginsDir := filepath.Join(t.TempDir(), "plugins")
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("CITYCODE_SECURITY_MASTER_KEY", key)
	t.Setenv("CITYCODE_PLUGINS_DIR", pluginsDir)

	bin := filepath.Join(t.TempDir(), "citycode")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The scaffolded plugin's own real-runtime test runs this binary.
	t.Setenv("CITYCODE_BIN", bin)
	node, _ := startNode(t, bin, append(os.Environ(), "CITYCODE_LOG_LEVEL=warn", "CITYCODE_PLUGINS_RELOAD=200ms",
		"CITYCODE_PLUGINS_DIR="+filepath.Join(t.TempDir(), "node-plugins")))
	// The demo's object codes hold the public base of the configuration;
	// the test scans them on the node it started.
	out, err := runCLI(t, "demo", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var d Demo
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.ObjectCodes) != 3 {
		t.Fatalf("demo: %v %s", err, out)
	}
	token := func(u string) string { return u[strings.LastIndex(u, "/c/")+3:] }

	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
	for i, rt := range []string{"wasm", "native"} {
		t.Run(rt, func(t *testing.T) {
			name := "street-" + rt
			dir := filepath.Join(t.TempDir(), name)
			if out, err := runCLI(t, "plugin", "new", name, "--runtime", rt, "--dir", dir, "--sdk", repo); err != nil {
				t.Fatalf("new: %v\n%s", err, out)
			}
			if out, err := runCLI(t, "plugin", "test", dir); err != nil {
				t.Fatalf("test: %v\n%s", err, out)
			}
			for _, args := range [][]string{
				{"plugin", "install", dir},
				{"plugin", "enable", name},
				{"plugin", "bind", name, "--code", token(d.ObjectCodes[i])},
			} {
				if out, err := runCLI(t, args...); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, out)
				}
			}
			if out, _ := runCLI(t, "plugin", "list"); !strings.Contains(out, name) {
				t.Fatalf("list: %s", out)
			}
			url := node + "/c/" + token(d.ObjectCodes[i])
			deadline := time.Now().Add(20 * time.Second)
			for {
				resp, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(body), "<h1>"+name+"</h1>") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("landing page of %s: %d %s", name, resp.StatusCode, body)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
	// The third code has no binding: the standard landing page.
	resp, err := http.Get(node + "/c/" + token(d.ObjectCodes[2]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "一物一码") {
		t.Fatalf("standard page: %d %s", resp.StatusCode, body)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPluginDevReloads: `citycode plugin dev` installs and activates the
// plugin again whenever its .wasm changes, so running hosts pick up a
// rebuild without a restart. The command runs as its own process, built
// without the race detector, as a developer runs it.
func TestPluginDevReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and a plugin")
	}
	pool, dbURL := storetest.NewWithURL(t)
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "..", "..", "plugins", "examples", "hello")
	dir := t.TempDir()
	wasm := filepath.Join(dir, "hello.wasm")
	bin := filepath.Join(t.TempDir(), "citycode")
	for _, b := range []*exec.Cmd{
		exec.Command("go", "build", "-o", bin, "."),
		exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", wasm, "."),
	} {
		if b.Args[len(b.Args)-2] == wasm {
			b.Dir, b.Env = src, append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		}
		if out, err := b.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	man, err := os.ReadFile(filepath.Join(src, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.json"), man, 0o644); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	dev := exec.Command(bin, "plugin", "dev", dir, "--interval", "100ms")
	dev.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "CITYCODE_SECURITY_MASTER_KEY="+hex.EncodeToString(codec.Random(16)),
		"CITYCODE_PLUGINS_DIR="+filepath.Join(t.TempDir(), "plugins"))
	dev.Stdout, dev.Stderr = &out, &out
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { dev.Process.Signal(syscall.SIGTERM); dev.Wait() }()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for strings.Count(out.String(), "dev: reloaded") < n {
			if time.Now().After(deadline) {
				t.Fatalf("want %d reloads: %s", n, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(1)
	// A rebuild: the same module with a custom section appended (valid
	// WASM, different bytes).
	f, err := os.OpenFile(wasm, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x00\x06\x04test!"))
	f.Close()
	waitFor(2)
	var active string
	var versions int
	pool.QueryRow(context.Background(), `SELECT active_version, (SELECT count(*) FROM plugin_versions WHERE name = 'hello') FROM plugins WHERE name = 'hello'`).Scan(&active, &versions)
	if versions != 2 || !strings.Contains(active, "-dev.") {
		t.Fatalf("active %q of %d versions", active, versions)
	}
	var sum string
	pool.QueryRow(context.Background(), `SELECT sm3 FROM plugin_versions WHERE name = 'hello' AND version = $1`, active).Scan(&sum)
	b, _ := os.ReadFile(wasm)
	if sum != codec.SM3Hex(b) {
		t.Fatal("the active version is not the rebuilt module")
	}
}
