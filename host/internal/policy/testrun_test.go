package policy_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/policies"
)

func TestRunTestsDefaultBundle(t *testing.T) {
	t.Parallel()
	rep, err := policy.RunTests(t.Context(), policies.FS())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Passed < 60 {
		t.Fatalf("default bundle:\n%s", rep)
	}
	for _, f := range []string{"authz/authz.rego", "openapi/openapi.rego", "plugins/plugins.rego", "risk/risk.rego"} {
		if rep.Files[f] < 90 {
			t.Errorf("coverage of %s = %.1f%%, want >= 90%%\n%s", f, rep.Files[f], rep)
		}
	}
	if rep.Coverage < 90 {
		t.Errorf("coverage %.1f%%", rep.Coverage)
	}
	t.Logf("\n%s", rep)
}

func TestRunTestsReportsFailures(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"p/p.rego": {Data: []byte("package p\n\nallow if input.ok\n\ndeny if input.bad\n")},
		"p/p_test.rego": {Data: []byte(`package p_test

import data.p

test_allow if p.allow with input as {"ok": true}

test_wrong if p.allow with input as {}

v := 1 if true

v := 2 if true

test_conflict if v == 1

todo_test_later if false
`)},
		"README.md": {Data: []byte("ignored")},
	}
	rep, err := policy.RunTests(t.Context(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Passed != 1 || rep.Failed != 1 || rep.Errored != 1 || rep.Skipped != 1 {
		t.Fatalf("report:\n%s", rep)
	}
	byName := map[string]policy.TestResult{}
	for _, r := range rep.Results {
		byName[r.Name] = r
	}
	if r := byName["test_wrong"]; r.Outcome != policy.TestFail || r.File != "p/p_test.rego" || r.Row != 7 || r.Package != "data.p_test" {
		t.Errorf("test_wrong: %+v", r)
	}
	if r := byName["test_conflict"]; r.Outcome != policy.TestError || r.Err == "" {
		t.Errorf("test_conflict: %+v", r)
	}
	// "deny" is never evaluated: half the policy's rules are covered.
	if c := rep.Files["p/p.rego"]; c <= 0 || c >= 100 {
		t.Errorf("coverage of p/p.rego = %.1f%%", c)
	}
	if _, ok := rep.Files["p/p_test.rego"]; ok {
		t.Error("test files counted in coverage")
	}
	for _, want := range []string{"FAIL  data.p_test.test_wrong (p/p_test.rego:7)", "ERROR data.p_test.test_conflict", "FAIL: 1 passed, 1 failed, 1 errors, 1 skipped"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

func TestRunTestsRefusesBrokenModules(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"syntax":  {"p.rego": {Data: []byte("package p\n\nallow if {\n")}},
		"compile": {"p.rego": {Data: []byte("package p\n\nallow if nope(1)\n")}},
		"test compile": {
			"p.rego":      {Data: []byte("package p\n\nallow := true\n")},
			"p_test.rego": {Data: []byte("package p_test\n\ntest_x if nope(1)\n")},
		},
		"empty": {},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := policy.RunTests(t.Context(), fsys); !errors.Is(err, policy.ErrBundleRejected) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
