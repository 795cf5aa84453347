// Package host_test holds checks over the whole host: which package may
// import which heavy dependency.
package host_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// owners lists, for each heavy dependency, the only host packages that may
// import it directly (STYLE.md: one heavy dependency, one owning package).
// Test files are not counted.
var owners = map[string][]string{
	"github.com/labstack/echo":           {"host/internal/httpapi"},
	"github.com/open-policy-agent/opa":   {"host/internal/policy"},
	"github.com/emmansun/gmsm":           {"host/internal/codec"},
	"github.com/tetratelabs/wazero":      {"host/internal/pluginhost/wasmrt"},
	"github.com/hashicorp/go-plugin":     {"host/internal/pluginhost/nativert"},
	"github.com/xuri/excelize":           {"host/internal/audit", "host/internal/codeengine", "host/internal/pluginhost", "host/internal/risk", "host/internal/stats", "host/internal/scenes"},
	"github.com/redis/go-redis":          {"host/internal/nonce", "host/internal/server", "host/internal/traffic", "host/internal/risk", "host/internal/openplatform"},
	"github.com/getkin/kin-openapi":      {"host/internal/httpapi"},
	"github.com/go-playground/validator": {"host/internal/httpapi"},
}

// noPgx are packages that must not touch the database driver: domain code
// sees its repository, never pgx rows, through these layers.
var noPgx = []string{"host/internal/httpapi", "host/internal/fault", "host/internal/actor", "host/internal/codec", "host/internal/policy", "host/internal/config"}

func TestDependencyOwnership(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "github.com/opencitycode/citycode/host/...")
	cmd.Dir = ".."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	const mod = "github.com/opencitycode/citycode/"
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, mod)
		for _, imp := range p.Imports {
			for dep, allowed := range owners {
				if strings.HasPrefix(imp, dep) && !contains(allowed, pkg) {
					t.Errorf("%s imports %s; only %v may", pkg, imp, allowed)
				}
			}
			if strings.HasPrefix(imp, "github.com/jackc/pgx") && contains(noPgx, pkg) {
				t.Errorf("%s imports %s", pkg, imp)
			}
			if imp == mod+"host/internal/server" && pkg != "host/cmd/citycode" {
				t.Errorf("%s imports the composition root", pkg)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
