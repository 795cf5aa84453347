package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// bench drives the handler as the host would, against the sdk's fake
// host, with a clock the test moves.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	code   plugin.Code
	routes map[string]plugin.Route
	draws  byte
}

// Visitors of the tests.
var (
	tourist  = plugin.Visitor{Tourist: true}
	zhang    = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*"}
	li       = plugin.Visitor{Pseudonym: "v1111111111111111111111111"}
	stranger = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

const benchConfig = `{"managers":["hr"],"leaders":[{"account":"wang","team":"保洁一组"}],"holidays":["2026-11-04"],
	"fence":{"lat":31.2,"lng":121.4,"radius":200}}`

func newBench(t *testing.T) *bench {
	b := &bench{t: t, config: benchConfig, now: time.Date(2026, 11, 2, 8, 50, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-site-1", Kind: "object", Status: "active", Name: "演示设施",
		Attributes: json.RawMessage(`{"name":"滨江街道办事处"}`)}
	return b
}

// Read gives bind codes: each draw a different run of bytes.
func (b *bench) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = b.draws
		b.draws += 7
	}
	return len(p), nil
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	return handler{now: func() time.Time { return b.now }, rand: b}.Handle(context.Background(), b.host.Host(req.ID), req)
}

// scan calls a landing or action route of the bench's code as a visitor;
// form is posted urlencoded.
func (b *bench) scan(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s", route)
	}
	code := b.code
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: []byte(form.Encode()),
		PlatformID: "P0001", Code: &code, Visitor: v, Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	return b.handle(req)
}

// admin calls an admin route as the console does for account.
func (b *bench) admin(account, route, query, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	q, _ := url.ParseQuery(query)
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path, Query: q,
		Body: []byte(body), PlatformID: "P0001", Visitor: tourist, Operator: &plugin.Operator{Account: account, PlatformID: "P0001"},
		Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatal(err)
	}
	return out, nil
}

func (b *bench) mustAdmin(route, query, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin("hr", route, query, body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", route, body, err)
	}
	return out
}

// enrol adds a staff member and binds the visitor with the code issued.
func (b *bench) enrol(v plugin.Visitor, staffNo, name, team string) {
	b.t.Helper()
	out := b.mustAdmin("admin-staff-add", "", `{"staffNo":"`+staffNo+`","name":"`+name+`","team":"`+team+`"}`)
	resp, err := b.scan("bind", v, url.Values{"staffNo": {staffNo}, "code": {out["bindCode"].(string)}})
	if err != nil || resp.Status != http.StatusSeeOther {
		b.t.Fatalf("bind %s: %v %v", staffNo, resp, err)
	}
}

var here = url.Values{"lat": {"31.2005"}, "lng": {"121.4"}}

func (b *bench) at(date, clock string) {
	b.now, _ = time.ParseInLocation("2006-01-02 15:04", date+" "+clock, cst)
}

func (b *bench) record(id string) attendanceDoc {
	b.t.Helper()
	rec, ok := b.host.Record("attendance", id)
	if !ok {
		b.t.Fatalf("no record %s", id)
	}
	var d attendanceDoc
	_ = json.Unmarshal(rec.Doc, &d)
	return d
}

func wantPage(t *testing.T, resp *plugin.Response, err error, status int, wants ...string) {
	t.Helper()
	if err != nil || resp.Status != status {
		t.Fatalf("status %v %v, want %d", resp, err, status)
	}
	for _, w := range wants {
		if !strings.Contains(string(resp.Body), w) {
			t.Fatalf("page lacks %q: %s", w, resp.Body)
		}
	}
}

