package server_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// fromIP makes requests look as if they came, through the trusted proxy,
// from ip.
type fromIP struct{ ip string }

func (f fromIP) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	return http.DefaultTransport.RoundTrip(r)
}

// TestBlacklists: 风控黑名单 — a blacklisted IP range is refused on every
// endpoint family (console, open API, landing pages, public endpoints) but
// the probes; a blacklisted access account on its signed calls; a
// blacklisted user on show and decode; entries are checked, kept to the
// main platform, and released.
func TestBlacklists(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 1)
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 60, "refreshSeconds": 30, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "随申办"})
	other := h.app(admin, map[string]any{"name": "其他应用"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	secret, _ := hex.DecodeString(phone.AppSecret)
	pc := client.New(h.URL, phone.AppID, secret)
	ctx := context.Background()
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("李四", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	show := func() error {
		return pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &shown)
	}
	if err := show(); err != nil {
		t.Fatal(err)
	}
	code := shown.CodeContent

	// Entries are checked, and kept to the main platform.
	for _, body := range []map[string]any{
		{"kind": "ip", "value": "0.0.0.0/0"}, {"kind": "ip", "value": "not-an-ip"}, {"kind": "ip", "value": "::/8"},
		{"kind": "account", "value": "cc0000000000000000"}, {"kind": "user", "value": "a b"}, {"kind": "device", "value": "x"},
	} {
		if a := h.call(admin, "POST", "/console/risk/blacklist", body); a.Status/100 != 4 || a.Status == 403 {
			t.Fatalf("entry %v: %d %s", body, a.Status, a.Msg)
		}
	}
	_, sub := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	if a := h.call(sub, "POST", "/console/risk/blacklist", map[string]any{"kind": "ip", "value": "198.51.100.7"}); a.Status != 403 {
		t.Fatalf("a sub-platform blacklisting: %d", a.Status)
	}

	// An IP range: refused everywhere but the probes.
	h.must(admin, "POST", "/console/risk/blacklist", map[string]any{"kind": "ip", "value": "203.0.113.9/24", "reason": "撞库攻击"})
	if a := h.call(admin, "POST", "/console/risk/blacklist", map[string]any{"kind": "ip", "value": "203.0.113.0/24"}); a.Status != 409 {
		t.Fatalf("the same range twice: %d", a.Status)
	}
	get := func(ip, method, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL+path, strings.NewReader("{}"))
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []struct{ method, path, token string }{
		{"GET", "/console/apps", admin},                 // console
		{"POST", "/console/auth/captcha", ""},           // console login
		{"GET", "/c/" + codes[0], ""},                   // landing page
		{"GET", "/openapi/v1/keys", ""},                 // public API
		{"GET", "/openapi.json", ""},                    // documents
		{"POST", "/openapi/v1/object-codes/verify", ""}, // open API, before its signature
	} {
		if status, body := get("203.0.113.200", p.method, p.path, p.token); status != 403 || (!strings.Contains(body, fault.CodeBlacklisted) && !strings.Contains(body, "限制访问")) {
			t.Errorf("%s %s from a blacklisted range: %d %.120s", p.method, p.path, status, body)
		}
		if status, _ := get("198.51.100.1", p.method, p.path, p.token); status == 403 {
			t.Errorf("%s %s from another address: 403", p.method, p.path)
		}
	}
	if status, _ := get("203.0.113.200", "GET", "/healthz", ""); status != 200 {
		t.Errorf("probe from a blacklisted range: %d", status)
	}
	blocked := client.New(h.URL, phone.AppID, secret, client.WithHTTPClient(&http.Client{Transport: fromIP{"203.0.113.5"}}))
	wantAPIError(t, blocked.Call(ctx, "/api/getAppInfo", map[string]any{}, nil), 403, fault.CodeBlacklisted)

	// An access account: its signed calls are refused, others' are not.
	var entry struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/risk/blacklist", map[string]any{"kind": "account", "value": phone.AppID, "reason": "异常调用"}).decode(t, &entry)
	wantAPIError(t, pc.Call(ctx, "/api/getAppInfo", map[string]any{}, nil), 403, fault.CodeBlacklisted)
	if err := signedClient(t, h, other).Call(ctx, "/api/getAppInfo", map[string]any{}, nil); err != nil {
		t.Fatalf("another app: %v", err)
	}
	h.must(admin, "POST", "/console/risk/blacklist/"+itoa(entry.ID)+"/release", nil)
	if err := pc.Call(ctx, "/api/getAppInfo", map[string]any{}, nil); err != nil {
		t.Fatalf("released account: %v", err)
	}
	if a := h.call(admin, "POST", "/console/risk/blacklist/"+itoa(entry.ID)+"/release", nil); a.Status != 404 {
		t.Fatalf("released twice: %d", a.Status)
	}

	// A user: no code shown, none decoded.
	h.must(admin, "POST", "/console/risk/blacklist", map[string]any{"kind": "user", "value": opened.UserID, "reason": "冒用证件"})
	wantAPIError(t, show(), 403, fault.CodeBlacklisted)
	err0 := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("李四", "11010519491231002X", "13800138000")}, nil)
	wantAPIError(t, err0, 403, fault.CodeBlacklisted)
	err := pc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": phone.AppID, "codeContent": code, "acceptOrgId": "ORG1"}, nil)
	wantAPIError(t, err, 403, fault.CodeBlacklisted)

	var page struct {
		Total int64 `json:"total"`
		Items []struct {
			Kind, Value, Status string
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/risk/blacklist?status=active", nil).decode(t, &page)
	if page.Total != 2 {
		t.Fatalf("active entries: %+v", page)
	}
}
