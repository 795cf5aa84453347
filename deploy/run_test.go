package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestMakeRunOnFreshMachine does what `make run` does on a machine with
// PostgreSQL server binaries but no server configured: DATABASE_URL unset,
// an empty data directory. The platform must initialise a private cluster,
// migrate, print the initial administrator's one-time password, answer
// /healthz and /readyz, shut down cleanly on SIGTERM, and start again on the
// same data without a new password.
func TestMakeRunOnFreshMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	repo, _ := filepath.Abs("..")
	dir := t.TempDir()
	bin := filepath.Join(dir, "citycode")
	build := exec.Command("go", "build", "-o", bin, "./host/cmd/citycode")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	pgPort := freePort(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CITYCODE_DATA_DIR=" + data, fmt.Sprintf("CITYCODE_PG_PORT=%d", pgPort),
		"CITYCODE_SECURITY_MASTER_KEY_FILE=" + filepath.Join(data, "master.key"),
		"CITYCODE_LOG_FORMAT=text"}
	t.Cleanup(func() {
		stop := exec.Command(filepath.Join(repo, "deploy/pg-local.sh"), "stop")
		stop.Dir, stop.Env = repo, env
		if out, err := stop.CombinedOutput(); err != nil {
			t.Logf("pg stop: %v\n%s", err, out)
		}
		// As root the cluster may live outside the data directory (see
		// pg-local.sh); remove it too.
		if target, err := os.Readlink(filepath.Join(data, "pg")); err == nil {
			os.RemoveAll(target)
		}
	})

	first := start(t, repo, bin, env)
	if !strings.Contains(first.banner, "Initial administrator: admin / ") {
		t.Fatalf("first start did not print the initial administrator:\n%s", first.banner)
	}
	first.stop(t)

	second := start(t, repo, bin, env)
	if strings.Contains(second.banner, "Initial administrator") {
		t.Fatalf("second start printed a new initial password:\n%s", second.banner)
	}
	second.stop(t)
}

type running struct {
	cmd    *exec.Cmd
	banner string
	done   chan error
}

func start(t *testing.T, repo, bin string, env []string) *running {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(filepath.Join(repo, "deploy/run.sh"), bin)
	cmd.Dir = repo
	cmd.Env = append(env, "CITYCODE_HTTP_ADDR="+addr)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	go func() { r.done <- cmd.Wait() }()

	deadline := time.After(90 * time.Second)
	var banner strings.Builder
	for !strings.Contains(banner.String(), "API docs:") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("citycode exited before serving:\nstdout:\n%s\nstderr:\n%s", banner.String(), stderr.String())
			}
			banner.WriteString(l + "\n")
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no banner within 90s:\n%s\nstderr:\n%s", banner.String(), stderr.String())
		}
	}
	// The password line follows the docs line on first start.
	select {
	case l := <-lines:
		banner.WriteString(l + "\n")
	case <-time.After(500 * time.Millisecond):
	}
	r.banner = banner.String()
	for _, path := range []string{"/healthz", "/readyz"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("citycode did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		t.Fatal("citycode did not stop within 30s of SIGTERM")
	}
}
