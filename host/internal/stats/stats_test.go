package stats_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/stats"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// seedUsage writes the usage most tests read (today is 5 March 2025):
//
//	             today (10:00)          yesterday         10 days ago
//	徐汇 app     gen 3, show 5, ver 2   show 10           gen 100
//	             (+2 failed verifies)   (+1 intercepted)
//	静安 app     gen 1, show 2, ver 7   ver 20
//	main app     gen 4, ver 1
//
// so over the last 7 days: main g4 s0 v1, 徐汇 g3 s15 v2, 静安 g1 s2 v27.
func seedUsage(e *env) {
	e.use(day(0), e.xh, e.xhApp, events.Generate, 3, "h1", "h2", "h3")
	e.use(day(0), e.xh, e.xhApp, events.Show, 5, "h1", "h2")
	e.use(day(0), e.xh, e.xhApp, events.Verify, 2, "h1")
	e.write(day(0), e.xh, e.xhApp, events.Verify, events.Failure, 2)
	e.use(day(-1), e.xh, e.xhApp, events.Show, 10, "h1")
	e.write(day(-1), e.xh, e.xhApp, events.Show, events.Intercepted, 1)
	e.use(day(-10), e.xh, e.xhApp, events.Generate, 100)
	e.use(day(0), e.ja, e.jaApp, events.Generate, 1, "j1")
	e.use(day(0), e.ja, e.jaApp, events.Show, 2, "j1")
	e.use(day(0), e.ja, e.jaApp, events.Verify, 7, "j1", "j2")
	e.use(day(-1), e.ja, e.jaApp, events.Verify, 20, "j3")
	e.use(day(0), tenancy.MainPlatformID, e.mApp, events.Generate, 4)
	e.use(day(0), tenancy.MainPlatformID, e.mApp, events.Verify, 1)
}

func counts(g, s, v int64) stats.Counts { return stats.Counts{Generate: g, Show: s, Verify: v} }

func TestPlatformStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedUsage(e)
	main := e.ctx(mainAdmin(), "stats.read")

	byID := func(p *stats.PlatformPage) map[string]stats.PlatformRow {
		m := map[string]stats.PlatformRow{}
		for _, r := range p.Items {
			m[r.PlatformID] = r
		}
		return m
	}
	p, err := e.svc.PlatformStats(main, &stats.PlatformStatsIn{})
	if err != nil {
		t.Fatal(err)
	}
	got := byID(p)
	if p.Total != 3 || p.From != "2025-02-27" || p.To != "2025-03-05" || p.Sum != counts(8, 17, 30) ||
		got[tenancy.MainPlatformID].Counts != counts(4, 0, 1) || !got[tenancy.MainPlatformID].Main ||
		got[e.xh].Counts != counts(3, 15, 2) || got[e.xh].PlatformName != "徐汇区子平台" || got[e.ja].Counts != counts(1, 2, 27) {
		t.Fatalf("the main platform's administrator sees %+v", p)
	}
	// Holders: 徐汇 generated for h1-h3, showed to h1 and h2, verified h1;
	// 静安 verified j1, j2 and j3.
	if pp := got[e.xh].People; pp != (stats.People{GeneratePeople: 3, ShowPeople: 2, VerifyPeople: 1}) {
		t.Fatalf("徐汇 holders %+v", pp)
	}
	if pp := got[e.ja].People; pp != (stats.People{GeneratePeople: 1, ShowPeople: 1, VerifyPeople: 3}) {
		t.Fatalf("静安 holders %+v", pp)
	}

	t.Run("sorted and paged", func(t *testing.T) {
		order := func(in stats.PlatformStatsIn) []string {
			p, err := e.svc.PlatformStats(main, &in)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range p.Items {
				ids = append(ids, r.PlatformID)
			}
			return ids
		}
		for _, c := range []struct {
			in   stats.PlatformStatsIn
			want []string
		}{
			{stats.PlatformStatsIn{}, []string{tenancy.MainPlatformID, e.xh, e.ja}}, // generate, largest first
			{stats.PlatformStatsIn{PageIn: stats.PageIn{Sort: "verify", Order: "asc"}}, []string{tenancy.MainPlatformID, e.xh, e.ja}},
			{stats.PlatformStatsIn{PageIn: stats.PageIn{Sort: "verify"}}, []string{e.ja, e.xh, tenancy.MainPlatformID}},
			{stats.PlatformStatsIn{PageIn: stats.PageIn{Sort: "show", Order: "desc"}}, []string{e.xh, e.ja, tenancy.MainPlatformID}},
			{stats.PlatformStatsIn{PageIn: stats.PageIn{PageNo: 2, PageSize: 1}}, []string{e.xh}},
			{stats.PlatformStatsIn{PageIn: stats.PageIn{PageNo: 4, PageSize: 1}}, nil},
			{stats.PlatformStatsIn{PlatformName: "静安"}, []string{e.ja}},
			{stats.PlatformStatsIn{PlatformName: "%"}, nil}, // literal, not a wildcard
			{stats.PlatformStatsIn{PlatformID: e.xh}, []string{e.xh}},
		} {
			if got := order(c.in); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.in, got, c.want)
			}
		}
		p, _ := e.svc.PlatformStats(main, &stats.PlatformStatsIn{PageIn: stats.PageIn{PageNo: 4, PageSize: 1}})
		if p.Total != 3 || p.Sum != counts(8, 17, 30) {
			t.Fatalf("past the last page: total %d sum %+v", p.Total, p.Sum)
		}
	})

	t.Run("periods", func(t *testing.T) {
		for _, c := range []struct {
			in   stats.PeriodIn
			want stats.Counts
		}{
			{stats.PeriodIn{Period: "today"}, counts(3, 5, 2)},
			{stats.PeriodIn{Period: "yesterday"}, counts(0, 10, 0)},
			{stats.PeriodIn{Period: "30d"}, counts(103, 15, 2)},
			{stats.PeriodIn{From: "2025-02-23", To: "2025-02-23"}, counts(100, 0, 0)},
			{stats.PeriodIn{From: "2025-02-24", To: "2025-03-03"}, counts(0, 0, 0)},
		} {
			p, err := e.svc.PlatformStats(main, &stats.PlatformStatsIn{PeriodIn: c.in, PlatformID: e.xh})
			if err != nil {
				t.Fatal(err)
			}
			if p.Items[0].Counts != c.want {
				t.Errorf("%+v: %+v, want %+v", c.in, p.Items[0].Counts, c.want)
			}
		}
	})

	t.Run("a sub-platform sees only itself", func(t *testing.T) {
		xh := e.ctx(subAdmin(e.xh), "stats.read")
		p, err := e.svc.PlatformStats(xh, &stats.PlatformStatsIn{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 1 || len(p.Items) != 1 || p.Items[0].PlatformID != e.xh || p.Items[0].Counts != counts(3, 15, 2) || p.Sum != counts(3, 15, 2) {
			t.Fatalf("徐汇's administrator sees %+v", p)
		}
		// Naming another platform is refused, existing or not; a name
		// matches nothing outside.
		for _, id := range []string{e.ja, tenancy.MainPlatformID, "P9999"} {
			_, err := e.svc.PlatformStats(xh, &stats.PlatformStatsIn{PlatformID: id})
			wantCode(t, err, fault.CodeUnauthorizedOperation)
		}
		p, err = e.svc.PlatformStats(xh, &stats.PlatformStatsIn{PlatformName: "静安"})
		if err != nil || p.Total != 0 || len(p.Items) != 0 || p.Sum != (stats.Counts{}) {
			t.Fatalf("by another's name: %+v %v", p, err)
		}
		// For the main platform a missing platform is just missing.
		_, err = e.svc.PlatformStats(main, &stats.PlatformStatsIn{PlatformID: "P9999"})
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("a region account sees its region's apps", func(t *testing.T) {
		ctx := e.ctx(regionStaff("310104", "stats.read"), "stats.read")
		p, err := e.svc.PlatformStats(ctx, &stats.PlatformStatsIn{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 1 || p.Items[0].PlatformID != e.xh || p.Items[0].Counts != counts(3, 15, 2) {
			t.Fatalf("a 徐汇 account sees %+v", p)
		}
	})
}

func TestAppAndRuleStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedUsage(e)
	// An event of no app (a landing visit) counts for its platform only.
	e.use(day(0), e.xh, "", events.Verify, 9)
	main := e.ctx(mainAdmin(), "stats.read")
	xh := e.ctx(subAdmin(e.xh), "stats.read")

	apps, err := e.svc.AppStats(main, &stats.AppStatsIn{PageIn: stats.PageIn{Sort: "show"}})
	if err != nil {
		t.Fatal(err)
	}
	if apps.Total != 3 || apps.Sum != counts(8, 17, 30) || apps.Items[0].AppID != e.xhApp || apps.Items[0].AppName != "徐汇医院通" ||
		apps.Items[0].PlatformName != "徐汇区子平台" || apps.Items[0].Counts != counts(3, 15, 2) || apps.Items[0].People.GeneratePeople != 3 {
		t.Fatalf("apps: %+v", apps)
	}
	for _, c := range []struct {
		ctx  context.Context
		in   stats.AppStatsIn
		want []string
	}{
		{main, stats.AppStatsIn{PlatformID: e.ja}, []string{e.jaApp}},
		{main, stats.AppStatsIn{AppName: "医院"}, []string{e.xhApp}},
		{main, stats.AppStatsIn{PlatformName: "子平台", PageIn: stats.PageIn{Sort: "verify", Order: "asc"}}, []string{e.xhApp, e.jaApp}},
		{main, stats.AppStatsIn{AppID: e.mApp}, []string{e.mApp}},
		{xh, stats.AppStatsIn{}, []string{e.xhApp}},
		{xh, stats.AppStatsIn{AppName: "养老"}, nil},
	} {
		p, err := e.svc.AppStats(c.ctx, &c.in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range p.Items {
			ids = append(ids, r.AppID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%+v: %v, want %v", c.in, ids, c.want)
		}
	}
	_, err = e.svc.AppStats(xh, &stats.AppStatsIn{AppID: e.jaApp})
	wantCode(t, err, fault.CodeUnauthorizedOperation)

	rules, err := e.svc.RuleStats(main, &stats.RuleStatsIn{})
	if err != nil {
		t.Fatal(err)
	}
	if rules.Total != 1 || rules.Items[0].RuleID != e.rule.ID || rules.Items[0].RuleName != "随申码·身份码" || rules.Items[0].Kind != "person" ||
		rules.Items[0].Family != "identity" || rules.Items[0].Counts != counts(8, 17, 39) {
		t.Fatalf("rules: %+v", rules)
	}
	for _, c := range []struct {
		ctx  context.Context
		in   stats.RuleStatsIn
		want stats.Counts
		n    int64
	}{
		{xh, stats.RuleStatsIn{}, counts(3, 15, 11), 1},
		{main, stats.RuleStatsIn{AppID: e.xhApp}, counts(3, 15, 2), 1},
		{main, stats.RuleStatsIn{AppName: "养老"}, counts(1, 2, 27), 1},
		{main, stats.RuleStatsIn{PlatformName: "静安"}, counts(1, 2, 27), 1},
		{main, stats.RuleStatsIn{RuleName: "身份码", RuleID: e.rule.ID}, counts(8, 17, 39), 1},
		{main, stats.RuleStatsIn{RuleName: "健康码"}, counts(0, 0, 0), 0},
		{main, stats.RuleStatsIn{PeriodIn: stats.PeriodIn{Period: "yesterday"}}, counts(0, 10, 20), 1},
	} {
		p, err := e.svc.RuleStats(c.ctx, &c.in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != c.n || p.Sum != c.want {
			t.Errorf("%+v: %d rules, %+v; want %d, %+v", c.in, p.Total, p.Sum, c.n, c.want)
		}
	}
	_, err = e.svc.RuleStats(xh, &stats.RuleStatsIn{PlatformID: e.ja})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestTrendAndDailyReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedUsage(e)
	main := e.ctx(mainAdmin(), "stats.read")
	xh := e.ctx(subAdmin(e.xh), "stats.read")

	series := func(tr *stats.Trend) map[string][]int64 {
		m := map[string][]int64{}
		for _, s := range tr.Series {
			m[s.Type] = s.Values
		}
		return m
	}
	today, err := e.svc.Trend(main, &stats.TrendIn{PeriodIn: stats.PeriodIn{Period: "today"}})
	if err != nil {
		t.Fatal(err)
	}
	// 00:00 to 10:00, the current hour.
	if today.Granularity != "hour" || len(today.Buckets) != 11 || !today.Buckets[10].Equal(day(0)) || today.Series[0].Name != "生码量" {
		t.Fatalf("today: %+v", today)
	}
	if s := series(today); s["generate"][10] != 8 || s["show"][10] != 7 || s["verify"][10] != 10 || s["generate"][9] != 0 || today.Series[2].Total != 10 {
		t.Fatalf("today's series %v", s)
	}
	yesterday, _ := e.svc.Trend(main, &stats.TrendIn{PeriodIn: stats.PeriodIn{Period: "yesterday"}})
	if s := series(yesterday); len(yesterday.Buckets) != 24 || s["show"][10] != 10 || s["verify"][10] != 20 || yesterday.Series[1].Total != 10 {
		t.Fatalf("yesterday: %d buckets, %v", len(yesterday.Buckets), s)
	}
	week, _ := e.svc.Trend(main, &stats.TrendIn{})
	if s := series(week); week.Granularity != "day" || len(week.Buckets) != 7 || s["generate"][6] != 8 || s["show"][5] != 10 || s["verify"][5] != 20 {
		t.Fatalf("7 days: %+v", week)
	}
	month, _ := e.svc.Trend(main, &stats.TrendIn{PeriodIn: stats.PeriodIn{Period: "30d"}, AppID: e.xhApp})
	if s := series(month); len(month.Buckets) != 30 || s["generate"][19] != 100 || month.Series[0].Total != 103 {
		t.Fatalf("30 days of 徐汇's app: %v", s)
	}
	// A sub-platform's trend is its own, whatever it asks.
	mine, _ := e.svc.Trend(xh, &stats.TrendIn{PeriodIn: stats.PeriodIn{Period: "today"}})
	if s := series(mine); s["generate"][10] != 3 || s["verify"][10] != 2 {
		t.Fatalf("徐汇's trend %v", s)
	}
	_, err = e.svc.Trend(xh, &stats.TrendIn{AppID: e.jaApp})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.Trend(main, &stats.TrendIn{PlatformID: e.xh, AppID: e.jaApp})
	wantCode(t, err, fault.CodeInvalidParameter)

	d, err := e.svc.Daily(xh, &stats.DailyIn{PlatformID: e.xh})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Items) != 7 || d.PlatformName != "徐汇区子平台" || d.Sum != counts(3, 15, 2) {
		t.Fatalf("daily: %+v", d)
	}
	if r := d.Items[6]; r.Date != "2025-03-05" || r.Counts != counts(3, 5, 2) || r.Failed != 2 || r.Intercepted != 0 ||
		r.People != (stats.People{GeneratePeople: 3, ShowPeople: 2, VerifyPeople: 1}) {
		t.Fatalf("today's row %+v", r)
	}
	if r := d.Items[5]; r.Date != "2025-03-04" || r.Counts != counts(0, 10, 0) || r.Intercepted != 1 || r.ShowPeople != 1 {
		t.Fatalf("yesterday's row %+v", r)
	}
	if r := d.Items[0]; r.Date != "2025-02-27" || r.Counts != (stats.Counts{}) {
		t.Fatalf("first row %+v", r)
	}
	d, err = e.svc.Daily(main, &stats.DailyIn{AppID: e.jaApp, PeriodIn: stats.PeriodIn{From: "2025-03-04", To: "2025-03-05"}})
	if err != nil || len(d.Items) != 2 || d.PlatformID != e.ja || d.AppName != "静安养老" || d.Items[0].Verify != 20 || d.Items[1].Counts != counts(1, 2, 7) {
		t.Fatalf("静安's app: %+v %v", d, err)
	}
	_, err = e.svc.Daily(main, &stats.DailyIn{})
	wantCode(t, err, fault.CodeMissingParameter)
	_, err = e.svc.Daily(xh, &stats.DailyIn{PlatformID: e.ja})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.Daily(xh, &stats.DailyIn{AppID: e.mApp})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestTop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedUsage(e)
	main := e.ctx(mainAdmin(), "assessment.read")
	board := func(ctx context.Context, in stats.TopIn) []string {
		t.Helper()
		top, err := e.svc.Top(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, it := range top.Items {
			if it.Rank != i+1 {
				t.Fatalf("rank %d at %d", it.Rank, i)
			}
			out = append(out, it.ID+":"+itoa(it.Value))
		}
		return out
	}
	week := stats.PeriodIn{Period: "7d"}
	for _, c := range []struct {
		ctx  context.Context
		in   stats.TopIn
		want []string
	}{
		{main, stats.TopIn{Board: "platform-generate"}, nil}, // yesterday: nothing generated
		{main, stats.TopIn{Board: "platform-generate", PeriodIn: week}, []string{"P0000:4", e.xh + ":3", e.ja + ":1"}},
		{main, stats.TopIn{Board: "platform-use", PeriodIn: week}, []string{e.ja + ":29", e.xh + ":17", "P0000:1"}},
		{main, stats.TopIn{Board: "platform-use"}, []string{e.ja + ":20", e.xh + ":10"}},
		{main, stats.TopIn{Board: "app-generate", PeriodIn: stats.PeriodIn{Period: "30d"}}, []string{e.xhApp + ":103", e.mApp + ":4", e.jaApp + ":1"}},
		{main, stats.TopIn{Board: "app-use", PeriodIn: week, PlatformID: e.xh}, []string{e.xhApp + ":17"}},
		{e.ctx(subAdmin(e.xh), "assessment.read"), stats.TopIn{Board: "platform-use", PeriodIn: week}, []string{e.xh + ":17"}},
	} {
		if got := board(c.ctx, c.in); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.in, got, c.want)
		}
	}
	// Five at most.
	for i := range 6 {
		app := e.app(e.ja, "应用"+itoa(int64(i)))
		e.use(day(-1), e.ja, app, events.Generate, i+1)
	}
	if got := board(main, stats.TopIn{Board: "app-generate"}); len(got) != 5 || !strings.HasSuffix(got[0], ":6") || !strings.HasSuffix(got[4], ":2") {
		t.Fatalf("top 5 of 6: %v", got)
	}
	for _, c := range []struct {
		in   stats.TopIn
		code string
	}{
		{stats.TopIn{}, fault.CodeMissingParameter},
		{stats.TopIn{Board: "app"}, fault.CodeInvalidParameter},
		{stats.TopIn{Board: "platform-use", PlatformID: e.xh}, fault.CodeInvalidParameter},
		{stats.TopIn{Board: "app-use", PeriodIn: stats.PeriodIn{Period: "90d"}}, fault.CodeInvalidParameter},
	} {
		_, err := e.svc.Top(main, &c.in)
		wantCode(t, err, c.code)
	}
	_, err := e.svc.Top(e.ctx(subAdmin(e.xh), "assessment.read"), &stats.TopIn{Board: "app-use", PlatformID: e.ja})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// residentID completes 17 digits with their GB 11643 check character.
func residentID(d17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

func TestWorkbench(t *testing.T) {
	t.Parallel()
	last := time.Date(2025, 3, 5, 8, 0, 0, 0, cst)
	e := newEnv(t, func(c *stats.Config) {
		c.Profile = func(ctx context.Context) (stats.Profile, error) {
			return stats.Profile{Account: "main", Name: "主管理员", LastLoginAt: &last}, nil
		}
	})
	seedUsage(e)
	// The code engine's last complete hour (09:00-10:00) on 徐汇: 4 calls
	// served, one failed, one refused by risk control.
	at := time.Date(2025, 3, 5, 9, 15, 0, 0, cst)
	e.use(at, e.xh, e.xhApp, events.Activate, 4)
	e.write(at, e.xh, e.xhApp, events.Verify, events.Failure, 1)
	e.write(at, e.xh, e.xhApp, events.Verify, events.Intercepted, 1)
	e.use(at, e.xh, "", events.Landing, 50) // not a code-engine call

	// Registrations: A with 徐汇's app yesterday and 静安's today, B with
	// 徐汇's today.
	open := func(when time.Time, platform, app, cert string) {
		e.clock.Set(when)
		if _, err := e.people.Open(e.ctx(mainAdmin(), ""), app, platform, persons.Identity{Name: "张三", CertType: persons.ResidentID, CertNo: cert}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := residentID("31010419900101123"), residentID("31010619850505432")
	open(day(-1), e.xh, e.xhApp, a)
	open(day(0), e.ja, e.jaApp, a)
	open(day(0), e.xh, e.xhApp, b)
	e.clock.Set(now)
	e.alerts = []stats.Alert{
		{CodeName: "长三角健康码", AppName: "徐汇医院通", PlatformID: e.xh, At: day(0), Reason: "解析失败率超过阈值"},
		{CodeName: "电子社保卡", AppName: "静安养老", PlatformID: e.ja, At: day(-1), Reason: "接口超时"},
	}

	w, err := e.svc.Workbench(e.ctx(mainAdmin(), "workbench.read"), &stats.WorkbenchIn{})
	if err != nil {
		t.Fatal(err)
	}
	if w.User.Name != "主管理员" || !w.User.LastLoginAt.Equal(last) || w.Yesterday != counts(0, 10, 20) || w.RankPeriod != "yesterday" {
		t.Fatalf("workbench: %+v", w)
	}
	if w.Overview != (stats.Overview{SubPlatforms: 2, Apps: 3, Users: 2}) {
		t.Fatalf("overview %+v", w.Overview)
	}
	if len(w.AppRanking) != 2 || w.AppRanking[0].ID != e.jaApp || w.AppRanking[0].Value != 20 || w.AppRanking[1].ID != e.xhApp ||
		len(w.PlatformRanking) != 2 || w.PlatformRanking[0].ID != e.ja || w.PlatformRanking[1].Value != 10 {
		t.Fatalf("rankings %+v %+v", w.AppRanking, w.PlatformRanking)
	}
	if len(w.Engine.Platforms) != 3 || !w.Engine.Hour.Equal(time.Date(2025, 3, 5, 9, 0, 0, 0, cst)) {
		t.Fatalf("engine %+v", w.Engine)
	}
	if l := w.Engine.Platforms[0]; l.PlatformID != e.xh || l.LastHour != (stats.Load{Calls: 6, Failed: 1, Intercepted: 1, ErrorRate: 1.0 / 6}) ||
		l.ThisHour.Calls != 12 || l.ThisHour.Failed != 2 || l.ThisHour.ErrorRate != 2.0/12 {
		t.Fatalf("徐汇's engine %+v", l)
	}
	if s := w.Trend.Series; len(w.Trend.Buckets) != 7 || s[0].Total != 8 || s[1].Total != 17 || s[2].Total != 30 {
		t.Fatalf("trend %+v", w.Trend)
	}
	if r := w.Registrations; len(r.Days) != 7 || r.Days[6] != "2025-03-05" || r.Values[5] != 1 || r.Values[6] != 1 || r.Total != 2 {
		t.Fatalf("registrations %+v", r)
	}
	if len(w.Alerts) != 2 {
		t.Fatalf("alerts %+v", w.Alerts)
	}

	t.Run("a sub-platform's workbench", func(t *testing.T) {
		w, err := e.svc.Workbench(e.ctx(subAdmin(e.ja), "workbench.read"), &stats.WorkbenchIn{RankPeriod: "7d", UserDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		if w.User.Name != "主管理员" || w.Yesterday != counts(0, 0, 20) || w.Overview != (stats.Overview{SubPlatforms: 1, Apps: 1, Users: 1}) {
			t.Fatalf("静安's workbench %+v", w)
		}
		if len(w.AppRanking) != 1 || w.AppRanking[0].Value != 29 || len(w.PlatformRanking) != 1 || w.PlatformRanking[0].ID != e.ja {
			t.Fatalf("静安's rankings %+v %+v", w.AppRanking, w.PlatformRanking)
		}
		if len(w.Engine.Platforms) != 1 || w.Engine.Platforms[0].PlatformID != e.ja || w.Engine.Platforms[0].LastHour.Calls != 0 {
			t.Fatalf("静安's engine %+v", w.Engine)
		}
		// A registered with 静安 today: that is their registration here.
		if r := w.Registrations; len(r.Days) != 30 || r.Values[29] != 1 || r.Total != 1 {
			t.Fatalf("静安's registrations %+v", r)
		}
		if len(w.Alerts) != 1 || w.Alerts[0].PlatformID != e.ja {
			t.Fatalf("静安 sees alerts %+v", w.Alerts)
		}
		if w.Trend.Series[2].Total != 27 || w.Trend.Series[0].Total != 1 {
			t.Fatalf("静安's trend %+v", w.Trend.Series)
		}
	})

	t.Run("alerts that cannot be read", func(t *testing.T) {
		e.alertsErr = errors.New("interop: database gone")
		w, err := e.svc.Workbench(e.ctx(mainAdmin(), "workbench.read"), &stats.WorkbenchIn{})
		e.alertsErr = nil
		if err != nil || !w.AlertsUnavailable || len(w.Alerts) != 0 || w.Yesterday != counts(0, 10, 20) {
			t.Fatalf("workbench without alerts: %+v %v", w, err)
		}
	})

	for _, in := range []stats.WorkbenchIn{{RankPeriod: "today"}, {RankPeriod: "custom"}, {UserDays: 14}, {UserDays: -7}} {
		_, err := e.svc.Workbench(e.ctx(mainAdmin(), "workbench.read"), &in)
		wantCode(t, err, fault.CodeInvalidParameter)
	}
}

func TestWorkbenchWithoutProfileOrAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *stats.Config) { c.Alerts = nil })
	w, err := e.svc.Workbench(e.ctx(subAdmin(e.xh), "workbench.read"), &stats.WorkbenchIn{})
	if err != nil {
		t.Fatal(err)
	}
	if w.User.Account != "admin-"+e.xh || w.User.LastLoginAt != nil || w.Alerts == nil || len(w.Alerts) != 0 ||
		w.Yesterday != (stats.Counts{}) || len(w.AppRanking) != 0 || w.AppRanking == nil || w.Registrations.Total != 0 {
		t.Fatalf("an empty workbench %+v", w)
	}
}

func TestScenes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	object := func(at time.Time, platform, region string, typ events.Type, n int) {
		evs := make([]events.Event, n)
		for i := range evs {
			evs[i] = events.Event{At: at, Type: typ, Result: events.Success, PlatformID: platform, Kind: "object", RegionCode: region, SubjectID: "o1"}
		}
		if err := e.ev.Write(context.Background(), evs...); err != nil {
			t.Fatal(err)
		}
	}
	object(day(0), e.xh, "310104001", events.Landing, 5)
	object(day(0), e.xh, "310104", events.Verify, 2)
	object(day(-1), e.ja, "310106", events.Landing, 3)
	object(day(-30), e.ja, "310106", events.Landing, 100) // outside the 7 days
	e.write(day(0), e.ja, e.jaApp, events.Landing, events.Failure, 4)
	seedUsage(e) // personal codes: no region, not counted

	main := e.ctx(mainAdmin(), "scenestat.read")
	key := func(r stats.SceneRow) string { return r.Day + "/" + r.RegionCode + "/" + r.RegionName + "/" + r.Kind }
	for _, c := range []struct {
		name string
		ctx  context.Context
		in   stats.ScenesIn
		want map[string]map[string]int64
	}{
		{"by region and kind", main, stats.ScenesIn{}, map[string]map[string]int64{
			"/310104/徐汇区/object": {"verify": 2}, "/310104001//object": {"landing": 5}, "/310106/静安区/object": {"landing": 3}}},
		{"by day", main, stats.ScenesIn{By: []string{"day"}}, map[string]map[string]int64{
			"2025-03-04///": {"landing": 3}, "2025-03-05///": {"landing": 5, "verify": 2}}},
		{"a district and its streets", main, stats.ScenesIn{RegionCode: "310104", By: []string{"kind"}}, map[string]map[string]int64{
			"///object": {"landing": 5, "verify": 2}}},
		{"the whole city", main, stats.ScenesIn{RegionCode: "310000", By: []string{"kind"}, PeriodIn: stats.PeriodIn{Period: "30d"}},
			map[string]map[string]int64{"///object": {"landing": 8, "verify": 2}}},
		{"persons", main, stats.ScenesIn{Kind: "person"}, map[string]map[string]int64{}},
		{"a sub-platform", e.ctx(subAdmin(e.ja), "scenestat.read"), stats.ScenesIn{By: []string{"region"}},
			map[string]map[string]int64{"/310106/静安区/": {"landing": 3}}},
		{"a region account", e.ctx(regionStaff("310104", "scenestat.read"), "scenestat.read"), stats.ScenesIn{By: []string{"region"}},
			map[string]map[string]int64{"/310104/徐汇区/": {"verify": 2}, "/310104001//": {"landing": 5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := e.svc.Scenes(c.ctx, &c.in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]int64{}
			var total int64
			for _, r := range s.Items {
				got[key(r)] = r.Counts
				total += r.Total
			}
			if len(got) != len(c.want) {
				t.Fatalf("%v, want %v", got, c.want)
			}
			var want int64
			for k, m := range c.want {
				for typ, n := range m {
					want += n
					if got[k][typ] != n {
						t.Errorf("%s %s: %d, want %d (%v)", k, typ, got[k][typ], n, got)
					}
				}
			}
			if total != want || len(s.Items) != len(c.want) {
				t.Errorf("total %d, want %d", total, want)
			}
		})
	}
	for _, in := range []stats.ScenesIn{{By: []string{"app"}}, {By: []string{"day", "day"}}, {RegionCode: "31"}, {RegionCode: "3101x4"}, {Kind: "thing"}} {
		_, err := e.svc.Scenes(main, &in)
		wantCode(t, err, fault.CodeInvalidParameter)
	}
	_, err := e.svc.Scenes(e.ctx(subAdmin(e.ja), "scenestat.read"), &stats.ScenesIn{PlatformID: e.xh})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestExports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedUsage(e)
	rowsOf := func(w *stats.Workbook, sheet string) [][]string {
		t.Helper()
		var buf bytes.Buffer
		if err := w.WriteTo(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	main := e.ctx(mainAdmin(), "stats.export")
	w, err := e.svc.ExportPlatformStats(main, &stats.PlatformStatsIn{PageIn: stats.PageIn{Sort: "verify", PageSize: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(w, "平台统计")
	// Every platform, not one page, in the list's order, then the total.
	if w.Filename() != "platform-stats-20250227-20250305.xlsx" || len(rows) != 5 || rows[0][0] != "平台编号" || rows[1][0] != e.ja ||
		rows[1][4] != "27" || rows[1][7] != "3" || rows[4][0] != "合计" || rows[4][2] != "8" || rows[4][4] != "30" {
		t.Fatalf("%s: %v", w.Filename(), rows)
	}
	xh := e.ctx(subAdmin(e.xh), "stats.export")
	w, err = e.svc.ExportAppStats(xh, &stats.AppStatsIn{})
	if err != nil {
		t.Fatal(err)
	}
	if rows := rowsOf(w, "应用统计"); len(rows) != 3 || rows[1][0] != e.xhApp || rows[1][5] != "15" || rows[2][5] != "15" {
		t.Fatalf("徐汇's apps: %v", rows)
	}
	w, err = e.svc.ExportRuleStats(xh, &stats.RuleStatsIn{})
	if err != nil {
		t.Fatal(err)
	}
	if rows := rowsOf(w, "码规则统计"); len(rows) != 3 || rows[1][0] != e.rule.ID || rows[1][4] != "3" {
		t.Fatalf("徐汇's rules: %v", rows)
	}
	w, err = e.svc.ExportDaily(xh, &stats.DailyIn{AppID: e.xhApp, PeriodIn: stats.PeriodIn{Period: "today"}})
	if err != nil {
		t.Fatal(err)
	}
	if rows := rowsOf(w, "应用日报"); w.Filename() != "app-daily-"+e.xhApp+"-20250305-20250305.xlsx" || len(rows) != 3 ||
		rows[1][0] != "2025-03-05" || rows[1][1] != "3" || rows[1][7] != "2" || rows[2][0] != "合计" {
		t.Fatalf("daily export %s: %v", w.Filename(), rows)
	}
	_, err = e.svc.ExportDaily(xh, &stats.DailyIn{PlatformID: e.ja})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.ExportPlatformStats(xh, &stats.PlatformStatsIn{PageIn: stats.PageIn{Sort: "name"}})
	wantCode(t, err, fault.CodeInvalidParameter)
}

func TestBadFilterText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	main := e.ctx(mainAdmin(), "stats.read")
	_, err := e.svc.PlatformStats(main, &stats.PlatformStatsIn{PlatformName: "a\x00b"})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.svc.AppStats(main, &stats.AppStatsIn{AppName: "\xff"})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.svc.RuleStats(main, &stats.RuleStatsIn{RuleID: "\x00"})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.svc.Trend(main, &stats.TrendIn{PlatformID: "P\x00"})
	wantCode(t, err, fault.CodeInvalidParameter)
}
