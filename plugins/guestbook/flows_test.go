package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// bench drives the handler as the host would, against the sdk's fake host
// with the manifest declared: requests are filled from plugin.json's
// routes, with the visitor and code of the test.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	routes map[string]plugin.Route
}

var (
	tourist = plugin.Visitor{Tourist: true}
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*"}
	codeA   = plugin.Code{Token: "tok-a-0001", Kind: "object", Status: "active", Attributes: json.RawMessage(`{"name":"滨江步道 3 号"}`)}
	codeB   = plugin.Code{Token: "tok-b-0002", Kind: "object", Status: "active", Name: "演示设施 2 号"}
)

func newBench(t *testing.T) *bench {
	m := plugintest.Manifest(t)
	b := &bench{t: t, host: plugintest.NewFakeHost().Declare(m), now: time.Date(2026, 5, 10, 9, 0, 0, 0, cst),
		routes: map[string]plugin.Route{}}
	// Every call a minute later: records sort by creation.
	b.host.Clock = func() time.Time { b.now = b.now.Add(time.Minute); return b.now }
	for _, r := range m.Routes {
		b.routes[r.Name] = r
	}
	return b
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	return handler{now: func() time.Time { return b.now }}.Handle(context.Background(), b.host.Host(req.ID), req)
}

// post sends a form to an action route of a code.
func (b *bench) post(route string, code plugin.Code, v plugin.Visitor, query string, form url.Values) (*plugin.Response, error) {
	b.t.Helper()
	r := b.routes[route]
	q, _ := url.ParseQuery(query)
	return b.handle(&plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: q,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: []byte(form.Encode()),
		Code: &code, Visitor: v, BaseURL: "http://city.test/c/" + code.Token})
}

// landing answers the landing page of a code.
func (b *bench) landing(code plugin.Code) string {
	b.t.Helper()
	resp, err := b.handle(&plugin.Request{ID: "q1", Route: "home", Kind: plugin.Landing, Method: "GET", Path: "/", Code: &code,
		Visitor: tourist, BaseURL: "http://city.test/c/" + code.Token})
	if err != nil || resp.Status != 200 {
		b.t.Fatalf("landing: %v", err)
	}
	return string(resp.Body)
}

// admin calls an admin route as the console does.
func (b *bench) admin(route, query, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	q, _ := url.ParseQuery(query)
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: q, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), Visitor: tourist,
		Operator: &plugin.Operator{Account: "staff1", PlatformID: "P0001"}})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("%s answered %s", route, resp.Body)
	}
	return out, nil
}

func (b *bench) mustAdmin(route, query, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin(route, query, body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", route, query, err)
	}
	return out
}

// message posts a message as a tourist and answers its id; published
// says whether the staff publish it.
func (b *bench) message(code plugin.Code, content string, published bool) string {
	b.t.Helper()
	resp, err := b.post("post", code, tourist, "", url.Values{"content": {content}})
	if err != nil {
		b.t.Fatal(err)
	}
	id := between(string(resp.Body), `<span id="message-id">`, "<")
	if published {
		b.mustAdmin("admin-review", "", `{"id":"`+id+`","approve":true}`)
	}
	return id
}

// comment posts a comment and answers its id.
func (b *bench) comment(code plugin.Code, v plugin.Visitor, message, content string) (string, error) {
	b.t.Helper()
	resp, err := b.post("comment", code, v, "id="+message, url.Values{"content": {content}})
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusCreated {
		b.t.Fatalf("comment answered %d", resp.Status)
	}
	return between(string(resp.Body), `<span id="comment-id">`, "<"), nil
}

func (b *bench) doc(collection, id string, v any) {
	b.t.Helper()
	rec, ok := b.host.Record(collection, id)
	if !ok {
		b.t.Fatalf("no %s %s", collection, id)
	}
	if err := json.Unmarshal(rec.Doc, v); err != nil {
		b.t.Fatal(err)
	}
}