// The citizen side: tourists and strangers refused, binding once, the day
// on time and the day late, the refusals of a second check-in, of a
// check-out without a check-in and of a position outside the fence, and
// a disabled staff member.
func TestCheckInFlow(t *testing.T) {
	b := newBench(t)
	resp, err := b.scan("home", tourist, nil)
	wantPage(t, resp, err, http.StatusForbidden, "考勤签到需实名登录")
	resp, err = b.scan("home", stranger, nil)
	wantPage(t, resp, err, http.StatusForbidden, "不在本单位的考勤名单中", `action="http://city.test/c/tok-site-1/bind"`)
	_, err = b.scan("checkin", stranger, here)
	wantCode(t, err, "UnauthorizedOperation", "不在本单位的考勤名单中")
	_, err = b.scan("checkin", tourist, here)
	wantCode(t, err, "UnauthorizedOperation", "需实名登录")

	// A wrong code, an unknown number, a bad form: one refusal, nothing
	// bound.
	added := b.mustAdmin("admin-staff-add", "", `{"staffNo":"a001","name":"张三","team":"保洁一组"}`)
	code := added["bindCode"].(string)
	if added["staffNo"] != "A001" || len(code) != 14 || added["bound"] != false {
		t.Fatalf("added: %v", added)
	}
	for _, form := range []url.Values{{"staffNo": {"A001"}, "code": {"2222-2222-2222"}}, {"staffNo": {"A002"}, "code": {code}},
		{"staffNo": {"A001"}, "code": {"nonsense"}}} {
		_, err = b.scan("bind", zhang, form)
		wantCode(t, err, "UnauthorizedOperation", "工号或绑定码不正确")
	}
	_, err = b.scan("bind", zhang, url.Values{"staffNo": {"A001"}, "code": {code}, "pseudonym": {li.Pseudonym}})
	wantCode(t, err, plugin.ErrInvalid, "未知的表单字段：pseudonym")
	if n := len(b.host.Records("bindings")); n != 0 {
		t.Fatalf("%d bindings after refusals", n)
	}
	resp, err = b.scan("bind", zhang, url.Values{"staffNo": {" a001 "}, "code": {strings.ToLower(code)}})
	if err != nil || resp.Status != http.StatusSeeOther || resp.Header["Location"] != "http://city.test/c/tok-site-1" {
		t.Fatalf("bind: %v %v", resp, err)
	}
	_, err = b.scan("bind", zhang, url.Values{"staffNo": {"A001"}, "code": {code}})
	wantCode(t, err, "FailedOperation.AlreadyBound", "已绑定工号 A001")
	_, err = b.scan("bind", li, url.Values{"staffNo": {"A001"}, "code": {code}})
	wantCode(t, err, "UnauthorizedOperation", "工号或绑定码不正确") // used once

	// Monday 08:50: on time.
	resp, err = b.scan("home", zhang, nil)
	wantPage(t, resp, err, 200, "<h1>张三</h1>", "今日尚未签到", `id="checkin-form"`, "09:00-18:00", "2026-11-02 周一", "本考勤点仅限现场签到")
	_, err = b.scan("checkin", zhang, url.Values{"lat": {"31.21"}, "lng": {"121.4"}})
	wantCode(t, err, plugin.ErrInvalid+".OutsideFence", "距考勤点约 1.1 公里")
	_, err = b.scan("checkin", zhang, url.Values{})
	wantCode(t, err, "MissingParameter", "请允许获取位置信息")
	_, err = b.scan("checkout", zhang, here)
	wantCode(t, err, "FailedOperation.NotCheckedIn", "今天还没有签到")
	if n := len(b.host.Records("attendance")); n != 0 {
		t.Fatalf("%d records after refusals", n)
	}
	resp, err = b.scan("checkin", zhang, here)
	wantPage(t, resp, err, http.StatusCreated, "签到成功", `<span id="done-time">08:50</span>`, `id="result" class="ok">正常<`, "滨江街道办事处")
	d := b.record("a-20261102-A001")
	if d.CheckInResult != "正常" || d.CheckIn != "08:50:00" || d.Name != "张三" || d.Team != "保洁一组" || d.Shift != "09:00-18:00" ||
		!d.Workday || d.CheckInDistance == nil || *d.CheckInDistance != 56 || d.CheckInSite != "滨江街道办事处" {
		t.Fatalf("record: %+v", d)
	}
	b.at("2026-11-02", "12:00")
	_, err = b.scan("checkin", zhang, here)
	wantCode(t, err, "FailedOperation.AlreadyCheckedIn", "今天已于 08:50 在滨江街道办事处签到")
	resp, err = b.scan("home", zhang, nil)
	wantPage(t, resp, err, 200, `<strong id="checkin-time">08:50:00</strong>`, `id="checkout-form"`)
	b.at("2026-11-02", "17:45")
	resp, err = b.scan("checkout", zhang, here)
	wantPage(t, resp, err, 200, "签退成功", `class="bad">早退 15 分钟<`)
	if d = b.record("a-20261102-A001"); d.CheckOutResult != "早退" || d.EarlyMinutes != 15 || d.CheckOut != "17:45:00" || d.CheckOutCode != "tok-site-1" {
		t.Fatalf("check-out: %+v", d)
	}
	_, err = b.scan("checkout", zhang, here)
	wantCode(t, err, "FailedOperation.AlreadyCheckedOut", "今天已于 17:45 签退")
	resp, err = b.scan("home", zhang, nil)
	wantPage(t, resp, err, 200, "今日考勤已完成", `<table id="month"><tr><th>出勤</th><th>迟到</th><th>早退</th><th>缺卡</th></tr>
<tr><td>1</td><td>0</td><td>1</td><td>0</td></tr>`)

	// Tuesday 09:20: late by 20 minutes; on time out.
	b.at("2026-11-03", "09:20")
	resp, err = b.scan("checkin", zhang, here)
	wantPage(t, resp, err, http.StatusCreated, `class="bad">迟到 20 分钟<`)
	b.at("2026-11-03", "18:30")
	resp, err = b.scan("checkout", zhang, here)
	wantPage(t, resp, err, 200, `class="ok">正常<`)

	// The code's own coordinates win over the configuration's.
	b.code.Attributes = json.RawMessage(`{"name":"二号考勤点","lat":31.3,"lng":121.5,"radius":50}`)
	b.at("2026-11-05", "08:00")
	_, err = b.scan("checkin", zhang, here)
	wantCode(t, err, plugin.ErrInvalid+".OutsideFence", "超出可签到范围（50 米以内）")

	// Disabled: refused on the page and on the action, nothing stored.
	b.mustAdmin("admin-staff-update", "", `{"staffNo":"A001","status":"停用"}`)
	resp, err = b.scan("home", zhang, nil)
	wantPage(t, resp, err, http.StatusForbidden, "考勤账号已停用")
	_, err = b.scan("checkin", zhang, url.Values{"lat": {"31.3"}, "lng": {"121.5"}})
	wantCode(t, err, "UnauthorizedOperation", "考勤账号已停用")
	if n := len(b.host.Records("attendance")); n != 2 {
		t.Fatalf("%d records", n)
	}
	if len(b.host.Events) != 4 || b.host.Events[0].Name != "attendance.checkin" || b.host.Events[3].Name != "attendance.checkout" {
		t.Fatalf("events: %+v", b.host.Events)
	}
}

