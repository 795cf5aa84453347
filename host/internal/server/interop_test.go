package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/server"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/sdk/client"
)

// newInteropHost is newHost whose business codes may have parse services
// on loopback over plain http, as httptest serves them.
func newInteropHost(t *testing.T) *host {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	cfg := config.Default()
	cfg.Database.URL = dbURL
	cfg.Database.MaxConns = 8
	cfg.Security.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
	cfg.Plugins.Dir = filepath.Join(t.TempDir(), "plugins")
	cfg.Plugins.CacheDir = wasmCache
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{
		CaptchaAnswers: func() string { return captchaAnswer }, InteropAllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close(context.Background())
	})
	return &host{t: t, srv: srv, http: hs, URL: hs.URL, dbURL: dbURL, keyFile: cfg.Security.MasterKeyFile}
}

type parsed struct {
	CodeID   int64           `json:"codeId"`
	CodeName string          `json:"codeName"`
	Action   string          `json:"action"`
	URL      string          `json:"url"`
	Data     json.RawMessage `json:"data"`
}

func parse(t *testing.T, c *client.Client, body map[string]any) (parsed, error) {
	t.Helper()
	var out parsed
	err := c.Call(context.Background(), "/openapi/v1/interop/parse", body, &out)
	return out, err
}

type alertRecord struct {
	ID         int64   `json:"id"`
	RuleID     int64   `json:"ruleId"`
	CodeName   string  `json:"codeName"`
	AppName    string  `json:"appName"`
	PlatformID string  `json:"platformId"`
	Measured   float64 `json:"measured"`
	Threshold  float64 `json:"threshold"`
	Samples    int64   `json:"samples"`
	Failures   int64   `json:"failures"`
	Reason     string  `json:"reason"`
}

func (h *host) alertRecords(token, query string) []alertRecord {
	h.t.Helper()
	var p struct {
		Total int64         `json:"total"`
		Items []alertRecord `json:"items"`
	}
	h.must(token, "GET", "/console/interop/alert-records?"+query, nil).decode(h.t, &p)
	if int(p.Total) != len(p.Items) {
		h.t.Fatalf("alert records: total %d, %d items", p.Total, len(p.Items))
	}
	return p.Items
}

