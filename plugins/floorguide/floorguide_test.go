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
// database (skipped without DATABASE_URL): a code without a guide, the
// operators' guide refused when invalid and when stale, a floor plan, the
// landing page and its search, corrections refused with nothing stored,
// a tourist's and an authorized citizen's corrections, the staff's list
// and decisions, the export, and citizens kept off the admin routes. The
// steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"title":"办事指南"}`})
	code := h.Code(0)
	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "floorguide", collection)), "\n") {
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
	refused := func(method, path, body string, want ...string) {
		t.Helper()
		out, err := h.AdminErr(method, path, body)
		if err == nil {
			t.Fatalf("%s %s accepted: %s", method, path, out)
		}
		for _, w := range want {
			if !strings.Contains(err.Error()+out, w) {
				t.Fatalf("%s %s: %v %s, want %q", method, path, err, out, w)
			}
		}
	}
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}

	status, page := h.Get(t, code, "/")
	if status != 200 || !strings.Contains(page, "尚未设置楼层导览") || !strings.Contains(page, "办事指南") || !strings.Contains(page, "width=device-width") {
		t.Fatalf("landing without a guide: %d %s", status, page)
	}

	// The operators' guide: invalid ones refused with nothing stored.
	guideJSON := strings.Replace(hall, "tok-hall-1", code, 1)
	refused("PUT", "/guides", strings.Replace(guideJSON, `"number":"202"`, `"number":"201"`, 1), "InvalidParameter", "楼层 2F的房间号 201 重复")
	refused("PUT", "/guides", strings.Replace(guideJSON, `"id":"b1"`, `"id":"2F"`, 1), "InvalidParameter", "楼层号 2F 重复")
	refused("PUT", "/guides", strings.Replace(guideJSON, `"id":"b1"`, `"id":"b1","plan":"http://evil.test/x.png"`, 1), "InvalidParameter", "plan")
	if n := len(records("guides")); n != 0 {
		t.Fatalf("%d guides after bad input", n)
	}
	if out := admin("PUT", "/guides", guideJSON); out["version"] != 1.0 || out["roomCount"] != 4.0 {
		t.Fatalf("create: %v", out)
	}
	changed := strings.Replace(strings.Replace(guideJSON, `"version":0`, `"version":1`, 1), "医保窗口", "医保服务窗口", 1)
	if out := admin("PUT", "/guides", changed); out["version"] != 2.0 {
		t.Fatalf("update: %v", out)
	}
	refused("PUT", "/guides", changed, "FailedOperation", "当前版本 2")
	refused("POST", "/guides/plan", planBody(code, 2, "9F", png), "ResourceNotFound", "没有楼层 9F")
	out := admin("POST", "/guides/plan", planBody(code, 2, "2F", png))
	plan := out["floors"].([]any)[2].(map[string]any)["plan"].(string)
	if out["version"] != 3.0 || !strings.Contains(plan, "/plugin-files/") {
		t.Fatalf("plan: %v", out)
	}
	// The command line's host may know no public base: the URL is then
	// relative to the host, as the landing page is.
	planURL := plan
	if strings.HasPrefix(plan, "/") {
		planURL = h.URL + plan
	}
	resp, err := http.Get(planURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("plan image: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// The scan: floors lowest first, rooms, areas and the plan; the search.
	_, page = h.Get(t, code, "/")
	i, j := strings.Index(page, `id="f-B1"`), strings.Index(page, `id="f-2F"`)
	for _, want := range []string{"<h1>徐汇区行政服务中心</h1>", "医保服务窗口", "开放时间：周一至周五 09:00-17:00", "<strong>等候区</strong>", `src="` + plan + `"`} {
		if i < 0 || j < i || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q (floors at %d, %d): %s", want, i, j, page)
		}
	}
	status, page = h.Get(t, code, "/?q="+url.QueryEscape("医保"))
	if status != 200 || !strings.Contains(page, "共找到 1 个房间") || strings.Contains(page, "社保窗口") {
		t.Fatalf("search: %d %s", status, page)
	}

	// Corrections: bad ones refused, nothing stored.
	if status, page = h.Get(t, code, "/correct?floor=2F&room=201"); status != 200 || !strings.Contains(page, "纠错将匿名提交") {
		t.Fatalf("form: %d %s", status, page)
	}
	for _, tc := range []struct {
		form    url.Values
		message string
	}{
		{url.Values{"type": {typeRoomNumber}, "floor": {"2F"}, "room": {"299"}, "description": {"门牌是 203"}}, "楼层 2F 没有房间号为 299 的房间"},
		{url.Values{"type": {typeName}, "floor": {"9F"}, "room": {"201"}, "description": {"x"}}, "楼层导览中没有楼层 9F"},
		{url.Values{"type": {typeOther}, "description": {"x"}, "reporterName": {"王五"}}, "未知的表单字段：reporterName"},
		{url.Values{"type": {typeOther}, "description": {strings.Repeat("长", 501)}}, "不能超过 500 个字"},
	} {
		ct, body := form(tc.form)
		if status, page, _ := h.Post(t, code, "/correct", ct, body); status != http.StatusBadRequest || !strings.Contains(page, tc.message) {
			t.Errorf("%v: %d %s", tc.form, status, page)
		}
	}
	if n := len(records("corrections")); n != 0 {
		t.Fatalf("%d corrections after bad input", n)
	}

	// A tourist's correction, anonymous, and an authorized citizen's,
	// with their name and mobile from the host.
	ct, body := form(url.Values{"type": {typeArea}, "floor": {"2F"}, "area": {"等候区"}, "description": {"等候区标识牌被遮挡"}})
	status, page, _ = h.Post(t, code, "/correct", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("tourist correction: %d %s", status, page)
	}
	anonymous := between(page, `<span id="correction-id">`, "<")
	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	if _, page = citizen.Get(t, code, "/correct"); !strings.Contains(page, "纠错人：张*") {
		t.Fatalf("citizen's form: %s", page)
	}
	ct, body = form(url.Values{"type": {typeHours}, "floor": {"2F"}, "room": {"201"}, "description": {"周六上午也开放"}, "suggestion": {"周一至周六 09:00-17:00"}})
	status, page, _ = citizen.Post(t, code, "/correct", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("citizen correction: %d %s", status, page)
	}
	named := between(page, `<span id="correction-id">`, "<")

	// The staff's list and decisions.
	today := time.Now().In(cst).Format(time.DateOnly)
	list := admin("GET", "/corrections?q="+url.QueryEscape("status:待处理 from:"+today+" to:"+today), "")
	items, _ := list["items"].([]any)
	if list["total"] != 2.0 || len(items) != 2 || items[0].(map[string]any)["id"] != anonymous || items[1].(map[string]any)["reporterName"] != "张*" ||
		items[1].(map[string]any)["roomName"] != "社保窗口" {
		t.Fatalf("queue: %v", list)
	}
	if list = admin("GET", "/corrections?q="+url.QueryEscape("type:开放时间错误"), ""); list["total"] != 1.0 {
		t.Fatalf("by type: %v", list)
	}
	refused("POST", "/corrections/handle", `{"id":"`+anonymous+`","version":1,"adopt":false}`, "MissingParameter", "不采纳须填写理由")
	if out := admin("POST", "/corrections/handle", `{"id":"`+named+`","version":1,"adopt":true,"reason":"已更正开放时间"}`); out["status"] != statusAdopted {
		t.Fatalf("adopt: %v", out)
	}
	refused("POST", "/corrections/handle", `{"id":"`+named+`","version":2,"adopt":false,"reason":"x"}`, "FailedOperation", "不能重复处理")
	refused("POST", "/corrections/handle", `{"id":"`+anonymous+`","version":5,"adopt":true}`, "FailedOperation", "当前版本 1")
	if out := admin("POST", "/corrections/handle", `{"id":"`+anonymous+`","version":1,"adopt":false,"reason":"标识牌已调整位置"}`); out["status"] != statusDeclined {
		t.Fatalf("decline: %v", out)
	}

	// Citizens cannot reach the operators' routes: not below a code, and
	// not in the console without an operator's session.
	ct, body = form(url.Values{"id": {named}})
	if status, _, _ := citizen.Post(t, code, "/corrections/handle", ct, body); status != http.StatusNotFound {
		t.Errorf("admin route below a code: %d", status)
	}
	resp, err = http.Post(h.URL+"/console/plugins/floorguide/admin/corrections/handle", "application/json",
		strings.NewReader(`{"id":"`+anonymous+`","version":2,"adopt":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("console without a session: %d", resp.StatusCode)
	}

	// The export: the corrections oldest first, the reporter masked.
	file := filepath.Join(t.TempDir(), "corrections.xlsx")
	h.CLI(t, "plugin", "records", "floorguide", "corrections", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("楼层纠错")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "楼宇名称", "纠错类型", "楼层号", "楼层名称", "房间号", "房间名称", "功能区域", "问题描述",
		"建议的正确信息", "处理状态", "纠错人标识", "纠错人", "纠错人联系方式", "导览版本", "处理人", "处理时间", "处理意见"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	if r := rows[1]; r[0] != anonymous || r[1] != code || r[5] != typeArea || r[10] != "等候区" || r[13] != statusDeclined || r[14] != "" ||
		r[15] != "" || r[17] != "3" || r[18] != "cli" || len(r) < 21 || r[20] != "标识牌已调整位置" {
		t.Fatalf("export row: %q", r)
	}
	if r := rows[2]; r[0] != named || r[4] != "徐汇区行政服务中心" || r[8] != "201" || r[9] != "社保窗口" || r[12] != "周一至周六 09:00-17:00" ||
		r[13] != statusAdopted || r[14] != "v********" || r[15] != "张*" || r[16] != "1********" {
		t.Fatalf("export second row: %q", r)
	}
	if rows, err := wb.GetRows("楼层纠错"); err != nil || strings.Contains(strings.Join(rows[2], "|"), "13900000002") {
		t.Fatalf("the mobile is exported in full: %q", rows)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
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
