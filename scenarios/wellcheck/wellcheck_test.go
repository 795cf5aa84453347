package main

import (
	"bytes"
	"encoding/json"
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
// a throwaway database (skipped without DATABASE_URL): a tourist's scan,
// the login pages refused to tourists, a logged-in inspector's bad and
// good applications, the reviewers' list and decisions through the
// plugin's admin routes, the change on the code, and the bureau's export.
// One host serves every step; the steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"statuses":["正常","停用","损坏"],"maxPending":2}`})
	code := h.Code(0)
	records := func() []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "wellcheck", "requests")), "\n") {
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
		var out map[string]any
		// The command's output also carries the plugin's log lines
		// (stderr): the answer is its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		raw := lines[len(lines)-1]
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, raw)
		}
		return out
	}

	// The scan: the demo code carries only a name; the rest is 暂无.
	status, page := h.Get(t, code, "/")
	if status != 200 || !strings.Contains(page, "<h1>演示设施 1 号</h1>") || !strings.Contains(page, `<dt>深度</dt><dd class="muted">暂无</dd>`) ||
		!strings.Contains(page, "<dt>权属单位</dt><dd>演示单位</dd>") || !strings.Contains(page, "/c/"+code+"/update") {
		t.Fatalf("landing: %d %s", status, page)
	}

	// Tourists are sent to log in, and nothing is stored.
	for _, p := range []string{"/update", "/request", "/request?id=r1"} {
		if status, page := h.Get(t, code, p); status != http.StatusUnauthorized || !strings.Contains(page, "登录") {
			t.Errorf("GET %s as a tourist: %d %s", p, status, page)
		}
	}
	if status, page, _ := h.Post(t, code, "/update", "application/x-www-form-urlencoded", strings.NewReader("f.depth=35&reason=x")); status != http.StatusUnauthorized {
		t.Errorf("POST /update as a tourist: %d %s", status, page)
	}

	inspector := h.Login(t, plugintest.Person{Name: "王小明", CertNo: residentID("31010419900101123"), Mobile: "13800000001"})
	inspector.Authorize(t)
	submit := func(fields url.Values, photo []byte) (int, string) {
		t.Helper()
		ctype, data := multipartBody(fields, photo)
		status, page, _ := inspector.Post(t, code, "/update", ctype, bytes.NewReader(data))
		return status, page
	}
	if status, page = inspector.Get(t, code, "/update"); status != 200 || !strings.Contains(page, `name="f.depth"`) || !strings.Contains(page, "<option>损坏</option>") {
		t.Fatalf("form: %d %s", status, page)
	}

	// Bad input: refused with a Chinese message, nothing stored.
	for _, tc := range []struct {
		name    string
		fields  url.Values
		message string
	}{
		{"unknown field", url.Values{"f.colour": {"红"}, "reason": {"x"}}, "未知的字段：colour"},
		{"closed field", url.Values{"f.wellNo": {"X-1"}, "reason": {"x"}}, "「编号」不开放更新"},
		{"empty change set", url.Values{"f.depth": {""}, "reason": {"x"}}, "请至少填写一项要更新的信息"},
		{"no reason", url.Values{"f.depth": {"35"}}, "请填写申请理由"},
		{"not a status", url.Values{"f.status": {"已封井"}, "reason": {"x"}}, "「状态」须为以下之一：正常、停用、损坏"},
	} {
		if status, page := submit(tc.fields, nil); status != 400 || !strings.Contains(page, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	if n := len(records()); n != 0 {
		t.Fatalf("%d requests after bad input", n)
	}

	// An application with a photo, followed by its number.
	status, page = submit(url.Values{"f.depth": {"35"}, "f.status": {"损坏"}, "reason": {"井口破损，复测井深 35 米"}}, pngBytes(1024))
	if status != http.StatusCreated {
		t.Fatalf("application: %d %s", status, page)
	}
	id := between(page, `<span id="request-id">`, "<")
	if status, page = inspector.Get(t, code, "/request?id="+id); status != 200 || !strings.Contains(page, `<dd id="request-status">待审核</dd>`) ||
		!strings.Contains(page, `<img src="`+h.URL+"/plugin-files/") {
		t.Fatalf("status: %d %s", status, page)
	}
	// Another citizen cannot read it, even with the number.
	other := h.Login(t, plugintest.Person{Name: "李四", CertNo: residentID("31010419920202234"), Mobile: "13800000002"})
	if status, _ = other.Get(t, code, "/request?id="+id); status != http.StatusNotFound {
		t.Fatalf("someone else's application: %d", status)
	}

	// The reviewers' queue, and the approval.
	list := admin("GET", "/requests", "")
	items, _ := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 {
		t.Fatalf("pending list: %v", list)
	}
	item := items[0].(map[string]any)
	if item["id"] != id || item["code"] != code || item["summary"] != "深度：暂无 → 35 米；状态：暂无 → 损坏" || item["applicantName"] != "王*明" {
		t.Fatalf("pending item: %v", item)
	}
	out := admin("POST", "/requests/review", `{"id":"`+id+`","approve":true,"reason":"现场核实无误"}`)
	if out["status"] != statusApproved {
		t.Fatalf("approve: %v", out)
	}
	// The change is on the code: the well's page shows it. (The command
	// line's admin call cannot write object codes; the page then writes
	// it at this scan: see the README.)
	status, page = h.Get(t, code, "/")
	if status != 200 || !strings.Contains(page, "<dt>深度</dt><dd>35 米</dd>") || !strings.Contains(page, "<dt>状态</dt><dd>损坏</dd>") {
		t.Fatalf("landing after approval: %d %s", status, page)
	}
	if status, page = inspector.Get(t, code, "/request?id="+id); !strings.Contains(page, `<dd id="request-status">已通过</dd>`) ||
		!strings.Contains(page, `<dd id="review-note">现场核实无误</dd>`) || !strings.Contains(page, `id="applied"`) {
		t.Fatalf("status after approval: %d %s", status, page)
	}
	if list = admin("GET", "/requests", ""); list["total"] != 0.0 {
		t.Fatalf("pending after approval: %v", list)
	}

	// A second application, rejected with a reason; the code keeps its
	// value.
	status, page = submit(url.Values{"f.depth": {"40"}, "reason": {"再测"}}, nil)
	if status != http.StatusCreated {
		t.Fatalf("second application: %d %s", status, page)
	}
	second := between(page, `<span id="request-id">`, "<")
	if out = admin("POST", "/requests/review", `{"id":"`+second+`","approve":false,"reason":"与监测台账不符"}`); out["status"] != statusRejected {
		t.Fatalf("reject: %v", out)
	}
	if _, page = inspector.Get(t, code, "/request?id="+second); !strings.Contains(page, `<dd id="request-status">已驳回</dd>`) || !strings.Contains(page, "与监测台账不符") {
		t.Fatalf("status after rejection: %s", page)
	}
	if _, page = h.Get(t, code, "/"); !strings.Contains(page, "<dt>深度</dt><dd>35 米</dd>") {
		t.Fatalf("landing after rejection: %s", page)
	}

	// The bureau's view: both listed, and the xlsx export.
	recs := records()
	if len(recs) != 2 || recs[1].ID != id || recs[1].CodeToken != code {
		t.Fatalf("records: %+v", recs)
	}
	var first request
	if err := json.Unmarshal(recs[1].Doc, &first); err != nil || first.Status != statusApproved || !first.Applied || first.PendingApply ||
		first.Reviewer != "cli" || first.Changes[0].Key != "depth" {
		t.Fatalf("approved record: %v %+v", err, first)
	}
	file := filepath.Join(t.TempDir(), "requests.xlsx")
	h.CLI(t, "plugin", "records", "wellcheck", "requests", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("信息更新申请")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "监测井编号", "监测井名称", "变更内容", "申请理由", "照片", "状态", "申请人标识", "申请人",
		"审核人", "审核时间", "审核意见", "已写入码属性", "写入时间", "写入失败原因"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export header: %v", rows)
	}
	row := rows[1] // oldest first
	cell := func(i int) string {
		if i < len(row) {
			return row[i]
		}
		return ""
	}
	if cell(0) != id || cell(1) != code || cell(6) != "深度：暂无 → 35 米；状态：暂无 → 损坏" || cell(7) != "井口破损，复测井深 35 米" ||
		!strings.HasPrefix(cell(8), h.URL+"/plugin-files/") || cell(9) != "已通过" || cell(11) != "王**" || cell(12) != "cli" ||
		cell(14) != "现场核实无误" || cell(15) != "true" || strings.Contains(cell(10), first.Applicant[1:]) {
		t.Fatalf("export row: %q", row)
	}
	if rows[2][0] != second || rows[2][9] != "已驳回" || rows[2][14] != "与监测台账不符" {
		t.Fatalf("export second row: %q", rows[2])
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