// TestInteropParseAndAlerts: 互联互通 end to end. Targets outside the
// service whitelist are refused at save; a redirect-type code answers its
// filled landing URL; a service-type code relays what its parse service
// (a loopback httptest server) answers. When that service starts failing,
// a failure-rate rule (50 %, at least 10 parses) writes its record exactly
// when the rate reaches the threshold — not before, and once for the
// incident; a disabled rule that would have fired at the first failure
// writes nothing. Every parse is in the log, its content masked.
func TestInteropParseAndAlerts(t *testing.T) {
	t.Parallel()
	h := newInteropHost(t)
	admin := h.admin()
	owner := h.app(admin, map[string]any{"name": "银联商务"})
	scanner := signedClient(t, h, h.app(admin, map[string]any{"name": "扫码终端"}))

	var failing atomic.Bool
	var mu sync.Mutex
	var seen []map[string]any
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		seen = append(seen, in)
		mu.Unlock()
		if failing.Load() {
			http.Error(w, "upstream down: secret stack trace", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"merchant":"某某便利店","code":%q}`, in["code"])
	}))
	t.Cleanup(svc.Close)

	codeBody := func(name, kind, value, targetKind, target string) map[string]any {
		return map[string]any{"name": name, "appId": owner.AppID, "description": "互认业务码",
			"matchKind": kind, "matchValue": value, "targetKind": targetKind, "targetUrl": target, "timeoutMs": 2000}
	}
	redirect := codeBody("随申码互认", "template", "https://ssm.example.cn/q/{code}", "redirect", "https://land.example.cn/ssm?c={code}")
	service := codeBody("银联付款码", "regex", `62(?P<code>[0-9]{17})`, "service", svc.URL+"/parse")

	// Outside the service whitelist: refused at save, nothing stored.
	for _, body := range []map[string]any{redirect, service} {
		a := h.call(admin, "POST", "/console/interop/codes", body)
		if a.Status != http.StatusBadRequest || a.Code != fault.CodeInvalidParameter || !strings.Contains(a.Msg, "service whitelist") {
			t.Fatalf("%s off the whitelist: %d %s %s", body["name"], a.Status, a.Code, a.Msg)
		}
	}
	if p, _ := h.list(admin, "/console/interop/codes"); p.Total != 0 {
		t.Fatalf("refused codes stored: %d", p.Total)
	}
	h.must(admin, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "land.example.cn"})
	h.must(admin, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "127.0.0.1", "note": "test parse service"})
	var redirectCode, serviceCode struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/interop/codes", redirect).decode(t, &redirectCode)
	h.must(admin, "POST", "/console/interop/codes", service).decode(t, &serviceCode)

	// Redirect: the landing URL, filled and escaped.
	out, err := parse(t, scanner, map[string]any{"content": "https://ssm.example.cn/q/AB12?from=wx"})
	if err != nil || out.Action != "redirect" || out.URL != "https://land.example.cn/ssm?c=AB12" || out.CodeID != redirectCode.ID || out.CodeName != "随申码互认" {
		t.Fatalf("redirect parse: %+v %v", out, err)
	}
	// Service: the host posts the extracted code and relays the answer.
	const card = "6212345678901234567"
	out, err = parse(t, scanner, map[string]any{"content": card, "acceptOrgId": "第一百货"})
	var data struct{ Merchant, Code string }
	json.Unmarshal(out.Data, &data)
	if err != nil || out.Action != "data" || data.Merchant != "某某便利店" || data.Code != card[2:] {
		t.Fatalf("service parse: %+v %s %v", out, out.Data, err)
	}
	mu.Lock()
	if seen[0]["content"] != card || seen[0]["acceptOrgId"] != "第一百货" || seen[0]["codeName"] != "银联付款码" {
		t.Fatalf("the parse service was posted %v", seen[0])
	}
	mu.Unlock()
	// Content nobody registered.
	_, err = parse(t, scanner, map[string]any{"content": "ZF-UNKNOWN-0001"})
	wantAPIError(t, err, http.StatusNotFound, fault.CodeForeignCode)

	// Two failure-rate rules; the second, which would fire at the first
	// failure, is disabled.
	var rule, sleeper struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	h.must(admin, "POST", "/console/interop/alert-rules", map[string]any{"codeId": serviceCode.ID, "templateId": "parse_failure_rate",
		"threshold": 50, "windowSeconds": 300, "minSamples": 10}).decode(t, &rule)
	h.must(admin, "POST", "/console/interop/alert-rules", map[string]any{"codeId": serviceCode.ID, "templateId": "parse_failure_rate",
		"threshold": 10, "windowSeconds": 300, "minSamples": 2, "note": "过于敏感"}).decode(t, &sleeper)
	h.must(admin, "POST", "/console/interop/alert-rules/"+itoa(sleeper.ID)+"/disable", nil).decode(t, &sleeper)
	if sleeper.Status != "disabled" {
		t.Fatalf("disable: %+v", sleeper)
	}

	for range 6 {
		if _, err := parse(t, scanner, map[string]any{"content": card}); err != nil {
			t.Fatal(err)
		}
	}
	failing.Store(true)
	for k := 1; k <= 10; k++ {
		_, err := parse(t, scanner, map[string]any{"content": card})
		wantAPIError(t, err, http.StatusServiceUnavailable, fault.CodeServiceUnavailable)
		if k == 1 && (strings.Contains(apiErr(t, err).Message, "secret") || !strings.Contains(apiErr(t, err).Message, "HTTP 500")) {
			t.Fatalf("a failed parse says %q", apiErr(t, err).Message)
		}
		recs := h.alertRecords(admin, "ruleId="+itoa(rule.ID))
		// 6 successes then k failures: k/(6+k) reaches 50 % at k = 6.
		switch {
		case k < 6 && len(recs) != 0:
			t.Fatalf("after %d failures of %d parses (%.0f%%): %+v", k, 6+k, float64(k)*100/float64(6+k), recs)
		case k >= 6 && len(recs) != 1:
			t.Fatalf("after %d failures: %d records, want exactly 1", k, len(recs))
		}
	}
	recs := h.alertRecords(admin, "codeName=银联")
	if len(recs) != 1 {
		t.Fatalf("records of the code: %+v (the disabled rule fired?)", recs)
	}
	r := recs[0]
	if r.RuleID != rule.ID || r.Measured != 50 || r.Threshold != 50 || r.Samples != 12 || r.Failures != 6 || r.CodeName != "银联付款码" ||
		r.AppName != "银联商务" || r.PlatformID != "P0000" || !strings.Contains(r.Reason, "50.0%") {
		t.Fatalf("record: %+v", r)
	}
	if len(h.alertRecords(admin, "ruleId="+itoa(sleeper.ID))) != 0 {
		t.Fatal("the disabled rule wrote a record")
	}
	if len(h.alertRecords(admin, "appName=nobody")) != 0 || len(h.alertRecords(admin, "createdTo=2001-01-01")) != 0 {
		t.Fatal("record filters")
	}
	// The operations workbench lists it (互联互通告警记录); a sub-platform's does not.
	var wb struct {
		Alerts []struct {
			CodeName, AppName, PlatformID, Reason string
		} `json:"alerts"`
		AlertsUnavailable bool `json:"alertsUnavailable"`
	}
	h.must(admin, "GET", "/console/workbench", nil).decode(t, &wb)
	if wb.AlertsUnavailable || len(wb.Alerts) != 1 || wb.Alerts[0].CodeName != "银联付款码" || wb.Alerts[0].AppName != "银联商务" || wb.Alerts[0].Reason != r.Reason {
		t.Fatalf("workbench alerts: %+v", wb)
	}
	_, sub := h.subPlatform(admin, "闵行区平台", "310112", "mh_admin")
	h.must(sub, "GET", "/console/workbench", nil).decode(t, &wb)
	if len(wb.Alerts) != 0 {
		t.Fatalf("a sub-platform's workbench shows the main's alerts: %+v", wb.Alerts)
	}

	// The log: every parse, failures with their reason, content masked.
	var logs struct {
		Total int64 `json:"total"`
		Items []struct {
			CodeName, AppName, CallerAppID, Content, Status, Reason, AcceptOrgID string
			LatencyMs                                                            int
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/interop/logs?codeName="+url.QueryEscape("银联")+"&status=failure&pageSize=100", nil).decode(t, &logs)
	if logs.Total != 10 || logs.Items[0].AppName != "银联商务" || !strings.Contains(logs.Items[0].Reason, "HTTP 500") {
		t.Fatalf("failure logs: %+v", logs)
	}
	h.must(admin, "GET", "/console/interop/logs?pageSize=100", nil).decode(t, &logs)
	if logs.Total != 19 {
		t.Fatalf("every parse is logged: %d", logs.Total)
	}
	for _, l := range logs.Items {
		if strings.Contains(l.Content, card[2:]) || strings.Contains(l.Content, "AB12") || strings.Contains(l.Content, "UNKNOWN-0001") {
			t.Errorf("a log keeps the content: %q", l.Content)
		}
	}
	if last := logs.Items[len(logs.Items)-1]; last.CodeName != "随申码互认" || last.Status != "success" || last.Content != "https://ssm.example.cn/q/AB1****=wx" {
		t.Fatalf("first log: %+v", last)
	}
	h.must(admin, "GET", "/console/interop/logs?status=failure&appName="+url.QueryEscape("银联商务"), nil).decode(t, &logs)
	if logs.Total != 10 {
		t.Fatalf("by app name: %d", logs.Total)
	}

	// Disabled, the code no longer parses; the other codes are unaffected.
	h.must(admin, "POST", "/console/interop/codes/"+itoa(serviceCode.ID)+"/disable", nil)
	_, err = parse(t, scanner, map[string]any{"content": card})
	wantAPIError(t, err, http.StatusConflict, fault.CodeFailedOperation)
	// Off the whitelist again, the redirect is refused at parse time too.
	var wl struct {
		Items []struct {
			ID     int64  `json:"id"`
			Domain string `json:"domain"`
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/whitelists?kind=service&keyword=land", nil).decode(t, &wl)
	h.must(admin, "DELETE", "/console/whitelists/"+itoa(wl.Items[0].ID), nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = parse(t, scanner, map[string]any{"content": "https://ssm.example.cn/q/AB12"})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the whitelist is cached for two seconds
	}
	wantAPIError(t, err, http.StatusConflict, fault.CodeFailedOperation)
}

// TestInteropScopeAndScenes: a sub-platform's administrator registers
// codes of its own apps only and sees only its platform's codes, logs and
// alert records; the main platform sees everything. Bad input answers 4xx
// and stores nothing. Scenes gate parses: enabled, routing on and
// authorized, else refused; a scene with authorizations is not deleted.
func TestInteropScopeAndScenes(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	pdID, pd := h.subPlatform(admin, "浦东新区平台", "310115", "pd_interop")
	mainApp := h.app(admin, map[string]any{"name": "市级支付"})
	pdApp := h.app(pd, map[string]any{"name": "浦东停车"})
	mainScanner := signedClient(t, h, h.app(admin, map[string]any{"name": "市级扫码"}))
	pdScanner := signedClient(t, h, h.app(pd, map[string]any{"name": "浦东扫码"}))
	h.must(admin, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "*.example.cn"})

	code := func(token, app, name, prefix string) int64 {
		var c struct {
			ID         int64  `json:"id"`
			PlatformID string `json:"platformId"`
		}
		h.must(token, "POST", "/console/interop/codes", map[string]any{"name": name, "appId": app, "matchKind": "prefix",
			"matchValue": prefix, "targetKind": "redirect", "targetUrl": "https://land.example.cn/{code}"}).decode(t, &c)
		return c.ID
	}
	cityCode := code(admin, mainApp.AppID, "市级付款码", "CITY")
	pdCode := code(pd, pdApp.AppID, "浦东停车码", "PDPK")

	// Bad input: 4xx, clear, nothing stored.
	good := map[string]any{"name": "x", "appId": pdApp.AppID, "matchKind": "prefix", "matchValue": "XX",
		"targetKind": "redirect", "targetUrl": "https://land.example.cn/{code}"}
	// with is good with pairs of parameter and value set (a nil value
	// removes the parameter).
	with := func(kv ...any) map[string]any {
		m := maps.Clone(good)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	for name, c := range map[string]struct {
		body   map[string]any
		status int
		code   string
		msg    string
	}{
		"bad regex":         {with("matchKind", "regex", "matchValue", "ZF("), 400, fault.CodeInvalidParameter, "regular expression"},
		"catch-all regex":   {with("matchKind", "regex", "matchValue", ".*"), 400, fault.CodeInvalidParameter, "empty content"},
		"template no code":  {with("matchKind", "template", "matchValue", "https://pay.example.cn/q/1"), 400, fault.CodeInvalidParameter, "{code}"},
		"unknown kind":      {with("matchKind", "glob"), 400, fault.CodeInvalidParameter, "matchKind"},
		"missing name":      {with("name", nil), 400, fault.CodeMissingParameter, "name"},
		"blank name":        {with("name", "  "), 400, fault.CodeMissingParameter, "name"},
		"missing target":    {with("targetUrl", nil), 400, fault.CodeMissingParameter, "targetUrl"},
		"http target":       {with("targetUrl", "http://land.example.cn/{code}"), 400, fault.CodeInvalidParameter, "https"},
		"target host":       {with("targetUrl", "https://{code}.example.cn/"), 400, fault.CodeInvalidParameter, "host"},
		"service template":  {with("targetKind", "service"), 400, fault.CodeInvalidParameter, "placeholders"},
		"unknown app":       {with("appId", "cc0000000000000000"), 404, fault.CodeResourceNotFound, "app"},
		"another's app":     {with("appId", mainApp.AppID), 403, fault.CodeUnauthorizedOperation, "outside your scope"},
		"duplicate name":    {with("name", "浦东停车码"), 409, fault.CodeResourceAlreadyExists, "named"},
		"duplicate rule":    {with("matchValue", "PDPK"), 409, fault.CodeResourceAlreadyExists, "rule"},
		"too long timeout":  {with("timeoutMs", 60000), 400, fault.CodeInvalidParameter, "timeoutMs"},
		"unknown parameter": {with("owner", "x"), 400, fault.CodeInvalidParameter, "owner"},
	} {
		a := h.call(pd, "POST", "/console/interop/codes", c.body)
		if a.Status != c.status || a.Code != c.code || !strings.Contains(a.Msg, c.msg) {
			t.Errorf("%s: %d %s %q", name, a.Status, a.Code, a.Msg)
		}
	}
	for name, c := range map[string]struct {
		body   map[string]any
		status int
		msg    string
	}{
		"unknown template": {map[string]any{"codeId": pdCode, "templateId": "latency"}, 400, "no alert template"},
		"unknown code":     {map[string]any{"codeId": 99999, "templateId": "parse_volume"}, 404, "99999"},
		"rate over 100":    {map[string]any{"codeId": pdCode, "templateId": "parse_failure_rate", "threshold": 150}, 400, "percentage"},
		"fractional count": {map[string]any{"codeId": pdCode, "templateId": "parse_volume", "threshold": 2.5}, 400, "whole number"},
		"window too long":  {map[string]any{"codeId": pdCode, "templateId": "parse_volume", "windowSeconds": 86400}, 400, "windowSeconds"},
		"missing template": {map[string]any{"codeId": pdCode}, 400, "templateId"},
		"another's code":   {map[string]any{"codeId": cityCode, "templateId": "parse_volume"}, 403, "outside your scope"},
	} {
		if a := h.call(pd, "POST", "/console/interop/alert-rules", c.body); a.Status != c.status || !strings.Contains(a.Msg, c.msg) {
			t.Errorf("rule %s: %d %s %q", name, a.Status, a.Code, a.Msg)
		}
	}
	for _, path := range []string{"/console/interop/codes/99999", "/console/interop/alert-rules/99999", "/console/interop/scenes/99999"} {
		if a := h.call(admin, "GET", path, nil); a.Status != 404 || a.Code != fault.CodeResourceNotFound {
			t.Errorf("%s: %d %s", path, a.Status, a.Code)
		}
	}
	if a := h.call(admin, "GET", "/console/interop/codes/abc", nil); a.Status != 400 {
		t.Errorf("a non-numeric id: %d", a.Status)
	}
	if a := h.call(admin, "GET", "/console/interop/logs?createdFrom=2025-02-01&createdTo=2025-01-01", nil); a.Status != 400 {
		t.Errorf("an inverted range: %d", a.Status)
	}
	if p, _ := h.list(admin, "/console/interop/codes"); p.Total != 2 {
		t.Fatalf("bad input stored codes: %d", p.Total)
	}
	if p, _ := h.list(admin, "/console/interop/alert-rules"); p.Total != 0 {
		t.Fatalf("bad input stored rules: %d", p.Total)
	}

	// Scope of the codes.
	_, items := h.list(pd, "/console/interop/codes")
	if got := ids(items, "name"); len(got) != 1 || got[0] != "浦东停车码" {
		t.Fatalf("the sub-platform sees codes %v", got)
	}
	if p, _ := h.list(admin, "/console/interop/codes?platformId="+pdID); p.Total != 1 {
		t.Fatalf("the main platform filtering by platform: %d", p.Total)
	}
	if p, _ := h.list(admin, "/console/interop/codes?appName="+url.QueryEscape("停车")); p.Total != 1 {
		t.Fatalf("by app name: %d", p.Total)
	}
	for _, req := range [][2]string{{"GET", ""}, {"DELETE", ""}, {"POST", "/disable"}} {
		if a := h.call(pd, req[0], "/console/interop/codes/"+itoa(cityCode)+req[1], nil); a.Status != 403 {
			t.Errorf("%s of the main platform's code by the sub-platform: %d", req[0]+req[1], a.Status)
		}
	}

	// A volume rule of threshold 1 fires on every code's first parse.
	// (The cooldown outlasts the test: one record each.)
	h.must(admin, "POST", "/console/interop/alert-rules", map[string]any{"codeId": cityCode, "templateId": "parse_volume", "threshold": 1, "cooldownSeconds": 3600})
	h.must(pd, "POST", "/console/interop/alert-rules", map[string]any{"codeId": pdCode, "templateId": "parse_volume", "threshold": 1, "cooldownSeconds": 3600})
	// Pudong's apps see the main platform's codes and their own.
	for _, content := range []string{"CITY-1", "PDPK-1"} {
		if _, err := parse(t, pdScanner, map[string]any{"content": content}); err != nil {
			t.Fatalf("%s from Pudong: %v", content, err)
		}
	}
	// The main platform's apps do not see Pudong's.
	_, err := parse(t, mainScanner, map[string]any{"content": "PDPK-2"})
	wantAPIError(t, err, http.StatusNotFound, fault.CodeForeignCode)

	_, items = h.list(pd, "/console/interop/logs")
	if got := ids(items, "codeName"); len(got) != 1 || got[0] != "浦东停车码" {
		t.Fatalf("the sub-platform sees logs of %v", got)
	}
	if p, _ := h.list(admin, "/console/interop/logs"); p.Total != 3 {
		t.Fatalf("the main platform sees %d logs", p.Total)
	}
	if recs := h.alertRecords(pd, ""); len(recs) != 1 || recs[0].CodeName != "浦东停车码" || recs[0].PlatformID != pdID {
		t.Fatalf("the sub-platform sees records %+v", recs)
	}
	if recs := h.alertRecords(admin, ""); len(recs) != 2 {
		t.Fatalf("the main platform sees records %+v", recs)
	}
	if recs := h.alertRecords(admin, "platformId="+pdID); len(recs) != 1 {
		t.Fatalf("by platform: %+v", recs)
	}
	_, items = h.list(pd, "/console/interop/alert-rules")
	if got := ids(items, "codeName"); len(got) != 1 || got[0] != "浦东停车码" {
		t.Fatalf("the sub-platform sees rules of %v", got)
	}

	// Scenes.
	sceneBody := map[string]any{"name": "医院挂号互认", "code": "pd-hospital", "category": "医疗", "type": "mutual", "authLevel": 2,
		"intro": "挂号机识别付款码", "contact": "李四", "phone": "13800138000", "sortNo": 20, "ownerUnit": "区卫健委"}
	var scene struct {
		ID      int64  `json:"id"`
		Phone   string `json:"phone"`
		Routing bool   `json:"routing"`
		Status  string `json:"status"`
		Grants  []struct {
			CodeID int64 `json:"codeId"`
		} `json:"grants"`
	}
	h.must(pd, "POST", "/console/interop/scenes", sceneBody).decode(t, &scene)
	if scene.Phone != "138****8000" || !scene.Routing || scene.Status != "enabled" {
		t.Fatalf("scene: %+v", scene)
	}
	h.must(pd, "POST", "/console/interop/scenes", map[string]any{"name": "停车场", "code": "pd-parking", "type": "mutual", "sortNo": 10})
	for name, c := range map[string]struct {
		method, path string
		body         map[string]any
		status       int
	}{
		"duplicate code":     {"POST", "/console/interop/scenes", sceneBody, 409},
		"bad code":           {"POST", "/console/interop/scenes", map[string]any{"name": "x", "code": "医院", "type": "t"}, 400},
		"missing type":       {"POST", "/console/interop/scenes", map[string]any{"name": "x", "code": "x1"}, 400},
		"bad phone":          {"POST", "/console/interop/scenes", map[string]any{"name": "x", "code": "x2", "type": "t", "phone": "call me"}, 400},
		"level 9":            {"POST", "/console/interop/scenes", map[string]any{"name": "x", "code": "x3", "type": "t", "authLevel": 9}, 400},
		"type is fixed":      {"PUT", "/console/interop/scenes/" + itoa(scene.ID), map[string]any{"name": "x", "code": "pd-hospital", "type": "other"}, 400},
		"level is fixed":     {"PUT", "/console/interop/scenes/" + itoa(scene.ID), map[string]any{"name": "x", "code": "pd-hospital", "authLevel": 3}, 400},
		"unit is fixed":      {"PUT", "/console/interop/scenes/" + itoa(scene.ID), map[string]any{"name": "x", "code": "pd-hospital", "ownerUnit": "别处"}, 400},
		"grant unknown code": {"POST", "/console/interop/scenes/" + itoa(scene.ID) + "/grants", map[string]any{"codeIds": []int64{99999}}, 404},
		"grant another's":    {"POST", "/console/interop/scenes/" + itoa(scene.ID) + "/grants", map[string]any{"codeIds": []int64{cityCode}}, 403},
		"routing missing":    {"PUT", "/console/interop/scenes/" + itoa(scene.ID) + "/routing", map[string]any{}, 400},
	} {
		if a := h.call(pd, c.method, c.path, c.body); a.Status != c.status {
			t.Errorf("scene %s: %d %s %s", name, a.Status, a.Code, a.Msg)
		}
	}
	// Edits keep what is fixed; sending it unchanged is fine.
	h.must(pd, "PUT", "/console/interop/scenes/"+itoa(scene.ID), map[string]any{"name": "医院挂号互认（浦东）", "code": "pd-hospital",
		"type": "mutual", "authLevel": 2, "ownerUnit": "区卫健委", "sortNo": 30})
	_, items = h.list(pd, "/console/interop/scenes")
	if got := ids(items, "code"); strings.Join(got, ",") != "pd-parking,pd-hospital" || items[1]["phone"] != "138****8000" {
		t.Fatalf("scenes by sort number: %v %v", got, items)
	}
	_, items = h.list(pd, "/console/interop/scenes?order=desc&keyword=PD-")
	if got := ids(items, "code"); strings.Join(got, ",") != "pd-hospital,pd-parking" {
		t.Fatalf("scenes descending: %v", got)
	}
	_, items = h.list(pd, "/console/interop/scenes?keyword="+url.QueryEscape("挂号"))
	if len(items) != 1 {
		t.Fatalf("fuzzy search: %v", items)
	}
	if p, _ := h.list(admin, "/console/interop/scenes"); p.Total != 2 {
		t.Fatalf("the main platform sees %d scenes", p.Total)
	}

	inScene := func(content string) error {
		_, err := parse(t, pdScanner, map[string]any{"content": content, "sceneId": scene.ID})
		return err
	}
	wantAPIError(t, inScene("PDPK-3"), http.StatusForbidden, fault.CodeUnauthorizedOperation) // not authorized
	h.must(pd, "POST", "/console/interop/scenes/"+itoa(scene.ID)+"/grants", map[string]any{"codeIds": []int64{pdCode}}).decode(t, &scene)
	if len(scene.Grants) != 1 || scene.Grants[0].CodeID != pdCode {
		t.Fatalf("grants: %+v", scene)
	}
	if err := inScene("PDPK-3"); err != nil {
		t.Fatalf("authorized: %v", err)
	}
	wantAPIError(t, inScene("CITY-3"), http.StatusForbidden, fault.CodeUnauthorizedOperation) // only the granted code
	h.must(pd, "PUT", "/console/interop/scenes/"+itoa(scene.ID)+"/routing", map[string]any{"enabled": false})
	wantAPIError(t, inScene("PDPK-4"), http.StatusForbidden, fault.CodeUnauthorizedOperation)
	h.must(pd, "PUT", "/console/interop/scenes/"+itoa(scene.ID)+"/routing", map[string]any{"enabled": true})
	if err := inScene("PDPK-5"); err != nil {
		t.Fatalf("routing back on: %v", err)
	}
	h.must(pd, "POST", "/console/interop/scenes/"+itoa(scene.ID)+"/disable", nil)
	wantAPIError(t, inScene("PDPK-6"), http.StatusForbidden, fault.CodeUnauthorizedOperation)
	var sceneLogs struct {
		Items []struct {
			SceneName, Status, Reason string
		} `json:"items"`
	}
	h.must(pd, "GET", "/console/interop/logs?pageSize=1", nil).decode(t, &sceneLogs)
	if l := sceneLogs.Items[0]; l.SceneName != "医院挂号互认（浦东）" || l.Status != "failure" || !strings.Contains(l.Reason, "disabled") {
		t.Fatalf("a refused scene's log: %+v", l)
	}
	_, err = parse(t, pdScanner, map[string]any{"content": "PDPK-7", "sceneId": 99999})
	wantAPIError(t, err, http.StatusNotFound, fault.CodeResourceNotFound)
	// The main platform's apps do not use Pudong's scenes.
	_, err = parse(t, mainScanner, map[string]any{"content": "CITY-8", "sceneId": scene.ID})
	wantAPIError(t, err, http.StatusNotFound, fault.CodeResourceNotFound)

	// A scene holding authorizations is not deleted until they are revoked.
	if a := h.call(pd, "DELETE", "/console/interop/scenes/"+itoa(scene.ID), nil); a.Status != 409 || a.Code != fault.CodeResourceInUse {
		t.Fatalf("delete with grants: %d %s", a.Status, a.Code)
	}
	h.must(pd, "DELETE", "/console/interop/scenes/"+itoa(scene.ID)+"/grants/"+itoa(pdCode), nil)
	if a := h.call(pd, "DELETE", "/console/interop/scenes/"+itoa(scene.ID)+"/grants/"+itoa(pdCode), nil); a.Status != 404 {
		t.Fatalf("revoke twice: %d", a.Status)
	}
	h.must(pd, "DELETE", "/console/interop/scenes/"+itoa(scene.ID), nil)
	if p, _ := h.list(pd, "/console/interop/scenes"); p.Total != 1 {
		t.Fatalf("after delete: %d", p.Total)
	}

	// Deleting a code takes its rules along; its records stay.
	h.must(pd, "DELETE", "/console/interop/codes/"+itoa(pdCode), nil)
	if p, _ := h.list(pd, "/console/interop/alert-rules"); p.Total != 0 {
		t.Fatalf("rules of a deleted code: %d", p.Total)
	}
	if recs := h.alertRecords(pd, ""); len(recs) != 1 {
		t.Fatalf("records of a deleted code: %+v", recs)
	}
}