// A comment: refused with nothing stored on a message that is not
// published or of another code, and on bad input; held for review, from a
// tourist too; shown once published, counted on the message, audited,
// reviewed once.
func TestCommentFlow(t *testing.T) {
	b := newBench(t)
	msg := b.message(codeA, "步道的路灯晚上不亮。", true)
	pending := b.message(codeA, "还没审核的留言", false)
	other := b.message(codeB, "另一个码的留言", true)

	for _, tc := range []struct {
		name        string
		code        plugin.Code
		query, text string
		want        string
	}{
		{"pending message", codeA, "id=" + pending, "好", plugin.ErrNotFound},
		{"another code's message", codeA, "id=" + other, "好", plugin.ErrNotFound},
		{"unknown message", codeA, "id=r0000000000", "好", plugin.ErrNotFound},
		{"no message", codeA, "", "好", "MissingParameter"},
		{"bad id", codeA, "id=a:b", "好", plugin.ErrInvalid},
		{"empty", codeA, "id=" + msg, "  ", "MissingParameter"},
		{"too long", codeA, "id=" + msg, strings.Repeat("长", 201), plugin.ErrInvalid},
		{"NUL", codeA, "id=" + msg, "a\x00b", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.post("comment", tc.code, tourist, tc.query, url.Values{"content": {tc.text}})
			wantCode(t, err, tc.want)
		})
	}
	if _, err := b.post("comment", codeA, tourist, "id="+msg, url.Values{"content": {"好"}, "author": {"v1"}}); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("hidden field: %v", err)
	}
	if n := len(b.host.Records("comments")); n != 0 {
		t.Fatalf("%d comments stored by refusals", n)
	}

	first, err := b.comment(codeA, tourist, msg, "同感，昨晚也是黑的。")
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.comment(codeA, citizen, msg, "已经打过热线了")
	if err != nil {
		t.Fatal(err)
	}
	var cm comment
	if b.doc("comments", first, &cm); cm.Status != statusPending || cm.Message != msg || cm.Author != "" || cm.Point != "滨江步道 3 号" {
		t.Fatalf("tourist's comment: %+v", cm)
	}
	if b.doc("comments", second, &cm); cm.Author != citizen.Pseudonym || cm.AuthorName != "张*" {
		t.Fatalf("citizen's comment: %+v", cm)
	}
	if len(b.host.Events) != 5 || b.host.Events[4].Name != "comment.posted" {
		t.Fatalf("events: %+v", b.host.Events)
	}
	if page := b.landing(codeA); strings.Contains(page, "同感") || !strings.Contains(page, `action="http://city.test/c/tok-a-0001/comment?id=`+msg+`"`) {
		t.Fatalf("landing before review: %s", page)
	}

	// Only operators review: a page's request naming the admin route is refused.
	r := b.routes["admin-comment-review"]
	_, err = b.handle(&plugin.Request{ID: "q1", Route: r.Name, Kind: plugin.Action, Method: "POST", Path: r.Path, Code: &codeA,
		Visitor: citizen, Body: []byte(`{"id":"` + first + `","approve":true}`)})
	wantCode(t, err, "UnauthorizedOperation")

	// The staff's queue of comments, and the decisions.
	list := b.mustAdmin("admin-comments", "", "")
	items, _ := list["items"].([]any)
	if list["total"] != 2.0 || items[0].(map[string]any)["id"] != first || items[0].(map[string]any)["message"] != msg ||
		items[1].(map[string]any)["authorName"] != "张*" {
		t.Fatalf("comment queue: %v", list)
	}
	if out := b.mustAdmin("admin-comment-review", "", `{"id":"`+first+`","approve":true}`); out["status"] != statusPublished {
		t.Fatalf("publish: %v", out)
	}
	_, err = b.admin("admin-comment-review", "", `{"id":"`+second+`","approve":false}`)
	wantCode(t, err, "MissingParameter")
	b.mustAdmin("admin-comment-review", "", `{"id":"`+second+`","approve":false,"reason":"含个人信息"}`)
	_, err = b.admin("admin-comment-review", "", `{"id":"`+first+`","approve":false,"reason":"x"}`)
	if wantCode(t, err, "FailedOperation.AlreadyReviewed"); !strings.Contains(err.Error(), "该评论已审核（已发布）") {
		t.Fatal(err)
	}
	// A message id is not a comment's.
	_, err = b.admin("admin-comment-review", "", `{"id":"`+pending+`","approve":true}`)
	wantCode(t, err, plugin.ErrNotFound)
	last := b.host.Audits[len(b.host.Audits)-2:]
	if last[0].Action != "comment.publish" || last[0].Target != "comment:"+first || last[1].Action != "comment.reject" {
		t.Fatalf("audits: %+v", last)
	}
	var m message
	if b.doc("messages", msg, &m); m.Comments != 1 || m.Status != statusPublished {
		t.Fatalf("message after review: %+v", m)
	}

	page := b.landing(codeA)
	item := between(page, `<li id="m-`+msg+`">`, "</li>")
	if !strings.Contains(item, "同感，昨晚也是黑的。") || strings.Contains(page, "已经打过热线了") ||
		!strings.Contains(item, `评论（<span class="comment-total">1</span>）`) || !strings.Contains(item, `<div id="c-`+first+`">`) {
		t.Fatalf("landing after review: %s", page)
	}
	if page := b.landing(codeB); strings.Contains(page, "同感") {
		t.Fatalf("another code shows the comment: %s", page)
	}
	if list := b.mustAdmin("admin-comments", "status=全部&message="+msg, ""); list["total"] != 2.0 {
		t.Fatalf("comments of the message: %v", list)
	}
	if list := b.mustAdmin("admin-comments", "status=已拒绝&keyword=热线", ""); list["total"] != 1.0 {
		t.Fatalf("rejected comments with a keyword: %v", list)
	}
}

