package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// TestRiskInterception: 风控拦截 — with a risk rule in Rego (policies/risk,
// here uploaded with a per-IP threshold of 10 verifies a minute), a burst
// of verifies from one IP is flagged as it nears the threshold and
// intercepted past it, across the sliding window in Redis; another IP
// goes on; the records list and export; a batch release lets the IP
// through again.
func TestRiskInterception(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{redis: true, risk: true})
	admin := h.admin()
	bundle := embeddedBundle(t)
	rule := strings.Replace(bundle["risk/risk.rego"], `"ip_1m": 120`, `"ip_1m": 10`, 1)
	if rule == bundle["risk/risk.rego"] {
		t.Fatal("the test's policy edit no longer applies")
	}
	bundle["risk/risk.rego"] = rule
	delete(bundle, "risk/risk_test.rego") // its cases assume the shipped thresholds
	h.must(admin, "PUT", "/console/policies", map[string]any{"files": bundle})

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
		"userExt": userExtOf("王五", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": ruleOut.ID, "userId": opened.UserID}, &shown); err != nil {
		t.Fatal(err)
	}
	scanner := func(ip string) *client.Client {
		return client.New(h.URL, phone.AppID, secret, client.WithHTTPClient(&http.Client{Transport: fromIP{ip}}))
	}
	decode := func(c *client.Client) error {
		return c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": phone.AppID, "codeContent": shown.CodeContent, "acceptOrgId": "瑞金医院"}, nil)
	}

	gate := scanner("203.0.113.77")
	admitted, intercepted := 0, 0
	for i := range 14 {
		err := decode(gate)
		switch {
		case err == nil:
			admitted++
		case apiErr(t, err).Code == fault.CodeRiskIntercepted && apiErr(t, err).HTTPStatus == 403:
			intercepted++
		default:
			t.Fatalf("decode %d: %v", i, err)
		}
		if i < 8 && err != nil {
			t.Fatalf("decode %d, under the threshold, refused: %v", i, err)
		}
	}
	if intercepted < 2 || admitted+intercepted != 14 {
		t.Fatalf("a burst of 14 over a threshold of 10: %d admitted, %d intercepted", admitted, intercepted)
	}
	// Another address is not this one's burst.
	if err := decode(scanner("198.51.100.20")); err != nil {
		t.Fatalf("another IP: %v", err)
	}

	var page struct {
		Total int64 `json:"total"`
		Items []struct {
			ID        int64              `json:"id"`
			Action    string             `json:"action"`
			IP        string             `json:"ip"`
			UserID    string             `json:"userId"`
			OrgID     string             `json:"orgId"`
			Triggered []string           `json:"triggered"`
			Status    string             `json:"status"`
			Indicator map[string]float64 `json:"indicators"`
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/risk/records?action=intercept&ip=203.0.113.77", nil).decode(t, &page)
	if int(page.Total) != intercepted || page.Items[0].Triggered[0] != "ip_1m" || page.Items[0].UserID != opened.UserID ||
		page.Items[0].OrgID != "瑞金医院" || page.Items[0].Status != "open" || page.Items[0].Indicator["ip_1m"] <= 10 {
		t.Fatalf("interceptions: %+v", page)
	}
	var flags struct {
		Total int64 `json:"total"`
	}
	h.must(admin, "GET", "/console/risk/records?action=flag", nil).decode(t, &flags)
	if flags.Total == 0 {
		t.Fatal("nothing flagged on the way to the threshold")
	}
	xa := h.call(admin, "GET", "/console/risk/records/export?action=intercept", nil)
	wb, err := excelize.OpenReader(bytes.NewReader(xa.Raw))
	if xa.Status != 200 || err != nil {
		t.Fatalf("export: %d %v", xa.Status, err)
	}
	rows, _ := wb.GetRows("风控拦截记录")
	if len(rows) != intercepted+1 || rows[1][1] != "拦截" || rows[1][5] != "203.0.113.77" {
		t.Fatalf("export rows: %v", rows)
	}

	// Still intercepted, until released in a batch.
	if err := decode(gate); err == nil {
		t.Fatal("the burst's IP passed before release")
	}
	var ids []int64
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	if a := h.call(admin, "POST", "/console/risk/records/release", map[string]any{"ids": []int64{}}); a.Status != 400 {
		t.Fatalf("an empty release: %d", a.Status)
	}
	var rel struct {
		Released int `json:"released"`
	}
	h.must(admin, "POST", "/console/risk/records/release", map[string]any{"ids": ids}).decode(t, &rel)
	if rel.Released != len(ids) {
		t.Fatalf("released %d of %d", rel.Released, len(ids))
	}
	if err := decode(gate); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// Showing codes goes through the same rules: a burst of shows from
	// one IP is intercepted too.
	shower := scanner("192.0.2.50")
	refused := 0
	for range 14 {
		err := shower.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": ruleOut.ID, "userId": opened.UserID}, &shown)
		if err != nil {
			if ae := apiErr(t, err); ae.Code != fault.CodeRiskIntercepted {
				t.Fatalf("show: %v", err)
			}
			refused++
		}
	}
	if refused < 2 {
		t.Fatalf("a burst of 14 shows over a threshold of 10: %d intercepted", refused)
	}

	// The statistics count them.
	var st struct {
		Today, TodayIntercepted, Total, Intercepted, Released int64
		ReleaseRate                                           float64
		ByIndicator                                           map[string]int64
		Hourly                                                []int64
	}
	h.must(admin, "GET", "/console/risk/stats", nil).decode(t, &st)
	var hourly int64
	for _, n := range st.Hourly {
		hourly += n
	}
	if st.Intercepted < int64(intercepted+refused) || st.Released != int64(len(ids)) || st.ReleaseRate <= 0 || st.ReleaseRate >= 1 ||
		st.ByIndicator["ip_1m"] < st.Intercepted || st.Today > st.Total || hourly != st.Today || len(st.Hourly) != 24 {
		t.Fatalf("stats: %+v", st)
	}

	// A sub-platform's operator sees none of the main platform's records.
	_, sub := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	h.must(sub, "GET", "/console/risk/records", nil).decode(t, &page)
	if page.Total != 0 {
		t.Fatalf("a sub-platform sees %d records", page.Total)
	}
	h.must(sub, "GET", "/console/risk/stats", nil).decode(t, &st)
	if st.Total != 0 {
		t.Fatalf("a sub-platform's statistics count %d", st.Total)
	}
}
