package server_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// TestCapabilityGrants: 能力授权 — an app restricted to its grants calls
// the capabilities it holds, within their quotas (429 LimitExceeded.Quota
// past it, and a refused call does not spend the quota), and nothing else
// (403 UnauthorizedOperation) but its own information; an app that is not
// restricted calls everything. Reclaiming a capability applies at once.
// The catalogue lists every App route; usage shows the period's calls; a
// sub-platform cannot see or change the main platform's grants; bad
// grants are refused and change nothing.
func TestCapabilityGrants(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{redis: true})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 300, "refreshSeconds": 60, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	partner := h.app(admin, map[string]any{"name": "合作方闸机"})
	city := h.app(admin, map[string]any{"name": "随申办"})
	for _, a := range []createdApp{partner, city} {
		h.must(admin, "PUT", "/console/apps/"+a.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	}
	ctx := context.Background()
	clientOf := func(a createdApp) *client.Client {
		secret, _ := hex.DecodeString(a.AppSecret)
		return client.New(h.URL, a.AppID, secret)
	}
	pc, cc := clientOf(partner), clientOf(city)

	// The catalogue: every App route under one capability.
	var cat struct {
		Items []struct {
			Code   string `json:"code"`
			Name   string `json:"name"`
			Routes []struct{ Method, Path string }
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/capabilities", nil).decode(t, &cat)
	routes := map[string]string{}
	for _, c := range cat.Items {
		for _, r := range c.Routes {
			routes[r.Path] = c.Code
		}
	}
	if routes["/identity/decodeIdentityCode"] != "code-decode" || routes["/api/showPersonalCode"] != "personal-code" || routes["/api/getAppInfo"] != "open-api" {
		t.Fatalf("catalogue: %v", routes)
	}
	h.must(admin, "GET", "/console/capabilities?keyword=解码", nil).decode(t, &cat)
	if len(cat.Items) != 1 || cat.Items[0].Code != "code-decode" {
		t.Fatalf("search 解码: %+v", cat.Items)
	}

	// Bad grants change nothing.
	for name, body := range map[string]map[string]any{
		"unknown capability": {"restricted": true, "grants": []map[string]any{{"capability": "teleport"}}},
		"twice":              {"restricted": true, "grants": []map[string]any{{"capability": "code-decode"}, {"capability": "code-decode"}}},
		"zero quota":         {"restricted": true, "grants": []map[string]any{{"capability": "code-decode", "quota": 0}}},
		"bad period":         {"restricted": true, "grants": []map[string]any{{"capability": "code-decode", "period": "year"}}},
	} {
		if a := h.call(admin, "PUT", "/console/apps/"+partner.AppID+"/grants", body); a.Status != 400 {
			t.Errorf("%s: %d %s", name, a.Status, a.Code)
		}
	}
	if a := h.call(admin, "PUT", "/console/apps/nosuchapp/grants", map[string]any{"restricted": true}); a.Status != 404 {
		t.Fatalf("grants of an unknown app: %d", a.Status)
	}
	var g struct {
		Restricted bool `json:"restricted"`
		Grants     []struct {
			Capability string `json:"capability"`
			Quota      *int64 `json:"quota"`
			Used       int64  `json:"used"`
		} `json:"grants"`
	}
	h.must(admin, "GET", "/console/apps/"+partner.AppID+"/grants", nil).decode(t, &g)
	if g.Restricted || len(g.Grants) != 0 {
		t.Fatalf("after refused grants: %+v", g)
	}

	// Restricted to issuing personal codes and three decodes a day.
	h.must(admin, "PUT", "/console/apps/"+partner.AppID+"/grants", map[string]any{"restricted": true, "grants": []map[string]any{
		{"capability": "personal-code"}, {"capability": "code-decode", "quota": 3, "period": "day"}}})
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": partner.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("钱七", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": partner.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &shown); err != nil {
		t.Fatal(err)
	}
	decode := func(c *client.Client, app string) error {
		return c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": app, "codeContent": shown.CodeContent, "acceptOrgId": "地铁闸机"}, nil)
	}
	for i := range 3 {
		if err := decode(pc, partner.AppID); err != nil {
			t.Fatalf("decode %d within the quota: %v", i, err)
		}
	}
	for range 2 {
		wantAPIError(t, decode(pc, partner.AppID), 429, fault.CodeQuota)
	}
	wantAPIError(t, pc.Call(ctx, "/api/openHealthCode", map[string]any{"cityCodeAppId": partner.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("钱七", "11010519491231002X", "13800138000")}, nil), 403, fault.CodeUnauthorizedOperation)
	if err := pc.Call(ctx, "/api/getAppInfo", map[string]any{}, nil); err != nil {
		t.Fatalf("an app's own information: %v", err)
	}
	// The city's own app is not restricted.
	for range 5 {
		if err := decode(cc, city.AppID); err != nil {
			t.Fatalf("an unrestricted app: %v", err)
		}
	}

	h.must(admin, "GET", "/console/apps/"+partner.AppID+"/grants", nil).decode(t, &g)
	if !g.Restricted || len(g.Grants) != 2 || g.Grants[0].Capability != "code-decode" || g.Grants[0].Used != 3 || *g.Grants[0].Quota != 3 {
		t.Fatalf("grants after use: %+v", g)
	}
	var usage struct {
		Apps []struct {
			AppID string `json:"appId"`
			Used  int64  `json:"used"`
		} `json:"apps"`
	}
	h.must(admin, "GET", "/console/capabilities/code-decode/usage", nil).decode(t, &usage)
	if len(usage.Apps) != 1 || usage.Apps[0].AppID != partner.AppID || usage.Apps[0].Used != 3 {
		t.Fatalf("usage: %+v", usage)
	}

	// More quota: the next decode passes. Reclaimed: refused at once.
	h.must(admin, "PUT", "/console/apps/"+partner.AppID+"/grants", map[string]any{"restricted": true, "grants": []map[string]any{
		{"capability": "personal-code"}, {"capability": "code-decode", "quota": 4}}})
	if err := decode(pc, partner.AppID); err != nil {
		t.Fatalf("with more quota: %v", err)
	}
	h.must(admin, "PUT", "/console/apps/"+partner.AppID+"/grants", map[string]any{"restricted": true, "grants": []map[string]any{
		{"capability": "personal-code"}}})
	wantAPIError(t, decode(pc, partner.AppID), 403, fault.CodeUnauthorizedOperation)

	// A sub-platform neither sees nor changes the main platform's grants.
	_, sub := h.subPlatform(admin, "静安区平台", "310106", "ja_admin")
	if a := h.call(sub, "GET", "/console/apps/"+partner.AppID+"/grants", nil); a.Status != 404 {
		t.Fatalf("a sub-platform reads the main's grants: %d", a.Status)
	}
	if a := h.call(sub, "PUT", "/console/apps/"+partner.AppID+"/grants", map[string]any{"restricted": false}); a.Status != 404 {
		t.Fatalf("a sub-platform lifts the main's restriction: %d", a.Status)
	}
	h.must(sub, "GET", "/console/capabilities/code-decode/usage", nil).decode(t, &usage)
	if len(usage.Apps) != 0 {
		t.Fatalf("a sub-platform sees usage of %d apps", len(usage.Apps))
	}
	wantAPIError(t, decode(pc, partner.AppID), 403, fault.CodeUnauthorizedOperation)
}

// TestNewAppRestrictedOnEveryNode: an app created and restricted on one
// node is restricted on another at once — not only after that node's next
// reload of the grants, when it would have passed unrestricted meanwhile.
func TestNewAppRestrictedOnEveryNode(t *testing.T) {
	t.Parallel()
	a := newHost(t, hostOpts{redis: true})
	admin := a.admin()
	b := newHost(t, hostOpts{dbURL: a.dbURL, redis: true, keyFile: a.keyFile})
	ctx := context.Background()
	city := a.app(admin, map[string]any{"name": "随申办"})
	secret, _ := hex.DecodeString(city.AppSecret)
	// B reads its grants snapshot now, before the new app exists.
	if err := client.New(b.URL, city.AppID, secret).Call(ctx, "/api/getAppInfo", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	partner := a.app(admin, map[string]any{"name": "合作方"})
	a.must(admin, "PUT", "/console/apps/"+partner.AppID+"/grants", map[string]any{"restricted": true, "grants": []map[string]any{}})
	ps, _ := hex.DecodeString(partner.AppSecret)
	pb := client.New(b.URL, partner.AppID, ps)
	wantAPIError(t, pb.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": partner.AppID, "codeDefId": "R1", "userId": "1"}, nil),
		403, fault.CodeUnauthorizedOperation)
	if err := pb.Call(ctx, "/api/getAppInfo", map[string]any{}, nil); err != nil {
		t.Fatalf("its own information: %v", err)
	}
}
