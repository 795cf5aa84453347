// Package plugintest runs a plugin in its real runtime against a real host
// on a throwaway database, so a plugin's tests exercise exactly what a
// citizen's scan will: the host verifies a real object code, routes it to
// the plugin, and the plugin's capability calls reach PostgreSQL through
// the host.
//
//	func TestLanding(t *testing.T) {
//		h := plugintest.Start(t, plugintest.Options{})
//		status, page := h.Get(t, h.Code(0), "/")
//		...
//	}
//
// Start builds the plugin in Options.Dir (for the runtime its plugin.json
// names), creates a database on the server of DATABASE_URL, starts
// `citycode serve` on a free port, seeds three active object codes
// (`citycode demo`), installs, enables and binds the plugin to object
// codes, and waits until the plugin answers. Everything is removed when
// the test ends. The citycode binary is $CITYCODE_BIN (`citycode plugin
// test` sets it to itself), else citycode on the PATH, else one built from
// the module with the go tool. Without DATABASE_URL the test is skipped.
//
// The harness speaks to the host only through its command line and HTTP:
// it imports nothing of the host, as every package of the sdk.
package plugintest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure a harness.
type Options struct {
	// Dir holds the plugin (plugin.json and its source); default ".".
	Dir string
	// Config is the platform's configuration of the plugin (JSON).
	Config string
	// Bind routes codes to the plugin: "kind" (default: all object codes)
	// or "code" (only the first code; the others get the standard page).
	Bind string
}

// Harness is a running host with the plugin installed and bound.
type Harness struct {
	// URL is the host's base URL.
	URL string
	// Plugin is the plugin's name.
	Plugin string
	codes  []string
	bin    string
	env    []string
	demo   demo
}

// demo is what `citycode demo --json` prints.
type demo struct {
	CityCodeAppID string            `json:"cityCodeAppId"`
	AppSecret     string            `json:"appSecret"`
	Rules         map[string]string `json:"rules"`
	ObjectCodes   []string          `json:"objectCodes"`
}

// Code is the token of the i-th seeded object code (0–2).
func (h *Harness) Code(i int) string { return h.codes[i] }

var pages = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Get fetches a page of a code ("/" for its landing page) and answers the
// status and body.
func (h *Harness) Get(t testing.TB, code, path string) (int, string) {
	t.Helper()
	resp, err := pages.Get(h.URL + "/c/" + code + path)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// Post submits to an action of a code.
func (h *Harness) Post(t testing.TB, code, path, contentType string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	resp, err := pages.Post(h.URL+"/c/"+code+path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	status, b := read(t, resp)
	return status, b, resp.Header
}

func read(t testing.TB, resp *http.Response) (int, string) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// Admin calls one of the plugin's admin routes (manifest kind admin) as an
// operator of the main platform, and answers its JSON. path may carry a
// query (/requests?q=待审核).
func (h *Harness) Admin(t testing.TB, method, path, body string) string {
	t.Helper()
	out, err := h.AdminErr(method, path, body)
	if err != nil {
		t.Fatalf("plugintest: admin %s %s: %v", method, path, err)
	}
	return out
}

// AdminErr is Admin answering the refusal instead of failing the test:
// the error's text holds the host's error code and message.
func (h *Harness) AdminErr(method, path, body string) (string, error) {
	args := []string{"plugin", "admin", h.Plugin, method, path}
	if body != "" {
		args = append(args, "--json", body)
	}
	out, err := run(h.bin, h.env, args...)
	return strings.TrimSpace(out), err
}

// CLI runs a citycode command against the harness's database (for
// example "plugin", "disable", name).
func (h *Harness) CLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := run(h.bin, h.env, args...)
	if err != nil {
		t.Fatalf("citycode %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type manifest struct {
	Name string `json:"name"`
}

// Start runs the host with the plugin.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	if testing.Short() {
		t.Skip("plugintest starts a host process")
	}
	server := os.Getenv("DATABASE_URL")
	if server == "" {
		t.Skip("plugintest: set DATABASE_URL to a PostgreSQL server the test may create databases on, to run the plugin in a real host")
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	raw, err := os.ReadFile(filepath.Join(dir, "plugin.json"))
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("plugintest: plugin.json: %v", err)
	}
	bin := citycode(t)
	tmp := t.TempDir()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	base := []string{"DATABASE_URL=" + server, "CITYCODE_SECURITY_MASTER_KEY=" + hex.EncodeToString(key),
		"CITYCODE_PLUGINS_DIR=" + filepath.Join(tmp, "plugins"), "CITYCODE_LOG_LEVEL=warn"}
	if out, err := run(bin, base, "plugin", "build", dir); err != nil {
		t.Fatalf("plugintest: build: %v\n%s", err, out)
	}
	dbURL, err := run(bin, base, "testdb", "create")
	if err != nil {
		t.Fatalf("plugintest: testdb: %v\n%s", err, dbURL)
	}
	dbURL = strings.TrimSpace(dbURL)
	env := append(append([]string{}, base...), "DATABASE_URL="+dbURL)
	t.Cleanup(func() { _, _ = run(bin, base, "testdb", "drop", dbURL) })

	addr := freeAddr(t)
	h := &Harness{URL: "http://" + addr, Plugin: m.Name, bin: bin, env: append(env, "CITYCODE_HTTP_PUBLIC_BASE_URL=http://"+addr)}
	serve(t, bin, append(h.env, "CITYCODE_PLUGINS_RELOAD=200ms", "CITYCODE_PLUGINS_DIR="+filepath.Join(tmp, "host-plugins")), addr)

	if err := json.Unmarshal([]byte(h.CLI(t, "demo", "--json")), &h.demo); err != nil || len(h.demo.ObjectCodes) < 3 {
		t.Fatalf("plugintest: demo codes: %v", err)
	}
	for _, u := range h.demo.ObjectCodes {
		h.codes = append(h.codes, u[strings.LastIndex(u, "/c/")+3:])
	}
	h.CLI(t, "plugin", "install", dir)
	h.CLI(t, "plugin", "enable", m.Name)
	if o.Config != "" {
		h.CLI(t, "plugin", "config", m.Name, "--json", o.Config)
	}
	if o.Bind == "code" {
		h.CLI(t, "plugin", "bind", m.Name, "--code", h.codes[0])
	} else {
		h.CLI(t, "plugin", "bind", m.Name, "--kind", "object")
	}
	h.waitFor(t, m.Name)
	return h
}

// waitFor waits until the host routes the first code to the plugin. It
// asks for a page no plugin can have (manifest paths hold no '.'), so the
// plugin itself is not called and its state is untouched.
func (h *Harness) waitFor(t testing.TB, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := pages.Get(h.URL + "/c/" + h.codes[0] + "/.plugintest")
		if err == nil {
			resp.Body.Close()
			if strings.HasPrefix(resp.Header.Get("X-CityCode-Plugin"), name+"/") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugintest: the host does not serve %s's landing page", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// citycode answers the host binary: $CITYCODE_BIN, or one built once per
// test process.
func citycode(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CITYCODE_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("citycode"); err == nil {
		return p
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "citycode-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "citycode")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/opencitycode/citycode/host/cmd/citycode").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build citycode: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// run runs the citycode command and answers its standard output; on
// failure the error carries its standard error (log lines never mix into
// the output a test parses).
func run(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts the host and waits until it is ready; it is stopped when the
// test ends.
func serve(t testing.TB, bin string, env []string, addr string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--http.addr", addr)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("host log:\n%s", stderr.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("plugintest: host not ready:\n%s", stderr.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
