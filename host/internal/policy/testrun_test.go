package policy_test

import (
	"testing"

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
