package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
)

// 一企一码兼容: codes of an earlier generation, imported with their old
// content, scan to the new landing page (the verify API and the old URL's
// redirect) and refuse every edit; new codes stay editable; bad imports
// store nothing; a sub-platform sees and binds only its own codes.
func TestLegacyCodes(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	ctx := context.Background()

	// An object type and rule, an enterprise rule, one app holding both.
	var typ, objRule, entRule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/object-types", map[string]any{"name": "消防栓", "management": "local",
		"requiredFields": []map[string]any{{"name": "address", "required": true}}}).decode(t, &typ)
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "消防栓码", "form": "static", "family": "object"}).decode(t, &objRule)
	h.must(admin, "POST", "/console/rules/"+objRule.ID+"/publish", nil)
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "一企一码", "form": "static", "family": "enterprise"}).decode(t, &entRule)
	h.must(admin, "POST", "/console/rules/"+entRule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "消防救援"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{objRule.ID, entRule.ID}})
	c := signedClient(t, h, app)

	var batch struct {
		BatchID string `json:"batchId"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": objRule.ID, "typeId": typ.ID, "regionCode": "310104", "count": 2}, &batch); err != nil {
		t.Fatal(err)
	}
	var codes struct {
		Items []struct {
			Token  string `json:"token"`
			Number int64  `json:"number"`
		} `json:"items"`
	}
	if _, raw, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", "", nil); err != nil || decodeData(raw, &codes) != nil {
		t.Fatalf("batch codes: %v", err)
	}
	for _, it := range codes.Items {
		if err := c.Call(ctx, "/openapi/v1/object-codes/"+it.Token+"/activate", map[string]any{"attributes": map[string]any{"address": "漕溪北路 1 号"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	old, current := codes.Items[0], codes.Items[1]
	const uscc = "91350100M000100Y43"
	h.must(admin, "POST", "/console/enterprise-registry", map[string]any{"uscc": uscc, "name": "某某餐饮有限公司"})
	var ent struct {
		URL    string `json:"url"`
		Number int64  `json:"number"`
	}
	if err := c.Call(ctx, "/openapi/v1/enterprise-codes", map[string]any{"codeDefId": entRule.ID, "name": "某某餐饮有限公司", "uscc": uscc, "address": "徐汇区"}, &ent); err != nil {
		t.Fatal(err)
	}

	const oldObject, oldEnterprise, oldBare = "https://old.example.gov.cn/qr?id=123", "https://old.example.gov.cn/ent?id=9", "XF-OLD-0042"
	count := func(token string, query string) int64 {
		p, _ := h.list(token, "/console/legacy-codes"+query)
		return p.Total
	}
	var imported struct {
		Items []struct {
			Content    string `json:"content"`
			TargetKind string `json:"targetKind"`
			Number     int64  `json:"number"`
			LandingURL string `json:"landingUrl"`
		} `json:"items"`
	}
	h.must(admin, "POST", "/console/legacy-codes", map[string]any{"items": []map[string]any{
		{"content": oldObject, "number": strconv.FormatInt(old.Number, 10)},
		{"content": oldEnterprise, "uscc": uscc, "note": "2019 年版企业码"},
		{"content": oldBare, "object": map[string]any{"typeId": typ.ID, "regionCode": "310104", "ownerUnit": "徐汇消防", "attributes": map[string]any{"address": "天钥桥路 2 号"}}},
	}}).decode(t, &imported)
	if len(imported.Items) != 3 || imported.Items[0].Number != old.Number || imported.Items[1].TargetKind != "enterprise" ||
		imported.Items[1].LandingURL != ent.URL || !strings.HasSuffix(imported.Items[0].LandingURL, "/c/"+old.Token) {
		t.Fatalf("imported: %+v", imported.Items)
	}
	created := imported.Items[2].Number

	// (a) The verify API resolves old content: same shape, generation legacy.
	type verified struct {
		URL           string `json:"url"`
		Number        int64  `json:"number"`
		Status        string `json:"status"`
		Generation    string `json:"generation"`
		LegacyContent string `json:"legacyContent"`
		Attributes    struct {
			Address string `json:"address"`
		} `json:"attributes"`
		Enterprise *struct {
			USCC string `json:"uscc"`
		} `json:"enterprise"`
	}
	verify := func(code string) (verified, error) {
		var v verified
		err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": code}, &v)
		return v, err
	}
	v, err := verify(oldObject)
	if err != nil || v.Number != old.Number || v.Generation != "legacy" || v.LegacyContent != oldObject || v.Status != "active" || v.URL == "" {
		t.Fatalf("verify old URL: %+v %v", v, err)
	}
	objectURL := v.URL
	if v, err := verify(oldEnterprise); err != nil || v.Enterprise == nil || v.Enterprise.USCC != uscc || v.URL != ent.URL || v.Number != ent.Number || v.Generation != "legacy" {
		t.Fatalf("verify old enterprise code: %+v %v", v, err)
	}
	if v, err := verify(oldBare); err != nil || v.Number != created || v.Generation != "legacy" || v.Attributes.Address != "天钥桥路 2 号" {
		t.Fatalf("verify old bare code: %+v %v", v, err)
	}
	if v, err := verify(current.Token); err != nil || v.Generation != "" {
		t.Fatalf("verify a current code: %+v %v", v, err)
	}
	_, err = verify("https://old.example.gov.cn/qr?id=124")
	wantAPIError(t, err, 400, fault.CodeCodeTampered)

	// (b) The old URL forwarded under /legacy/ redirects to the landing page.
	status, _, hdr := h.scan(http.MethodGet, "/legacy/old.example.gov.cn/qr?id=123", nil, "")
	if status != http.StatusFound || hdr.Get("Location") != objectURL {
		t.Fatalf("old object URL: %d %q, want 302 to %s", status, hdr.Get("Location"), objectURL)
	}
	if status, body, _ := h.scan(http.MethodGet, "/c/"+old.Token, nil, ""); status != 200 || !strings.Contains(body, "一物一码") {
		t.Fatalf("landing page of the redirect: %d", status)
	}
	if status, _, hdr := h.scan(http.MethodGet, "/legacy/old.example.gov.cn/ent?id=9", nil, ""); status != http.StatusFound || hdr.Get("Location") != ent.URL {
		t.Fatalf("old enterprise URL: %d %q", status, hdr.Get("Location"))
	}
	for _, p := range []string{"/legacy/old.example.gov.cn/qr?id=124", "/legacy/evil.example.com/qr?id=123", "/legacy//evil.example.com"} {
		if status, _, hdr := h.scan(http.MethodGet, p, nil, ""); status != http.StatusNotFound || hdr.Get("Location") != "" {
			t.Errorf("%s: %d %q, want 404", p, status, hdr.Get("Location"))
		}
	}

	// Read-only: every edit of a legacy code is refused, nothing changes.
	for _, edit := range []struct {
		path string
		body map[string]any
	}{
		{"/openapi/v1/object-codes/" + old.Token + "/modify", map[string]any{"attributes": map[string]any{"address": "改过的地址"}}},
		{"/openapi/v1/object-codes/" + strconv.FormatInt(created, 10) + "/modify", map[string]any{"ownerUnit": "别的单位"}},
		{"/openapi/v1/object-codes/" + old.Token + "/cancel", nil},
		{"/openapi/v1/object-codes/" + old.Token + "/activate", map[string]any{"attributes": map[string]any{"address": "x"}}},
		{"/openapi/v1/code-relations", map[string]any{"parent": current.Number, "children": []int64{old.Number}}},
	} {
		err := c.Call(ctx, edit.path, edit.body, nil)
		wantAPIError(t, err, 409, fault.CodeFailedOperation)
		if ae := apiErr(t, err); !strings.Contains(ae.Message, "旧码不支持编辑") {
			t.Errorf("%s: message %q", edit.path, ae.Message)
		}
	}
	if v, err := verify(oldObject); err != nil || v.Status != "active" || v.Attributes.Address != "漕溪北路 1 号" {
		t.Fatalf("the legacy code changed: %+v %v", v, err)
	}
	var parent struct {
		Parent int64 `json:"parent"`
	}
	if _, raw, err := c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(old.Number, 10)+"/parent", "", nil); err != nil || decodeData(raw, &parent) != nil || parent.Parent != 0 {
		t.Fatalf("the legacy code got a parent: %+v %v", parent, err)
	}
	// A current code stays editable.
	var modified struct {
		Attributes struct {
			Address string `json:"address"`
		} `json:"attributes"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/"+current.Token+"/modify", map[string]any{"attributes": map[string]any{"address": "新地址 3 号"}}, &modified); err != nil || modified.Attributes.Address != "新地址 3 号" {
		t.Fatalf("modify a current code: %+v %v", modified, err)
	}

	// The console lists both generations, filtered, with the old content.
	_, legacy := h.list(admin, "/console/object-codes?generation=legacy")
	if len(legacy) != 2 || legacy[0]["generation"] != "legacy" || legacy[0]["legacyContent"] != oldBare || legacy[1]["legacyContent"] != oldObject {
		t.Fatalf("legacy object codes: %v", legacy)
	}
	if _, cur := h.list(admin, "/console/object-codes?generation=current"); len(cur) != 1 || cur[0]["number"] != float64(current.Number) || cur[0]["generation"] != nil {
		t.Fatalf("current object codes: %v", cur)
	}
	if a := h.call(admin, "GET", "/console/object-codes?generation=old", nil); a.Status != 400 {
		t.Fatalf("unknown generation: %d", a.Status)
	}
	if n := count(admin, "?targetKind=enterprise"); n != 1 {
		t.Fatalf("enterprise old codes: %d", n)
	}

	// Bad input answers 4xx and stores nothing.
	unknown := int64(99999998)*10 + codeengine.CheckDigit(99999998)
	subID, sub := h.subPlatform(admin, "浦东分平台", "310115", "pudong_admin")
	for _, bad := range []struct {
		name   string
		token  string
		items  []map[string]any
		status int
	}{
		{"duplicate content", admin, []map[string]any{{"content": oldObject, "number": strconv.FormatInt(current.Number, 10)}}, 409},
		{"duplicate in the batch", admin, []map[string]any{{"content": "X1", "uscc": uscc}, {"content": "X1", "uscc": uscc}}, 400},
		{"unknown object code", admin, []map[string]any{{"content": "X2", "number": strconv.FormatInt(unknown, 10)}}, 404},
		{"bad check digit", admin, []map[string]any{{"content": "X2", "number": "100000001"}}, 400},
		{"unknown enterprise", admin, []map[string]any{{"content": "X3", "uscc": "91310000MA1FL0000X"}}, 404},
		{"content too long", admin, []map[string]any{{"content": strings.Repeat("长", 513), "uscc": uscc}}, 400},
		{"no target", admin, []map[string]any{{"content": "X4"}}, 400},
		{"two targets", admin, []map[string]any{{"content": "X4", "uscc": uscc, "number": strconv.FormatInt(current.Number, 10)}}, 400},
		{"a current code's URL", admin, []map[string]any{{"content": objectURL, "uscc": uscc}}, 400},
		{"unknown type", admin, []map[string]any{{"content": "X5", "object": map[string]any{"typeId": "T999"}}}, 400},
		{"missing attribute", admin, []map[string]any{{"content": "X6", "object": map[string]any{"typeId": typ.ID, "regionCode": "310104"}}}, 400},
		{"good row then a bad one", admin, []map[string]any{{"content": "X7", "number": strconv.FormatInt(current.Number, 10)}, {"content": "X8", "number": strconv.FormatInt(unknown, 10)}}, 404},
		{"another platform's object code", sub, []map[string]any{{"content": "X9", "number": strconv.FormatInt(current.Number, 10)}}, 404},
		{"another platform's enterprise", sub, []map[string]any{{"content": "X9", "uscc": uscc}}, 404},
		{"no items", admin, nil, 400},
	} {
		t.Run(bad.name, func(t *testing.T) {
			a := h.call(bad.token, "POST", "/console/legacy-codes", map[string]any{"items": bad.items})
			if a.Status != bad.status || a.Msg == "" {
				t.Fatalf("%d %s %q, want %d", a.Status, a.Code, a.Msg, bad.status)
			}
		})
	}
	if n := count(admin, ""); n != 3 {
		t.Fatalf("%d old codes after bad imports, want 3", n)
	}
	if v, err := verify(current.Token); err != nil || v.Generation != "" {
		t.Fatalf("a refused import marked a current code legacy: %+v %v", v, err)
	}

	// The sub-platform sees none of the main platform's old codes, and
	// imports old codes of its own objects only.
	if n := count(sub, ""); n != 0 {
		t.Fatalf("a sub-platform sees %d old codes of another platform", n)
	}
	if _, items := h.list(sub, "/console/object-codes?generation=legacy"); len(items) != 0 {
		t.Fatalf("a sub-platform sees legacy object codes of another platform: %v", items)
	}
	h.must(admin, "POST", "/console/object-types", map[string]any{"name": "路灯", "management": "local"}).decode(t, &typ)
	var own struct {
		Items []struct {
			PlatformID string `json:"platformId"`
		} `json:"items"`
	}
	h.must(sub, "POST", "/console/legacy-codes", map[string]any{"items": []map[string]any{
		{"content": "PD-LAMP-1", "object": map[string]any{"typeId": typ.ID, "regionCode": "310115"}},
	}}).decode(t, &own)
	if len(own.Items) != 1 || own.Items[0].PlatformID != subID || count(sub, "") != 1 || count(admin, "") != 4 {
		t.Fatalf("sub-platform import: %+v", own.Items)
	}

	// Imports are operations of the audit trail, refused ones too.
	_, logs := h.list(admin, "/console/audit/logs?type=operation&pageSize=500")
	results := map[string]int{}
	for _, e := range logs {
		if e["action"] == "objcode.import" {
			results[e["result"].(string)]++
		}
	}
	if results["success"] != 2 || results["failure"] == 0 {
		t.Fatalf("audit of imports: %v", results)
	}
}
