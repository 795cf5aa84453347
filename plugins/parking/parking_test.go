package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as WASM in a real host on a throwaway
// database (skipped without DATABASE_URL): the scan before any guide is
// set, invalid guides refused with nothing stored, the guide and a count
// on the page, a component, bad feedback refused with nothing stored,
// feedback from a tourist (with a photo) and from a logged-in citizen
// (name and mobile taken from the host), the staff's filtered list and
// reply, the reply on the citizen's page, citizens kept off the admin
// routes, and the export. One host serves every step; they run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"staleMinutes":30}`})
	code := h.Code(0)
	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "parking", collection)), "\n") {
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
	refused := func(method, path, body, want string) {
		t.Helper()
		if out, err := h.AdminErr(method, path, body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s %s %s: %v %s", method, path, body, err, out)
		}
	}
	feedbackForm := func(fields url.Values, photo []byte) (string, *bytes.Buffer) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, vs := range fields {
			for _, v := range vs {
				_ = w.WriteField(k, v)
			}
		}
		if photo != nil {
			fw, _ := w.CreateFormFile("photo", "a.jpg")
			_, _ = fw.Write(photo)
		}
		_ = w.Close()
		return w.FormDataContentType(), &buf
	}

	// The scan before the guide is set.
	status, page := h.Get(t, code, "/")
	if status != 200 || !strings.Contains(page, "<h1>演示设施 1 号</h1>") || !strings.Contains(page, "暂无停车信息") || !strings.Contains(page, "width=device-width") {
		t.Fatalf("landing without a guide: %d %s", status, page)
	}

	// Invalid guides: refused, nothing stored.
	refused("PUT", "/lot", lotBody(code, 0, 100, 101), "不能大于总车位数")
	refused("PUT", "/lot", strings.Replace(lotBody(code, 0, 300, 10), `"nextHour":10`, `"nextHour":-10`, 1), "不能为负数")
	refused("PUT", "/lot", lotBody("no-such-code", 0, 300, 10), "没有找到码")
	if n := len(records("lots")) + len(records("spaces")); n != 0 {
		t.Fatalf("%d records after invalid guides", n)
	}

	// The guide, a count from the car park's system, and a component.
	if out := admin("PUT", "/lot", lotBody(code, 0, 300, 120)); out["version"] != 1.0 {
		t.Fatalf("guide: %v", out)
	}
	if out := admin("POST", "/lot/spaces", `{"code":"`+code+`","remaining":87}`); out["applied"] != true || out["remaining"] != 87.0 {
		t.Fatalf("count: %v", out)
	}
	refused("POST", "/lot/spaces", `{"code":"`+code+`","remaining":301}`, "不能大于总车位数")
	comp := admin("POST", "/components", `{"code":"`+code+`","name":"1 号缴费机","kind":"支付终端","location":"B1 电梯厅"}`)
	if list := admin("GET", "/components?code="+code, ""); list["total"] != 1.0 || comp["lot"] != "人民广场地下停车库" {
		t.Fatalf("components: %v %v", list, comp)
	}
	_, page = h.Get(t, code, "/")
	for _, want := range []string{"<h1>人民广场地下停车库</h1>", `id="remaining">87</span> / 共 300 个`, "<li>首小时 15 元，之后每小时 10 元</li>",
		"<li>西藏中路入口</li>", "<dd>021-63000000</dd>"} {
		if !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %s", want, page)
		}
	}
	if strings.Contains(page, `id="stale"`) {
		t.Fatalf("a fresh count is stale: %s", page)
	}

	// Bad feedback: refused with a message, nothing stored.
	for _, tc := range []struct {
		fields url.Values
		photo  []byte
		want   string
	}{
		{url.Values{"kind": {"收费"}, "content": {" "}}, nil, "请填写反馈内容"},
		{url.Values{"kind": {"排队"}, "content": {"人太多"}}, nil, "反馈类型须为"},
		{url.Values{"kind": {"收费"}, "content": {strings.Repeat("长", 501)}}, nil, "不能超过 500 个字"},
		{url.Values{"kind": {"收费"}, "content": {"x"}, "name": {"王五"}}, nil, "未知的表单字段：name"},
		{url.Values{"kind": {"收费"}, "content": {"x"}}, []byte("%PDF-1.4 not a photo"), "照片须为"},
	} {
		ct, body := feedbackForm(tc.fields, tc.photo)
		if status, page, _ := h.Post(t, code, "/feedback", ct, body); status != http.StatusBadRequest || !strings.Contains(page, tc.want) {
			t.Errorf("bad feedback %v: %d %s", tc.fields, status, page)
		}
	}
	if n := len(records("feedback")); n != 0 {
		t.Fatalf("%d feedback after bad input", n)
	}

	// A tourist's feedback with a photo; a logged-in citizen's, their name
	// and mobile taken from the host.
	ct, body := feedbackForm(url.Values{"kind": {"设施"}, "content": {"B2 层照明坏了"}}, []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"))
	status, page, _ = h.Post(t, code, "/feedback", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("tourist feedback: %d %s", status, page)
	}
	first := between(page, `<span id="feedback-id">`, "<")
	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	if _, page = citizen.Get(t, code, "/feedback"); !strings.Contains(page, `<span id="who-name">张*</span>`) || !strings.Contains(page, "139****0002") {
		t.Fatalf("form not pre-filled: %s", page)
	}
	ct, body = feedbackForm(url.Values{"kind": {"收费"}, "content": {"出口缴费机不找零"}}, nil)
	status, page, _ = citizen.Post(t, code, "/feedback", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("citizen feedback: %d %s", status, page)
	}
	second := between(page, `<span id="feedback-id">`, "<")

	// The staff's list, filtered, and the reply.
	list := admin("GET", "/feedback?kind=收费", "")
	items, _ := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 {
		t.Fatalf("by kind: %v", list)
	}
	if item := items[0].(map[string]any); item["id"] != second || item["name"] != "张*" || item["mobile"] != "139****0002" || item["status"] != statusPending {
		t.Fatalf("item: %v", item)
	}
	if list = admin("GET", "/feedback?q="+url.QueryEscape("status=待处理 照明"), ""); list["total"] != 1.0 ||
		list["items"].([]any)[0].(map[string]any)["id"] != first || !strings.Contains(list["items"].([]any)[0].(map[string]any)["photo"].(string), "/") {
		t.Fatalf("by keyword: %v", list)
	}
	if out := admin("POST", "/feedback/reply", `{"id":"`+second+`","reply":"已更换缴费机，感谢反馈"}`); out["status"] != statusHandled {
		t.Fatalf("reply: %v", out)
	}
	refused("POST", "/feedback/reply", `{"id":"`+second+`","reply":"again"}`, "不能重复处理")
	if _, page = citizen.Get(t, code, "/"); !strings.Contains(page, "回复：已更换缴费机，感谢反馈") || strings.Contains(page, "B2 层照明") {
		t.Fatalf("citizen's page: %s", page)
	}

	// Citizens cannot reach the admin routes through a code.
	if status, _, _ := citizen.Post(t, code, "/feedback/reply", "application/x-www-form-urlencoded", strings.NewReader("id="+first+"&reply=x")); status != http.StatusNotFound {
		t.Errorf("citizen reply: %d", status)
	}
	if status, _, _ := h.Post(t, code, "/lot/spaces", "application/json", strings.NewReader(`{"code":"`+code+`","remaining":1}`)); status != http.StatusNotFound {
		t.Errorf("tourist count: %d", status)
	}
	if list = admin("GET", "/feedback?status=已处理", ""); list["total"] != 1.0 {
		t.Fatalf("handled: %v", list)
	}

	// The export: both, oldest first, who gave it masked.
	file := filepath.Join(t.TempDir(), "feedback.xlsx")
	h.CLI(t, "plugin", "records", "parking", "feedback", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("停车反馈")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "停车场", "反馈类型", "反馈内容", "照片", "状态", "反馈人标识", "反馈人", "联系电话",
		"处理回复", "处理人", "处理时间"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	// GetRows leaves out a row's empty trailing cells.
	if r := append(rows[1], make([]string, 15)...); r[0] != first || r[1] != code || r[4] != "人民广场地下停车库" || r[5] != "设施" ||
		!strings.Contains(r[7], "/") || r[8] != statusPending || r[9] != "" || r[10] != "" || r[12] != "" {
		t.Fatalf("export row: %q", r)
	}
	if r := rows[2]; r[0] != second || r[9] != "v********" || r[10] != "张*" || r[11] != "1********" || r[12] != "已更换缴费机，感谢反馈" || r[13] != "cli" {
		t.Fatalf("export second row: %q", r)
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