// The managers' side: the roster changes audited, a reissued code undoing
// the binding, the daily list and the monthly figures, and the roles.
func TestAdminFlow(t *testing.T) {
	b := newBench(t)
	b.config = `{"managers":["hr"],"leaders":[{"account":"wang","team":"保洁一组"}],"holidays":["2026-11-04"]}`
	b.enrol(zhang, "A001", "张三", "保洁一组")
	b.enrol(li, "A002", "李四", "保洁一组")
	b.mustAdmin("admin-staff-add", "", `{"staffNo":"B001","name":"王五","team":"保洁二组"}`)
	if _, err := b.admin("hr", "admin-staff-add", "", `{"staffNo":"A001","name":"重名"}`); !plugin.IsCode(err, "FailedOperation.StaffExists") {
		t.Fatalf("a second A001: %v", err)
	}

	// Monday: 张三 late, 李四 on time and early; 王五 never comes.
	b.at("2026-11-02", "09:10")
	if _, err := b.scan("checkin", zhang, nil); err != nil {
		t.Fatal(err)
	}
	b.at("2026-11-02", "08:59")
	if _, err := b.scan("checkin", li, nil); err != nil {
		t.Fatal(err)
	}
	b.at("2026-11-02", "16:00")
	if _, err := b.scan("checkout", li, nil); err != nil {
		t.Fatal(err)
	}
	day := b.mustAdmin("admin-daily", "date=2026-11-02", "")
	counts := day["counts"].(map[string]any)
	if day["total"] != 3.0 || counts["迟到"] != 1.0 || counts["早退"] != 1.0 || counts["未签到"] != 1.0 || day["weekday"] != "周一" {
		t.Fatalf("daily during the day: %v", day)
	}
	b.at("2026-11-02", "18:30")
	day = b.mustAdmin("admin-daily", "date=2026-11-02&status=缺卡", "")
	items := day["items"].([]any)
	if day["total"] != 1.0 || items[0].(map[string]any)["staffNo"] != "B001" {
		t.Fatalf("absent: %v", day)
	}
	day = b.mustAdmin("admin-daily", "date=2026-11-02&team=保洁一组&status=未签退", "")
	if day["total"] != 1.0 || day["items"].([]any)[0].(map[string]any)["status"].([]any)[1] != "未签退" {
		t.Fatalf("no check-out: %v", day)
	}
	// Tuesday: 张三 on time, 李四 absent; Wednesday a holiday.
	b.at("2026-11-03", "08:30")
	if _, err := b.scan("checkin", zhang, nil); err != nil {
		t.Fatal(err)
	}
	b.at("2026-11-03", "18:00")
	if _, err := b.scan("checkout", zhang, nil); err != nil {
		t.Fatal(err)
	}
	b.at("2026-11-05", "10:00")
	month := b.mustAdmin("admin-monthly", "month=2026-11", "")
	byNo := map[string]map[string]any{}
	for _, it := range month["items"].([]any) {
		byNo[it.(map[string]any)["staffNo"].(string)] = it.(map[string]any)
	}
	for no, want := range map[string]string{
		"A001": "workdays 2 present 2 late 1 lateMinutes 10 early 0 absent 0 missingCheckout 1",
		"A002": "workdays 2 present 1 late 0 lateMinutes 0 early 1 absent 1 missingCheckout 0",
		"B001": "workdays 2 present 0 late 0 lateMinutes 0 early 0 absent 2 missingCheckout 0",
	} {
		var got []string
		for _, k := range []string{"workdays", "present", "late", "lateMinutes", "early", "absent", "missingCheckout"} {
			got = append(got, k, jsonNum(byNo[no][k]))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %s, want %s", no, strings.Join(got, " "), want)
		}
	}
	if sum := month["sum"].(map[string]any); sum["absent"] != 3.0 || sum["present"] != 3.0 {
		t.Fatalf("sum: %v", sum)
	}
	one := b.mustAdmin("admin-monthly", "month=2026-11&staffNo=a002", "")
	if one["total"] != 1.0 {
		t.Fatalf("one staff member: %v", one)
	}

	// Roles: the leader reads their team only and changes nothing; an
	// account not configured reads nothing.
	if out, err := b.admin("wang", "admin-daily", "date=2026-11-02", ""); err != nil || out["total"] != 2.0 || out["team"] != "保洁一组" {
		t.Fatalf("leader: %v %v", out, err)
	}
	_, err := b.admin("wang", "admin-monthly", "team=保洁二组", "")
	wantCode(t, err, "UnauthorizedOperation", "只能查看本班组")
	_, err = b.admin("wang", "admin-staff-update", "", `{"staffNo":"A001","team":"保洁二组"}`)
	wantCode(t, err, "UnauthorizedOperation", "须由考勤管理员操作")
	_, err = b.admin("guest", "admin-staff", "", "")
	wantCode(t, err, "UnauthorizedOperation", "未登记为考勤管理员")
	_, err = b.scan("admin-staff", zhang, nil) // not through the console
	wantCode(t, err, "UnauthorizedOperation", "仅限平台工作人员")

	// A reissued code unbinds: 张三 is a stranger until binding again,
	// and the old binding counts for nothing even if left behind.
	audits := len(b.host.Audits)
	re := b.mustAdmin("admin-staff-bindcode", "", `{"staffNo":"A001"}`)
	if re["bound"] != false || re["bindCode"] == "" || len(b.host.Audits) != audits+1 || b.host.Audits[audits].Action != "staff.bindcode" {
		t.Fatalf("reissue: %v %v", re, b.host.Audits)
	}
	resp, err := b.scan("home", zhang, nil)
	wantPage(t, resp, err, http.StatusForbidden, "不在本单位的考勤名单中")
	resp, err = b.scan("bind", zhang, url.Values{"staffNo": {"A001"}, "code": {re["bindCode"].(string)}})
	if err != nil || resp.Status != http.StatusSeeOther {
		t.Fatalf("bind again: %v %v", resp, err)
	}

	// Roster changes: versions, audit without names.
	list := b.mustAdmin("admin-staff", "team=保洁一组", "")
	first := list["items"].([]any)[0].(map[string]any)
	if list["total"] != 2.0 || first["staffNo"] != "A001" || first["bound"] != true || first["pseudonym"] != nil {
		t.Fatalf("roster: %v", list)
	}
	if _, err := b.admin("hr", "admin-staff-update", "", `{"staffNo":"A001","name":"张三丰","version":1}`); !plugin.IsCode(err, "FailedOperation.Changed") {
		t.Fatalf("stale version: %v", err)
	}
	up := b.mustAdmin("admin-staff-update", "", `{"staffNo":"A001","name":"张三丰","team":"保洁二组","version":`+jsonNum(first["version"])+`}`)
	if up["name"] != "张三丰" || up["team"] != "保洁二组" {
		t.Fatalf("update: %v", up)
	}
	last := b.host.Audits[len(b.host.Audits)-1]
	if last.Action != "staff.update" || last.Target != "staff:A001" || strings.Contains(string(last.Detail), "张") {
		t.Fatalf("audit: %+v %s", last, last.Detail)
	}
	if _, err := b.admin("hr", "admin-staff-update", "", `{"staffNo":"Z9","status":"停用"}`); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("unknown staff: %v", err)
	}
	b.mustAdmin("admin-staff-update", "", `{"staffNo":"B001","status":"停用"}`)
	if _, err := b.admin("hr", "admin-staff-bindcode", "", `{"staffNo":"B001"}`); !plugin.IsCode(err, "FailedOperation.StaffDisabled") {
		t.Fatalf("code for a disabled member: %v", err)
	}
	if out := b.mustAdmin("admin-staff", "status=停用", ""); out["total"] != 1.0 {
		t.Fatalf("disabled list: %v", out)
	}
	for _, q := range []string{"date=2026-11-06", "date=20261102", "status=请假"} {
		if _, err := b.admin("hr", "admin-daily", q, ""); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("daily %s: %v", q, err)
		}
	}
}

// An expired bind code is refused, and a citizen keeps one staff number.
func TestBindRefusals(t *testing.T) {
	b := newBench(t)
	b.config = `{"managers":["hr"],"bindCodeHours":1}`
	old := b.mustAdmin("admin-staff-add", "", `{"staffNo":"A001","name":"张三"}`)["bindCode"].(string)
	b.now = b.now.Add(61 * time.Minute)
	_, err := b.scan("bind", zhang, url.Values{"staffNo": {"A001"}, "code": {old}})
	wantCode(t, err, "UnauthorizedOperation", "绑定码已过期")
	b.enrol(zhang, "A002", "张三", "")
	code := b.mustAdmin("admin-staff-bindcode", "", `{"staffNo":"A001"}`)["bindCode"].(string)
	_, err = b.scan("bind", zhang, url.Values{"staffNo": {"A001"}, "code": {code}})
	wantCode(t, err, "FailedOperation.AlreadyBound", "已绑定工号 A002")
	b.mustAdmin("admin-staff-update", "", `{"staffNo":"A001","status":"停用"}`)
	_, err = b.scan("bind", li, url.Values{"staffNo": {"A001"}, "code": {code}})
	wantCode(t, err, "UnauthorizedOperation", "已停用")
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
