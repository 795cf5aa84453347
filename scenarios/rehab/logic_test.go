package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry must agree: only the service
// point's page is open to tourists, the operator routes are exactly the
// admin ones, and the phone is personal data.
func TestManifestMatchesRoutes(t *testing.T) {
	m := plugintest.Manifest(t)
	seen := map[string]bool{}
	for _, r := range m.Routes {
		seen[r.Name] = true
		h, ok := routes[r.Name]
		if !ok {
			t.Errorf("route %s of plugin.json has no handler", r.Name)
			continue
		}
		if r.Tourist != (h.access == anyone) {
			t.Errorf("route %s: tourist %v, but access %d", r.Name, r.Tourist, h.access)
		}
		if (r.Kind == plugin.Admin) != (h.access == operator) {
			t.Errorf("route %s: kind %s, but access %d", r.Name, r.Kind, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	for _, c := range []plugin.Capability{plugin.RecordsRead, plugin.RecordsWrite, plugin.NotifySend, plugin.EventsWrite, plugin.AuditWrite} {
		if !m.Declares(c) {
			t.Errorf("plugin.json does not declare %s", c)
		}
	}
	personal := map[string]bool{}
	for _, f := range m.Collections[0].Fields {
		personal[f.Name] = f.Personal
		if f.Title == "" {
			t.Errorf("field %s has no title", f.Name)
		}
	}
	if !personal["phone"] || !personal["applicant"] || !personal["applicantName"] || personal["aid"] {
		t.Errorf("personal fields %v", personal)
	}
	if m.Runtime != plugin.WASM || m.Entry != "rehab.wasm" {
		t.Errorf("runtime %s, entry %s", m.Runtime, m.Entry)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Policy.MaxDays != 90 || *c.Policy.MaxAdvanceDays != 30 || len(c.Catalogue) != 5 ||
		c.Policy.Eligibility != defaultEligibility || !strings.Contains(c.Policy.Duration, "1 至 90 天") {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"policy":{"maxDays":30,"maxAdvanceDays":0,"fees":"免费"},
		"catalogue":[{"id":"wheelchair","name":"电动轮椅","deposit":2000,"dailyFee":8.8,"maxDays":60},{"id":"cane","name":"手杖","available":false}]}`))
	if err != nil || c.Policy.Fees != "免费" || *c.Policy.MaxAdvanceDays != 0 || len(c.Catalogue) != 2 || c.Catalogue[1].rentable() ||
		!c.Catalogue[0].rentable() || c.maxDays(c.Catalogue[0]) != 30 || !strings.Contains(c.Policy.Duration, "提前 0 天") {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if a, ok := c.find("cane"); !ok || a.Name != "手杖" {
		t.Fatalf("find: %+v", a)
	}
	if _, err := loadConfig(json.RawMessage(`{"catalogue":3}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
	d, _ := loadConfig(nil)
	if bed, _ := d.find("nursing-bed"); d.maxDays(bed) != 60 {
		t.Fatal("an aid's own maximum is ignored")
	}
}

func TestMoney(t *testing.T) {
	for fen, want := range map[int64]string{200: "2 元", 50: "0.5 元", 1235: "12.35 元", 0: "0 元", 100000: "1000 元"} {
		if got := yuan(fen); got != want {
			t.Errorf("yuan(%d) = %q, want %q", fen, got, want)
		}
	}
	if cents(2.1)*3 != 630 || cents(0.1)+cents(0.2) != 30 {
		t.Fatal("cents are not exact")
	}
	for p, want := range map[string]string{"13800000001": "138****0001", "021-64000000": "021*****0000", "123": "***"} {
		if got := maskPhone(p); got != want {
			t.Errorf("maskPhone(%s) = %s", p, got)
		}
	}
}

func TestCheckApplication(t *testing.T) {
	cfg, _ := loadConfig(json.RawMessage(`{"catalogue":[{"id":"wheelchair","name":"手动轮椅","deposit":500,"dailyFee":2.1},
		{"id":"bed","name":"护理床","deposit":1000,"dailyFee":5,"maxDays":60},{"id":"cane","name":"手杖","available":false}]}`))
	today := time.Date(2026, 11, 3, 23, 30, 0, 0, cst)
	ok := url.Values{"aid": {"wheelchair"}, "start": {"2026-11-03"}, "days": {"30"}, "phone": {"138 0000 0001"}, "note": {"需送货"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for name, vs := range ok {
			out[name] = vs
		}
		if v == "\x00" {
			delete(out, k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	a, err := checkApplication(ok, cfg, today)
	if err != nil {
		t.Fatal(err)
	}
	if a.Aid != "wheelchair" || a.AidName != "手动轮椅" || a.Start != "2026-11-03" || a.End != "2026-12-02" || a.Days != 30 ||
		a.Deposit != 500 || a.Fee != 63 || a.Phone != "13800000001" || a.Note != "需送货" || a.Status != statusPending {
		t.Fatalf("application %+v", a)
	}
	if a, err := checkApplication(with("phone", "021-64000000"), cfg, today); err != nil || a.Phone != "021-64000000" {
		t.Fatalf("landline: %+v %v", a, err)
	}
	if _, err := checkApplication(with("start", "2026-12-03"), cfg, today); err != nil {
		t.Fatalf("30 days ahead: %v", err)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"no aid", with("aid", "\x00"), "MissingParameter", "请选择要租赁的辅具"},
		{"unknown aid", with("aid", "rocket"), plugin.ErrInvalid, "没有编号为 rocket 的辅具"},
		{"unavailable aid", with("aid", "cane"), "FailedOperation.AidUnavailable", "手杖暂不可租"},
		{"no start", with("start", ""), "MissingParameter", "请填写起租日期"},
		{"bad start", with("start", "11/03/2026"), plugin.ErrInvalid, "YYYY-MM-DD"},
		{"past start", with("start", "2026-11-02"), plugin.ErrInvalid, "不能早于今天"},
		{"far start", with("start", "2026-12-04"), plugin.ErrInvalid, "最多可提前 30 天"},
		{"no days", with("days", "\x00"), "MissingParameter", "请填写租期"},
		{"zero days", with("days", "0"), plugin.ErrInvalid, "正整数"},
		{"fractional days", with("days", "1.5"), plugin.ErrInvalid, "正整数"},
		{"too long", with("days", "91"), plugin.ErrInvalid, "手动轮椅的租期不能超过 90 天"},
		{"too long for the aid", url.Values{"aid": {"bed"}, "start": {"2026-11-03"}, "days": {"61"}, "phone": {"13800000001"}},
			plugin.ErrInvalid, "护理床的租期不能超过 60 天"},
		{"no phone", with("phone", " "), "MissingParameter", "请填写联系电话"},
		{"bad phone", with("phone", "12345"), plugin.ErrInvalid, "联系电话格式不正确"},
		{"long note", with("note", strings.Repeat("长", 201)), plugin.ErrInvalid, "备注不能超过 200 个字"},
		{"unknown field", with("colour", "red"), plugin.ErrInvalid, "未知的表单字段：colour"},
		{"twice", url.Values{"aid": {"wheelchair", "bed"}}, plugin.ErrInvalid, "只能填写一次"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkApplication(tc.form, cfg, today)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	// maxAdvanceDays 0: today only.
	cfg0, _ := loadConfig(json.RawMessage(`{"policy":{"maxAdvanceDays":0}}`))
	if _, err := checkApplication(with("start", "2026-11-04"), cfg0, today); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("tomorrow with no advance: %v", err)
	}
}

func TestReadDecision(t *testing.T) {
	for _, tc := range []struct {
		name, body, code string
	}{
		{"approve", `{"id":"r1","approve":true}`, ""},
		{"reject with a reason", `{"id":"r1","approve":false,"reason":"库存不足"}`, ""},
		{"reject without a reason", `{"id":"r1","approve":false}`, "MissingParameter"},
		{"no approve", `{"id":"r1"}`, "MissingParameter"},
		{"no id", `{"approve":true}`, "MissingParameter"},
		{"bad id", `{"id":"a/b","approve":true}`, plugin.ErrInvalid},
		{"unknown field", `{"id":"r1","approve":true,"x":1}`, plugin.ErrInvalid},
		{"not JSON", `approve`, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readDecision([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestPointOf(t *testing.T) {
	p := pointOf(&plugin.Code{Attributes: json.RawMessage(pointAttrs)})
	want := []row{{Label: "地址", Value: "漕溪北路 200 号 1 楼"}, {Label: "开放时间", Value: "周一至周六 09:00-17:00"},
		{Label: "咨询电话", Value: "021-64000000"}, {Label: "运营服务商", Value: "上海某康复服务有限公司"}}
	if p.Name != "徐汇区康复辅具社区租赁服务点" || len(p.Rows) != 4 || p.Address != want[0].Value || p.Hours != want[1].Value {
		t.Fatalf("point %+v", p)
	}
	for i, r := range want {
		if p.Rows[i] != r {
			t.Errorf("row %d %+v, want %+v", i, p.Rows[i], r)
		}
	}
	bare := pointOf(&plugin.Code{Attributes: json.RawMessage(`{"租赁点名称":"长桥服务点","电话":64000001}`)})
	if bare.Name != "长桥服务点" || bare.Rows[0].Value != none || !bare.Rows[0].Missing || bare.Rows[2].Value != "64000001" {
		t.Fatalf("bare point %+v", bare)
	}
	if pointOf(&plugin.Code{}).Name != "康复辅具租赁服务点" {
		t.Fatal("default name")
	}
}

func TestReadForm(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, code string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "aid=walker&days=3", ""},
		{"no content type", "", "aid=walker", ""},
		{"json", "application/json", `{"aid":"walker"}`, plugin.ErrInvalid},
		{"multipart without boundary", "multipart/form-data", "x", plugin.ErrInvalid},
		{"multipart", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"aid\"\r\n\r\nwalker\r\n--b--\r\n", ""},
		{"a file", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.png\"\r\n\r\nx\r\n--b--\r\n", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := readForm(&plugin.Request{Header: map[string]string{"Content-Type": tc.ctype}, Body: []byte(tc.body)})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil || v.Get("aid") != "walker" {
				t.Fatalf("%v %v", v, err)
			}
		})
	}
}
