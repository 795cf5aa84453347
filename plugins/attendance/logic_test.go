package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if !plugin.IsCode(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want %s saying %q", err, code, msg)
	}
}

// The manifest and the route registry agree: only the landing page is
// open to tourists (it explains itself), the operator routes are the
// admin ones and roster changes are the managers'; names and pseudonyms
// are personal data, and the export has the columns HR needs.
func TestManifest(t *testing.T) {
	m := plugintest.Manifest(t)
	seen := map[string]bool{}
	for _, r := range m.Routes {
		seen[r.Name] = true
		h, ok := routes[r.Name]
		if !ok {
			t.Errorf("route %s of plugin.json has no handler", r.Name)
			continue
		}
		if r.Tourist != (h.access == anyone) || (r.Kind == plugin.Admin) != (h.access >= viewer) {
			t.Errorf("route %s: kind %s, tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
		if r.Kind == plugin.Admin && (r.MethodOrGET() == "POST") != (h.access == manager) {
			t.Errorf("admin route %s: %s with access %d", r.Name, r.MethodOrGET(), h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	if routes["checkin"].access != member || routes["checkout"].access != member || routes["bind"].access != login {
		t.Error("checking in needs a bound staff member, binding a login")
	}
	if m.Runtime != plugin.WASM || m.Entry != "attendance.wasm" {
		t.Errorf("runtime %s, entry %s", m.Runtime, m.Entry)
	}
	personal, fields := map[string]bool{}, map[string]bool{}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			personal[c.Name+"."+f.Name], fields[c.Name+"."+f.Name] = f.Personal, true
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
		}
	}
	for _, p := range []string{"staff.name", "staff.pseudonym", "staff.bindHash", "bindings.pseudonym", "attendance.name"} {
		if !personal[p] {
			t.Errorf("%s is not personal", p)
		}
	}
	for _, f := range []string{"date", "staffNo", "team", "shift", "checkIn", "checkInResult", "lateMinutes", "checkOut",
		"checkOutResult", "earlyMinutes", "checkInSite", "checkOutSite"} {
		if !fields["attendance."+f] || personal["attendance."+f] {
			t.Errorf("attendance.%s is not an open column", f)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != defaultTitle || c.BindCodeHours != 72 || c.shiftOf("").String() != "09:00-18:00" || c.Fence != nil {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"shift":{"start":"08:30","graceMinutes":0},"teamShifts":[{"team":"夜班","start":"14:00","end":"22:00","workdays":[6,7]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.shiftOf("保洁一组"); s.String() != "08:30-18:00" || s.Grace != 0 || len(s.Workdays) != 5 {
		t.Errorf("default shift: %+v", s)
	}
	if s := c.shiftOf("夜班"); s.String() != "14:00-22:00" || s.Grace != 0 || len(s.Workdays) != 2 {
		t.Errorf("a team's shift takes the default's grace: %+v", s)
	}
	for _, bad := range []string{`{"shift":{"start":"18:00","end":"09:00"}}`, `{"teamShifts":[{"team":"a","end":"08:00"}]}`,
		`{"holidays":["2026-13-01"]}`, `{"fence":{"lat":31,"lng":121,"radius":0}}`, `{"title":3}`, `{"shift":{"start":"9:00"}}`} {
		if _, err := loadConfig(json.RawMessage(bad)); !plugin.IsCode(err, plugin.ErrInternal) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// Shifts decide: late after start plus grace, by the minutes past the
// start; early before the end, by the minutes left; rest days neither.
func TestJudge(t *testing.T) {
	s := defaultShift // 09:00-18:00, 5 minutes' grace
	at := func(hm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04:05", "2026-11-03 "+hm, cst)
		return t
	}
	for _, tc := range []struct {
		clock  string
		result string
		min    int
	}{{"08:40:00", resultOK, 0}, {"09:05:00", resultOK, 0}, {"09:05:01", resultLate, 5}, {"09:17:59", resultLate, 17}, {"19:00:00", resultLate, 600}} {
		if r, m := judgeIn(at(tc.clock), s, true); r != tc.result || m != tc.min {
			t.Errorf("check-in at %s: %s %d, want %s %d", tc.clock, r, m, tc.result, tc.min)
		}
	}
	for _, tc := range []struct {
		clock  string
		result string
		min    int
	}{{"18:00:00", resultOK, 0}, {"20:00:00", resultOK, 0}, {"17:59:30", resultEarly, 1}, {"17:30:00", resultEarly, 30}} {
		if r, m := judgeOut(at(tc.clock), s, true); r != tc.result || m != tc.min {
			t.Errorf("check-out at %s: %s %d, want %s %d", tc.clock, r, m, tc.result, tc.min)
		}
	}
	if r, _ := judgeIn(at("11:00:00"), s, false); r != resultRestDay {
		t.Errorf("rest day check-in: %s", r)
	}
	if r, _ := judgeOut(at("11:00:00"), s, false); r != resultRestDay {
		t.Errorf("rest day check-out: %s", r)
	}
}

func TestWorkday(t *testing.T) {
	c, _ := loadConfig(json.RawMessage(`{"holidays":["2026-10-01"],"makeupDays":["2026-10-10"]}`))
	s := c.shiftOf("")
	for date, want := range map[string]bool{"2026-11-02": true, "2026-11-06": true, "2026-11-07": false, "2026-11-08": false,
		"2026-10-01": false, "2026-10-10": true} {
		d, _ := time.ParseInLocation(time.DateOnly, date, cst)
		// The weekday is Beijing's, whatever the zone of the time given.
		if got := c.workday(d.UTC(), s); got != want {
			t.Errorf("%s: workday %v", date, got)
		}
	}
}

// The fence: a code's own coordinates over the configured ones; the
// position required with a fence, refused outside with the distance.
func TestFence(t *testing.T) {
	c, _ := loadConfig(json.RawMessage(`{"fence":{"lat":31.2,"lng":121.4,"radius":300}}`))
	if f := c.fenceFor(&plugin.Code{}); f == nil || f.Lat != 31.2 || f.Radius != 300 {
		t.Fatalf("configured fence: %+v", f)
	}
	f := c.fenceFor(&plugin.Code{Attributes: json.RawMessage(`{"lat":"31.19","lng":121.44,"radius":80}`)})
	if f == nil || f.Lat != 31.19 || f.Lng != 121.44 || f.Radius != 80 {
		t.Fatalf("the code's fence: %+v", f)
	}
	if f := c.fenceFor(&plugin.Code{Attributes: json.RawMessage(`{"lat":31.19,"lng":121.44}`)}); f.Radius != 300 {
		t.Fatalf("the code's fence takes the configured radius: %+v", f)
	}
	none, _ := loadConfig(nil)
	if f := none.fenceFor(&plugin.Code{Attributes: json.RawMessage(`{"lat":31.19,"lng":121.44}`)}); f == nil || f.Radius != 200 {
		t.Fatalf("default radius: %+v", f)
	}
	if f := none.fenceFor(&plugin.Code{Attributes: json.RawMessage(`{"lat":"x","lng":121.44}`)}); f != nil {
		t.Fatalf("no fence from bad attributes: %+v", f)
	}

	at := &fence{Lat: 31.2, Lng: 121.4, Radius: 100}
	if d, err := checkPosition(url.Values{"lat": {"31.2003"}, "lng": {"121.4"}}, at); err != nil || *d != 33 {
		t.Fatalf("inside: %v %v", d, err)
	}
	if d, err := checkPosition(url.Values{}, nil); d != nil || err != nil {
		t.Fatalf("no fence: %v %v", d, err)
	}
	_, err := checkPosition(url.Values{}, at)
	wantCode(t, err, "MissingParameter", "请允许获取位置信息")
	_, err = checkPosition(url.Values{"lat": {"NaN"}, "lng": {"121.4"}}, at)
	wantCode(t, err, plugin.ErrInvalid, "位置信息无效")
	_, err = checkPosition(url.Values{"lat": {"31.21"}, "lng": {"121.4"}}, at)
	wantCode(t, err, plugin.ErrInvalid+".OutsideFence", "距考勤点约 1.1 公里，超出可签到范围（100 米以内）")
}

// Bind codes: 12 characters of the alphabet, unbiased draws, read back
// whatever the case, spaces and dashes; the hash ties a code to its staff
// number.
func TestBindCode(t *testing.T) {
	code, err := newBindCode(bytes.NewReader(bytes.Repeat([]byte{0, 1, 255, 30, 31, 61}, 20)))
	if err != nil || len(code) != 14 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("%q %v", code, err)
	}
	// 255 is beyond the last whole run of the alphabet: skipped. 30 is its
	// last letter, 31 wraps to its first.
	if code != "23Z2-Z23Z-2Z23" {
		t.Fatalf("draws: %q", code)
	}
	if _, err := newBindCode(bytes.NewReader(nil)); err == nil {
		t.Fatal("no randomness, no code")
	}
	if n, ok := normBindCode(" 23z2 8232-z282 "); !ok || n != "23Z28232Z282" {
		t.Fatalf("normalised: %q %v", n, ok)
	}
	for _, bad := range []string{"23Z2-8232-Z28", "23Z2-8232-Z2820", "O3Z2-8232-Z282", "23Z2-8232-Z28\x00"} {
		if _, ok := normBindCode(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if bindHash("A001", "23z2-8232-z282") != bindHash("A001", "23Z28232Z282") || bindHash("A001", code) == bindHash("A002", code) {
		t.Fatal("hash")
	}
}

func TestReadStaff(t *testing.T) {
	in, err := readStaff([]byte(`{"staffNo":" a-001 ","name":" 张三 ","team":"保洁一组"}`), true)
	if err != nil || in.StaffNo != "A-001" || *in.Name != "张三" || *in.Team != "保洁一组" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, tc := range []struct {
		name, body string
		create     bool
		code, msg  string
	}{
		{"no number", `{"name":"张三"}`, true, "MissingParameter", "工号"},
		{"bad number", `{"staffNo":"A 1","name":"张三"}`, true, plugin.ErrInvalid, "工号须为"},
		{"no name", `{"staffNo":"A1"}`, true, "MissingParameter", "姓名"},
		{"blank name", `{"staffNo":"A1","name":"  "}`, true, "MissingParameter", "姓名"},
		{"long name", `{"staffNo":"A1","name":"` + strings.Repeat("名", 21) + `"}`, true, plugin.ErrInvalid, "不能超过 20 个字"},
		{"NUL", `{"staffNo":"A1","name":"张\u0000三"}`, true, plugin.ErrInvalid, "无效字符"},
		{"status on create", `{"staffNo":"A1","name":"张三","status":"停用"}`, true, plugin.ErrInvalid, "不能指定 status"},
		{"unknown field", `{"staffNo":"A1","name":"张三","pseudonym":"v1"}`, true, plugin.ErrInvalid, "请求体须为 JSON"},
		{"trailing", `{"staffNo":"A1","name":"张三"} {}`, true, plugin.ErrInvalid, "请求体须为 JSON"},
		{"nothing to change", `{"staffNo":"A1"}`, false, "MissingParameter", "要修改的"},
		{"bad status", `{"staffNo":"A1","status":"离职"}`, false, plugin.ErrInvalid, "在岗 或 停用"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readStaff([]byte(tc.body), tc.create)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
	if in, err := readStaff([]byte(`{"staffNo":"A1","team":""}`), false); err != nil || *in.Team != "" {
		t.Fatalf("clearing the team: %+v %v", in, err)
	}
}

// Roles: managers do everything; leaders read their own teams; anyone
// else nothing.
func TestRoles(t *testing.T) {
	c, _ := loadConfig(json.RawMessage(`{"managers":["hr"],"leaders":[{"account":"wang","team":"保洁一组"},{"account":"li","team":"一组"},{"account":"li","team":"二组"}]}`))
	if err := c.roleOf("hr").may(manager, "hr"); err != nil {
		t.Fatal(err)
	}
	wang := c.roleOf("wang")
	if err := wang.may(viewer, "wang"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, wang.may(manager, "wang"), "UnauthorizedOperation", "须由考勤管理员操作")
	wantCode(t, c.roleOf("guest").may(viewer, "guest"), "UnauthorizedOperation", "未登记为考勤管理员")
	wantCode(t, c.roleOf("").may(viewer, ""), "UnauthorizedOperation", "未登记")

	scope := func(r role, team string) (string, error) {
		cl := &call{role: r, req: &plugin.Request{Query: url.Values{}}}
		if team != "" {
			cl.req.Query["team"] = []string{team}
		}
		return cl.teamScope()
	}
	if team, err := scope(c.roleOf("hr"), ""); err != nil || team != "" {
		t.Fatalf("manager: %q %v", team, err)
	}
	if team, err := scope(wang, ""); err != nil || team != "保洁一组" {
		t.Fatalf("leader: %q %v", team, err)
	}
	_, err := scope(wang, "保洁二组")
	wantCode(t, err, "UnauthorizedOperation", "只能查看本班组（保洁一组）")
	_, err = scope(c.roleOf("li"), "")
	wantCode(t, err, "MissingParameter", "一组、二组")
	if team, err := scope(c.roleOf("li"), "二组"); err != nil || team != "二组" {
		t.Fatalf("leader of two: %q %v", team, err)
	}
}

func TestDayStatus(t *testing.T) {
	for _, tc := range []struct {
		name          string
		d             *attendanceDoc
		workday, over bool
		want          string
	}{
		{"absent", nil, true, true, "缺卡"},
		{"not yet", nil, true, false, "未签到"},
		{"rest", nil, false, true, "休息"},
		{"on time", &attendanceDoc{Workday: true, CheckIn: "08:50:00", CheckInResult: "正常", CheckOut: "18:01:00", CheckOutResult: "正常"}, true, true, "正常"},
		{"late and early", &attendanceDoc{Workday: true, CheckIn: "09:30:00", CheckInResult: "迟到", CheckOut: "17:00:00", CheckOutResult: "早退"}, true, true, "迟到,早退"},
		{"no check-out", &attendanceDoc{Workday: true, CheckIn: "08:50:00", CheckInResult: "正常"}, true, true, "未签退"},
		{"late, no check-out", &attendanceDoc{Workday: true, CheckIn: "09:50:00", CheckInResult: "迟到"}, true, true, "迟到,未签退"},
		{"in progress", &attendanceDoc{Workday: true, CheckIn: "08:50:00", CheckInResult: "正常"}, true, false, "已签到"},
		{"rest day worked", &attendanceDoc{CheckIn: "10:00:00", CheckInResult: "休息日"}, false, true, "休息日出勤"},
	} {
		if got := strings.Join(dayStatus(tc.d, tc.workday, tc.over), ","); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The month: absences only on working days on the roster whose shift is
// over; today not before the end; records keep their judgement.
func TestSummarize(t *testing.T) {
	c, _ := loadConfig(json.RawMessage(`{"holidays":["2026-11-04"]}`))
	from, to, err := monthRange("2026-11", time.Date(2026, 11, 12, 10, 0, 0, 0, cst))
	if err != nil {
		t.Fatal(err)
	}
	s := staffDoc{StaffNo: "A1", Since: "2026-11-02", Status: statusActive}
	recs := map[string]*attendanceDoc{
		"2026-11-02": {Workday: true, CheckInResult: "迟到", LateMinutes: 12, CheckOut: "18:00:00", CheckOutResult: "正常"},
		"2026-11-03": {Workday: true, CheckInResult: "正常", CheckOut: "17:40:00", CheckOutResult: "早退", EarlyMinutes: 20},
		"2026-11-05": {Workday: true, CheckInResult: "正常"}, // no check-out
		"2026-11-08": {Workday: false, CheckInResult: "休息日"},
		"2026-11-12": {Workday: true, CheckInResult: "迟到", LateMinutes: 3},
	}
	// Mon 2nd to Thu 12th: workdays 2, 3, 5, 6, 9, 10, 11, 12 (4th a
	// holiday); the 1st is a Sunday and before the roster anyway.
	got := summarize(s, recs, c, from, to, time.Date(2026, 11, 12, 10, 0, 0, 0, cst))
	want := summary{StaffNo: "A1", Status: statusActive, Workdays: 8, Present: 5, Late: 2, LateMinutes: 15, Early: 1, EarlyMinutes: 20,
		Absent: 4, MissingCheckout: 1, RestDaysWorked: 1}
	if got != want {
		t.Fatalf("\n got %+v\nwant %+v", got, want)
	}
	// After the 12th's shift its missing check-out counts too.
	evening := time.Date(2026, 11, 12, 19, 0, 0, 0, cst)
	if got = summarize(s, recs, c, from, to, evening); got.MissingCheckout != 2 || got.Absent != 4 {
		t.Fatalf("evening: %+v", got)
	}
	// A staff member disabled on the 10th owes nothing from then.
	s.DisabledOn = "2026-11-10"
	delete(recs, "2026-11-12")
	if got = summarize(s, recs, c, from, to, evening); got.Absent != 2 || got.Workdays != 5 || got.MissingCheckout != 1 {
		t.Fatalf("disabled: %+v", got)
	}
	if _, _, err := monthRange("2026-12", time.Date(2026, 11, 12, 10, 0, 0, 0, cst)); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("a month to come: %v", err)
	}
	if _, _, err := monthRange("2026-1", time.Now()); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("bad month: %v", err)
	}
}
