package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt/wasmrttest"
)

// Plugins are built once per test binary, from the repository's sources,
// with the go tool: the same bytes a vendor would ship.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	repoRoot  = func() string {
		_, f, _, _ := runtime.Caller(0)
		return filepath.Join(filepath.Dir(f), "..", "..", "..")
	}()
	probeSrc   = filepath.Join(repoRoot, "host", "internal", "server", "testdata", "probe")
	helloSrc   = filepath.Join(repoRoot, "plugins", "examples", "hello")
	reportSrc  = filepath.Join(repoRoot, "plugins", "examples", "report")
	builtFiles = map[string]string{}
)

func buildPlugins(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "citycode-plugins-")
		if buildErr != nil {
			return
		}
		jobs := []struct {
			name, src string
			wasm      bool
		}{
			{"hello.wasm", helloSrc, true}, {"report", reportSrc, false},
			{"probe.wasm", probeSrc, true}, {"probe", probeSrc, false},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(jobs))
		for i, j := range jobs {
			wg.Go(func() {
				out := filepath.Join(buildDir, j.name)
				args := []string{"build", "-trimpath", "-o", out}
				env := append(os.Environ(), "CGO_ENABLED=0")
				if j.wasm {
					args = append(args, "-buildmode=c-shared")
					env = append(env, "GOOS=wasip1", "GOARCH=wasm")
				}
				cmd := exec.Command("go", append(args, ".")...)
				cmd.Dir, cmd.Env = j.src, env
				if b, err := cmd.CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("go build %s: %v\n%s", j.name, err, b)
				}
			})
		}
		wg.Wait()
		var modules []string
		for i, j := range jobs {
			if errs[i] != nil {
				buildErr = errs[i]
				return
			}
			builtFiles[j.name] = filepath.Join(buildDir, j.name)
			if j.wasm {
				modules = append(modules, builtFiles[j.name])
			}
		}
		buildErr = wasmrttest.Warm(wasmCache, modules...)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// install uploads a plugin through the console.
func (h *host) install(admin string, manifest []byte, artefact []byte, signature string) answer {
	h.t.Helper()
	return h.call(admin, "POST", "/console/plugins", map[string]any{"manifest": json.RawMessage(manifest),
		"artefact": base64.StdEncoding.EncodeToString(artefact), "signature": signature})
}

// bind routes codes to a plugin and puts the binding online.
func (h *host) bind(admin string, body map[string]any) int64 {
	h.t.Helper()
	var b struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/landing/bindings", body).decode(h.t, &b)
	h.must(admin, "POST", fmt.Sprintf("/console/landing/bindings/%d/submit", b.ID), nil)
	h.must(admin, "POST", fmt.Sprintf("/console/landing/bindings/%d/approve", b.ID), nil)
	return b.ID
}

var noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// scan is a citizen's phone opening a code's URL.
func (h *host) scan(method, path string, body io.Reader, contentType string) (int, string, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// objectCodes sets up an object type, rule and app, and activates n codes.
func (h *host) objectCodes(admin string, n int) []string {
	h.t.Helper()
	var typ, rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/object-types", map[string]any{"name": "公共厕所", "management": "local",
		"requiredFields": []map[string]any{{"name": "address", "required": true}}}).decode(h.t, &typ)
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "公厕码", "form": "static", "family": "object"}).decode(h.t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "环境局"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(h.t, h, app)
	ctx := context.Background()
	var batch struct {
		BatchID string `json:"batchId"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": rule.ID, "typeId": typ.ID, "regionCode": "310104", "count": n}, &batch); err != nil {
		h.t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Token string `json:"token"`
		} `json:"items"`
	}
	if _, raw, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", fmt.Sprintf("limit=%d", n), nil); err != nil || decodeData(raw, &list) != nil {
		h.t.Fatalf("batch codes: %v", err)
	}
	var tokens []string
	for i, it := range list.Items {
		if err := c.Call(ctx, "/openapi/v1/object-codes/"+it.Token+"/activate", map[string]any{"attributes": map[string]any{"address": fmt.Sprintf("中山路 %d 号", i+1)},
			"ownerUnit": "环卫所"}, nil); err != nil {
			h.t.Fatal(err)
		}
		tokens = append(tokens, it.Token)
	}
	return tokens
}

func manifestWith(t testing.TB, src string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(src, "plugin.json")), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func probeManifest(t testing.TB, name, runtime, entry string) []byte {
	t.Helper()
	routes := []map[string]any{}
	for _, r := range []string{"home", "panic", "loop", "alloc", "exit", "slow", "undeclared", "peek", "resolve", "write", "delete", "go", "caps", "modify", "once"} {
		path := "/" + r
		if r == "home" {
			path = "/"
		}
		routes = append(routes, map[string]any{"name": r, "kind": "landing", "path": path, "tourist": true})
	}
	routes = append(routes, map[string]any{"name": "admin-stats", "kind": "admin", "path": "/stats"},
		map[string]any{"name": "admin-stats-post", "kind": "admin", "method": "POST", "path": "/stats"})
	// Who is visiting is only for logged-in citizens.
	routes = append(routes, map[string]any{"name": "visitor", "kind": "landing", "path": "/visitor"})
	// The call deadline leaves a slow, shared machine under the race
	// detector time to replace a crashed instance and reach the memory cap
	// (alloc answers 502, not a timeout); loop still waits it out.
	b, _ := json.Marshal(map[string]any{"name": name, "version": "1.0.0", "sdkVersion": "1.0", "title": "探针", "runtime": runtime,
		"entry": entry, "routes": routes, "capabilities": []string{"records.read", "records.write", "code.resolve", "visitor.read", "object.write"},
		"collections": []map[string]any{{"name": "messages", "fields": []map[string]any{{"name": "text"}, {"name": "who", "personal": true}}}}, "limits": map[string]any{"timeoutMS": 5000, "memoryMB": 64}})
	return b
}

// installProbes installs and enables the probe plugin in both runtimes
// and answers their names (WASM first).
func (h *host) installProbes(admin string) []string {
	h.t.Helper()
	var names []string
	for _, p := range []struct{ name, runtime, file string }{{"probe-wasm", "wasm", "probe.wasm"}, {"probe-native", "native", "probe"}} {
		if a := h.install(admin, probeManifest(h.t, p.name, p.runtime, p.file), readFile(h.t, builtFiles[p.file]), ""); a.Status != 200 {
			h.t.Fatalf("install %s: %d %s %s", p.name, a.Status, a.Code, a.Msg)
		}
		h.must(admin, "POST", "/console/plugins/"+p.name+"/enable", map[string]any{})
		names = append(names, p.name)
	}
	return names
}

// TestPluginLanding is the vendor's and the citizen's journey for both
// runtimes: install, enable, bind, scan, use.
func TestPluginLanding(t *testing.T) {
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 4)

	// Before any binding: the platform's standard landing page.
	status, page, hdr := h.scan("GET", "/c/"+codes[0], nil, "")
	if status != 200 || !strings.Contains(page, "一物一码") || !strings.Contains(page, "公共厕所") || !strings.Contains(page, "游客") {
		t.Fatalf("standard page: %d %s", status, page)
	}
	if hdr.Get("Content-Security-Policy") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("landing pages need security headers: %v", hdr)
	}
	h.must(admin, "PUT", "/console/landing/page", map[string]any{"title": "静安城市码", "faq": []map[string]any{{"q": "如何报修？", "a": "扫码后选择问题上报。"}}})
	if _, page, _ := h.scan("GET", "/c/"+codes[0], nil, ""); !strings.Contains(page, "静安城市码") || !strings.Contains(page, "如何报修") {
		t.Fatalf("standard page settings not shown: %s", page)
	}

	v := h.install(admin, readFile(t, filepath.Join(helloSrc, "plugin.json")), readFile(t, builtFiles["hello.wasm"]), "")
	if v.Status != 200 {
		t.Fatalf("install hello: %d %s %s", v.Status, v.Code, v.Msg)
	}
	h.bind(admin, map[string]any{"scope": "kind", "codeKind": "object", "plugin": "hello", "title": "扫码留言"})
	// Bound but not enabled: the standard page still answers.
	if _, page, _ := h.scan("GET", "/c/"+codes[0], nil, ""); !strings.Contains(page, "静安城市码") {
		t.Fatalf("a disabled plugin must not serve: %s", page)
	}
	h.must(admin, "POST", "/console/plugins/hello/enable", map[string]any{})
	h.must(admin, "PUT", "/console/plugins/hello/config", map[string]any{"config": map[string]any{"greeting": "你好，公厕"}})
	if a := h.call(admin, "PUT", "/console/plugins/hello/config", map[string]any{"config": map[string]any{"greeting": 7}}); a.Code != "InvalidParameter" {
		t.Fatalf("config against the schema: %d %s %s", a.Status, a.Code, a.Msg)
	}

	status, page, _ = h.scan("GET", "/c/"+codes[0], nil, "")
	if status != 200 || !strings.Contains(page, "你好，公厕") || !strings.Contains(page, "第 1 次访问") {
		t.Fatalf("wasm landing: %d %s", status, page)
	}
	if _, page, _ = h.scan("GET", "/c/"+codes[0], nil, ""); !strings.Contains(page, "第 2 次访问") {
		t.Fatalf("records persist between visits: %s", page)
	}
	status, _, hdr = h.scan("POST", "/c/"+codes[0]+"/message", strings.NewReader(url.Values{"text": {"纸巾没有了"}}.Encode()), "application/x-www-form-urlencoded")
	if status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+codes[0]) {
		t.Fatalf("message action: %d %v", status, hdr)
	}
	if _, page, _ = h.scan("GET", "/c/"+codes[0], nil, ""); !strings.Contains(page, "纸巾没有了") {
		t.Fatalf("message not listed: %s", page)
	}
	status, page, _ = h.scan("POST", "/c/"+codes[0]+"/message", strings.NewReader("text="), "application/x-www-form-urlencoded")
	if status != 400 || !strings.Contains(page, "留言须为") {
		t.Fatalf("bad input to a plugin: %d %s", status, page)
	}
	if status, _, _ = h.scan("GET", "/c/"+codes[0]+"/nowhere", nil, ""); status != 404 {
		t.Fatalf("unknown plugin page: %d", status)
	}
	var recs struct {
		Total int64 `json:"total"`
	}
	h.must(admin, "GET", "/console/plugins/hello/records/messages", nil).decode(t, &recs)
	if recs.Total != 1 {
		t.Fatalf("console records: %d", recs.Total)
	}
	xa := h.call(admin, "GET", "/console/plugins/hello/records/messages/export", nil)
	if xa.Status != 200 || !strings.Contains(xa.Header.Get("Content-Disposition"), "hello-messages-") {
		t.Fatalf("export: %d %v", xa.Status, xa.Header)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(xa.Raw))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := wb.GetRows("留言")
	if len(rows) != 2 || rows[0][4] != "内容" || rows[1][4] != "纸巾没有了" || rows[1][1] != codes[0] {
		t.Fatalf("export rows: %v", rows)
	}
	if a := h.call(admin, "GET", "/console/plugins/hello/records/secrets/export", nil); a.Status != 404 {
		t.Fatalf("undeclared collection export: %d", a.Status)
	}

	// The native plugin is more specific (bound to one code), so it wins
	// for that code while the others keep the WASM plugin.
	if a := h.install(admin, readFile(t, filepath.Join(reportSrc, "plugin.json")), readFile(t, builtFiles["report"]), ""); a.Status != 200 {
		t.Fatalf("install report: %d %s %s", a.Status, a.Code, a.Msg)
	}
	h.must(admin, "POST", "/console/plugins/report/enable", map[string]any{})
	rid := h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[1], "plugin": "report"})
	// The console previews a binding on a real code.
	if a := h.call(admin, "GET", fmt.Sprintf("/console/landing/bindings/%d/preview?code=%s", rid, codes[3]), nil); a.Status != 200 ||
		!strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(a.Raw), "问题上报") {
		t.Fatalf("preview: %d %s", a.Status, a.Raw)
	}
	if a := h.call(admin, "GET", fmt.Sprintf("/console/landing/bindings/%d/preview?code=nosuchcode", rid), nil); a.Status != 404 {
		t.Fatalf("preview of an unknown code: %d", a.Status)
	}
	if _, page, _ = h.scan("GET", "/c/"+codes[1], nil, ""); !strings.Contains(page, "问题上报") {
		t.Fatalf("native landing: %s", page)
	}
	if _, page, _ = h.scan("GET", "/c/"+codes[2], nil, ""); !strings.Contains(page, "次访问") {
		t.Fatalf("other codes keep the kind binding: %s", page)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("text", "洗手池漏水")
	fw, _ := mw.CreateFormFile("photo", "leak.png")
	fw.Write(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...))
	mw.Close()
	status, page, _ = h.scan("POST", "/c/"+codes[1]+"/submit", &form, mw.FormDataContentType())
	if status != http.StatusCreated {
		t.Fatalf("report submit: %d %s", status, page)
	}
	id := page[strings.Index(page, `<span id="report-id">`)+len(`<span id="report-id">`):]
	id = id[:strings.Index(id, "<")]
	if _, page, _ = h.scan("GET", "/c/"+codes[1]+"/status?id="+id, nil, ""); !strings.Contains(page, "已受理") {
		t.Fatalf("report status: %s", page)
	}
	ctx := context.Background()
	var notes, files int
	h.srv.Pool().QueryRow(ctx, `SELECT count(*) FROM plugin_notifications WHERE plugin = 'report' AND template = 'report.created' AND recipient = '环卫所'`).Scan(&notes)
	h.srv.Pool().QueryRow(ctx, `SELECT count(*) FROM plugin_files WHERE plugin = 'report'`).Scan(&files)
	if notes != 1 || files != 1 {
		t.Fatalf("notifications %d, files %d", notes, files)
	}
	// Another code's page cannot read this code's report.
	if status, _, _ = h.scan("GET", "/c/"+codes[2]+"/status?id="+id, nil, ""); status != 404 {
		t.Fatalf("report of another code through hello: %d", status)
	}

	// Landing visits are usage events.
	var landings int
	h.srv.Pool().QueryRow(ctx, `SELECT count(*) FROM usage_events WHERE type = 'landing' AND result = 'success'`).Scan(&landings)
	if landings < 5 {
		t.Fatalf("landing events: %d", landings)
	}

	// Disabled: back to the standard page; offline binding likewise.
	h.must(admin, "POST", "/console/plugins/hello/disable", map[string]any{})
	if _, page, _ = h.scan("GET", "/c/"+codes[0], nil, ""); !strings.Contains(page, "静安城市码") {
		t.Fatalf("disabled plugin still serving: %s", page)
	}

	if status, _, _ = h.scan("GET", "/c/AAAAnotacode", nil, ""); status != 404 {
		t.Fatalf("unknown code: %d", status)
	}
	if status, _, _ = h.scan("GET", "/c/%3Cscript%3E", nil, ""); status != 404 {
		t.Fatalf("malformed token: %d", status)
	}
}

// TestPluginIsolation: misbehaving plugins fail only their own calls.
func TestPluginIsolation(t *testing.T) {
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 4)
	h.installProbes(admin)
	if a := h.install(admin, readFile(t, filepath.Join(helloSrc, "plugin.json")), readFile(t, builtFiles["hello.wasm"]), ""); a.Status != 200 {
		t.Fatal(a.Msg)
	}
	h.must(admin, "POST", "/console/plugins/hello/enable", map[string]any{})
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[0], "plugin": "probe-wasm"})
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[1], "plugin": "probe-native"})
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[2], "plugin": "hello"})

	healthy := func(code, want string) {
		t.Helper()
		if status, page, _ := h.scan("GET", "/c/"+code, nil, ""); status != 200 || !strings.Contains(page, want) {
			t.Fatalf("healthy page of %s: %d %s", code, status, page)
		}
	}
	for _, c := range []struct {
		code, name string
		failures   map[string]int
	}{
		{codes[0], "wasm", map[string]int{"panic": 502, "loop": 504, "alloc": 502}},
		{codes[1], "native", map[string]int{"panic": 500, "loop": 504, "exit": 502, "alloc": 502}},
	} {
		for route, want := range c.failures {
			t.Run(c.name+"/"+route, func(t *testing.T) {
				status, page, _ := h.scan("GET", "/c/"+c.code+"/"+route, nil, "")
				if status != want || !strings.Contains(page, "请求编号") && !strings.Contains(page, "操作未完成") {
					t.Fatalf("%s: %d %s", route, status, page)
				}
				// The host and the other plugins keep serving...
				healthy(codes[2], "次访问")
				// ...and the plugin itself comes back.
				deadline := time.Now().Add(15 * time.Second)
				for {
					status, page, _ := h.scan("GET", "/c/"+c.code, nil, "")
					if status == 200 && strings.Contains(page, "probe ok") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s did not come back: %d %s", c.name, status, page)
					}
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
	}

	t.Run("admin routes reach the plugin with the operator", func(t *testing.T) {
		var out struct {
			Operator, Platform, Q string
			Query                 map[string][]string
			Body                  map[string]any
		}
		// Every query parameter reaches the plugin (its own filters), but
		// the host's platformId.
		h.must(admin, "GET", "/console/plugins/probe-native/admin/stats?q=水&status=待处理&from=2026-01-01&platformId=P0000", nil).decode(t, &out)
		if out.Operator != "admin" || out.Platform != "P0000" || out.Q != "水" || out.Query["status"][0] != "待处理" ||
			out.Query["from"][0] != "2026-01-01" || out.Query["platformId"] != nil {
			t.Fatalf("admin GET: %+v", out)
		}
		if a := h.call(admin, "GET", "/console/plugins/probe-native/admin/stats?x="+strings.Repeat("长", 200), nil); a.Status != 400 {
			t.Fatalf("oversize admin query: %d %s", a.Status, a.Msg)
		}
		h.must(admin, "POST", "/console/plugins/probe-wasm/admin/stats", map[string]any{"n": 1}).decode(t, &out)
		if out.Body["n"] != float64(1) {
			t.Fatalf("admin POST: %+v", out)
		}
		if a := h.call(admin, "GET", "/console/plugins/probe-wasm/admin/nowhere", nil); a.Status != 404 {
			t.Fatalf("unknown admin route: %d %s", a.Status, a.Code)
		}
		// A landing page is not an admin route, and an admin route is not
		// a landing page.
		if a := h.call(admin, "GET", "/console/plugins/probe-wasm/admin/", nil); a.Status != 404 {
			t.Fatalf("landing through admin: %d", a.Status)
		}
		if status, _, _ := h.scan("GET", "/c/"+codes[0]+"/stats", nil, ""); status != 404 {
			t.Fatalf("admin through landing: %d", status)
		}
		if a := h.call("", "GET", "/console/plugins/probe-wasm/admin/stats", nil); a.Status != 401 {
			t.Fatalf("admin route without a session: %d", a.Status)
		}
		// An operator who may read plugins reads, and changes nothing: a
		// plugin's POST admin routes (reviews, settings) and data grants need
		// plugin.update.
		var role struct {
			ID int64 `json:"id"`
		}
		h.must(admin, "POST", "/console/roles", map[string]any{"code": "plugin_viewer", "name": "插件查看",
			"menuIds": []int64{permissionMenus(t, h, admin)["plugin.read"]}}).decode(t, &role)
		var op struct {
			Password string `json:"password"`
		}
		h.must(admin, "POST", "/console/operators", map[string]any{"account": "plugin_viewer", "name": "插件查看员", "roleIds": []int64{role.ID}}).decode(t, &op)
		viewer := h.firstLogin("plugin_viewer", op.Password)
		if a := h.call(viewer, "GET", "/console/plugins/probe-wasm/admin/stats", nil); a.Status != 200 {
			t.Fatalf("reader on a GET admin route: %d %s", a.Status, a.Msg)
		}
		if a := h.call(viewer, "POST", "/console/plugins/probe-wasm/admin/stats", map[string]any{"n": 1}); a.Status != 403 {
			t.Fatalf("reader on a POST admin route: %d %s", a.Status, a.Msg)
		}
		if a := h.call(viewer, "GET", "/console/plugins/probe-wasm/records/messages/export", nil); a.Status != 200 {
			t.Fatalf("reader exporting: %d %s", a.Status, a.Msg)
		}
	})
	t.Run("undeclared capability is denied and audited", func(t *testing.T) {
		_, page, _ := h.scan("GET", "/c/"+codes[0]+"/undeclared", nil, "")
		if !strings.Contains(page, "UnauthorizedOperation.Capability") || !strings.Contains(page, "files.write not declared") {
			t.Fatalf("undeclared: %s", page)
		}
		var n int
		h.srv.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE action = 'plugin.capability.denied' AND target = 'plugin:probe-wasm'`).Scan(&n)
		if n == 0 {
			t.Fatal("denial not audited")
		}
	})
	t.Run("a plugin sees only its own records", func(t *testing.T) {
		h.scan("POST", "/c/"+codes[2]+"/message", strings.NewReader("text=hello的留言"), "application/x-www-form-urlencoded")
		if _, page, _ := h.scan("GET", "/c/"+codes[1]+"/write?text=native", nil, ""); !strings.Contains(page, "write: <nil>") {
			t.Fatalf("probe write: %s", page)
		}
		if _, page, _ := h.scan("GET", "/c/"+codes[1]+"/once?id=alert-1", nil, ""); !strings.Contains(page, "once: <nil>") {
			t.Fatalf("create-only write: %s", page)
		}
		if _, page, _ := h.scan("GET", "/c/"+codes[1]+"/once?id=alert-1", nil, ""); !strings.Contains(page, "FailedOperation.RecordExists") {
			t.Fatalf("second create-only write: %s", page)
		}
		// probe-wasm declares a "messages" collection too, but sees none of
		// hello's or probe-native's.
		if _, page, _ := h.scan("GET", "/c/"+codes[0]+"/peek", nil, ""); !strings.Contains(page, "messages: 0") {
			t.Fatalf("peek: %s", page)
		}
	})
	t.Run("another platform's code is not found", func(t *testing.T) {
		// The fourth code moves to a sub-platform.
		sub, _ := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
		other := codes[3]
		if _, err := h.srv.Pool().Exec(context.Background(), `UPDATE object_codes SET platform_id = $1 WHERE token = $2`, sub, other); err != nil {
			t.Fatal(err)
		}
		_, page, _ := h.scan("GET", "/c/"+codes[0]+"/resolve?code="+other, nil, "")
		if !strings.Contains(page, "ResourceNotFound") {
			t.Fatalf("cross-platform resolve: %s", page)
		}
		var n int
		h.srv.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE action = 'plugin.data.denied' AND target = 'plugin:probe-wasm'`).Scan(&n)
		if n != 1 {
			t.Fatalf("cross-platform attempt audited %d times", n)
		}
		if _, page, _ = h.scan("GET", "/c/"+codes[0]+"/resolve?code="+codes[2], nil, ""); !strings.Contains(page, "resolve: "+codes[2]) {
			t.Fatalf("same-platform resolve: %s", page)
		}
		if _, page, _ = h.scan("GET", "/c/"+codes[0]+"/modify?note=checked&code="+other, nil, ""); !strings.Contains(page, "ResourceNotFound") {
			t.Fatalf("cross-platform modify: %s", page)
		}
		if _, page, _ = h.scan("GET", "/c/"+codes[0]+"/modify?note=checked&code="+codes[2], nil, ""); !strings.Contains(page, `"note":"checked"`) || !strings.Contains(page, `"address"`) {
			t.Fatalf("modify: %s", page)
		}
	})
}

// TestPluginUpgradeUnderLoad: activating a new version while citizens scan
// fails no request.
func TestPluginUpgradeUnderLoad(t *testing.T) {
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 1)
	for _, p := range []struct{ name, runtime, file string }{{"probe-wasm", "wasm", "probe.wasm"}, {"probe-native", "native", "probe"}} {
		t.Run(p.runtime, func(t *testing.T) {
			man := probeManifest(t, p.name, p.runtime, p.file)
			if a := h.install(admin, man, readFile(t, builtFiles[p.file]), ""); a.Status != 200 {
				t.Fatal(a.Msg)
			}
			h.must(admin, "POST", "/console/plugins/"+p.name+"/enable", map[string]any{})
			id := h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[0], "plugin": p.name})
			defer h.must(admin, "POST", fmt.Sprintf("/console/landing/bindings/%d/offline", id), nil)

			var ok, failed atomic.Int64
			var firstFailure atomic.Value
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						status, page, _ := h.scan("GET", "/c/"+codes[0]+"/slow", nil, "")
						if status == 200 && page == "slow ok" {
							ok.Add(1)
						} else {
							failed.Add(1)
							firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", status, page))
						}
					}
				})
			}
			for i := 1; i <= 3; i++ {
				v := fmt.Sprintf("1.0.%d", i)
				var m map[string]any
				json.Unmarshal(man, &m)
				m["version"] = v
				b, _ := json.Marshal(m)
				if a := h.install(admin, b, readFile(t, builtFiles[p.file]), ""); a.Status != 200 {
					t.Fatal(a.Msg)
				}
				time.Sleep(150 * time.Millisecond)
				h.must(admin, "POST", "/console/plugins/"+p.name+"/activate", map[string]any{"version": v})
			}
			time.Sleep(300 * time.Millisecond)
			close(stop)
			wg.Wait()
			if failed.Load() != 0 || ok.Load() < 20 {
				t.Fatalf("%d ok, %d failed (first: %v)", ok.Load(), failed.Load(), firstFailure.Load())
			}
			var d struct {
				ActiveVersion string `json:"activeVersion"`
			}
			h.must(admin, "GET", "/console/plugins/"+p.name, nil).decode(t, &d)
			if d.ActiveVersion != "1.0.3" {
				t.Fatalf("active %s", d.ActiveVersion)
			}
		})
	}
}

// TestLandingVisitors: a citizen logged in to an app opens a code's page as
// themselves; plugins see a pseudonym of their own, and the masked name
// only when the person authorized the plugin's scene.
func TestLandingVisitors(t *testing.T) {
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 2)
	for i, name := range h.installProbes(admin) {
		h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[i], "plugin": name})
	}
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 60, "refreshSeconds": 30}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "随申办"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	pc := signedClient(t, h, phone)
	ctx := context.Background()
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("张三丰", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	ticket := func() string {
		var out struct {
			Ticket string `json:"ticket"`
		}
		if err := pc.Call(ctx, "/api/landing/ticket", map[string]any{"cityCodeAppId": phone.AppID, "userId": opened.UserID}, &out); err != nil {
			t.Fatal(err)
		}
		return out.Ticket
	}
	// A tourist cannot open a page that needs a login.
	if status, page, _ := h.scan("GET", "/c/"+codes[0]+"/visitor", nil, ""); status != 401 || !strings.Contains(page, "请登录后使用") {
		t.Fatalf("tourist on a login page: %d %s", status, page)
	}
	login := func(code string) *http.Cookie {
		tk := ticket()
		req, _ := http.NewRequest("GET", h.URL+"/c/"+code+"/visitor?ticket="+tk, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "ticket") || len(resp.Cookies()) != 1 || !resp.Cookies()[0].HttpOnly {
			t.Fatalf("ticket landing: %d %v %v", resp.StatusCode, resp.Header, resp.Cookies())
		}
		// A ticket works once.
		req2, _ := http.NewRequest("GET", h.URL+"/c/"+code+"/visitor?ticket="+tk, nil)
		if resp, err := noRedirect.Do(req2); err != nil || resp.StatusCode != 401 {
			t.Fatalf("ticket reused: %v %v", err, resp.StatusCode)
		}
		return resp.Cookies()[0]
	}
	visit := func(code string, c *http.Cookie) string {
		req, _ := http.NewRequest("GET", h.URL+"/c/"+code+"/visitor", nil)
		req.AddCookie(c)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("visitor page: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	cookie := login(codes[0])
	page := visit(codes[0], cookie)
	if !strings.Contains(page, `"tourist":false`) || !strings.Contains(page, `"pseudonym":"v`) || strings.Contains(page, "张") {
		t.Fatalf("unauthorized visitor: %s", page)
	}
	pseudoWasm := page[strings.Index(page, `"pseudonym":"`):]
	pseudoWasm = pseudoWasm[:strings.Index(pseudoWasm[13:], `"`)+14]
	if native := visit(codes[1], cookie); strings.Contains(native, pseudoWasm) || !strings.Contains(native, `"pseudonym":"v`) {
		t.Fatalf("pseudonyms must differ between plugins: %s vs %s", pseudoWasm, native)
	}
	if err := pc.Call(ctx, "/api/authorizeScene", map[string]any{"cityCodeAppId": phone.AppID, "userId": opened.UserID, "acceptOrgId": "plugin:probe-wasm"}, nil); err != nil {
		t.Fatal(err)
	}
	page = visit(codes[0], cookie)
	if !strings.Contains(page, `"authorized":true`) || !strings.Contains(page, `"name":"张**"`) && !strings.Contains(page, `"name":"张*`) || strings.Contains(page, "13800138000") || !strings.Contains(page, pseudoWasm) {
		t.Fatalf("authorized visitor: %s", page)
	}
	if native := visit(codes[1], cookie); strings.Contains(native, "张") {
		t.Fatalf("the authorization is per plugin: %s", native)
	}
	// A forged cookie is a tourist.
	if status, _, _ := h.scanWithCookie("/c/"+codes[0]+"/visitor", &http.Cookie{Name: "cc_visitor", Value: "forged"}); status != 401 {
		t.Fatalf("forged cookie: %d", status)
	}
}

func (h *host) scanWithCookie(path string, c *http.Cookie) (int, string, http.Header) {
	req, _ := http.NewRequest("GET", h.URL+path, nil)
	req.AddCookie(c)
	resp, err := noRedirect.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
