package server_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// TestRiskRules: 风控规则 — with the shipped policy, an operator's rule for
// one app and model (verify, at most 5 a minute per IP) applies once
// enabled and not before; while enabled it cannot be edited or deleted;
// the record names the rule. An app in monitor mode is recorded, never
// intercepted; an app switched off is neither. A custom indicator (per
// app per hour) counts from its creation and its live data is shown. A
// sub-platform neither sees nor touches the main platform's rules, and
// city-wide settings stay with the main platform. Bad input is refused
// and stores nothing.
func TestRiskRules(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{redis: true, risk: true})
	admin := h.admin()

	var ruleOut struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 300, "refreshSeconds": 60, "offlineVerifiable": true}}).decode(t, &ruleOut)
	h.must(admin, "POST", "/console/rules/"+ruleOut.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "随申办"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{ruleOut.ID}})
	secret, _ := hex.DecodeString(phone.AppSecret)
	ctx := context.Background()
	pc := client.New(h.URL, phone.AppID, secret)
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": ruleOut.ID,
		"userExt": userExtOf("赵六", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": ruleOut.ID, "userId": opened.UserID}, &shown); err != nil {
		t.Fatal(err)
	}
	// burst decodes n times from ip and answers how many were intercepted.
	burst := func(ip string, n int) int {
		t.Helper()
		c := client.New(h.URL, phone.AppID, secret, client.WithHTTPClient(&http.Client{Transport: fromIP{ip}}))
		refused := 0
		for i := range n {
			err := c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": phone.AppID, "codeContent": shown.CodeContent, "acceptOrgId": "地铁闸机"}, nil)
			if err != nil {
				if ae := apiErr(t, err); ae.Code != fault.CodeRiskIntercepted {
					t.Fatalf("decode %d from %s: %v", i, ip, err)
				}
				refused++
			}
		}
		return refused
	}

	// Bad rules are refused and store nothing.
	for name, body := range map[string]map[string]any{
		"unknown indicator": {"name": "x", "appId": phone.AppID, "model": "verify", "indicator": "nope_1m", "threshold": 5, "action": "intercept"},
		"unknown model":     {"name": "x", "appId": phone.AppID, "model": "pay", "indicator": "ip_1m", "threshold": 5, "action": "intercept"},
		"zero threshold":    {"name": "x", "appId": phone.AppID, "model": "verify", "indicator": "ip_1m", "threshold": 0, "action": "intercept"},
		"unknown action":    {"name": "x", "appId": phone.AppID, "model": "verify", "indicator": "ip_1m", "threshold": 5, "action": "ban"},
		"missing name":      {"appId": phone.AppID, "model": "verify", "indicator": "ip_1m", "threshold": 5, "action": "intercept"},
	} {
		if a := h.call(admin, "POST", "/console/risk/rules", body); a.Status != 400 {
			t.Errorf("%s: %d %s", name, a.Status, a.Code)
		}
	}
	if a := h.call(admin, "POST", "/console/risk/rules", map[string]any{"name": "x", "appId": "nosuchapp", "model": "verify",
		"indicator": "ip_1m", "threshold": 5, "action": "intercept"}); a.Status != 404 {
		t.Errorf("a rule for an unknown app: %d %s", a.Status, a.Code)
	}
	if p, _ := h.list(admin, "/console/risk/rules"); p.Total != 0 {
		t.Fatalf("refused rules stored: %d", p.Total)
	}

	var rule struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	h.must(admin, "POST", "/console/risk/rules", map[string]any{"name": "验码IP限频", "appId": phone.AppID, "model": "verify",
		"indicator": "ip_1m", "threshold": 5, "action": "intercept", "remark": "闸机每分钟至多5次"}).decode(t, &rule)
	if rule.Status != "disabled" {
		t.Fatalf("a new rule is %s", rule.Status)
	}
	if n := burst("203.0.113.10", 8); n != 0 {
		t.Fatalf("a disabled rule intercepted %d", n)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/risk/rules/%d/enable", rule.ID), nil)
	if n := burst("203.0.113.11", 8); n < 2 || n > 3 {
		t.Fatalf("8 decodes over an enabled rule of 5: %d intercepted", n)
	}
	var recs struct {
		Total int64 `json:"total"`
		Items []struct {
			ID       int64   `json:"id"`
			RuleIDs  []int64 `json:"ruleIds"`
			Enforced bool    `json:"enforced"`
		} `json:"items"`
	}
	h.must(admin, "GET", fmt.Sprintf("/console/risk/records?action=intercept&ruleId=%d&model=verify", rule.ID), nil).decode(t, &recs)
	if recs.Total < 2 || recs.Items[0].RuleIDs[0] != rule.ID || !recs.Items[0].Enforced {
		t.Fatalf("interceptions by the rule: %+v", recs)
	}
	var one struct {
		ID      int64   `json:"id"`
		RuleIDs []int64 `json:"ruleIds"`
	}
	h.must(admin, "GET", fmt.Sprintf("/console/risk/records/%d", recs.Items[0].ID), nil).decode(t, &one)
	if one.ID != recs.Items[0].ID || len(one.RuleIDs) != 1 {
		t.Fatalf("record detail: %+v", one)
	}
	if a := h.call(admin, "GET", "/console/risk/records/999999", nil); a.Status != 404 {
		t.Fatalf("an unknown record: %d", a.Status)
	}
	// The rule's model is verify: showing is not limited by it.
	for range 8 {
		if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": ruleOut.ID, "userId": opened.UserID}, &shown); err != nil {
			t.Fatalf("show under a verify rule: %v", err)
		}
	}

	// Enabled: not editable, not deletable; disabled: both.
	edit := map[string]any{"name": "验码IP限频", "appId": phone.AppID, "model": "verify", "indicator": "ip_1m", "threshold": 50, "action": "intercept"}
	if a := h.call(admin, "PUT", fmt.Sprintf("/console/risk/rules/%d", rule.ID), edit); a.Status != 409 || a.Code != fault.CodeResourceInUse {
		t.Fatalf("editing an enabled rule: %d %s", a.Status, a.Code)
	}
	if a := h.call(admin, "DELETE", fmt.Sprintf("/console/risk/rules/%d", rule.ID), nil); a.Status != 409 {
		t.Fatalf("deleting an enabled rule: %d %s", a.Status, a.Code)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/risk/rules/%d/disable", rule.ID), nil)
	h.must(admin, "PUT", fmt.Sprintf("/console/risk/rules/%d", rule.ID), edit)
	if n := burst("203.0.113.12", 8); n != 0 {
		t.Fatalf("a disabled rule still intercepts: %d", n)
	}

	// Monitor mode: the rule fires, is recorded unenforced, nobody is refused.
	edit["threshold"] = 5
	h.must(admin, "PUT", fmt.Sprintf("/console/risk/rules/%d", rule.ID), edit)
	h.must(admin, "POST", fmt.Sprintf("/console/risk/rules/%d/enable", rule.ID), nil)
	h.must(admin, "PUT", "/console/risk/apps/"+phone.AppID, map[string]any{"mode": "monitor", "remark": "试运行"})
	if n := burst("203.0.113.13", 8); n != 0 {
		t.Fatalf("monitor mode intercepted %d", n)
	}
	var mon struct {
		Total int64 `json:"total"`
		Items []struct {
			Enforced bool `json:"enforced"`
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/risk/records?action=intercept&ip=203.0.113.13", nil).decode(t, &mon)
	if mon.Total < 2 || mon.Items[0].Enforced {
		t.Fatalf("monitor-mode records: %+v", mon)
	}
	// Off: nothing counted, nothing recorded.
	h.must(admin, "PUT", "/console/risk/apps/"+phone.AppID, map[string]any{"mode": "off"})
	if n := burst("203.0.113.14", 8); n != 0 {
		t.Fatalf("an app switched off intercepted %d", n)
	}
	if p, _ := h.list(admin, "/console/risk/records?ip=203.0.113.14"); p.Total != 0 {
		t.Fatalf("an app switched off recorded %d", p.Total)
	}
	_, apps := h.list(admin, "/console/risk/apps?mode=off")
	if len(apps) != 1 || apps[0]["appId"] != phone.AppID || apps[0]["appName"] != "随申办" {
		t.Fatalf("risk apps: %v", apps)
	}
	h.must(admin, "PUT", "/console/risk/apps/"+phone.AppID, map[string]any{"mode": "enforce"})
	if a := h.call(admin, "PUT", "/console/risk/apps/"+phone.AppID, map[string]any{"mode": "ignore"}); a.Status != 400 {
		t.Fatalf("an unknown mode: %d", a.Status)
	}

	// A custom indicator: verifies per app per hour.
	bad := []map[string]any{
		{"code": "Bad-Code", "name": "x", "dimension": "app", "windowSeconds": 3600, "eventTypes": []string{"verify"}},
		{"code": "app_1h", "name": "x", "dimension": "phone", "windowSeconds": 3600, "eventTypes": []string{"verify"}},
		{"code": "app_1h", "name": "x", "dimension": "app", "windowSeconds": 5, "eventTypes": []string{"verify"}},
		{"code": "app_1h", "name": "x", "dimension": "app", "windowSeconds": 3600, "eventTypes": []string{"pay"}},
		{"code": "app_1h", "name": "x", "dimension": "app", "windowSeconds": 3600, "eventTypes": []string{}},
	}
	for _, b := range bad {
		if a := h.call(admin, "POST", "/console/risk/indicators", b); a.Status != 400 {
			t.Errorf("indicator %v: %d %s", b, a.Status, a.Code)
		}
	}
	ind := map[string]any{"code": "app_verify_1h", "name": "应用每小时验码量", "dimension": "app", "windowSeconds": 3600, "eventTypes": []string{"verify"}}
	h.must(admin, "POST", "/console/risk/indicators", ind)
	if a := h.call(admin, "POST", "/console/risk/indicators", ind); a.Status != 409 {
		t.Fatalf("a duplicate indicator: %d", a.Status)
	}
	burst("203.0.113.15", 3)
	var data struct {
		Count float64 `json:"count"`
	}
	h.must(admin, "GET", "/console/risk/indicators/app_verify_1h/data?eventType=verify&value="+phone.AppID, nil).decode(t, &data)
	if data.Count != 3 {
		t.Fatalf("the new indicator counted %v verifies, want 3", data.Count)
	}
	// A rule on it; the indicator cannot change while the rule is enabled.
	var hourly struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/risk/rules", map[string]any{"name": "应用小时验码量", "appId": phone.AppID, "model": "verify",
		"indicator": "app_verify_1h", "threshold": 1000, "action": "flag"}).decode(t, &hourly)
	if a := h.call(admin, "POST", "/console/risk/rules", map[string]any{"name": "x", "appId": phone.AppID, "model": "generate",
		"indicator": "app_verify_1h", "threshold": 1, "action": "flag"}); a.Status != 400 {
		t.Fatalf("a generate rule on a verify-only indicator: %d", a.Status)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/risk/rules/%d/enable", hourly.ID), nil)
	ind["windowSeconds"] = 600
	if a := h.call(admin, "PUT", "/console/risk/indicators/app_verify_1h", ind); a.Status != 409 {
		t.Fatalf("editing an indicator under an enabled rule: %d", a.Status)
	}
	if a := h.call(admin, "DELETE", "/console/risk/indicators/app_verify_1h", nil); a.Status != 409 {
		t.Fatalf("deleting an indicator a rule uses: %d", a.Status)
	}
	if a := h.call(admin, "DELETE", "/console/risk/indicators/ip_1m", nil); a.Status != 409 {
		t.Fatalf("deleting a built-in indicator: %d", a.Status)
	}

	// A sub-platform: none of the main platform's rules, records or apps;
	// city-wide settings are refused.
	_, sub := h.subPlatform(admin, "徐汇区平台", "310104", "xh_admin")
	if p, _ := h.list(sub, "/console/risk/rules"); p.Total != 0 {
		t.Fatalf("a sub-platform sees %d rules", p.Total)
	}
	if a := h.call(sub, "GET", fmt.Sprintf("/console/risk/rules/%d", rule.ID), nil); a.Status != 404 {
		t.Fatalf("a sub-platform reads the main's rule: %d", a.Status)
	}
	if a := h.call(sub, "POST", fmt.Sprintf("/console/risk/rules/%d/disable", rule.ID), nil); a.Status != 404 {
		t.Fatalf("a sub-platform disables the main's rule: %d", a.Status)
	}
	if a := h.call(sub, "POST", "/console/risk/rules", map[string]any{"name": "x", "appId": phone.AppID, "model": "verify",
		"indicator": "ip_1m", "threshold": 1, "action": "intercept"}); a.Status != 404 {
		t.Fatalf("a sub-platform's rule for the main's app: %d", a.Status)
	}
	if a := h.call(sub, "PUT", "/console/risk/apps/"+phone.AppID, map[string]any{"mode": "off"}); a.Status != 404 {
		t.Fatalf("a sub-platform switches off the main's app: %d", a.Status)
	}
	if p, _ := h.list(sub, "/console/risk/apps"); p.Total != 0 {
		t.Fatalf("a sub-platform lists %d of others' apps", p.Total)
	}
	if a := h.call(sub, "POST", "/console/risk/indicators", map[string]any{"code": "sub_1m", "name": "x", "dimension": "ip",
		"windowSeconds": 60, "eventTypes": []string{"verify"}}); a.Status != 403 {
		t.Fatalf("a sub-platform adds a city-wide indicator: %d", a.Status)
	}
	if a := h.call(sub, "GET", "/console/risk/indicators/ip_1m/data?eventType=verify&value=203.0.113.11", nil); a.Status != 403 {
		t.Fatalf("a sub-platform reads per-IP counts: %d", a.Status)
	}
	var still struct {
		Status string `json:"status"`
	}
	h.must(admin, "GET", fmt.Sprintf("/console/risk/rules/%d", rule.ID), nil).decode(t, &still)
	if still.Status != "enabled" {
		t.Fatalf("the rule after the sub-platform's attempts: %s", still.Status)
	}

	// The dictionary: seeded labels, CRUD, batch delete.
	_, models := h.list(admin, "/console/risk/dict?itemCode=risk_model")
	if len(models) != 3 {
		t.Fatalf("seeded models: %v", models)
	}
	entry := map[string]any{"itemCode": "risk_scene", "itemName": "风控场景", "subCode": "metro", "subName": "地铁", "sort": 1}
	var d1, d2 struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/risk/dict", entry).decode(t, &d1)
	if a := h.call(admin, "POST", "/console/risk/dict", entry); a.Status != 409 {
		t.Fatalf("a duplicate dictionary entry: %d", a.Status)
	}
	entry["subCode"], entry["subName"] = "hospital", "医院"
	h.must(admin, "POST", "/console/risk/dict", entry).decode(t, &d2)
	entry["subCode"] = "metro"
	if a := h.call(admin, "PUT", fmt.Sprintf("/console/risk/dict/%d", d2.ID), entry); a.Status != 409 {
		t.Fatalf("renaming onto an existing entry: %d", a.Status)
	}
	if a := h.call(sub, "POST", "/console/risk/dict/delete", map[string]any{"ids": []int64{d1.ID}}); a.Status != 403 {
		t.Fatalf("a sub-platform deletes the city's dictionary: %d", a.Status)
	}
	var del struct {
		Deleted int64 `json:"deleted"`
	}
	h.must(admin, "POST", "/console/risk/dict/delete", map[string]any{"ids": []int64{d1.ID, d2.ID}}).decode(t, &del)
	if del.Deleted != 2 {
		t.Fatalf("batch delete: %d", del.Deleted)
	}
	if p, _ := h.list(admin, "/console/risk/dict?itemCode=risk_scene"); p.Total != 0 {
		t.Fatalf("after delete: %d", p.Total)
	}
}
