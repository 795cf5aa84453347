package main

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry agree, every configurable key has
// a column, and name and mobile are personal data.
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
		if (r.Kind == plugin.Admin) != (h.access == operator) || r.Tourist != (h.access == anyone) {
			t.Errorf("route %s: kind %s, tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	if m.Runtime != plugin.Native || m.Entry != "visitor" || len(m.Collections) != 1 || m.Collections[0].Name != collection {
		t.Fatalf("manifest %+v", m)
	}
	cols := map[string]plugin.Field{}
	for _, f := range m.Collections[0].Fields {
		cols[f.Name] = f
		if f.Title == "" {
			t.Errorf("field %s has no title", f.Name)
		}
	}
	for _, k := range known {
		if _, ok := cols[k.Key]; !ok {
			t.Errorf("form key %s has no column", k.Key)
		}
	}
	if !cols["name"].Personal || !cols["mobile"].Personal || !cols["visitor"].Personal || cols["company"].Personal {
		t.Errorf("personal columns %+v", cols)
	}
	// The schema's default form is the one loadConfig uses.
	var schema struct {
		Properties struct {
			Fields struct {
				Default []field `json:"default"`
			} `json:"fields"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m.Config, &schema); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(schema.Properties.Fields.Default)
	b, _ := json.Marshal(defaultFields)
	if string(a) != string(b) {
		t.Errorf("schema default %s, code default %s", a, b)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != "访客登记" || len(c.Fields) != 5 || c.Fence != nil || !c.Fields[1].Required || c.Fields[1].Type != typeTel {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"title":"来访登记","fields":[{"key":"name","required":true},{"key":"count","label":"人数"}],
		"fence":{"lat":31.2,"lng":121.4,"radius":200}}`))
	if err != nil || c.Title != "来访登记" || len(c.Fields) != 2 || c.Fields[0].Label != "姓名" || c.Fields[1].Label != "人数" ||
		c.Fields[1].Type != typeNumber || c.Fence == nil || c.Fence.Radius != 200 {
		t.Fatalf("configured: %+v %v", c, err)
	}
	for _, raw := range []string{`{"fields":3}`, `{"fields":[{"key":"colour"}]}`, `{"fields":[{"key":"name"},{"key":"name"}]}`,
		`{"fields":[{"key":"name","type":"date"}]}`, `{"fence":{"lat":31,"lng":121,"radius":0}}`} {
		if _, err := loadConfig(json.RawMessage(raw)); !plugin.IsCode(err, plugin.ErrInternal) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func TestDistance(t *testing.T) {
	if d := distance(0, 0, 1, 0); math.Abs(d-111195) > 1 {
		t.Errorf("one degree of latitude: %f", d)
	}
	if d := distance(31.2304, 121.4737, 31.2304, 121.4737); d != 0 {
		t.Errorf("same point: %f", d)
	}
	// Beijing to Shanghai, about 1,067 km.
	if d := distance(39.9042, 116.4074, 31.2304, 121.4737); d < 1060e3 || d > 1075e3 {
		t.Errorf("Beijing–Shanghai: %f", d)
	}
	// Antipodes: half the circumference, without NaN.
	if d := distance(0, 0, 0, 180); math.Abs(d-math.Pi*earthRadius) > 1 {
		t.Errorf("antipodes: %f", d)
	}
	if d := distance(31, 121, 32, 122); math.Abs(d-distance(32, 122, 31, 121)) > 1e-6 {
		t.Error("not symmetric")
	}
	for d, want := range map[float64]string{0: "0 米", 149.6: "150 米", 999.4: "999 米", 1234: "1.2 公里", 20000: "20 公里"} {
		if got := metres(d); got != want {
			t.Errorf("metres(%v) = %q, want %q", d, got, want)
		}
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestCheckRegistration(t *testing.T) {
	cfg, _ := loadConfig(json.RawMessage(`{"fields":[{"key":"name","required":true},{"key":"mobile","required":true},
		{"key":"purpose"},{"key":"count"},{"key":"note"}]}`))
	ok := url.Values{"name": {" 张三 "}, "mobile": {"139 0000-0002"}, "purpose": {"送货"}, "count": {"2"}}
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
	doc, err := checkRegistration(ok, cfg)
	if err != nil || doc["name"] != "张三" || doc["mobile"] != "13900000002" || doc["purpose"] != "送货" || doc["count"] != 2.0 ||
		len(doc) != 4 {
		t.Fatalf("registration %v %v", doc, err)
	}
	if doc, err := checkRegistration(with("purpose", ""), cfg); err != nil || doc["purpose"] != nil {
		t.Fatalf("optional empty: %v %v", doc, err)
	}
	// Without a fence a position is optional, and kept when given.
	p := with("lat", "31.2")
	p.Set("lng", "121.4")
	if doc, err := checkRegistration(p, cfg); err != nil || doc["lat"] != 31.2 || doc["lng"] != 121.4 || doc["distance"] != nil {
		t.Fatalf("position without a fence: %v %v", doc, err)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"no name", with("name", "\x00"), "MissingParameter", "请填写姓名"},
		{"blank name", with("name", "  "), "MissingParameter", "请填写姓名"},
		{"no mobile", with("mobile", ""), "MissingParameter", "请填写手机号"},
		{"bad mobile", with("mobile", "12345678901"), plugin.ErrInvalid, "手机号格式不正确"},
		{"short mobile", with("mobile", "1390000"), plugin.ErrInvalid, "手机号格式不正确"},
		{"bad number", with("count", "两个"), plugin.ErrInvalid, "来访人数须为不小于 0 的数字"},
		{"negative number", with("count", "-1"), plugin.ErrInvalid, "来访人数须为不小于 0 的数字"},
		{"NaN", with("count", "NaN"), plugin.ErrInvalid, "来访人数"},
		{"long text", with("purpose", strings.Repeat("长", 101)), plugin.ErrInvalid, "来访事由不能超过 100 个字"},
		{"long note", with("note", strings.Repeat("长", 201)), plugin.ErrInvalid, "备注不能超过 200 个字"},
		{"unconfigured field", with("company", "某公司"), plugin.ErrInvalid, "未知的表单字段：company"},
		{"twice", url.Values{"name": {"a", "b"}}, plugin.ErrInvalid, "只能填写一次"},
		{"half a position", with("lat", "31.2"), plugin.ErrInvalid, "位置信息无效"},
		{"bad latitude", func() url.Values { v := with("lat", "91"); v.Set("lng", "121"); return v }(), plugin.ErrInvalid, "位置信息无效"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkRegistration(tc.form, cfg)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	if _, err := checkRegistration(with("note", strings.Repeat("长", 200)), cfg); err != nil {
		t.Fatalf("200-character note: %v", err)
	}
}

func TestFence(t *testing.T) {
	// People's Square, 200 m.
	cfg, _ := loadConfig(json.RawMessage(`{"fields":[{"key":"name","required":true}],"fence":{"lat":31.2304,"lng":121.4737,"radius":200}}`))
	at := func(lat, lng string) url.Values {
		v := url.Values{"name": {"张三"}}
		if lat != "" || lng != "" {
			v.Set("lat", lat)
			v.Set("lng", lng)
		}
		return v
	}
	doc, err := checkRegistration(at("31.2314", "121.4737"), cfg) // ~111 m north
	if err != nil || doc["distance"] != 111.0 || doc["lat"] != 31.2314 {
		t.Fatalf("inside: %v %v", doc, err)
	}
	_, err = checkRegistration(at("31.2334", "121.4737"), cfg) // ~334 m north
	wantCode(t, err, plugin.ErrInvalid)
	wantCode(t, err, plugin.ErrInvalid+".OutsideFence")
	if !strings.Contains(err.Error(), "约 334 米，超出可登记范围（200 米以内）") {
		t.Fatalf("outside: %v", err)
	}
	_, err = checkRegistration(at("39.9042", "116.4074"), cfg)
	if !strings.Contains(err.Error(), "公里") {
		t.Fatalf("far away: %v", err)
	}
	_, err = checkRegistration(at("", ""), cfg)
	wantCode(t, err, "MissingParameter")
	if !strings.Contains(err.Error(), "位置") {
		t.Fatalf("no position: %v", err)
	}
}

func TestDayRange(t *testing.T) {
	from, to, err := dayRange("2026-11-03")
	if err != nil || from.Format("2006-01-02T15:04:05Z07:00") != "2026-11-03T00:00:00+08:00" || to.Sub(from).Hours() != 24 {
		t.Fatalf("%v %v %v", from, to, err)
	}
	for _, q := range []string{"2026-13-01", "11/03/2026", "today"} {
		if _, _, err := dayRange(q); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestPointName(t *testing.T) {
	for _, tc := range []struct {
		code plugin.Code
		want string
	}{
		{plugin.Code{Attributes: json.RawMessage(`{"name":"市民中心东门"}`), Name: "x"}, "市民中心东门"},
		{plugin.Code{Name: "演示设施"}, "演示设施"},
		{plugin.Code{}, "访客登记点"},
	} {
		if got := pointName(&tc.code); got != tc.want {
			t.Errorf("pointName = %q, want %q", got, tc.want)
		}
	}
}
