package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWhitelists: the scan whitelist decides which domains' code URLs
// verify as the platform's (a real token under a look-alike domain does
// not), the service whitelist where a landing page may send a citizen
// (every open-redirect trick refused), entries are checked and scoped, and
// apps query both.
func TestWhitelists(t *testing.T) {
	t.Parallel()
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 1)
	h.installProbes(admin)
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[0], "plugin": "probe-native"})
	app := h.app(admin, map[string]any{"name": "扫码终端"})
	c := signedClient(t, h, app)
	ctx := context.Background()

	// Entries are checked.
	for _, d := range []string{"http://svc.example.cn", "localhost", "*.", "a..example.cn", "-a.example.cn", "svc.example.cn/path", "例子.cn"} {
		if a := h.call(admin, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": d}); a.Status != 400 {
			t.Fatalf("domain %q: %d %s", d, a.Status, a.Msg)
		}
	}
	if a := h.call(admin, "POST", "/console/whitelists", map[string]any{"kind": "other", "domain": "a.example.cn"}); a.Status != 400 {
		t.Fatalf("kind: %d", a.Status)
	}

	// Scan: a real token under another domain is not the platform's code.
	var verified struct {
		Token string `json:"token"`
	}
	foreign := "https://code.other-city.cn/c/" + codes[0]
	err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": foreign}, &verified)
	wantAPIError(t, err, http.StatusBadRequest, "FailedOperation.CodeTampered")
	if err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": codes[0]}, &verified); err != nil || verified.Token != codes[0] {
		t.Fatalf("a token alone: %v", err)
	}
	h.must(admin, "POST", "/console/whitelists", map[string]any{"kind": "scan", "domain": "*.OTHER-city.cn", "note": "长三角互认"})
	if a := h.call(admin, "POST", "/console/whitelists", map[string]any{"kind": "scan", "domain": "*.other-city.cn"}); a.Status != 409 {
		t.Fatalf("a second entry: %d", a.Status)
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": foreign}, &verified); err != nil || verified.Token != codes[0] {
		t.Fatalf("a whitelisted domain's URL: %v", err)
	}
	// The wildcard covers subdomains only, and only that domain.
	for _, u := range []string{"https://other-city.cn/c/" + codes[0], "https://code.other-city.cn.evil.example/c/" + codes[0]} {
		err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": u}, &verified)
		wantAPIError(t, err, http.StatusBadRequest, "FailedOperation.CodeTampered")
	}

	// Service: a plugin may send a citizen only to its code's pages or to
	// https addresses on the service whitelist.
	redirect := func(to string) (int, string) {
		status, _, hdr := h.scan("GET", "/c/"+codes[0]+"/go?to="+url.QueryEscape(to), nil, "")
		return status, hdr.Get("Location")
	}
	if status, loc := redirect("https://svc.example.cn/apply"); status != http.StatusBadGateway || loc != "" {
		t.Fatalf("before whitelisting: %d %q", status, loc)
	}
	h.must(admin, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "svc.example.cn"})
	if status, loc := redirect("https://svc.example.cn/apply?from=code"); status != http.StatusFound || loc != "https://svc.example.cn/apply?from=code" {
		t.Fatalf("a whitelisted service: %d %q", status, loc)
	}
	for _, to := range []string{
		"http://svc.example.cn/apply",              // not https
		"https://svc.example.cn.evil.example/",     // a suffix trick
		"https://evil.example/?svc.example.cn",     // the name elsewhere
		"https://svc.example.cn@evil.example/",     // credentials
		`\\evil.example/x`,                         // read as //evil.example
		"/\\evil.example",                          // likewise
		"//evil.example/x",                         // scheme-relative
		"javascript:alert(1)",                      // not a page
		"https://sub.svc.example.cn/",              // an exact entry covers no subdomain
		"https://svc.example.cn\t.evil.example/",   // a tab browsers drop
		"/c/" + codes[0] + "/../../admin/whatever", // out of the code's pages
	} {
		if status, loc := redirect(to); status != http.StatusBadGateway || loc != "" {
			t.Errorf("redirect to %q: %d %q", to, status, loc)
		}
	}
	if status, loc := redirect("/c/" + codes[0] + "/home"); status != http.StatusFound || loc == "" {
		t.Fatalf("the code's own page: %d %q", status, loc)
	}

	// Apps query the lists.
	var list struct {
		Domains []string `json:"domains"`
	}
	if err := c.Get(ctx, "/openapi/v1/whitelists", url.Values{"kind": {"scan"}}, &list); err != nil || len(list.Domains) != 1 || list.Domains[0] != "*.other-city.cn" {
		t.Fatalf("app list: %+v %v", list, err)
	}
	var check struct {
		Allowed bool   `json:"allowed"`
		Domain  string `json:"domain"`
	}
	if err := c.Call(ctx, "/openapi/v1/whitelists/check", map[string]any{"kind": "service", "url": "https://svc.example.cn/x"}, &check); err != nil || !check.Allowed || check.Domain != "svc.example.cn" {
		t.Fatalf("check: %+v %v", check, err)
	}
	if err := c.Call(ctx, "/openapi/v1/whitelists/check", map[string]any{"kind": "service", "url": "https://evil.example/"}, &check); err != nil || check.Allowed {
		t.Fatalf("check of another domain: %+v %v", check, err)
	}

	// A sub-platform adds its own entries, not the main platform's, and
	// its entries do not hold on the main platform.
	_, sub := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	if a := h.call(sub, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "pd.example.cn", "platformId": "P0000"}); a.Status != 403 {
		t.Fatalf("a sub-platform writing the main platform's list: %d", a.Status)
	}
	h.must(sub, "POST", "/console/whitelists", map[string]any{"kind": "service", "domain": "pd.example.cn"})
	if status, _ := redirect("https://pd.example.cn/"); status != http.StatusBadGateway {
		t.Fatalf("a sub-platform's entry on the main platform: %d", status)
	}
	var entries struct {
		Items []struct {
			ID     int64  `json:"id"`
			Domain string `json:"domain"`
		} `json:"items"`
	}
	h.must(sub, "GET", "/console/whitelists", nil).decode(t, &entries)
	var names []string
	for _, e := range entries.Items {
		names = append(names, e.Domain)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "pd.example.cn") || !strings.Contains(got, "svc.example.cn") {
		t.Fatalf("sub-platform sees %s", got)
	}
	// Removed: the service is refused again.
	h.must(admin, "GET", "/console/whitelists?kind=service&keyword=svc", nil).decode(t, &entries)
	if len(entries.Items) != 1 {
		t.Fatalf("keyword: %+v", entries)
	}
	h.must(admin, "DELETE", "/console/whitelists/"+itoa(entries.Items[0].ID), nil)
	if status, _ := redirect("https://svc.example.cn/apply"); status != http.StatusBadGateway {
		t.Fatalf("after removal: %d", status)
	}
}
