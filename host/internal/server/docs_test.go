package server_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/openplatform"
)

// TestDocsCenter: 文档中心 — the reference lists exactly the routes of
// /openapi.json, the open API grouped by capability; a route's page has
// its examples and every error code with its status; the signing examples
// in shell (curl and OpenSSL) and Python make a signed call that succeeds
// against a real host, where those tools exist.
func TestDocsCenter(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	raw := h.call("", "GET", "/openapi.json", nil)
	if err := json.Unmarshal(raw.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete":
				want = append(want, strings.ToUpper(m)+" "+p)
			}
		}
	}
	var list struct {
		Groups []struct {
			Key, Name, Kind string
			Routes          []struct{ Method, Path, Summary string }
		} `json:"groups"`
		Routes int `json:"routes"`
	}
	h.must("", "GET", "/open/v1/docs", nil).decode(t, &list)
	var got []string
	capOf := map[string]string{}
	for _, g := range list.Groups {
		for _, r := range g.Routes {
			got = append(got, r.Method+" "+r.Path)
			if g.Kind == "capability" {
				capOf[r.Path] = g.Key
			}
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || list.Routes != len(want) || len(want) < 200 {
		t.Fatalf("the docs center lists %d routes, /openapi.json %d:\n%s\n---\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if capOf["/identity/decodeIdentityCode"] != "code-decode" || capOf["/api/showPersonalCode"] != "personal-code" {
		t.Fatalf("capabilities: %v", capOf)
	}
	h.must("", "GET", "/open/v1/docs?keyword="+url.QueryEscape("解码"), nil).decode(t, &list)
	if list.Routes == 0 || list.Routes >= len(want) {
		t.Fatalf("keyword search: %d routes", list.Routes)
	}

	var page struct {
		Summary, Auth, Capability string
		RequestExample            map[string]any `json:"requestExample"`
		ResponseExample           struct {
			Response struct {
				Data map[string]any
			}
		} `json:"responseExample"`
		Errors []struct {
			Code    string
			Status  int
			Meaning string
		} `json:"errors"`
	}
	h.must("", "GET", "/open/v1/docs/route?method=POST&path="+url.QueryEscape("/identity/decodeIdentityCode"), nil).decode(t, &page)
	codes := map[string]int{}
	for _, e := range page.Errors {
		if e.Meaning == "" || e.Status < 400 {
			t.Errorf("error %+v has no meaning or status", e)
		}
		codes[e.Code] = e.Status
	}
	if page.Auth != "app" || page.Capability != "code-decode" || page.RequestExample["codeContent"] == nil ||
		page.ResponseExample.Response.Data["userId"] == nil || codes["FailedOperation.CodeTampered"] != 400 ||
		codes["UnauthorizedOperation.SceneSwitchedOff"] != 403 || codes["AuthFailure.NonceUsed"] == 0 {
		t.Fatalf("decode's page: %+v", page)
	}
	if a := h.call("", "GET", "/open/v1/docs/route?method=GET&path=/nope", nil); a.Status != 404 {
		t.Fatalf("an unknown route's page: %d", a.Status)
	}
	var changes struct {
		Items []struct {
			Version  string
			Upcoming bool
			Items    []string
		} `json:"items"`
	}
	h.must("", "GET", "/open/v1/docs/changelog", nil).decode(t, &changes)
	if len(changes.Items) < 2 || !changes.Items[0].Upcoming || len(changes.Items[1].Items) == 0 {
		t.Fatalf("changelog: %+v", changes)
	}

	// The signing examples are real programs.
	app := h.app(admin, map[string]any{"name": "文档示例"})
	env := append(os.Environ(), "BASE="+h.URL, "APP_ID="+app.AppID, "APP_SECRET="+app.AppSecret)
	dir := t.TempDir()
	run := func(name, tool string, args ...string) {
		t.Helper()
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s example not run: no %s", name, tool)
			return
		}
		cmd := exec.Command(tool, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), app.AppID) {
			t.Fatalf("the %s example: %v\n%s", name, err, out)
		}
	}
	shell := filepath.Join(dir, "sign.sh")
	py := filepath.Join(dir, "sign.py")
	os.WriteFile(shell, []byte(openplatform.SigningExamples["shell"]), 0o700)
	os.WriteFile(py, []byte(openplatform.SigningExamples["python"]), 0o600)
	if _, err := exec.LookPath("openssl"); err == nil {
		run("shell", "bash", shell)
	}
	run("python", "python3", py)
	var sg struct {
		Examples map[string]string `json:"examples"`
	}
	h.must("", "GET", "/open/v1/docs/signing", nil).decode(t, &sg)
	if sg.Examples["go"] == "" || sg.Examples["shell"] != openplatform.SigningExamples["shell"] || sg.Examples["python"] == "" {
		t.Fatal("the signing page's examples")
	}
}
