package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as WASM in a real host on a throwaway
// database (skipped without DATABASE_URL): tourists and citizens not on
// the roster refused with nothing stored, staff bound with their codes, a
// check-in on time and one late, a position outside the fence, a second
// check-in, a check-out without check-in, an early check-out, a disabled
// staff member, the day's list and the month's figures, the export, and
// the wrong role refused. The steps run in order.
//
// The host's clock is real, so the shifts are placed around the day: 早班
// 00:00–00:01 (whoever checks in is late, whoever did not is absent) and
// 晚班 23:58–23:59 (on time, and early out).
func TestInTheHost(t *testing.T) {
	t.Parallel()
	// Keep the whole test inside one Beijing day and off the shifts'
	// edges: just after midnight it waits a few minutes; in the last ten
	// minutes of the day it would wait too long for a test suite, so it
	// skips (the flow tests cover the same rules on a fake clock).
	switch now := time.Now().In(cst); {
	case now.Hour()*60+now.Minute() < 3:
		time.Sleep(time.Until(time.Date(now.Year(), now.Month(), now.Day(), 0, 3, 0, 0, cst)))
	case now.Hour()*60+now.Minute() >= 23*60+50:
		t.Skip("the test's shifts end at 23:59 Beijing time: run it after 00:03")
	}
	const base = `"shift":{"workdays":[1,2,3,4,5,6,7],"graceMinutes":0},"teamShifts":[{"team":"早班","start":"00:00","end":"00:01"},
		{"team":"晚班","start":"23:58","end":"23:59"}],"fence":{"lat":31.2,"lng":121.4,"radius":200}`
	h := plugintest.Start(t, plugintest.Options{Config: `{"managers":["cli"],` + base + `}`})
	code := h.Code(0)
	today := time.Now().In(cst).Format(time.DateOnly)

	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "attendance", collection)), "\n") {
			if line == "" {
				continue
			}
			var r plugin.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("records: %v: %s", err, line)
			}
			out = append(out, r)
		}
		return out
	}
	admin := func(method, path, body string) map[string]any {
		t.Helper()
		// The output also carries the plugin's log lines: the answer is
		// its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	refused := func(method, path, body, message string) {
		t.Helper()
		out, err := h.AdminErr(method, path, body)
		if err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") || !strings.Contains(err.Error(), message) {
			t.Errorf("%s %s: %v %s, want a refusal saying %q", method, path, err, out, message)
		}
	}
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	post := func(v *plugintest.Visitor, path string, values url.Values) (int, string) {
		t.Helper()
		ct, body := form(values)
		status, page, _ := v.Post(t, code, path, ct, body)
		return status, page
	}
	here := url.Values{"lat": {"31.2004"}, "lng": {"121.4"}}

	// A tourist: refused on the page and on the action.
	if status, page := h.Get(t, code, "/"); status != http.StatusForbidden || !strings.Contains(page, "考勤签到需实名登录") {
		t.Fatalf("tourist landing: %d %s", status, page)
	}
	ct, body := form(here)
	if status, _, _ := h.Post(t, code, "/checkin", ct, body); status != http.StatusUnauthorized {
		t.Fatalf("tourist check-in: %d", status)
	}

	// The roster: 张三 on the late shift, 李四 and 王五 on the early one,
	// 赵六 to be disabled.
	codes := map[string]string{}
	for _, s := range []string{`{"staffNo":"A001","name":"张三","team":"晚班"}`, `{"staffNo":"A002","name":"李四","team":"早班"}`,
		`{"staffNo":"A003","name":"王五","team":"早班"}`, `{"staffNo":"A004","name":"赵六","team":"早班"}`} {
		out := admin("POST", "/staff", s)
		codes[out["staffNo"].(string)] = out["bindCode"].(string)
	}
	if out, err := h.AdminErr("POST", "/staff", `{"staffNo":"A001","name":"重复"}`); err == nil || !strings.Contains(err.Error()+out, "已在名单中") {
		t.Fatalf("second A001: %v %s", err, out)
	}

	// A citizen not on the roster: the bind form, and refusals.
	stranger := h.Login(t, plugintest.Person{Name: "钱七", CertNo: residentID("31010419700707123"), Mobile: "13700000007"})
	if status, page := stranger.Get(t, code, "/"); status != http.StatusForbidden || !strings.Contains(page, "不在本单位的考勤名单中") ||
		!strings.Contains(page, `id="bind-form"`) {
		t.Fatalf("stranger landing: %d %s", status, page)
	}
	if status, page := post(stranger, "/checkin", here); status != http.StatusForbidden || !strings.Contains(page, "不在本单位的考勤名单中") {
		t.Fatalf("stranger check-in: %d %s", status, page)
	}
	if status, page := post(stranger, "/bind", url.Values{"staffNo": {"A001"}, "code": {"2345-6789-ABCD"}}); status != http.StatusForbidden ||
		!strings.Contains(page, "工号或绑定码不正确") {
		t.Fatalf("stranger bind: %d %s", status, page)
	}
	if n := len(records("attendance")) + len(records("bindings")); n != 0 {
		t.Fatalf("%d records after refusals", n)
	}

	login := func(name, cert, mobile, staffNo string) *plugintest.Visitor {
		t.Helper()
		v := h.Login(t, plugintest.Person{Name: name, CertNo: residentID(cert), Mobile: mobile})
		ct, body := form(url.Values{"staffNo": {staffNo}, "code": {codes[staffNo]}})
		if status, page, hdr := v.Post(t, code, "/bind", ct, body); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+code) {
			t.Fatalf("bind %s: %d %s", staffNo, status, page)
		}
		return v
	}
	zhang := login("张三", "31010419800303345", "13900000002", "A001")
	li := login("李四", "31010419920202234", "13800000002", "A002")
	zhao := login("赵六", "31010419850505456", "13600000006", "A004")

	// 张三: the page, outside the fence, on time, a second check-in, out
	// early.
	if status, page := zhang.Get(t, code, "/"); status != 200 || !strings.Contains(page, "<h1>张三</h1>") || !strings.Contains(page, "今日尚未签到") ||
		!strings.Contains(page, `id="checkin-form"`) || !strings.Contains(page, "23:58-23:59") {
		t.Fatalf("zhang's landing: %d %s", status, page)
	}
	if status, page := post(zhang, "/checkin", url.Values{"lat": {"31.3"}, "lng": {"121.4"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, "距考勤点约 11.1 公里，超出可签到范围") {
		t.Fatalf("outside: %d %s", status, page)
	}
	if n := len(records("attendance")); n != 0 {
		t.Fatalf("%d records after a refused check-in", n)
	}
	if status, page := post(zhang, "/checkin", here); status != http.StatusCreated || !strings.Contains(page, `id="result" class="ok">正常<`) {
		t.Fatalf("zhang's check-in: %d %s", status, page)
	}
	if status, page := post(zhang, "/checkin", here); status != http.StatusConflict || !strings.Contains(page, "每天只能签到一次") {
		t.Fatalf("second check-in: %d %s", status, page)
	}
	if status, page := post(zhang, "/checkout", here); status != http.StatusOK || !strings.Contains(page, "早退") {
		t.Fatalf("zhang's check-out: %d %s", status, page)
	}

	// 李四: no check-out before a check-in; late.
	if status, page := post(li, "/checkout", here); status != http.StatusConflict || !strings.Contains(page, "今天还没有签到") {
		t.Fatalf("check-out first: %d %s", status, page)
	}
	if status, page := post(li, "/checkin", here); status != http.StatusCreated || !strings.Contains(page, "迟到") {
		t.Fatalf("li's check-in: %d %s", status, page)
	}

	// 赵六 disabled: refused, nothing stored.
	if out := admin("POST", "/staff/update", `{"staffNo":"A004","status":"停用"}`); out["status"] != "停用" || out["disabledOn"] != today {
		t.Fatalf("disable: %v", out)
	}
	if status, page := zhao.Get(t, code, "/"); status != http.StatusForbidden || !strings.Contains(page, "考勤账号已停用") {
		t.Fatalf("disabled landing: %d %s", status, page)
	}
	if status, page := post(zhao, "/checkin", here); status != http.StatusForbidden || !strings.Contains(page, "考勤账号已停用") {
		t.Fatalf("disabled check-in: %d %s", status, page)
	}
	if n := len(records("attendance")); n != 2 {
		t.Fatalf("%d attendance records", n)
	}

	// The day: 张三 早退, 李四 迟到 without a check-out, 王五 缺卡; 赵六,
	// disabled today, is not on the day's roster.
	day := admin("GET", "/daily?date="+today, "")
	status := map[string]string{}
	for _, it := range day["items"].([]any) {
		row := it.(map[string]any)
		var s []string
		for _, x := range row["status"].([]any) {
			s = append(s, x.(string))
		}
		status[row["staffNo"].(string)] = strings.Join(s, "、")
	}
	if day["total"] != 3.0 || status["A001"] != "早退" || status["A002"] != "迟到、未签退" || status["A003"] != "缺卡" {
		t.Fatalf("daily: %v", day)
	}
	if late := admin("GET", "/daily?status=迟到&team=早班", ""); late["total"] != 1.0 {
		t.Fatalf("late list: %v", late)
	}
	month := admin("GET", "/monthly", "")
	figures := map[string]string{}
	for _, it := range month["items"].([]any) {
		row := it.(map[string]any)
		b, _ := json.Marshal([]any{row["present"], row["late"], row["early"], row["absent"], row["missingCheckout"]})
		figures[row["staffNo"].(string)] = string(b)
	}
	if figures["A001"] != "[1,0,1,0,0]" || figures["A002"] != "[1,1,0,0,1]" || figures["A003"] != "[0,0,0,1,0]" {
		t.Fatalf("monthly: %v", month)
	}

	// The export: one row per staff member and day, names masked.
	file := filepath.Join(t.TempDir(), "attendance.xlsx")
	h.CLI(t, "plugin", "records", "attendance", "attendance", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("考勤记录")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "日期", "工号", "姓名", "班组", "班次", "工作日", "签到时间", "签到结果",
		"迟到（分钟）", "签到地点", "签到距考勤点（米）", "签退时间", "签退结果", "早退（分钟）", "签退地点", "签退码", "签退距考勤点（米）"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	compact := strings.ReplaceAll(today, "-", "")
	if r := rows[1]; len(r) != len(wantHeader) || r[0] != "a-"+compact+"-A001" || r[1] != code || r[4] != today || r[5] != "A001" || r[6] != "张*" ||
		r[7] != "晚班" || r[8] != "23:58-23:59" || r[9] != "true" || r[11] != "正常" || r[12] != "0" || r[13] != "演示设施 1 号" ||
		r[14] != "44" || r[16] != "早退" || r[18] != "演示设施 1 号" || r[19] != code {
		t.Fatalf("export row: %q", r)
	}
	if r := rows[2]; r[5] != "A002" || r[6] != "李*" || r[11] != "迟到" || r[12] == "0" || r[15] != "" {
		t.Fatalf("export second row: %q", r)
	}

	// Wrong roles: a team leader changes nothing and reads only their
	// team; an account not configured reads nothing.
	h.CLI(t, "plugin", "config", "attendance", "--json", `{"leaders":[{"account":"cli","team":"晚班"}],`+base+`}`)
	refused("POST", "/staff/update", `{"staffNo":"A001","team":"早班"}`, "须由考勤管理员操作")
	refused("GET", "/daily?team=早班", "", "只能查看本班组（晚班）")
	if own := admin("GET", "/daily", ""); own["total"] != 1.0 || own["team"] != "晚班" {
		t.Fatalf("leader's own team: %v", own)
	}
	h.CLI(t, "plugin", "config", "attendance", "--json", `{`+base+`}`)
	refused("GET", "/monthly", "", "未登记为考勤管理员")
}

// residentID completes 17 digits of a resident ID number with its check
// digit (GB 11643).
func residentID(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}
