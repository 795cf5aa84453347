package sdk_test

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the sdk light and public: code outside the host imports it,
// so it must not drag in the host's internals or its heavy dependencies.
func TestDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	// One line per sdk package: its import path, then every package it
	// depends on, directly or not (the same set as go list -deps).
	out, err := exec.Command(goTool, "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list ./...: %v", err)
	}
	forbidden := []string{"/host/", "labstack/echo", "jackc/pgx", "open-policy-agent", "tetratelabs/wazero"}
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		for dep := range strings.FieldsSeq(deps) {
			for _, f := range forbidden {
				if strings.Contains(dep, f) {
					t.Errorf("%s depends on %s (forbidden: %q)", pkg, dep, f)
				}
			}
		}
	}
}
