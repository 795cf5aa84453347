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

// TestInTheHost runs the plugin as WASM inside a real host on a throwaway
// database (skipped without DATABASE_URL): a tourist's scan of a service
// point, the application pages refused to tourists, a logged-in citizen's
// bad and good applications, the staff's list and decisions through the
// plugin's admin routes, the outcome on the citizen's status page, and the
// export. One host serves every step; the steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"policy":{"maxDays":30,"fees":"按天计租，每天 2 元起"},
		"documents":[{"title":"康复辅具社区租赁服务办法","content":"符合条件的市民可就近租赁康复辅具。","publishedAt":"2026-01-15","publisher":"市民政局"}],
		"catalogue":[{"id":"wheelchair","name":"手动轮椅","deposit":500,"dailyFee":2},{"id":"cane","name":"手杖","deposit":50,"dailyFee":0.5,"available":false}]}`})
	code := h.Code(0)
	records := func() []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "rehab", "applications")), "\n") {
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
		// The command's output also carries the plugin's log lines
		// (stderr): the answer is its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}

	// The scan: the service point, the policy, the documents and the
	// catalogue.
	status, page := h.Get(t, code, "/")
	for _, want := range []string{"<h1>演示设施 1 号</h1>", `<dt>地址</dt><dd class="muted">暂无</dd>`, "<h2>租赁政策</h2>", "按天计租，每天 2 元起",
		"1 至 30 天", "<h3>康复辅具社区租赁服务办法</h3>", "发布单位：市民政局", "/c/" + code + "/apply?aid=wheelchair", "暂不可租"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}

	// Tourists are sent to log in, and nothing is stored.
	for _, p := range []string{"/apply", "/application", "/application?id=r1"} {
		if status, page := h.Get(t, code, p); status != http.StatusUnauthorized || !strings.Contains(page, "登录") {
			t.Errorf("GET %s as a tourist: %d %s", p, status, page)
		}
	}
	today := time.Now().In(cst).Format(time.DateOnly)
	good := url.Values{"aid": {"wheelchair"}, "start": {today}, "days": {"7"}, "phone": {"13900000002"}}
	ct, body := form(good)
	if status, page, _ := h.Post(t, code, "/apply", ct, body); status != http.StatusUnauthorized {
		t.Errorf("POST /apply as a tourist: %d %s", status, page)
	}

	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	if status, page = citizen.Get(t, code, "/apply?aid=wheelchair"); status != 200 || !strings.Contains(page, `<option value="wheelchair" selected>`) {
		t.Fatalf("form: %d %s", status, page)
	}

	// Bad input: refused with a Chinese message, nothing stored.
	with := func(k, v string) url.Values {
		out := url.Values{}
		for name, vs := range good {
			out[name] = vs
		}
		out.Set(k, v)
		return out
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"too long", with("days", "31"), 400, "手动轮椅的租期不能超过 30 天"},
		{"unknown aid", with("aid", "rocket"), 400, "辅具目录中没有编号为 rocket 的辅具"},
		{"unavailable aid", with("aid", "cane"), 409, "手杖暂不可租"},
		{"no phone", with("phone", ""), 400, "请填写联系电话"},
		{"bad phone", with("phone", "12345"), 400, "联系电话格式不正确"},
		{"past start", with("start", "2020-01-01"), 400, "起租日期不能早于今天"},
	} {
		ct, body := form(tc.form)
		if status, page, _ := citizen.Post(t, code, "/apply", ct, body); status != tc.status || !strings.Contains(page, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	if n := len(records()); n != 0 {
		t.Fatalf("%d applications after bad input", n)
	}

	// An application, followed by its number.
	ct, body = form(good)
	status, page, _ = citizen.Post(t, code, "/apply", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("application: %d %s", status, page)
	}
	id := between(page, `<span id="application-id">`, "<")
	if status, page = citizen.Get(t, code, "/application?id="+id); status != 200 || !strings.Contains(page, `<dd id="application-status">待审核</dd>`) ||
		!strings.Contains(page, "<dd>139****0002</dd>") || !strings.Contains(page, "<dd>14 元</dd>") {
		t.Fatalf("status: %d %s", status, page)
	}
	stranger := h.Login(t, plugintest.Person{Name: "李四", CertNo: residentID("31010419920202234"), Mobile: "13800000002"})
	if status, _ = stranger.Get(t, code, "/application?id="+id); status != http.StatusNotFound {
		t.Fatalf("someone else's application: %d", status)
	}

	// The staff's queue, and the approval.
	list := admin("GET", "/applications", "")
	items, _ := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 {
		t.Fatalf("pending list: %v", list)
	}
	if item := items[0].(map[string]any); item["id"] != id || item["code"] != code || item["phone"] != "13900000002" || item["start"] != today ||
		item["applicantName"] != "张*" {
		t.Fatalf("pending item: %v", item)
	}
	if out := admin("POST", "/applications/review", `{"id":"`+id+`","approve":true,"reason":"请携带身份证件"}`); out["status"] != statusApproved {
		t.Fatalf("approve: %v", out)
	}
	if _, page = citizen.Get(t, code, "/application?id="+id); !strings.Contains(page, `<dd id="application-status">已通过</dd>`) ||
		!strings.Contains(page, `<dd id="review-note">请携带身份证件</dd>`) || !strings.Contains(page, `id="approved"`) {
		t.Fatalf("status after approval: %s", page)
	}
	if list = admin("GET", "/applications", ""); list["total"] != 0.0 {
		t.Fatalf("pending after approval: %v", list)
	}

	// A second application, rejected with a reason.
	ct, body = form(with("days", "3"))
	status, page, _ = citizen.Post(t, code, "/apply", ct, body)
	if status != http.StatusCreated {
		t.Fatalf("second application: %d %s", status, page)
	}
	second := between(page, `<span id="application-id">`, "<")
	if out := admin("POST", "/applications/review", `{"id":"`+second+`","approve":false,"reason":"该型号暂无库存"}`); out["status"] != statusRejected {
		t.Fatalf("reject: %v", out)
	}
	if _, page = citizen.Get(t, code, "/application?id="+second); !strings.Contains(page, `<dd id="application-status">已驳回</dd>`) || !strings.Contains(page, "该型号暂无库存") {
		t.Fatalf("status after rejection: %s", page)
	}

	// The bureau's view: both listed, and the xlsx export (the phone
	// masked).
	recs := records()
	if len(recs) != 2 || recs[1].ID != id || recs[1].CodeToken != code {
		t.Fatalf("records: %+v", recs)
	}
	file := filepath.Join(t.TempDir(), "applications.xlsx")
	h.CLI(t, "plugin", "records", "rehab", "applications", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("辅具租赁申请")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "服务点", "辅具编号", "辅具名称", "起租日期", "租期（天）", "到期日期", "押金（元）",
		"预计租金（元）", "联系电话", "备注", "状态", "申请人标识", "申请人", "审核人", "审核时间", "审核意见"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export header: %q", rows)
	}
	row := rows[1]
	end := time.Now().In(cst).AddDate(0, 0, 6).Format(time.DateOnly)
	if row[0] != id || row[1] != code || row[4] != "演示设施 1 号" || row[5] != "wheelchair" || row[6] != "手动轮椅" || row[7] != today ||
		row[8] != "7" || row[9] != end || row[10] != "500" || row[11] != "14" || row[12] != "1********" || row[14] != "已通过" ||
		row[16] != "张*" || row[17] != "cli" || row[19] != "请携带身份证件" {
		t.Fatalf("export row: %q", row)
	}
	if rows[2][0] != second || rows[2][14] != "已驳回" || rows[2][19] != "该型号暂无库存" {
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
