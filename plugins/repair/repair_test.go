package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as a native process inside a real host on
// a throwaway database (skipped without DATABASE_URL): the component's
// page from the code's attributes and the staff's settings, a tourist's
// report with a photo followed by its key, bad reports refused with
// nothing stored, a logged-in citizen's named report, the real-name and
// anonymous modes, the staff's list and status changes, and the export.
// One host serves every step; the steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"categories":["损坏","故障","其他"]}`})
	code := h.Code(0)
	records := func() []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "repair", "reports")), "\n") {
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
	// The command's output also carries the plugin's log lines: the
	// answer is its last line.
	admin := func(method, path, body string) map[string]any {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	configure := func(cfg string) { h.CLI(t, "plugin", "config", "repair", "--json", cfg) }
	// post submits a report through a browser: the tourist's (h.Post) or
	// a logged-in citizen's.
	post := func(post func(testing.TB, string, string, string, io.Reader) (int, string, http.Header), fields url.Values, file []byte) (int, string) {
		t.Helper()
		ctype, data := multipartBody(fields, file)
		status, page, _ := post(t, code, "/report", ctype, bytes.NewReader(data))
		return status, page
	}
	tourist := h.Post

	// The scan: the demo code's name and owner unit, the rest 暂无.
	status, page := h.Get(t, code, "/")
	for _, want := range []string{"<h1>演示设施 1 号</h1>", "<dt>型号</dt><dd>暂无</dd>", "<dt>责任单位</dt><dd>演示单位</dd>",
		"<option>故障</option>", `name="description"`, `action="` + h.URL + "/c/" + code + `/report"`, "您未登录，将匿名报修"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}
	// The staff's settings complete it at once.
	if out := admin("POST", "/components", `{"code":"`+h.URL+"/c/"+code+`","model":"LED-120W","serialNo":"SN-0001","location":"人民路 1 号","category":"路灯"}`); out["version"] != 1.0 {
		t.Fatalf("add settings: %v", out)
	}
	if _, err := h.AdminErr("POST", "/components", `{"code":"`+code+`","model":"X"}`); err == nil || !strings.Contains(err.Error(), "该码已有部件设置") {
		t.Fatalf("settings twice: %v", err)
	}
	if status, page = h.Get(t, code, "/"); !strings.Contains(page, "<dt>型号</dt><dd>LED-120W</dd>") || !strings.Contains(page, "<dt>部件类型</dt><dd>路灯</dd>") {
		t.Fatalf("landing with settings: %d %s", status, page)
	}

	// Bad reports: refused with a Chinese message, nothing stored.
	good := url.Values{"description": {"灯罩破损，夜间不亮"}, "category": {"损坏"}, "occurredAt": {"2020-01-01T08:00"}}
	for _, tc := range []struct {
		name    string
		fields  url.Values
		file    []byte
		status  int
		message string
	}{
		{"no description", url.Values{"category": {"损坏"}}, nil, 400, "请填写故障描述"},
		{"long ago", good, nil, 400, "发生时间不能早于一年前"},
		{"hidden field", url.Values{"description": {"x"}, "category": {"损坏"}, "status": {"已完成"}}, nil, 400, "未知的表单字段"},
		{"photo too large", url.Values{"description": {"x"}, "category": {"损坏"}}, pngBytes(maxAttachment), 400, "不能超过 5 MB"},
		{"not a photo", url.Values{"description": {"x"}, "category": {"损坏"}}, []byte("%PDF-1.7 xxxxxxxx"), 400, "视频须为 MP4 或 WebM"},
		{"tourist naming someone", url.Values{"description": {"x"}, "category": {"损坏"}, "reporterName": {"张三"}}, nil, 403, "登录"},
	} {
		if status, page := post(tourist, tc.fields, tc.file); status != tc.status || !strings.Contains(page, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	if n := len(records()); n != 0 {
		t.Fatalf("%d reports after bad input", n)
	}

	// A tourist's report with a photo, followed by number and key.
	good.Del("occurredAt")
	status, page = post(tourist, good, pngBytes(2048))
	if status != http.StatusCreated {
		t.Fatalf("report: %d %s", status, page)
	}
	first, key := between(page, `<code id="ticket">`, "<"), between(page, `<code id="key">`, "<")
	follow := "/ticket?no=" + first + "&key=" + key
	if status, page = h.Get(t, code, follow); status != 200 || !strings.Contains(page, `<dd id="status">待受理</dd>`) ||
		!strings.Contains(page, `<img src="`+h.URL+"/plugin-files/") {
		t.Fatalf("follow: %d %s", status, page)
	}
	if status, _ = h.Get(t, code, "/ticket?no="+first+"&key=2222-2222-2222-2222"); status != http.StatusNotFound {
		t.Fatalf("wrong key: %d", status)
	}

	// A logged-in citizen who authorized the service: a named report.
	citizen := h.Login(t, plugintest.Person{Name: "王小明", CertNo: residentID("31010419900101123"), Mobile: "13800000001"})
	citizen.Authorize(t)
	if status, page = citizen.Get(t, code, "/"); !strings.Contains(page, `id="reporter"`) || !strings.Contains(page, `name="anonymous"`) {
		t.Fatalf("citizen's form: %d %s", status, page)
	}
	status, page = post(citizen.Post, url.Values{"description": {"灯杆倾斜"}, "category": {"其他"}}, nil)
	if status != http.StatusCreated {
		t.Fatalf("named report: %d %s", status, page)
	}
	second := between(page, `<code id="ticket">`, "<")
	if status, page = citizen.Get(t, code, "/ticket?no="+second); status != 200 || !strings.Contains(page, "灯杆倾斜") {
		t.Fatalf("own report without key: %d %s", status, page)
	}
	if status, _ = h.Get(t, code, "/ticket?no="+second); status != http.StatusNotFound {
		t.Fatalf("a stranger without key: %d", status)
	}

	// Real-name mode: tourists are sent to log in.
	configure(`{"mode":"realname"}`)
	if status, page = post(tourist, url.Values{"description": {"x"}, "category": {"损坏"}}, nil); status != http.StatusForbidden || !strings.Contains(page, "实名报修") {
		t.Fatalf("tourist in realname mode: %d %s", status, page)
	}
	if _, page = h.Get(t, code, "/"); !strings.Contains(page, `id="login"`) || strings.Contains(page, `name="description"`) {
		t.Fatalf("realname landing for a tourist: %s", page)
	}
	// Anonymous mode: the logged-in citizen's report names nobody.
	configure(`{"mode":"anonymous"}`)
	status, page = post(citizen.Post, url.Values{"description": {"按钮失灵"}, "category": {"故障"}}, nil)
	if status != http.StatusCreated {
		t.Fatalf("anonymous report: %d %s", status, page)
	}
	third := between(page, `<code id="ticket">`, "<")
	recs := records()
	if len(recs) != 3 {
		t.Fatalf("%d reports", len(recs))
	}
	byID := map[string]report{}
	for _, rec := range recs {
		var r report
		_ = json.Unmarshal(rec.Doc, &r)
		byID[rec.ID] = r
		if rec.CodeToken != code {
			t.Fatalf("report of code %s", rec.CodeToken)
		}
	}
	if r := byID[third]; r.Mode != "匿名" || r.Reporter != "" || r.ReporterName != "" || r.ReporterMobile != "" {
		t.Fatalf("anonymous mode stored an identity: %+v", r)
	}
	if r := byID[second]; r.Mode != "实名" || r.Reporter == "" || r.ReporterName != "王*明" || r.ReporterMobile != "138****0001" || r.Model != "LED-120W" {
		t.Fatalf("named report: %+v", r)
	}

	// The staff: the list, filters, status changes.
	list := admin("GET", "/reports?q=category:损坏", "")
	items, _ := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 || items[0].(map[string]any)["id"] != first {
		t.Fatalf("filtered list: %v", list)
	}
	if list = admin("GET", "/reports?q=type:路灯+灯杆", ""); list["total"] != 1.0 {
		t.Fatalf("keyword list: %v", list)
	}
	if _, err := h.AdminErr("POST", "/reports/status", `{"id":"`+first+`","status":"已完成"}`); err == nil || !strings.Contains(err.Error(), "不能从「待受理」变为「已完成」") {
		t.Fatalf("illegal transition: %v", err)
	}
	if out := admin("POST", "/reports/status", `{"id":"`+first+`","status":"处理中","version":1}`); out["status"] != statusHandling {
		t.Fatalf("accept: %v", out)
	}
	if _, err := h.AdminErr("POST", "/reports/status", `{"id":"`+first+`","status":"已完成","version":1}`); err == nil || !strings.Contains(err.Error(), "已被其他人员处理") {
		t.Fatalf("stale version: %v", err)
	}
	if out := admin("POST", "/reports/status", `{"id":"`+first+`","status":"已完成","note":"已更换灯罩"}`); out["status"] != statusDone {
		t.Fatalf("done: %v", out)
	}
	if out := admin("POST", "/reports/status", `{"id":"`+third+`","status":"已驳回","reason":"重复报修"}`); out["status"] != statusRejected {
		t.Fatalf("reject: %v", out)
	}
	// Citizens cannot reach the staff's routes.
	if status, _, _ = citizen.Post(t, code, "/reports/status", "application/json", strings.NewReader(`{"id":"`+second+`","status":"处理中"}`)); status != http.StatusNotFound {
		t.Fatalf("status change from a landing page: %d", status)
	}
	if status, page = h.Get(t, code, follow); !strings.Contains(page, `<dd id="status">已完成</dd>`) || !strings.Contains(page, "已更换灯罩") {
		t.Fatalf("follow after completion: %d %s", status, page)
	}

	// The export: oldest first, the identity masked.
	file := filepath.Join(t.TempDir(), "reports.xlsx")
	h.CLI(t, "plugin", "records", "repair", "reports", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("报修记录")
	if err != nil {
		t.Fatal(err)
	}
	header := "编号|码|创建时间|更新时间|部件名称|型号|序列号|安装位置|部件类型|责任单位|故障类型|故障描述|发生时间|附件|附件类型|状态|报修方式|" +
		"报修人标识|报修人|联系电话|报修人信息来源|处理人|受理时间|办结时间|处理说明|驳回理由"
	if len(rows) != 4 || strings.Join(rows[0], "|") != header {
		t.Fatalf("export: %q", rows)
	}
	cell := func(r, i int) string {
		if i < len(rows[r]) {
			return rows[r][i]
		}
		return ""
	}
	if cell(1, 0) != first || cell(1, 1) != code || cell(1, 4) != "演示设施 1 号" || cell(1, 5) != "LED-120W" || cell(1, 8) != "路灯" ||
		cell(1, 11) != "灯罩破损，夜间不亮" || !strings.HasPrefix(cell(1, 13), h.URL+"/plugin-files/") || cell(1, 14) != "图片" ||
		cell(1, 15) != "已完成" || cell(1, 16) != "匿名" || cell(1, 17) != "" || cell(1, 21) != "cli" || cell(1, 24) != "已更换灯罩" {
		t.Fatalf("first row: %q", rows[1])
	}
	if cell(2, 0) != second || cell(2, 16) != "实名" || cell(2, 18) != "王**" || cell(2, 19) != "1********" || cell(2, 17) == "" ||
		strings.Contains(cell(2, 17), byID[second].Reporter[1:]) || cell(2, 20) != "授权信息" {
		t.Fatalf("named row: %q", rows[2])
	}
	if cell(3, 0) != third || cell(3, 15) != "已驳回" || cell(3, 18) != "" || cell(3, 25) != "重复报修" {
		t.Fatalf("anonymous row: %q", rows[3])
	}
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
