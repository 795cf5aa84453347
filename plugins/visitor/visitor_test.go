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

// harness helpers shared by the real-host tests.
type hostRun struct {
	t *testing.T
	h *plugintest.Harness
}

func (r hostRun) records() []plugin.Record {
	r.t.Helper()
	var out []plugin.Record
	for _, line := range strings.Split(strings.TrimSpace(r.h.CLI(r.t, "plugin", "records", "visitor", collection)), "\n") {
		if line == "" {
			continue
		}
		var rec plugin.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			r.t.Fatalf("records: %v: %s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

func (r hostRun) post(code string, v url.Values) (int, string) {
	r.t.Helper()
	status, page, _ := r.h.Post(r.t, code, "/register", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	return status, page
}

// admin calls an admin route; the answer is the output's last line (the
// plugin's log lines come before it).
func (r hostRun) admin(path string) map[string]any {
	r.t.Helper()
	lines := strings.Split(strings.TrimSpace(r.h.Admin(r.t, "GET", path, "")), "\n")
	var out map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		r.t.Fatalf("admin %s: %v: %s", path, err, lines)
	}
	return out
}

// TestInTheHost runs the plugin as a native process in a real host on a
// throwaway database (skipped without DATABASE_URL), with the default
// form: a tourist's scan, bad registrations refused with nothing stored,
// two registrations, the staff's list by day, and the export.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{})
	r := hostRun{t, h}
	code := h.Code(0)

	status, page := h.Get(t, code, "/")
	for _, want := range []string{"<title>登记 · 访客登记</title>", "演示设施 1 号", `name="name" type="text"`, `name="mobile" type="tel"`,
		`姓名 <span class="req">*</span>`, `action="` + h.URL + "/c/" + code + `/register"`, "width=device-width"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}
	if strings.Contains(page, "geolocation") {
		t.Fatal("a form without a fence asks for the position")
	}

	good := url.Values{"name": {"张三"}, "mobile": {"13900000002"}, "company": {"某物流公司"}, "purpose": {"送货"}, "host": {"李主任"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for name, vs := range good {
			out[name] = vs
		}
		out.Set(k, v)
		return out
	}
	for _, tc := range []struct {
		name, msg string
		form      url.Values
	}{
		{"no name", "请填写姓名", with("name", "")},
		{"no purpose", "请填写来访事由", with("purpose", " ")},
		{"bad mobile", "手机号格式不正确", with("mobile", "12345")},
		{"unknown field", "未知的表单字段：colour", with("colour", "red")},
	} {
		if status, page := r.post(code, tc.form); status != http.StatusBadRequest || !strings.Contains(page, tc.msg) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	if n := len(r.records()); n != 0 {
		t.Fatalf("%d registrations after bad input", n)
	}

	status, page = r.post(code, good)
	if status != http.StatusCreated || !strings.Contains(page, "登记成功") || !strings.Contains(page, "<dd>送货</dd>") {
		t.Fatalf("registration: %d %s", status, page)
	}
	first := between(page, `<span id="registration-id">`, "<")
	status, page = r.post(h.Code(1), url.Values{"name": {"王五"}, "mobile": {"13800000003"}, "purpose": {"开会"}})
	if status != http.StatusCreated {
		t.Fatalf("second registration: %d %s", status, page)
	}
	second := between(page, `<span id="registration-id">`, "<")

	// The staff's list: newest first, the mobile in full; by day.
	today := time.Now().In(cst).Format(time.DateOnly)
	for _, path := range []string{"/registrations", "/registrations?q=" + today} {
		list := r.admin(path)
		items, _ := list["items"].([]any)
		if list["total"] != 2.0 || len(items) != 2 {
			t.Fatalf("%s: %v", path, list)
		}
		newest, oldest := items[0].(map[string]any), items[1].(map[string]any)
		if newest["id"] != second || oldest["id"] != first || oldest["code"] != code || oldest["name"] != "张三" ||
			oldest["mobile"] != "13900000002" || oldest["point"] != "演示设施 1 号" || oldest["host"] != "李主任" {
			t.Fatalf("%s items: %v", path, items)
		}
	}
	if list := r.admin("/registrations?q=2020-01-01"); list["total"] != 0.0 {
		t.Fatalf("another day: %v", list)
	}
	if out, err := h.AdminErr("GET", "/registrations?q=yesterday", ""); err == nil || !strings.Contains(err.Error()+out, "YYYY-MM-DD") {
		t.Fatalf("bad date: %v %s", err, out)
	}

	// The export: one row per registration, oldest first, personal data
	// masked.
	file := filepath.Join(t.TempDir(), "registrations.xlsx")
	h.CLI(t, "plugin", "records", "visitor", collection, "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("访客登记记录")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "登记点", "姓名", "手机号", "单位", "来访事由", "被访人", "来访人数", "车牌号", "备注",
		"纬度", "经度", "距登记点（米）", "访客标识"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	if row := rows[1]; row[0] != first || row[1] != code || row[4] != "演示设施 1 号" || row[5] != "张*" || row[6] != "1********" ||
		row[7] != "某物流公司" || row[8] != "送货" || row[9] != "李主任" {
		t.Fatalf("export row: %q", row)
	}
	if row := rows[2]; row[0] != second || row[1] != h.Code(1) || row[5] != "王*" || row[8] != "开会" {
		t.Fatalf("export second row: %q", row)
	}
}

// TestFenceInTheHost configures a fence of 200 m around People's Square:
// the landing page asks for the position, and registrations without one
// or from outside are refused with nothing stored.
func TestFenceInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"title":"来访登记","fields":[{"key":"name","required":true},
		{"key":"mobile","label":"联系电话","required":true,"type":"tel"},{"key":"count"}],
		"fence":{"lat":31.2304,"lng":121.4737,"radius":200}}`})
	r := hostRun{t, h}
	code := h.Code(0)

	status, page := h.Get(t, code, "/")
	for _, want := range []string{"来访登记", `name="lat"`, "navigator.geolocation", "200 米范围内", `联系电话 <span class="req">*</span>`,
		`name="count" type="number"`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}
	form := url.Values{"name": {"张三"}, "mobile": {"13900000002"}, "count": {"3"}}
	at := func(lat, lng string) url.Values {
		v := url.Values{}
		for k, vs := range form {
			v[k] = vs
		}
		v.Set("lat", lat)
		v.Set("lng", lng)
		return v
	}
	if status, page := r.post(code, form); status != http.StatusBadRequest || !strings.Contains(page, "请允许获取位置信息") {
		t.Fatalf("no position: %d %s", status, page)
	}
	if status, page := r.post(code, at("31.2334", "121.4737")); status != http.StatusBadRequest ||
		!strings.Contains(page, "距登记点约 334 米，超出可登记范围（200 米以内）") {
		t.Fatalf("outside: %d %s", status, page)
	}
	if status, page := r.post(code, url.Values{"mobile": {"13900000002"}, "lat": {"31.2304"}, "lng": {"121.4737"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, "请填写姓名") {
		t.Fatalf("no name inside the fence: %d %s", status, page)
	}
	if n := len(r.records()); n != 0 {
		t.Fatalf("%d registrations after refusals", n)
	}
	status, page = r.post(code, at("31.2314", "121.4737"))
	if status != http.StatusCreated || !strings.Contains(page, "<dt>来访人数</dt><dd>3</dd>") {
		t.Fatalf("inside: %d %s", status, page)
	}
	recs := r.records()
	var doc map[string]any
	if len(recs) != 1 || json.Unmarshal(recs[0].Doc, &doc) != nil || doc["distance"] != 111.0 || doc["count"] != 3.0 || doc["lat"] != 31.2314 {
		t.Fatalf("records: %+v", recs)
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
