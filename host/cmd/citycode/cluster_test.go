package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
	"github.com/opencitycode/citycode/sdk/client"
)

// Two host processes sharing PostgreSQL and Redis are one platform: a nonce
// used on one is refused on the other.
func TestNonceSharedAcrossHostProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts two host processes")
	}
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CITYCODE_ALLOW_NO_REDIS") == "1" {
			t.Skip("no Redis")
		}
		t.Fatal("REDIS_URL is not set: run through `make test`")
	}
	pool, dbURL := storetest.NewWithURL(t)
	bin := filepath.Join(t.TempDir(), "citycode")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	key := hex.EncodeToString(codec.Random(16))
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"CITYCODE_SECURITY_MASTER_KEY="+key, "CITYCODE_LOG_LEVEL=warn")
	nodeA, _ := startNode(t, bin, env)
	nodeB, _ := startNode(t, bin, env)

	// Register an app in the shared database, as the console would.
	ctx := actor.With(context.Background(), actor.System())
	sealer, _ := codec.NewSealer(mustHex(t, key))
	engine, err := policy.New(ctx, policy.Config{PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	ten, err := tenancy.New(tenancy.Config{Pool: pool, Authz: engine, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	app, err := ten.CreateApp(ctx, &tenancy.CreateAppIn{
		PlatformID: tenancy.MainPlatformID,
		AppFields:  tenancy.AppFields{Name: "随申办", BusinessUnit: "市大数据中心"},
		Developer:  tenancy.DeveloperFields{Name: "张工"},
	})
	if err != nil {
		t.Fatal(err)
	}
	secret := mustHex(t, app.AppSecret)

	nonce := "shared-nonce-0123456789"
	same := client.WithNonce(func() string { return nonce })
	if err := client.New(nodeA, app.AppID, secret, same).Call(context.Background(), "/api/getAppInfo", map[string]string{}, nil); err != nil {
		t.Fatalf("first use on node A: %v", err)
	}
	err = client.New(nodeB, app.AppID, secret, same).Call(context.Background(), "/api/getAppInfo", map[string]string{}, nil)
	ae, ok := err.(*client.APIError)
	if !ok || ae.HTTPStatus != 401 || ae.Code != fault.CodeNonceUsed {
		t.Fatalf("replay on node B: %v", err)
	}
	if err := client.New(nodeB, app.AppID, secret).Call(context.Background(), "/api/getAppInfo", map[string]string{}, nil); err != nil {
		t.Fatalf("fresh nonce on node B: %v", err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startNode runs `citycode serve` on a free port and returns its base URL
// once it answers /readyz; the process is stopped with SIGTERM at cleanup.
func startNode(t *testing.T, bin string, env []string) (string, *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--http.addr", addr)
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
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
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url, cmd
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node %s not ready:\n%s", addr, stderr.String())
	return "", nil
}
