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

// The manifest and the route registry agree: reading and posting are open
// to tourists, liking needs a login, the operator routes are the admin
// ones; authors and likers are personal data.
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
	if routes["like"].access != login {
		t.Error("likes must need a login")
	}
	if routes["comment"].access != anyone {
		t.Error("comments follow messages: tourists may comment, everything waits for review")
	}
	if m.Runtime != plugin.WASM || m.Entry != "guestbook.wasm" {
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
	if !personal["messages.author"] || !personal["messages.authorName"] || !personal["likes.visitor"] || personal["messages.content"] ||
		!personal["comments.author"] || !personal["comments.authorName"] || personal["comments.content"] || personal["comments.message"] {
		t.Errorf("personal fields %v", personal)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != defaultTitle || c.Notice != defaultNotice {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if c, err = loadConfig(json.RawMessage(`{"title":"社区留言"}`)); err != nil || c.Title != "社区留言" || c.Notice != defaultNotice {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if _, err := loadConfig(json.RawMessage(`{"title":3}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestCheckMessage(t *testing.T) {
	if s, err := checkMessage(url.Values{"content": {"  路灯不亮了\n请尽快修理  "}}); err != nil || s != "路灯不亮了\n请尽快修理" {
		t.Fatalf("%q %v", s, err)
	}
	if _, err := checkMessage(url.Values{"content": {strings.Repeat("字", 500)}}); err != nil {
		t.Fatalf("500 characters: %v", err)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"none", url.Values{}, "MissingParameter", "请填写留言内容"},
		{"blank", url.Values{"content": {" \n "}}, "MissingParameter", "请填写留言内容"},
		{"too long", url.Values{"content": {strings.Repeat("字", 501)}}, plugin.ErrInvalid, "不能超过 500 个字"},
		{"twice", url.Values{"content": {"a", "b"}}, plugin.ErrInvalid, "只能填写一次"},
		{"unknown field", url.Values{"content": {"a"}, "token": {"x"}}, plugin.ErrInvalid, "未知的表单字段：token"},
		{"NUL", url.Values{"content": {"a\x00b"}}, plugin.ErrInvalid, "无效字符"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkMessage(tc.form)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

// Comments are checked as messages, within 200 characters, and named
// 评论 in the refusals.
func TestCheckComment(t *testing.T) {
	if s, err := checkContent(url.Values{"content": {" " + strings.Repeat("评", 200) + " "}}, maxComment, "评论"); err != nil || len([]rune(s)) != 200 {
		t.Fatalf("200 characters: %v", err)
	}
	_, err := checkContent(url.Values{"content": {strings.Repeat("评", 201)}}, maxComment, "评论")
	if wantCode(t, err, plugin.ErrInvalid); !strings.Contains(err.Error(), "评论不能超过 200 个字") {
		t.Fatal(err)
	}
	_, err = checkContent(url.Values{}, maxComment, "评论")
	if wantCode(t, err, "MissingParameter"); !strings.Contains(err.Error(), "请填写评论内容") {
		t.Fatal(err)
	}
}

func TestParseFilter(t *testing.T) {
	req := func(q string) *plugin.Request {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return &plugin.Request{Query: v}
	}
	f, err := parseFilter(req(""), "messages")
	if err != nil || f.status != statusPending || f.query.Newest || f.query.Where["status"] != statusPending || len(f.keywords) != 0 {
		t.Fatalf("default: %+v %v", f, err)
	}
	// q is the older name of status.
	if f, err = parseFilter(req("q=已发布"), "messages"); err != nil || f.status != statusPublished || !f.query.Newest {
		t.Fatalf("q: %+v %v", f, err)
	}
	f, err = parseFilter(req("status=全部&q=全部&keyword=+路灯++Wifi+&code=http://city.test/c/tok-1%3Fx&from=2026-05-01&to=2026-05-31"), "comments")
	if err != nil || f.query.Collection != "comments" || f.query.Where != nil || f.query.CodeToken != "tok-1" ||
		strings.Join(f.keywords, "|") != "路灯|wifi" || !f.query.From.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, cst)) ||
		!f.query.To.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, cst)) {
		t.Fatalf("every filter: %+v %v", f, err)
	}
	if !f.matches("路灯不亮，WiFi 也断了") || f.matches("路灯不亮") {
		t.Fatal("every keyword must be contained, in any case")
	}
	for _, q := range []string{"q=待审核&status=已发布", "status=草稿", "q=路灯", "code=a/b", "code=abc", "from=2026-5-1",
		"to=昨天", "from=2026-05-02&to=2026-05-01", "keyword=" + strings.Repeat("词", 51), "keyword=a+b+c+d+e+f", "keyword=a%00b",
		"keyword=a%1Bb"} {
		if _, err := parseFilter(req(q), "messages"); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%s: %v", q, err)
		}
	}
	// A single day is from and to the same date.
	if _, err := parseFilter(req("from=2026-05-01&to=2026-05-01"), "messages"); err != nil {
		t.Fatal(err)
	}
}

func TestReadDecision(t *testing.T) {
	for _, tc := range []struct {
		name, body, code string
	}{
		{"publish", `{"id":"r1","approve":true}`, ""},
		{"reject with a reason", `{"id":"r1","approve":false,"reason":"含广告"}`, ""},
		{"reject without a reason", `{"id":"r1","approve":false}`, "MissingParameter"},
		{"no approve", `{"id":"r1"}`, "MissingParameter"},
		{"no id", `{"approve":true}`, "MissingParameter"},
		{"bad id", `{"id":"a:b","approve":true}`, plugin.ErrInvalid},
		{"long reason", `{"id":"r1","approve":false,"reason":"` + strings.Repeat("长", 501) + `"}`, plugin.ErrInvalid},
		{"unknown field", `{"id":"r1","approve":true,"x":1}`, plugin.ErrInvalid},
		{"not JSON", `approve`, plugin.ErrInvalid},
		{"NUL in the reason", `{"id":"r1","approve":false,"reason":"a\u0000b"}`, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readDecision([]byte(tc.body), "评论")
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

// A like's id fits the host's record ids (at most 64 of A-Z a-z 0-9 _ . :
// -) for the host's message ids and pseudonyms, and message ids cannot
// forge one: they hold no ':'.
func TestLikeID(t *testing.T) {
	id := likeID("r0193a1b2c3d4e5f60718293a4b5c6d7e", "v0123456789abcdef01234567")
	if len(id) > 64 || strings.Count(id, ":") != 1 {
		t.Fatalf("like id %q", id)
	}
	if idRe.MatchString("r1:v2") || !idRe.MatchString("r0193a1b2c3d4e5f60718293a4b5c6d7e") {
		t.Fatal("message ids")
	}
}

func TestPointName(t *testing.T) {
	if got := pointName(&plugin.Code{Attributes: json.RawMessage(`{"name":"滨江步道 3 号"}`), Name: "x"}); got != "滨江步道 3 号" {
		t.Error(got)
	}
	if got := pointName(&plugin.Code{Name: "演示设施"}); got != "演示设施" {
		t.Error(got)
	}
	if got := pointName(&plugin.Code{}); got != "本码" {
		t.Error(got)
	}
}
