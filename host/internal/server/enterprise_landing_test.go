package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A citizen scanning an enterprise code (一企一码) lands on
// {publicBase}/e/{token}: the platform's standard page naming the
// enterprise, or the plugin bound to enterprise codes, which can resolve
// the code too; a disabled enterprise's code and an unknown one answer
// pages saying so, and object codes keep their own landing.
func TestEnterpriseLanding(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	const uscc = "91350100M000100Y43"
	h.must(admin, "POST", "/console/enterprise-registry", map[string]any{"uscc": uscc, "name": "某某餐饮有限公司"})
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "一企一码", "form": "static", "family": "enterprise"}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "市场监管"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(t, h, app)
	ctx := context.Background()
	var ent struct {
		ID  string `json:"enterpriseId"`
		URL string `json:"url"`
	}
	if err := c.Call(ctx, "/openapi/v1/enterprise-codes", map[string]any{"codeDefId": rule.ID, "name": "某某餐饮有限公司", "uscc": uscc, "address": "徐汇区漕溪北路1号"}, &ent); err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(ent.URL, "/e/")
	if i < 0 {
		t.Fatalf("enterprise URL %q", ent.URL)
	}
	own, token := ent.URL[i:], ent.URL[i+3:]
	object := h.objectCodes(admin, 1)[0]

	// No binding: the platform's standard page names the enterprise.
	status, body, _ := h.scan(http.MethodGet, own, nil, "")
	if status != 200 || !strings.Contains(body, "一企一码") || !strings.Contains(body, "某某餐饮有限公司") {
		t.Fatalf("standard page: %d %s", status, body)
	}
	for _, p := range []string{"/e/" + strings.Repeat("A", 24), "/e/not-a-token", "/e/" + object} {
		if status, _, _ := h.scan(http.MethodGet, p, nil, ""); status != 404 {
			t.Errorf("%s: %d, want 404", p, status)
		}
	}

	// Bound to enterprise codes, the plugin serves them, with the code as
	// an enterprise; object codes are not touched by that binding.
	buildPlugins(t)
	names := h.installProbes(admin)
	h.bind(admin, map[string]any{"scope": "kind", "codeKind": "enterprise", "plugin": names[1]})
	status, body, hdr := h.scan(http.MethodGet, own, nil, "")
	if status != 200 || body != "probe ok "+token || !strings.HasPrefix(hdr.Get("X-CityCode-Plugin"), names[1]+"/") {
		t.Fatalf("plugin page: %d %q %v", status, body, hdr)
	}
	if status, body, _ := h.scan(http.MethodGet, own+"/resolve?code="+ent.URL, nil, ""); status != 200 || body != "resolve: "+token {
		t.Fatalf("resolve through the plugin: %d %q", status, body)
	}
	if status, body, hdr := h.scan(http.MethodGet, "/c/"+object, nil, ""); status != 200 || hdr.Get("X-CityCode-Plugin") != "" || !strings.Contains(body, "一物一码") {
		t.Fatalf("object code under an enterprise binding: %d %v", status, hdr)
	}

	// Disabled: the page says the code is out of use, the plugin is not called.
	if err := c.Call(ctx, "/openapi/v1/enterprise-codes/"+ent.ID+"/status", map[string]any{"enabled": false}, nil); err != nil {
		t.Fatal(err)
	}
	if status, body, hdr := h.scan(http.MethodGet, own, nil, ""); status != 409 || hdr.Get("X-CityCode-Plugin") != "" || !strings.Contains(body, "尚未启用") {
		t.Fatalf("disabled enterprise: %d %v %s", status, hdr, body)
	}
}