// The landing page shows a message's latest 20 published comments, oldest
// first, with the count of all.
func TestLandingBoundsComments(t *testing.T) {
	b := newBench(t)
	msg := b.message(codeA, "欢迎评论", true)
	for i := 1; i <= 25; i++ {
		id, err := b.comment(codeA, tourist, msg, "评论"+strconv.Itoa(i)+"号")
		if err != nil {
			t.Fatal(err)
		}
		b.mustAdmin("admin-comment-review", "", `{"id":"`+id+`","approve":true}`)
	}
	var m message
	if b.doc("messages", msg, &m); m.Comments != 25 {
		t.Fatalf("count %d", m.Comments)
	}
	page := b.landing(codeA)
	if strings.Contains(page, "评论5号") || !strings.Contains(page, "评论（<span class=\"comment-total\">25</span>），显示最新 20 条") {
		t.Fatalf("bounds: %s", page)
	}
	if i, j := strings.Index(page, "评论6号"), strings.Index(page, "评论25号"); i < 0 || j < i {
		t.Fatalf("order: %d %d", i, j)
	}
}

// A like landing between reading a message and counting a published
// comment on it is kept: the count is retried on the new version.
func TestCommentCountRace(t *testing.T) {
	b := newBench(t)
	msg := b.message(codeA, "留言", true)
	id, err := b.comment(codeA, tourist, msg, "评论")
	if err != nil {
		t.Fatal(err)
	}
	b.host.BeforePut = func(p plugin.Record) {
		if p.Collection != "messages" {
			return
		}
		b.host.BeforePut = nil
		rec, _ := b.host.Record("messages", msg)
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		m.Likes++
		rec.Doc, _ = json.Marshal(m)
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			t.Error(err)
		}
	}
	b.mustAdmin("admin-comment-review", "", `{"id":"`+id+`","approve":true}`)
	var m message
	if b.doc("messages", msg, &m); m.Likes != 1 || m.Comments != 1 {
		t.Fatalf("counts: %+v", m)
	}
}

// The admin list: q still takes the status; status, code, dates and
// keywords filter; a keyword search reads at most maxScan records and
// says so.
func TestListMessages(t *testing.T) {
	b := newBench(t)
	lamp := b.message(codeA, "路灯不亮", true)
	b.message(codeA, "长椅坏了", false)
	b.message(codeB, "路灯闪烁", false)
	ids := func(out map[string]any) string {
		var s []string
		for _, it := range out["items"].([]any) {
			s = append(s, it.(map[string]any)["content"].(string))
		}
		return strings.Join(s, "|")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "长椅坏了|路灯闪烁"},
		{"q=已发布", "路灯不亮"},
		{"status=全部&keyword=路灯", "路灯闪烁|路灯不亮"},
		{"status=全部&keyword=路灯&code=http://city.test/c/" + codeA.Token, "路灯不亮"},
		{"status=全部&keyword=滨江", "长椅坏了|路灯不亮"}, // the point is searched too
		{"q=全部&keyword=路灯+闪烁", "路灯闪烁"},
		{"status=全部&from=2026-05-11", ""},
		{"status=全部&from=2026-05-10&to=2026-05-10&pageSize=1&pageNo=2", "长椅坏了"},
		{"status=全部&keyword=路灯&pageSize=1&pageNo=2", "路灯不亮"},
	} {
		out := b.mustAdmin("admin-messages", tc.query, "")
		if got := ids(out); got != tc.want || out["truncated"] != false {
			t.Errorf("%s: %s, want %s (%v)", tc.query, got, tc.want, out)
		}
	}
	if out := b.mustAdmin("admin-messages", "status=全部&keyword=路灯&pageSize=1", ""); out["total"] != 2.0 {
		t.Errorf("total of a keyword search: %v", out)
	}
	if _, err := b.admin("admin-messages", "q=待审核&status=已发布", ""); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Errorf("q and status disagreeing: %v", err)
	}

	// Past maxScan a keyword search stops and says so.
	ctx := context.Background()
	for i := range maxScan + 10 {
		doc, _ := json.Marshal(message{Point: "p", Content: "旧留言 " + strconv.Itoa(i), Status: statusPublished})
		if _, err := b.host.Host("q9").PutRecord(ctx, plugin.Record{Collection: "messages", CodeToken: codeA.Token, Doc: doc}); err != nil {
			t.Fatal(err)
		}
	}
	out := b.mustAdmin("admin-messages", "status=已发布&keyword=路灯", "")
	if out["truncated"] != true || !strings.Contains(out["notice"].(string), "5000") || out["total"] != 0.0 {
		t.Fatalf("truncated search: %v", out)
	}
	// The newest are read first: the lamp message, the oldest, is past the bound.
	if out := b.mustAdmin("admin-messages", "status=已发布&keyword=路灯&to=2026-05-10", ""); out["truncated"] != false || out["total"] != 1.0 ||
		out["items"].([]any)[0].(map[string]any)["id"] != lamp {
		t.Fatalf("narrowed search: %v", out)
	}
}
