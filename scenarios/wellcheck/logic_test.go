package main

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry must agree: only the well's page is
// open to tourists, the operator routes are exactly the admin ones, and
// the configuration's field names are the fields the plugin knows.
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
	for _, c := range []plugin.Capability{plugin.RecordsRead, plugin.RecordsWrite, plugin.FilesWrite, plugin.ObjectWrite,
		plugin.NotifySend, plugin.EventsWrite, plugin.AuditWrite} {
		if !m.Declares(c) {
			t.Errorf("plugin.json does not declare %s", c)
		}
	}
	var schema struct {
		Properties struct {
			Fields struct {
				Items struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"fields"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m.Config, &schema); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range fields {
		keys = append(keys, f.Key)
	}
	if !reflect.DeepEqual(schema.Properties.Fields.Items.Enum, keys) {
		t.Errorf("config fields enum %v, want %v", schema.Properties.Fields.Items.Enum, keys)
	}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			if f.Title == "" {
				t.Errorf("collection %s: field %s has no title", c.Name, f.Name)
			}
		}
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || !reflect.DeepEqual(c.Fields, defaultFields) || !reflect.DeepEqual(c.Statuses, defaultStatuses) || c.MaxPending != 3 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"fields":["depth","wellNo"],"wellTypes":["水位监测井"],"maxPending":1}`))
	if err != nil || len(c.editable()) != 2 || c.editable()[0].Key != "wellNo" || c.choices(fieldByKey("wellType"))[0] != "水位监测井" {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if _, err := loadConfig(json.RawMessage(`{"fields":["colour"]}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := loadConfig(json.RawMessage(`{"fields":3}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
}

func TestWellOf(t *testing.T) {
	rows := func(w well) map[string]string {
		out := map[string]string{}
		for _, r := range w.Rows {
			out[r.Label] = r.Value
		}
		return out
	}
	w := wellOf(&plugin.Code{OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(wellAttrs)})
	want := map[string]string{"编号": "SW-310104-001", "位置": "漕溪北路 100 号东侧绿地", "经纬度": "121.4365, 31.1882", "类型": "水位监测井",
		"深度": "30 米", "权属单位": "徐汇区水务局", "监测项目": "水位、水温", "状态": "正常"}
	if got := rows(w); !reflect.DeepEqual(got, want) || w.Title != "徐汇 1 号监测井" || w.No != "SW-310104-001" {
		t.Fatalf("well %q: %v", w.Title, got)
	}
	if len(w.Rows) != len(want) {
		t.Fatalf("%d rows", len(w.Rows))
	}
	// Chinese keys, an attribute owner unit before the code's, and
	// what is absent shown as 暂无.
	w = wellOf(&plugin.Code{OwnerUnit: "演示单位", Attributes: json.RawMessage(`{"监测井编号":"G-7","井深":12.5,"权属单位":"市水文总站","纬度":31.2,"photo":{"x":1}}`)})
	got := rows(w)
	if w.Title != "监测井 G-7" || got["深度"] != "12.5 米" || got["权属单位"] != "市水文总站" || got["经纬度"] != "纬度 31.2" ||
		got["位置"] != none || got["状态"] != none || got["监测项目"] != none {
		t.Fatalf("chinese keys: %q %v", w.Title, got)
	}
	bare := wellOf(&plugin.Code{})
	for _, r := range bare.Rows {
		if r.Value != none || !r.Missing {
			t.Fatalf("bare row %+v", r)
		}
	}
	if bare.Title != "监测井" {
		t.Fatalf("bare title %q", bare.Title)
	}
	if _, key := w.current(fieldByKey("depth")); key != "井深" {
		t.Fatalf("depth held under %q", key)
	}
	if v, key := wellOf(&plugin.Code{OwnerUnit: "演示单位"}).current(fieldByKey("ownerUnit")); v != "演示单位" || key != "" {
		t.Fatalf("owner unit from the code: %q %q", v, key)
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		name, field, input string
		choices            []string
		old                any
		value              any
		shown              string
		ok                 bool
	}{
		{"depth", "depth", "35", nil, nil, 35.0, "35 米", true},
		{"depth with unit", "depth", "35.5米", nil, nil, 35.5, "35.5 米", true},
		{"depth zero", "depth", "0", nil, nil, nil, "", false},
		{"depth words", "depth", "很深", nil, nil, nil, "", false},
		{"depth huge", "depth", "1e9", nil, nil, nil, "", false},
		{"longitude", "lng", "121.4737", nil, nil, 121.4737, "121.4737", true},
		{"longitude out of range", "lng", "181", nil, nil, nil, "", false},
		{"latitude out of range", "lat", "-91", nil, nil, nil, "", false},
		{"latitude NaN", "lat", "NaN", nil, nil, nil, "", false},
		{"items to a string", "items", "水位, 水温；电导率", nil, "水位", "水位、水温、电导率", "水位、水温、电导率", true},
		{"items keep a list", "items", "水位、水质", nil, []any{"水位"}, []string{"水位", "水质"}, "水位、水质", true},
		{"items empty", "items", "、、", nil, nil, nil, "", false},
		{"status choice", "status", "停用", defaultStatuses, nil, "停用", "停用", true},
		{"status not a choice", "status", "坏了", defaultStatuses, nil, nil, "", false},
		{"text", "address", "漕溪北路 200 号", nil, nil, "漕溪北路 200 号", "漕溪北路 200 号", true},
		{"text too long", "wellType", strings.Repeat("井", 33), nil, nil, nil, "", false},
		{"control characters", "address", "a\x00b", nil, nil, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, shown, err := parseValue(fieldByKey(tc.field), tc.input, tc.choices, tc.old)
			if !tc.ok {
				wantCode(t, err, plugin.ErrInvalid)
				return
			}
			if err != nil || !reflect.DeepEqual(v, tc.value) || shown != tc.shown {
				t.Fatalf("got %#v %q %v, want %#v %q", v, shown, err, tc.value, tc.shown)
			}
		})
	}
}

func TestParseChanges(t *testing.T) {
	cfg, _ := loadConfig(nil)
	w := wellOf(&plugin.Code{OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(wellAttrs)})
	for _, tc := range []struct {
		name   string
		values url.Values
		code   string
		msg    string
	}{
		{"unknown field", url.Values{"f.colour": {"red"}, "reason": {"x"}}, plugin.ErrInvalid, "未知的字段：colour"},
		{"field not open", url.Values{"f.wellNo": {"X-1"}}, plugin.ErrInvalid, "「编号」不开放更新"},
		{"unknown form name", url.Values{"depth": {"35"}}, plugin.ErrInvalid, "未知的表单字段：depth"},
		{"twice", url.Values{"f.depth": {"35", "36"}}, plugin.ErrInvalid, "只能填写一次"},
		{"nothing", url.Values{"f.depth": {" "}, "reason": {"x"}}, "MissingParameter", "请至少填写一项"},
		{"no fields at all", url.Values{"reason": {"x"}}, "MissingParameter", "请至少填写一项"},
		{"same value", url.Values{"f.depth": {"30"}}, plugin.ErrInvalid, "新值与现值相同"},
		{"bad value", url.Values{"f.lat": {"north"}}, plugin.ErrInvalid, "「纬度」须为"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseChanges(&form{values: tc.values}, cfg, w)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	changes, err := parseChanges(&form{values: url.Values{"f.status": {"停用"}, "f.depth": {"35"}, "f.items": {"水位、水质"},
		"f.ownerUnit": {"市水文总站"}, "f.address": {""}, "reason": {"现场核查"}}}, cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	// In the page's order, each under the key the code uses.
	want := []change{
		{Field: "depth", Label: "深度", Key: "depth", From: "30 米", To: "35 米", Value: 35.0},
		{Field: "ownerUnit", Label: "权属单位", Key: "ownerUnit", From: "徐汇区水务局", To: "市水文总站", Value: "市水文总站"},
		{Field: "items", Label: "监测项目", Key: "监测项目", From: "水位、水温", To: "水位、水质", Value: []string{"水位", "水质"}},
		{Field: "status", Label: "状态", Key: "status", From: "正常", To: "停用", Value: "停用"},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("changes\n%+v\nwant\n%+v", changes, want)
	}
	if s := summarize(changes[:2]); s != "深度：30 米 → 35 米；权属单位：徐汇区水务局 → 市水文总站" {
		t.Fatalf("summary %q", s)
	}
	if s := summarize([]change{{Label: "位置", To: "x"}}); s != "位置：暂无 → x" {
		t.Fatalf("summary from nothing %q", s)
	}
	p := request{Changes: changes}.patch()
	if len(p) != 4 || p["监测项目"] == nil || p["depth"] != 35.0 {
		t.Fatalf("patch %v", p)
	}
}

func TestReadDecision(t *testing.T) {
	for _, tc := range []struct {
		name, body, code string
	}{
		{"approve", `{"id":"r1","approve":true}`, ""},
		{"reject with a reason", `{"id":"r1","approve":false,"reason":"与现场不符"}`, ""},
		{"reject without a reason", `{"id":"r1","approve":false,"reason":"  "}`, "MissingParameter"},
		{"no approve", `{"id":"r1","reason":"x"}`, "MissingParameter"},
		{"no id", `{"approve":true}`, "MissingParameter"},
		{"bad id", `{"id":"../r1","approve":true}`, plugin.ErrInvalid},
		{"unknown field", `{"id":"r1","approve":true,"status":"已通过"}`, plugin.ErrInvalid},
		{"not JSON", `id=r1`, plugin.ErrInvalid},
		{"empty", ``, plugin.ErrInvalid},
		{"long reason", `{"id":"r1","approve":true,"reason":"` + strings.Repeat("长", 501) + `"}`, plugin.ErrInvalid},
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

func TestPermanent(t *testing.T) {
	for code, want := range map[string]bool{plugin.ErrInvalid: true, "FailedOperation.CodeRevoked": true, plugin.ErrNotFound: true,
		plugin.ErrDenied: true, plugin.ErrInternal: false, plugin.ErrUnavailable: false} {
		if got := permanent(&plugin.Error{Code: code}); got != want {
			t.Errorf("permanent(%s) = %v", code, got)
		}
	}
	for code, want := range map[string]string{plugin.ErrDenied: "UnauthorizedOperation", "FailedOperation.CodeRevoked": "FailedOperation.CodeUnavailable",
		plugin.ErrNotFound: "FailedOperation.CodeUnavailable", plugin.ErrInvalid: plugin.ErrInvalid} {
		if err := refused(&plugin.Error{Code: code, Message: "m"}); !plugin.IsCode(err, want) || !strings.Contains(err.Error(), "申请保持待审核") {
			t.Errorf("refused(%s) = %v", code, err)
		}
	}
}

func TestReadForm(t *testing.T) {
	fields := url.Values{"reason": {"现场核查"}}
	for _, tc := range []struct {
		name  string
		ctype string
		body  []byte
		photo string // the stored content type; empty: no photo
		code  string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", []byte("reason=%E7%8E%B0"), "", ""},
		{"png", "", pngBytes(32), "image/png", ""},
		{"no file chosen", "", []byte{}, "", ""},
		{"not an image", "", []byte("%PDF-1.4 not a photo"), "", plugin.ErrInvalid},
		{"over 4 MB", "", pngBytes(maxPhoto), "", plugin.ErrInvalid},
		{"exactly 4 MB", "", pngBytes(maxPhoto - 8), "image/png", ""},
		{"json", "application/json", []byte(`{"reason":"x"}`), "", plugin.ErrInvalid},
		{"multipart without boundary", "multipart/form-data", []byte("x"), "", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := tc.ctype, tc.body
			if ctype == "" {
				ctype, body = multipartBody(fields, tc.body)
			}
			f, err := readForm(&plugin.Request{Header: map[string]string{"Content-Type": ctype}, Body: body})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.photo == "" && f.photo != nil:
				t.Fatalf("unexpected photo %s", f.photo.ContentType)
			case tc.photo != "" && (f.photo == nil || f.photo.ContentType != tc.photo):
				t.Fatalf("photo %+v, want %s", f.photo, tc.photo)
			}
		})
	}
}
