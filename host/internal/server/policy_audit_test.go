package server_test

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/policies"
	"github.com/opencitycode/citycode/sdk/client"
)

func embeddedBundle(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(policies.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		b, err := fs.ReadFile(policies.FS(), p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Journey 5: a policy author's broken bundle is refused and the serving one
// keeps deciding; a good one is taken at once.
func TestPolicyUpload(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	_, xhAdmin := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
	ja, _ := h.subPlatform(admin, "静安区子平台", "310106", "jingan_admin")

	var st struct {
		Version   string `json:"version"`
		LastError string `json:"lastError"`
	}
	h.must(admin, "GET", "/console/policies", nil).decode(t, &st)
	v1 := st.Version
	denied := func() {
		t.Helper()
		if a := h.call(xhAdmin, "GET", "/console/platforms/"+ja, nil); a.Status != 403 {
			t.Fatalf("the serving policy stopped deciding: %d %s", a.Status, a.Code)
		}
	}
	denied()

	good := embeddedBundle(t)
	syntax := embeddedBundle(t)
	syntax["authz/authz.rego"] += "\nthis is not rego {\n"
	// Compiles, but lets sub-platform admins create platforms: the bundle's
	// own tests catch it.
	failing := embeddedBundle(t)
	failing["authz/authz.rego"] = strings.Replace(failing["authz/authz.rego"], `"platform.create", `, "", 1)
	if failing["authz/authz.rego"] == good["authz/authz.rego"] {
		t.Fatal("the test's policy edit no longer applies")
	}

	for name, files := range map[string]map[string]string{"syntax error": syntax, "failing test": failing} {
		a := h.call(admin, "PUT", "/console/policies", map[string]any{"files": files})
		if a.Status != 400 || a.Code != fault.CodePolicyRejected {
			t.Fatalf("%s: %d %s %s", name, a.Status, a.Code, a.Msg)
		}
		if name == "failing test" && !strings.Contains(a.Msg, "_test") {
			t.Fatalf("refusal does not name the failing test: %s", a.Msg)
		}
		h.must(admin, "GET", "/console/policies", nil).decode(t, &st)
		if st.Version != v1 {
			t.Fatalf("%s changed the serving version", name)
		}
		denied()
	}

	// A sub-platform admin may not change policies at all.
	if a := h.call(xhAdmin, "PUT", "/console/policies", map[string]any{"files": good}); a.Status != 403 {
		t.Fatalf("sub-platform admin uploaded policies: %d", a.Status)
	}

	good["authz/authz.rego"] += "\n# reviewed 2026-11\n"
	h.must(admin, "PUT", "/console/policies", map[string]any{"files": good})
	h.must(admin, "GET", "/console/policies", nil).decode(t, &st)
	if st.Version == v1 {
		t.Fatal("an accepted bundle did not change the version")
	}
	denied()
}

// The audit trail records console changes, logins and API calls, is
// scoped like everything else, exports, and detects an edited row.
func TestAuditTrail(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	xh, xhAdmin := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
	app := h.app(xhAdmin, map[string]any{"name": "徐汇医院通"})
	h.call(xhAdmin, "POST", "/console/login", map[string]string{"account": "xuhui_admin", "password": "wrong", "captchaId": "x", "captchaCode": "1"})
	secret, _ := hex.DecodeString(app.AppSecret)
	if err := client.New(h.URL, app.AppID, secret).Call(context.Background(), "/api/getAppInfo", map[string]string{}, nil); err != nil {
		t.Fatal(err)
	}
	client.New(h.URL, app.AppID, make([]byte, 32)).Call(context.Background(), "/api/getAppInfo", map[string]string{}, nil)
	_, apiItems := h.list(admin, "/console/audit/logs?type=api")
	if len(apiItems) != 1 || apiItems[0]["result"] != "failure" {
		t.Fatalf("API-call log: want only the refused call, got %v", apiItems)
	}

	_, items := h.list(admin, "/console/audit/logs?pageSize=500")
	var sawCreate, sawLogin bool
	for _, e := range items {
		if e["action"] == "app.create" && e["account"] == "xuhui_admin" && e["result"] == "success" && e["platformId"] == xh {
			sawCreate = true
		}
		if e["type"] == "login" && e["account"] == "xuhui_admin" && e["result"] == "success" {
			sawLogin = true
		}
		if strings.Contains(string(mustJSON(e)), app.AppSecret) {
			t.Fatal("the app secret reached the audit trail")
		}
	}
	if !sawCreate || !sawLogin {
		t.Fatalf("audit lacks app.create (%v) or the login (%v): %v", sawCreate, sawLogin, items)
	}
	_, xhItems := h.list(xhAdmin, "/console/audit/logs?pageSize=500")
	for _, e := range xhItems {
		if e["platformId"] != xh {
			t.Fatalf("xuhui admin sees audit entry of platform %v", e["platformId"])
		}
	}

	a := h.must(admin, "GET", "/console/audit/logs/export?format=csv&type=operation", nil)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(a.Raw), "\ufeff"))).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "序号" {
		t.Fatalf("csv export: %v %q", err, a.Raw[:min(200, len(a.Raw))])
	}

	var v struct {
		OK        bool   `json:"ok"`
		BrokenSeq int64  `json:"brokenSeq"`
		Reason    string `json:"reason"`
	}
	h.must(admin, "GET", "/console/audit/verify", nil).decode(t, &v)
	if !v.OK {
		t.Fatalf("fresh chain broken: %+v", v)
	}
	var seq int64
	if err := h.srv.Pool().QueryRow(context.Background(),
		"UPDATE audit_entries SET action = 'app.read' WHERE action = 'app.create' RETURNING seq").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	h.must(admin, "GET", "/console/audit/verify", nil).decode(t, &v)
	if v.OK || v.BrokenSeq != seq {
		t.Fatalf("edited row %d not detected: %+v", seq, v)
	}
}
