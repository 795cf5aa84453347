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

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

// The manifest and the route registry agree: the citizen routes are open
// to tourists, the operator routes are exactly the admin ones; who gave
// feedback is personal data.
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
		if r.Tourist != (h.access == anyone) || (r.Kind == plugin.Admin) != (h.access == operator) {
			t.Errorf("route %s: kind %s, tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	if m.Runtime != plugin.WASM || m.Entry != "parking.wasm" {
		t.Errorf("runtime %s, entry %s", m.Runtime, m.Entry)
	}
	personal := map[string]bool{}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			personal[c.Name+"."+f.Name] = f.Personal
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
		}
	}
	for _, f := range []string{"feedback.submitter", "feedback.name", "feedback.mobile"} {
		if !personal[f] {
			t.Errorf("%s is not personal", f)
		}
	}
	if personal["feedback.content"] || personal["lots.contact"] {
		t.Errorf("personal fields %v", personal)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || strings.Join(c.Kinds, ",") != "环境,服务,设施,收费,其他" || c.StaleMinutes != 15 || c.Notice != defaultNotice {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if c, err = loadConfig(json.RawMessage(`{"kinds":["收费","排队"],"staleMinutes":5}`)); err != nil || !c.hasKind("排队") || c.hasKind("环境") || c.StaleMinutes != 5 {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if _, err := loadConfig(json.RawMessage(`{"kinds":"x"}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
}

// goodLot is a complete guide; with changes it one key at a time.
const goodLot = `{"code":"tok","name":" 人民广场地下停车库 ","address":"黄浦区人民大道 200 号","longitude":121.4737,"latitude":31.2304,
	"fees":{"firstHour":15,"nextHour":10,"dailyCap":120,"freeMinutes":15,"note":"新能源车首小时半价"},"totalSpaces":300,"remainingSpaces":120,
	"openingHours":"全天","timeLimit":"最长停放 72 小时","entrances":["西藏中路入口","武胜路出口"],"contact":"021-63000000"}`

func lotWith(t *testing.T, path string, v any) lotInput {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(goodLot), &m); err != nil {
		t.Fatal(err)
	}
	obj, key := m, path
	if k, rest, ok := strings.Cut(path, "."); ok {
		obj, key = m[k].(map[string]any), rest
	}
	if v == nil {
		delete(obj, key)
	} else {
		obj[key] = v
	}
	b, _ := json.Marshal(m)
	var in lotInput
	if err := readJSON(b, &in, lotShape); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestCheckLot(t *testing.T) {
	var in lotInput
	if err := readJSON([]byte(goodLot), &in, lotShape); err != nil {
		t.Fatal(err)
	}
	l, remaining, err := checkLot(in)
	if err != nil || l.Name != "人民广场地下停车库" || l.FeeFirstHour != 15 || *l.DailyCap != 120 || l.FreeMinutes != 15 || l.TotalSpaces != 300 ||
		*remaining != 120 || len(l.Entrances) != 2 || *l.Latitude != 31.2304 {
		t.Fatalf("%+v %v %v", l, remaining, err)
	}
	if l, _, err := checkLot(lotWith(t, "fees.dailyCap", nil)); err != nil || l.DailyCap != nil {
		t.Fatalf("no cap: %+v %v", l, err)
	}
	if _, r, err := checkLot(lotWith(t, "remainingSpaces", nil)); err != nil || r != nil {
		t.Fatalf("no count: %v %v", r, err)
	}
	if _, _, err := checkLot(lotWith(t, "remainingSpaces", 300)); err != nil {
		t.Fatalf("all free: %v", err)
	}
	for _, tc := range []struct {
		name, path string
		v          any
		code, msg  string
	}{
		{"remaining above total", "remainingSpaces", 301, plugin.ErrInvalid, "不能大于总车位数"},
		{"negative remaining", "remainingSpaces", -1, plugin.ErrInvalid, "不能为负数"},
		{"negative fee", "fees.firstHour", -5, plugin.ErrInvalid, "首小时收费 fees.firstHour不能为负数"},
		{"negative next hour", "fees.nextHour", -0.01, plugin.ErrInvalid, "不能为负数"},
		{"fraction of a fen", "fees.nextHour", 2.555, plugin.ErrInvalid, "两位小数"},
		{"cap below first hour", "fees.dailyCap", 10, plugin.ErrInvalid, "每日封顶不能低于首小时收费"},
		{"huge fee", "fees.firstHour", 20000, plugin.ErrInvalid, "不能超过"},
		{"free minutes", "fees.freeMinutes", 1441, plugin.ErrInvalid, "0–1440"},
		{"no first hour", "fees.firstHour", nil, "MissingParameter", "请填写首小时收费"},
		{"no fees", "fees", nil, "MissingParameter", "收费标准"},
		{"no total", "totalSpaces", nil, "MissingParameter", "总车位数"},
		{"zero total", "totalSpaces", 0, plugin.ErrInvalid, "总车位数须为"},
		{"no name", "name", " ", "MissingParameter", "停车场名称"},
		{"no address", "address", nil, "MissingParameter", "地址"},
		{"long name", "name", strings.Repeat("停", 61), plugin.ErrInvalid, "不能超过 60 个字"},
		{"NUL", "contact", "021\x00", plugin.ErrInvalid, "无效字符"},
		{"newline in name", "name", "a\nb", plugin.ErrInvalid, "无效字符"},
		{"one coordinate", "latitude", nil, plugin.ErrInvalid, "须同时填写"},
		{"longitude range", "longitude", 181, plugin.ErrInvalid, "经度"},
		{"latitude range", "latitude", -91, plugin.ErrInvalid, "纬度"},
		{"empty entrance", "entrances", []string{"东门", " "}, plugin.ErrInvalid, "出入口不能为空"},
		{"many entrances", "entrances", make([]string, 21), plugin.ErrInvalid, "最多 20 个"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkLot(lotWith(t, tc.path, tc.v))
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	for _, body := range []string{`{"totalSpaces":1.5}`, `{"name":"x","extra":1}`, `{"fees":{"firstHour":"10"}}`, `[]`, `{} {}`} {
		var in lotInput
		wantCode(t, readJSON([]byte(body), &in, lotShape), plugin.ErrInvalid)
	}
}

func TestCheckSpaces(t *testing.T) {
	now := time.Date(2026, 11, 3, 9, 30, 0, 0, cst)
	n := func(i int) *int { return &i }
	token, at, err := checkSpaces(spacesInput{Code: "http://city.test/c/tok-1?x=1", Remaining: n(5)}, now)
	if err != nil || token != "tok-1" || !at.Equal(now) {
		t.Fatalf("%s %v %v", token, at, err)
	}
	if _, at, err = checkSpaces(spacesInput{Code: "tok", Remaining: n(0), At: "2026-11-03T01:00:00Z"}, now); err != nil || at.Hour() != 9 {
		t.Fatalf("at: %v %v", at, err)
	}
	for _, tc := range []struct {
		in   spacesInput
		code string
	}{
		{spacesInput{Remaining: n(1)}, "MissingParameter"},
		{spacesInput{Code: "tok"}, "MissingParameter"},
		{spacesInput{Code: "tok", Remaining: n(-1)}, plugin.ErrInvalid},
		{spacesInput{Code: "tok", Remaining: n(1), Version: -1}, plugin.ErrInvalid},
		{spacesInput{Code: "tok", Remaining: n(1), At: "09:30"}, plugin.ErrInvalid},
		{spacesInput{Code: "tok", Remaining: n(1), At: "2026-11-03T09:40:00+08:00"}, plugin.ErrInvalid},
	} {
		_, _, err := checkSpaces(tc.in, now)
		wantCode(t, err, tc.code)
	}
}

func TestCheckComponent(t *testing.T) {
	m, err := checkComponent(componentInput{Name: "1 号入口道闸", Kind: "入口设备", Location: "西藏中路入口"})
	if err != nil || m.State != "正常" || m.Kind != "入口设备" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, tc := range []struct {
		in   componentInput
		code string
	}{
		{componentInput{Kind: "入口设备"}, "MissingParameter"},
		{componentInput{Name: "x"}, "MissingParameter"},
		{componentInput{Name: "x", Kind: "火箭"}, plugin.ErrInvalid},
		{componentInput{Name: "x", Kind: "支付终端", State: "很好"}, plugin.ErrInvalid},
		{componentInput{Name: "x", Kind: "支付终端", Note: strings.Repeat("长", 201)}, plugin.ErrInvalid},
	} {
		_, err := checkComponent(tc.in)
		wantCode(t, err, tc.code)
	}
}

func TestCheckFeedback(t *testing.T) {
	cfg, _ := loadConfig(nil)
	kind, content, anon, err := checkFeedback(url.Values{"kind": {"收费"}, "content": {" 出口缴费机不找零\n请处理 "}, "anonymous": {"1"}}, cfg)
	if err != nil || kind != "收费" || content != "出口缴费机不找零\n请处理" || !anon {
		t.Fatalf("%s %q %v %v", kind, content, anon, err)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"no kind", url.Values{"content": {"x"}}, "MissingParameter", "请选择反馈类型"},
		{"unknown kind", url.Values{"kind": {"排队"}, "content": {"x"}}, plugin.ErrInvalid, "环境、服务、设施、收费、其他"},
		{"no content", url.Values{"kind": {"环境"}, "content": {" "}}, "MissingParameter", "请填写反馈内容"},
		{"too long", url.Values{"kind": {"环境"}, "content": {strings.Repeat("长", 501)}}, plugin.ErrInvalid, "不能超过 500 个字"},
		{"NUL", url.Values{"kind": {"环境"}, "content": {"a\x00b"}}, plugin.ErrInvalid, "无效字符"},
		{"forged name", url.Values{"kind": {"环境"}, "content": {"x"}, "name": {"王五"}}, plugin.ErrInvalid, "未知的表单字段：name"},
		{"forged status", url.Values{"kind": {"环境"}, "content": {"x"}, "status": {"已处理"}}, plugin.ErrInvalid, "未知的表单字段：status"},
		{"twice", url.Values{"kind": {"环境", "服务"}, "content": {"x"}}, plugin.ErrInvalid, "只能填写一次"},
		{"bad anonymous", url.Values{"kind": {"环境"}, "content": {"x"}, "anonymous": {"yes"}}, plugin.ErrInvalid, "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := checkFeedback(tc.form, cfg)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestParseFilter(t *testing.T) {
	f, err := parseFilter(map[string][]string{"from": {"2026-11-01"}, "q": {"status=待处理 kind=收费 code=http://city.test/c/tok-9 缴费机  找零"}, "to": {"2026-11-03"}})
	if err != nil || f.Status != statusPending || f.Kind != "收费" || f.Code != "tok-9" || f.Keyword != "缴费机 找零" ||
		!f.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, cst)) || !f.To.Equal(time.Date(2026, 11, 4, 0, 0, 0, 0, cst)) {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err = parseFilter(map[string][]string{"from": {"2026-11-01T08:00:00+08:00"}}); err != nil || f.From.Hour() != 8 {
		t.Fatalf("RFC 3339: %+v %v", f, err)
	}
	for _, q := range []map[string][]string{
		{"status": {"处理中"}},
		{"from": {"11/01"}},
		{"from": {"2026-11-03"}, "to": {"2026-11-01"}},
		{"kind": {"收费"}, "q": {"kind=环境"}},
		{"q": {strings.Repeat("词", 51)}},
	} {
		_, err := parseFilter(q)
		wantCode(t, err, plugin.ErrInvalid)
	}
	fb := feedback{Content: "出口缴费机不找零", Lot: "人民广场停车库", Kind: "收费"}
	if !(filter{Keyword: "缴费机"}).matches(fb) || !(filter{Keyword: "人民广场"}).matches(fb) || (filter{Keyword: "排队"}).matches(fb) {
		t.Fatal("keyword match")
	}
}

func TestFeeLines(t *testing.T) {
	cap := 60.0
	for _, tc := range []struct {
		l    lot
		want string
	}{
		{lot{FeeFirstHour: 10, FeeNextHour: 5, DailyCap: &cap, FreeMinutes: 15}, "15 分钟内免费|首小时 10 元，之后每小时 5 元|每日最高 60 元"},
		{lot{FeeFirstHour: 2.5, FeeNextHour: 2.5}, "每小时 2.5 元"},
		{lot{DailyCap: &cap}, "免费停车"},
	} {
		if got := strings.Join(feeLines(tc.l), "|"); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// A code's lot id fits the host's record ids for any token, and two
// tokens do not share one.
func TestLotID(t *testing.T) {
	long := strings.Repeat("x", 128)
	if id := lotID(long); len(id) > 64 || !recordIDRe.MatchString(id) || lotID("a") == lotID("b") || lotID("a") != lotID("a") {
		t.Fatalf("lot id %q", id)
	}
	if tokenOf(" http://city.test/c/abc/feedback ") != "abc" || tokenOf("abc") != "abc" {
		t.Fatal("tokenOf")
	}
}
