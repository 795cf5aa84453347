package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(args, &out, &errOut)
	return out.String() + errOut.String(), err
}

// `citycode migrate` takes an empty database to the current schema and
// reports it.
func TestMigrateFromEmptyDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.NewEmpty(t))
	out, err := runCLI(t, "migrate", "status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) migration\(s\), (\d+) pending`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("status of an empty database: %s", out)
	}
	out, err = runCLI(t, "migrate", "up")
	if err != nil || !strings.Contains(out, "applied "+m[1]+" migration(s)") {
		t.Fatalf("up: %v %s", err, out)
	}
	out, _ = runCLI(t, "migrate", "status")
	if !strings.Contains(out, ", 0 pending") {
		t.Fatalf("after up: %s", out)
	}
	if out, _ := runCLI(t, "migrate", "up"); !strings.Contains(out, "applied 0 migration(s)") {
		t.Fatalf("second up: %s", out)
	}
}

// Editing one audit row makes `citycode audit verify` fail and name it.
func TestAuditVerifyNamesTheEditedRow(t *testing.T) {
	pool, url := storetest.NewWithURL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	l := audit.New(audit.Config{Pool: pool})
	for i := range 5 {
		if err := l.Record(ctx, audit.Entry{Type: audit.TypeOperation, Account: "admin", Action: "app.update", Target: "appId=cc" + strconv.Itoa(i), Result: audit.Success}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close(ctx)

	out, err := runCLI(t, "audit", "verify")
	if err != nil || !strings.Contains(out, "audit chain OK: 5 entries") {
		t.Fatalf("intact chain: %v %s", err, out)
	}
	if _, err := pool.Exec(ctx, "UPDATE audit_entries SET account = 'someone_else' WHERE seq = 3"); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "audit", "verify")
	var ec exitCode
	if !errors.As(err, &ec) || ec != 1 {
		t.Fatalf("broken chain exit: %v", err)
	}
	if !strings.Contains(out, "seq=3") {
		t.Fatalf("verify does not name row 3: %s", out)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	out, err := runCLI(t, "policy", "test")
	if err != nil || !strings.Contains(out, "coverage") {
		t.Fatalf("policy test: %v %s", err, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package p\n\nallow if input.x == 1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "p_test.rego"), []byte("package p_test\n\nimport data.p\n\ntest_allow if p.allow with input as {\"x\": 2}\n"), 0o600)
	out, err = runCLI(t, "policy", "test", dir)
	var ec exitCode
	if !errors.As(err, &ec) || ec != 1 || !strings.Contains(out, "test_allow") {
		t.Fatalf("a failing Rego test passed: %v %s", err, out)
	}
}

// `citycode demo --json` registers an app whose printed secret signs.
func TestDemoPrintsWorkingCredentials(t *testing.T) {
	pool, url := storetest.NewWithURL(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("CITYCODE_SECURITY_MASTER_KEY", "000102030405060708090a0b0c0d0e0f")
	out, err := runCLI(t, "demo", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var d Demo
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(d.AppSecret) != 64 || len(d.DataKey) != 32 || !strings.Contains(d.SM2PrivateKey, "PRIVATE KEY") ||
		d.Rules["identity"] == "" || d.Rules["health"] == "" || d.Rules["payment"] == "" {
		t.Fatalf("demo credentials %+v", d)
	}
	var sealed string
	if err := pool.QueryRow(context.Background(), "SELECT secret_sealed FROM apps WHERE id = $1", d.CityCodeAppID).Scan(&sealed); err != nil {
		t.Fatalf("demo app not stored: %v", err)
	}
	if strings.Contains(sealed, d.AppSecret) {
		t.Fatal("demo app secret stored in clear")
	}
}
