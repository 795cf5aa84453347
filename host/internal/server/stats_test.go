package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// TestStatistics: 城市码管控 and the workbench over real codes — two
// sub-platforms issue, show and verify personal codes through the signed
// app API; the main platform's administrator sees both platforms' counts
// exactly, and each sub-platform's administrator sees only its own in
// every statistics endpoint (platform, app and rule totals, trend, daily
// report, rankings, workbench, exports), however it names the other.
func TestStatistics(t *testing.T) {
	t.Parallel()
	// One fixed instant: every event falls on the same Beijing day and hour.
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	h := newHost(t, hostOpts{clock: clock.Now})
	admin := h.admin()
	xh, xhAdmin := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
	ja, jaAdmin := h.subPlatform(admin, "静安区子平台", "310106", "jingan_admin")

	// Each sub-platform gets its rule (pushed to its pool) and an app bound
	// to it.
	ruleOf := func(platform, name string) string {
		var r struct {
			ID string `json:"id"`
		}
		h.must(admin, "POST", "/console/rules", map[string]any{"name": name, "form": "dynamic", "family": "identity", "platformId": platform,
			"function": map[string]any{"validitySeconds": 300}}).decode(t, &r)
		h.must(admin, "POST", "/console/rules/"+r.ID+"/publish", nil)
		h.must(admin, "POST", "/console/rules/"+r.ID+"/push", nil)
		return r.ID
	}
	xhRule, jaRule := ruleOf(xh, "徐汇身份码"), ruleOf(ja, "静安身份码")
	xhApp := h.app(xhAdmin, map[string]any{"name": "徐汇医院通"})
	jaApp := h.app(jaAdmin, map[string]any{"name": "静安养老"})
	h.must(xhAdmin, "PUT", "/console/apps/"+xhApp.AppID+"/rules", map[string]any{"ruleIds": []string{xhRule}})
	h.must(jaAdmin, "PUT", "/console/apps/"+jaApp.AppID+"/rules", map[string]any{"ruleIds": []string{jaRule}})

	ctx := context.Background()
	// issue opens a code for each holder (generate), shows the first
	// holder's code shows times and verifies it verifies times.
	issue := func(app createdApp, rule string, certs []string, shows, verifies int) {
		t.Helper()
		c := signedClient(t, h, app)
		var users []string
		for _, cert := range certs {
			var opened struct {
				UserID string `json:"userId"`
			}
			if err := c.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule,
				"userExt": userExtOf("李四", cert, "13800138000")}, &opened); err != nil {
				t.Fatal(err)
			}
			users = append(users, opened.UserID)
		}
		var shown struct {
			CodeContent string `json:"codeContent"`
		}
		for range shows {
			if err := c.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule, "userId": users[0]}, &shown); err != nil {
				t.Fatal(err)
			}
		}
		for range verifies {
			if err := c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "GATE-1", "codeContent": shown.CodeContent}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	issue(xhApp, xhRule, []string{"11010519491231002X", "310104199001011233"}, 3, 2)
	issue(jaApp, jaRule, []string{"310106198505054323"}, 4, 3)

	type counts struct{ Generate, Show, Verify int64 }
	type row struct {
		PlatformID     string `json:"platformId"`
		AppID          string `json:"appId"`
		RuleID         string `json:"ruleId"`
		GeneratePeople int64  `json:"generatePeople"`
		counts
	}
	type listPage struct {
		Total int64  `json:"total"`
		Sum   counts `json:"sum"`
		Items []row  `json:"items"`
	}
	list := func(token, path string) listPage {
		t.Helper()
		var p listPage
		h.must(token, "GET", path, nil).decode(t, &p)
		return p
	}
	today := "?period=today"

	t.Run("the main platform sees both, exactly", func(t *testing.T) {
		p := list(admin, "/console/stats/platforms"+today)
		got := map[string]row{}
		for _, r := range p.Items {
			got[r.PlatformID] = r
		}
		if p.Total != 3 || got[xh].counts != (counts{2, 3, 2}) || got[ja].counts != (counts{1, 4, 3}) ||
			got["P0000"].counts != (counts{}) || p.Sum != (counts{3, 7, 5}) || got[xh].GeneratePeople != 2 {
			t.Fatalf("platforms: %+v", p)
		}
		// Sorted by verifications, largest first.
		if p := list(admin, "/console/stats/platforms?period=today&sort=verify&order=desc"); p.Items[0].PlatformID != ja || p.Items[1].PlatformID != xh {
			t.Fatalf("by verify: %+v", p.Items)
		}
		if p := list(admin, "/console/stats/apps"+today); p.Total != 2 || p.Sum != (counts{3, 7, 5}) {
			t.Fatalf("apps: %+v", p)
		}
		if p := list(admin, "/console/stats/rules"+today); p.Total != 2 || p.Sum != (counts{3, 7, 5}) {
			t.Fatalf("rules: %+v", p)
		}
		var top struct {
			Items []struct {
				ID    string `json:"id"`
				Value int64  `json:"value"`
			} `json:"items"`
		}
		h.must(admin, "GET", "/console/stats/top?board=platform-use&period=today", nil).decode(t, &top)
		if len(top.Items) != 2 || top.Items[0].ID != ja || top.Items[0].Value != 7 || top.Items[1].ID != xh || top.Items[1].Value != 5 {
			t.Fatalf("top: %+v", top)
		}
	})

	// mine is what each sub-platform must see, and only that.
	for _, c := range []struct {
		name                 string
		token                string
		self, other          string
		app, otherApp        createdApp
		rule                 string
		want                 counts
		people, users, calls int64
	}{
		{"徐汇", xhAdmin, xh, ja, xhApp, jaApp, xhRule, counts{2, 3, 2}, 2, 2, 7},
		{"静安", jaAdmin, ja, xh, jaApp, xhApp, jaRule, counts{1, 4, 3}, 1, 1, 8},
	} {
		t.Run(c.name+" sees only its own", func(t *testing.T) {
			if p := list(c.token, "/console/stats/platforms"+today); p.Total != 1 || p.Items[0].PlatformID != c.self ||
				p.Items[0].counts != c.want || p.Sum != c.want || p.Items[0].GeneratePeople != c.people {
				t.Fatalf("platforms: %+v", p)
			}
			if p := list(c.token, "/console/stats/apps"+today); p.Total != 1 || p.Items[0].AppID != c.app.AppID || p.Items[0].counts != c.want {
				t.Fatalf("apps: %+v", p)
			}
			if p := list(c.token, "/console/stats/rules"+today); p.Total != 1 || p.Items[0].RuleID != c.rule || p.Items[0].counts != c.want {
				t.Fatalf("rules: %+v", p)
			}
			var tr struct {
				Series []struct {
					Type  string `json:"type"`
					Total int64  `json:"total"`
				} `json:"series"`
			}
			h.must(c.token, "GET", "/console/stats/trend"+today, nil).decode(t, &tr)
			if len(tr.Series) != 3 || tr.Series[0].Total != c.want.Generate || tr.Series[1].Total != c.want.Show || tr.Series[2].Total != c.want.Verify {
				t.Fatalf("trend: %+v", tr)
			}
			var d struct {
				Sum   counts `json:"sum"`
				Items []struct {
					counts
					ShowPeople int64 `json:"showPeople"`
				} `json:"items"`
			}
			h.must(c.token, "GET", "/console/stats/daily?period=today&platformId="+c.self, nil).decode(t, &d)
			if len(d.Items) != 1 || d.Items[0].counts != c.want || d.Sum != c.want || d.Items[0].ShowPeople != 1 {
				t.Fatalf("daily: %+v", d)
			}
			var top struct {
				Items []struct {
					ID    string `json:"id"`
					Value int64  `json:"value"`
				} `json:"items"`
			}
			h.must(c.token, "GET", "/console/stats/top?board=app-generate&period=7d", nil).decode(t, &top)
			if len(top.Items) != 1 || top.Items[0].ID != c.app.AppID || top.Items[0].Value != c.want.Generate {
				t.Fatalf("top: %+v", top)
			}
			var w struct {
				User struct {
					Account     string     `json:"account"`
					LastLoginAt *time.Time `json:"lastLoginAt"`
				} `json:"user"`
				Overview        struct{ SubPlatforms, Apps, Users int64 } `json:"overview"`
				PlatformRanking []struct {
					ID string `json:"id"`
				} `json:"platformRanking"`
				Engine struct {
					Platforms []struct {
						PlatformID string                `json:"platformId"`
						ThisHour   struct{ Calls int64 } `json:"thisHour"`
					} `json:"platforms"`
				} `json:"engine"`
				Trend struct {
					Series []struct {
						Total int64 `json:"total"`
					} `json:"series"`
				} `json:"trend"`
				Registrations struct{ Total int64 } `json:"registrations"`
			}
			h.must(c.token, "GET", "/console/workbench?rankPeriod=7d", nil).decode(t, &w)
			if w.User.Account == "" || w.User.LastLoginAt == nil || w.Overview.SubPlatforms != 1 || w.Overview.Apps != 1 || w.Overview.Users != c.users ||
				len(w.PlatformRanking) != 1 || w.PlatformRanking[0].ID != c.self || len(w.Engine.Platforms) != 1 ||
				w.Engine.Platforms[0].PlatformID != c.self || w.Engine.Platforms[0].ThisHour.Calls != c.calls ||
				w.Trend.Series[0].Total != c.want.Generate || w.Trend.Series[2].Total != c.want.Verify || w.Registrations.Total != c.users {
				t.Fatalf("workbench: %+v", w)
			}
			x := h.call(c.token, "GET", "/console/stats/platforms/export"+today, nil)
			wb, err := excelize.OpenReader(bytes.NewReader(x.Raw))
			if x.Status != http.StatusOK || err != nil {
				t.Fatalf("export: %d %v %s", x.Status, err, x.Raw)
			}
			if rows, _ := wb.GetRows("平台统计"); len(rows) != 3 || rows[1][0] != c.self || rows[2][0] != "合计" {
				t.Fatalf("export rows: %v", rows)
			}

			// Naming the other platform or its app reveals nothing: refused
			// everywhere; a name filter matches nothing.
			for _, path := range []string{
				"/console/stats/platforms?platformId=" + c.other,
				"/console/stats/apps?appId=" + c.otherApp.AppID,
				"/console/stats/apps?platformId=" + c.other,
				"/console/stats/rules?platformId=" + c.other,
				"/console/stats/rules?appId=" + c.otherApp.AppID,
				"/console/stats/trend?platformId=" + c.other,
				"/console/stats/trend?appId=" + c.otherApp.AppID,
				"/console/stats/daily?platformId=" + c.other,
				"/console/stats/daily?appId=" + c.otherApp.AppID,
				"/console/stats/top?board=app-use&platformId=" + c.other,
				"/console/stats/scenes?platformId=" + c.other,
				"/console/stats/platforms/export?platformId=" + c.other,
				"/console/stats/apps/export?appId=" + c.otherApp.AppID,
				"/console/stats/rules/export?platformId=" + c.other,
				"/console/stats/daily/export?platformId=" + c.other,
			} {
				if a := h.call(c.token, "GET", path, nil); a.Status != http.StatusForbidden || a.Code != fault.CodeUnauthorizedOperation {
					t.Errorf("%s: %d %s", path, a.Status, a.Code)
				}
			}
			other := map[string]string{xh: "徐汇", ja: "静安"}[c.other]
			for _, path := range []string{"/console/stats/platforms?platformName=", "/console/stats/apps?platformName=", "/console/stats/rules?platformName="} {
				if p := list(c.token, path+url.QueryEscape(other)); p.Total != 0 || p.Sum != (counts{}) {
					t.Errorf("%s%s: %+v", path, other, p)
				}
			}
		})
	}

	t.Run("bad input is a clear 400", func(t *testing.T) {
		for _, c := range []struct{ path, code string }{
			{"/console/stats/platforms?period=week", fault.CodeInvalidParameter},
			{"/console/stats/platforms?from=2025-13-01&to=2025-13-02", fault.CodeInvalidParameter},
			{"/console/stats/platforms?from=2025-03-02&to=2025-03-01", fault.CodeInvalidParameter},
			{"/console/stats/platforms?from=2025-03-01", fault.CodeMissingParameter},
			{"/console/stats/apps?sort=name", fault.CodeInvalidParameter},
			{"/console/stats/apps?pageSize=1000", fault.CodeInvalidParameter},
			{"/console/stats/rules?pageNo=x", fault.CodeInvalidParameter},
			{"/console/stats/daily", fault.CodeMissingParameter},
			{"/console/stats/top", fault.CodeMissingParameter},
			{"/console/stats/top?board=everything", fault.CodeInvalidParameter},
			{"/console/stats/scenes?by=app", fault.CodeInvalidParameter},
			{"/console/workbench?rankPeriod=today", fault.CodeInvalidParameter},
			{"/console/stats/platforms?platformName=" + url.QueryEscape("\x00"), fault.CodeInvalidParameter},
		} {
			if a := h.call(admin, "GET", c.path, nil); a.Status != http.StatusBadRequest || a.Code != c.code {
				t.Errorf("%s: %d %s %s", c.path, a.Status, a.Code, a.Msg)
			}
		}
		if a := h.call(admin, "GET", "/console/stats/platforms?platformId=P9999", nil); a.Status != http.StatusNotFound {
			t.Errorf("a missing platform: %d %s", a.Status, a.Code)
		}
	})

	t.Run("exports are in the data-security log", func(t *testing.T) {
		// Both administrators' exports, and their refused attempts.
		_, items := h.list(admin, "/console/audit/logs?type=data_security&action=stats.export&pageSize=100")
		results := map[string]int{}
		for _, it := range items {
			results[it["account"].(string)+" "+it["result"].(string)]++
		}
		if results["xuhui_admin success"] != 1 || results["jingan_admin success"] != 1 || results["xuhui_admin failure"] != 4 {
			t.Fatalf("exports logged: %v", results)
		}
	})
}
