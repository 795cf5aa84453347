package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/sdk/client"
)

// A host killed (SIGKILL, no drain) in the middle of a decode load loses no
// acknowledged decode: every answer 200 has its usage event committed.
func TestKilledMidLoadLosesNoAcknowledgedVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a host process")
	}
	pool, dbURL := storetest.NewWithURL(t)
	bin := filepath.Join(t.TempDir(), "citycode")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	key := hex.EncodeToString([]byte("0123456789abcdef"))
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("CITYCODE_SECURITY_MASTER_KEY", key)
	env := append(os.Environ(), "CITYCODE_LOG_LEVEL=warn")
	node, cmd := startNode(t, bin, env)

	out, err := runCLI(t, "demo", "--json")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var d Demo
	json.Unmarshal([]byte(out), &d)
	secret, _ := hex.DecodeString(d.AppSecret)
	c := client.New(node, d.CityCodeAppID, secret)
	ctx := context.Background()
	ext, _ := json.Marshal(map[string]string{"name": "王五", "certNo": "11010519491231002X"})
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := c.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": d.CityCodeAppID, "codeDefId": d.Rules["identity"],
		"userExt": base64.StdEncoding.EncodeToString(ext)}, &opened); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for range 50 {
		var s struct {
			CodeContent string `json:"codeContent"`
		}
		if err := c.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": d.CityCodeAppID, "codeDefId": d.Rules["identity"], "userId": opened.UserID}, &s); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, s.CodeContent)
	}

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "GATE-1", "codeContent": codes[i%len(codes)]}, nil); err == nil {
					acked.Add(1)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	var committed int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM usage_events WHERE type = 'verify' AND result = 'success' AND org_id = 'GATE-1'").Scan(&committed); err != nil {
		t.Fatal(err)
	}
	if acked.Load() == 0 {
		t.Fatal("no decode succeeded before the kill: the test proves nothing")
	}
	if committed < acked.Load() {
		t.Fatalf("%d decodes acknowledged, only %d events committed", acked.Load(), committed)
	}
	t.Logf("%d decodes acknowledged before SIGKILL, %d events committed", acked.Load(), committed)
}
