package main

import (
	"encoding/json"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the code must agree: the route registry names the
// manifest's routes, only the shop's page and the notices are open to
// tourists, the operator routes are exactly the admin ones, the
// collections listed are the declared ones, and the configuration's
// schema names the fields config decodes.
func TestManifestMatchesCode(t *testing.T) {
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
	var declared []string
	for _, c := range m.Collections {
		declared = append(declared, c.Name)
		for _, f := range c.Fields {
			if f.Title == "" {
				t.Errorf("collection %s: field %s has no title", c.Name, f.Name)
			}
			if hidden[f.Name] && !f.Personal {
				t.Errorf("collection %s: pseudonym field %s is not marked personal", c.Name, f.Name)
			}
		}
	}
	got := append([]string(nil), collections...)
	sort.Strings(got)
	sort.Strings(declared)
	if !reflect.DeepEqual(got, declared) {
		t.Errorf("listable collections %v, declared %v", got, declared)
	}
	if !reflect.DeepEqual(m.Serves.CodeKinds, []string{"object", "enterprise"}) {
		t.Errorf("serves %v", m.Serves.CodeKinds)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(m.Config, &schema); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range schema.Properties {
		keys = append(keys, k)
	}
	var tags []string
	ct := reflect.TypeFor[config]()
	for i := range ct.NumField() {
		tags = append(tags, ct.Field(i).Tag.Get("json"))
	}
	sort.Strings(keys)
	sort.Strings(tags)
	if !reflect.DeepEqual(keys, tags) {
		t.Errorf("config schema %v, config fields %v", keys, tags)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.GrantHours != 72 || c.DailyLimit != 5 || len(c.Pledges) != 3 || c.pledge("notice").Version != "1" ||
		!reflect.DeepEqual(c.Categories, defaultCategories) || len(c.Questions) != 3 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"categories":["占道"],"pledges":[{"id":"x","title":"承诺","content":"文本"}],"grantHours":1}`))
	if err != nil || c.Categories[0] != "占道" || c.pledge("x").Version != "1" || c.pledge("notice") != nil || c.GrantHours != 1 {
		t.Fatalf("configured: %+v %v", c, err)
	}
	_, err = loadConfig(json.RawMessage(`{"grantHours":"many"}`))
	wantCode(t, err, plugin.ErrInternal)
}

func TestShopOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		code  plugin.Code
		title string
		rows  map[string]string
	}{
		{"canonical keys", plugin.Code{Kind: "object", Attributes: json.RawMessage(`{"name":"A 店","address":"一路","licences":["甲","乙"],"phone":123}`)},
			"A 店", map[string]string{"address": "一路", "licences": "甲、乙", "phone": "123", "supervisingUnit": none}},
		{"Chinese aliases", plugin.Code{Kind: "object", OwnerUnit: "城管中队", Attributes: json.RawMessage(`{"店名":"B 店","经营地址":"二路","业态":"零售"}`)},
			"B 店", map[string]string{"address": "二路", "businessType": "零售", "supervisingUnit": "城管中队"}},
		{"attribute over owner unit", plugin.Code{Kind: "object", OwnerUnit: "局", Attributes: json.RawMessage(`{"监管单位":"一中队"}`)},
			"沿街商户", map[string]string{"supervisingUnit": "一中队"}},
		{"blank is absent", plugin.Code{Kind: "object", Name: "C 店", Attributes: json.RawMessage(`{"name":"  ","地址":""}`)},
			"C 店", map[string]string{"address": none}},
		{"enterprise", plugin.Code{Kind: "enterprise", Name: "某公司"}, "某公司", map[string]string{"name": none}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := shopOf(&tc.code)
			if s.Title != tc.title {
				t.Errorf("title %q, want %q", s.Title, tc.title)
			}
			for _, r := range s.Rows {
				if want, ok := tc.rows[r.Key]; ok && r.Value != want {
					t.Errorf("%s = %q, want %q", r.Key, r.Value, want)
				}
			}
			for _, r := range s.Public() {
				if r.Key == "phone" || r.Key == "operator" || r.Key == "licences" || r.Key == "premises" {
					t.Errorf("%s is public", r.Key)
				}
			}
		})
	}
}

func TestParseChanges(t *testing.T) {
	t.Parallel()
	s := shopOf(&plugin.Code{Kind: "object", Attributes: json.RawMessage(`{"名称":"A 店","许可信息":["甲"],"phone":"1"}`)})
	for _, tc := range []struct {
		name    string
		form    url.Values
		code    string
		summary string
		patch   map[string]any
	}{
		{"written under the key in use", url.Values{"f.name": {"B 店"}}, "", "商户名称：A 店 → B 店", map[string]any{"名称": "B 店"}},
		{"a list stays a list", url.Values{"f.licences": {"甲, 乙；丙"}}, "", "许可信息：甲 → 甲、乙、丙", map[string]any{"许可信息": []any{"甲", "乙", "丙"}}},
		{"a new field under its own key", url.Values{"f.address": {"一路"}, "f.phone": {""}}, "", "经营地址：暂无 → 一路", map[string]any{"address": "一路"}},
		{"unknown field", url.Values{"f.colour": {"红"}}, plugin.ErrInvalid, "", nil},
		{"unchanged", url.Values{"f.phone": {"1"}}, plugin.ErrInvalid, "", nil},
		{"too long", url.Values{"f.phone": {strings.Repeat("1", 33)}}, plugin.ErrInvalid, "", nil},
		{"nothing", url.Values{"f.phone": {" "}}, "MissingParameter", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := parseChanges(&form{values: tc.form}, s)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(changes); got != tc.summary {
				t.Errorf("summary %q, want %q", got, tc.summary)
			}
			if got := patch(changes); !reflect.DeepEqual(got, tc.patch) {
				t.Errorf("patch %#v, want %#v", got, tc.patch)
			}
		})
	}
}

func TestGrantCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c := newGrantCode()
		n, ok := normalizeGrant(c)
		if !ok || len(c) != 14 || seen[n] {
			t.Fatalf("code %q (%q, %v)", c, n, ok)
		}
		seen[n] = true
	}
	for in, want := range map[string]string{"abcd-efgh-jkmn": "ABCDEFGHJKMN", "ABCD EFGH JKMN": "ABCDEFGHJKMN", "ABCDEFGHJKMN": "ABCDEFGHJKMN",
		"ABCD-EFGH-JKM0": "", "ABCD-EFGH-JKMI": "", "ABCD": "", "ABCD-EFGH-JKMN-P": ""} {
		if got, _ := normalizeGrant(in); got != want {
			t.Errorf("normalizeGrant(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		required bool
		want     string
		code     string
	}{
		{"  好  ", true, "好", ""},
		{"", false, "", ""},
		{" ", true, "", "MissingParameter"},
		{strings.Repeat("字", 5), true, strings.Repeat("字", 5), ""},
		{strings.Repeat("字", 6), true, "", plugin.ErrInvalid},
		{"a\x00b", true, "", plugin.ErrInvalid},
	} {
		got, err := checkText(tc.in, "内容", 5, tc.required)
		if tc.code != "" {
			wantCode(t, err, tc.code)
		} else if err != nil || got != tc.want {
			t.Errorf("checkText(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestParseListQuery(t *testing.T) {
	t.Parallel()
	q, err := parseListQuery("complaints code:http://city.test/c/tok1 status:已受理 kind:意见建议")
	if err != nil || q.Collection != "complaints" || q.CodeToken != "tok1" || q.Where["status"] != "已受理" || q.Where["kind"] != "意见建议" || !q.Newest {
		t.Fatalf("%+v %v", q, err)
	}
	for _, bad := range []string{"", "nope", "complaints author:x", "complaints status:", "complaints status"} {
		if _, err := parseListQuery(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestScoreSurvey(t *testing.T) {
	t.Parallel()
	qs := []question{{"a", "甲"}, {"b", "乙"}}
	scores, avg, err := scoreSurvey(qs, url.Values{"q.a": {"5"}, "q.b": {"4"}})
	if err != nil || avg != 4.5 || scores["a"] != 5 {
		t.Fatalf("%v %v %v", scores, avg, err)
	}
	for _, v := range []url.Values{{"q.a": {"5"}}, {"q.a": {"5"}, "q.b": {"x"}}, {"q.a": {"5"}, "q.b": {"4"}, "q.c": {"3"}}} {
		if _, _, err := scoreSurvey(qs, v); err == nil {
			t.Errorf("%v accepted", v)
		}
	}
}

func TestTokenOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"tok1": "tok1", " tok1 ": "tok1", "http://city.test/c/tok1": "tok1",
		"https://x/c/tok1/merchant?q=1": "tok1"} {
		if got := tokenOf(in); got != want {
			t.Errorf("tokenOf(%q) = %q", in, got)
		}
	}
}

func TestHandoffSignature(t *testing.T) {
	t.Parallel()
	a := signHandoffs("secret-0123456789", []byte(`{"items":[]}`), 1700000000000, "n0123456789abcdef")
	if len(a) != 64 || a != signHandoffs("secret-0123456789", []byte(`{"items":[]}`), 1700000000000, "n0123456789abcdef") {
		t.Fatalf("signature %q", a)
	}
	for _, b := range []string{
		signHandoffs("secret-0123456780", []byte(`{"items":[]}`), 1700000000000, "n0123456789abcdef"),
		signHandoffs("secret-0123456789", []byte(`{"items":[1]}`), 1700000000000, "n0123456789abcdef"),
		signHandoffs("secret-0123456789", []byte(`{"items":[]}`), 1700000000001, "n0123456789abcdef"),
		signHandoffs("secret-0123456789", []byte(`{"items":[]}`), 1700000000000, "n0123456789abcdeg"),
	} {
		if b == a {
			t.Error("the signature does not cover every input")
		}
	}
}
