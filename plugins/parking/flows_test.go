package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// These tests drive the handler as the host would, over the sdk's fake
// host (no database, no build): every flow, and the races the real host
// does not easily provoke.

// bench fills Requests from the manifest's routes, with the visitor and
// code of the test.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	code   plugin.Code
	routes map[string]plugin.Route
}

var (
	tourist = plugin.Visitor{Tourist: true}
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*", Mobile: "139****0002"}
	other   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

const pngData = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-lot-1", Kind: "object", Number: 100000001, Status: "active", Attributes: json.RawMessage(`{"name":"人民广场停车库"}`)}
	b.host.SetObject(b.code)
	b.host.SetObject(plugin.Code{Token: "tok-lot-2", Attributes: json.RawMessage(`{"name":"南京东路停车场"}`)})
	return b
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), b.host.Host(req.ID), req)
}

// call serves a citizen route of the bench's code.
func (b *bench) call(route string, v plugin.Visitor, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	code := b.code
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Header: map[string]string{},
		Body: body, PlatformID: "P0001", Code: &code, Visitor: v, Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	if ctype != "" {
		req.Header["Content-Type"] = ctype
	}
	return b.handle(req)
}

func (b *bench) page(route string, v plugin.Visitor) string {
	b.t.Helper()
	resp, err := b.call(route, v, "", nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(resp.Body)
}

// feedback posts the feedback form as multipart, with a photo when given.
func (b *bench) feedback(v plugin.Visitor, fields url.Values, photo string) (*plugin.Response, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, s := range vs {
			_ = w.WriteField(k, s)
		}
	}
	if photo != "" {
		fw, _ := w.CreateFormFile("photo", "IMG_0001.HEIC")
		_, _ = fw.Write([]byte(photo))
	}
	_ = w.Close()
	return b.call("feedback", v, w.FormDataContentType(), buf.Bytes())
}

func (b *bench) submit(v plugin.Visitor, fields url.Values) string {
	b.t.Helper()
	resp, err := b.feedback(v, fields, "")
	if err != nil || resp.Status != 201 {
		b.t.Fatalf("feedback: %v %v", resp, err)
	}
	return between(string(resp.Body), `<span id="feedback-id">`, "<")
}

// admin calls an admin route as the console does: no code, the operator
// named, JSON in and out.
func (b *bench) admin(route string, query url.Values, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	if r.Kind != plugin.Admin {
		b.t.Fatalf("%s is not an admin route", route)
	}
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: query, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: "staff1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

func (b *bench) must(route string, query url.Values, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin(route, query, body)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	return out
}

func (b *bench) count(collection string) int { return len(b.host.Records(collection)) }

func (b *bench) actions() []string {
	var out []string
	for _, a := range b.host.Audits {
		out = append(out, a.Action)
	}
	return out
}

func lotBody(code string, version int64, total, remaining int) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(goodLot), &m)
	m["code"], m["totalSpaces"] = code, total
	if version > 0 {
		m["version"] = version
	}
	if remaining >= 0 {
		m["remainingSpaces"] = remaining
	} else {
		delete(m, "remainingSpaces")
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func contains(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Fatalf("page: %s", page)
	}
}

func TestGuideOnTheLandingPage(t *testing.T) {
	b := newBench(t, `{"staleMinutes":10}`)
	contains(t, b.page("home", tourist), `<h1>人民广场停车库</h1>`, `id="no-lot"`, "暂无停车信息", `href="http://city.test/c/tok-lot-1/feedback"`,
		"登录城市码 App 扫码反馈", `name="viewport"`)

	// A guide without a count, and bare optional fields.
	b.must("admin-lot-set", nil, `{"code":"tok-lot-1","name":"人民广场地下停车库","address":"人民大道 200 号","fees":{"firstHour":0,"nextHour":0},"totalSpaces":50}`)
	contains(t, b.page("home", tourist), `<h1>人民广场地下停车库</h1>`, `<p>共 50 个车位</p>`, `id="no-spaces">暂无实时剩余车位信息`,
		`<dt>开放时间</dt><dd class="muted">暂无</dd>`, `<dt>联系电话</dt><dd class="muted">暂无</dd>`, "<li>免费停车</li>")

	// The full guide.
	out := b.must("admin-lot", url.Values{"q": {"http://city.test/c/tok-lot-1"}}, "")
	b.must("admin-lot-set", nil, lotBody("tok-lot-1", int64(out["version"].(float64)), 300, 120))
	contains(t, b.page("home", tourist), "<dd>黄浦区人民大道 200 号</dd>", `<dd id="coords">121.4737, 31.2304</dd>`, "<dd>全天</dd>",
		"<dd>最长停放 72 小时</dd>", "<li>西藏中路入口</li><li>武胜路出口</li>", "<dd>021-63000000</dd>",
		`<span class="big" id="remaining">120</span> / 共 300 个`, "更新于 09:30", "<li>15 分钟内免费</li>",
		"<li>首小时 15 元，之后每小时 10 元</li>", "<li>每日最高 120 元</li>", "新能源车首小时半价")

	// The count grows old, then the lot fills up.
	b.now = b.now.Add(11 * time.Minute)
	contains(t, b.page("home", tourist), `id="stale">（超过 10 分钟未更新，仅供参考）`)
	b.must("admin-spaces", nil, `{"code":"tok-lot-1","remaining":0}`)
	page := b.page("home", tourist)
	contains(t, page, `<span class="big warn" id="remaining">0</span>`, "（已满）", "更新于 09:41")
	if strings.Contains(page, `id="stale"`) {
		t.Fatal("a fresh count is flagged stale")
	}
	// Another code's page knows nothing of this guide.
	b.code = plugin.Code{Token: "tok-lot-2", Kind: "object", Status: "active", Attributes: json.RawMessage(`{"name":"南京东路停车场"}`)}
	contains(t, b.page("home", tourist), `<h1>南京东路停车场</h1>`, `id="no-lot"`)
}

func TestLotSettingsAndVersions(t *testing.T) {
	b := newBench(t, "")
	// Invalid guides are refused with nothing stored.
	for _, body := range []string{lotBody("tok-lot-1", 0, 100, 101), strings.Replace(lotBody("tok-lot-1", 0, 300, 10), `"firstHour":15`, `"firstHour":-1`, 1),
		lotBody("", 0, 300, 10), lotBody("tok-nope", 0, 300, 10), `{"code":"tok-lot-1","name":"x","hack":true}`} {
		if _, err := b.admin("admin-lot-set", nil, body); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
	_, err := b.admin("admin-lot-set", nil, lotBody("tok-nope", 0, 300, 10))
	wantCode(t, err, plugin.ErrNotFound)
	if b.count("lots")+b.count("spaces") != 0 || len(b.host.Audits) != 0 {
		t.Fatalf("refused guides stored %d lots, %d spaces, %d audits", b.count("lots"), b.count("spaces"), len(b.host.Audits))
	}

	out := b.must("admin-lot-set", nil, lotBody("http://city.test/c/tok-lot-1", 0, 300, 120))
	if out["version"] != 1.0 || out["code"] != "tok-lot-1" || out["spaces"].(map[string]any)["remaining"] != 120.0 {
		t.Fatalf("created %v", out)
	}
	// A second create, a stale version and a version of nothing are
	// conflicts; the guide is unchanged.
	_, err = b.admin("admin-lot-set", nil, lotBody("tok-lot-1", 0, 200, 10))
	wantCode(t, err, "FailedOperation.VersionConflict")
	_, err = b.admin("admin-lot-set", nil, lotBody("tok-lot-1", 7, 200, 10))
	wantCode(t, err, "FailedOperation.VersionConflict")
	_, err = b.admin("admin-lot-set", nil, lotBody("tok-lot-2", 1, 200, 10))
	wantCode(t, err, plugin.ErrNotFound)
	// A smaller total than the current count needs a count.
	_, err = b.admin("admin-lot-set", nil, lotBody("tok-lot-1", 1, 100, -1))
	wantCode(t, err, plugin.ErrInvalid)
	if got := b.must("admin-lot", url.Values{"code": {"tok-lot-1"}}, ""); got["version"] != 1.0 || got["lot"].(map[string]any)["totalSpaces"] != 300.0 {
		t.Fatalf("after refusals %v", got)
	}
	out = b.must("admin-lot-set", nil, lotBody("tok-lot-1", 1, 100, 80))
	if out["version"] != 2.0 || out["spaces"].(map[string]any)["total"] != 100.0 || out["spaces"].(map[string]any)["remaining"] != 80.0 {
		t.Fatalf("updated %v", out)
	}
	// Without a count, the stored one stays.
	out = b.must("admin-lot-set", nil, lotBody("tok-lot-1", 2, 90, -1))
	if s := out["spaces"].(map[string]any); s["total"] != 90.0 || s["remaining"] != 80.0 {
		t.Fatalf("kept count %v", out)
	}
	if got := strings.Join(b.actions(), ","); got != "lot.create,lot.update,lot.update" {
		t.Fatalf("audits %s", got)
	}
	if a := b.host.Audits[0]; a.Target != "lot:tok-lot-1" || !strings.Contains(string(a.Detail), `"operator":"staff1"`) {
		t.Fatalf("audit %+v", a)
	}
}

func TestRemainingSpaces(t *testing.T) {
	b := newBench(t, "")
	_, err := b.admin("admin-spaces", nil, `{"code":"tok-lot-1","remaining":3}`)
	wantCode(t, err, plugin.ErrNotFound)
	b.must("admin-lot-set", nil, lotBody("tok-lot-1", 0, 300, -1))
	audits := len(b.host.Audits)

	out := b.must("admin-spaces", nil, `{"code":"tok-lot-1","remaining":42,"at":"2026-11-03T09:29:00+08:00"}`)
	if out["applied"] != true || out["remaining"] != 42.0 || out["version"] != 2.0 || out["updatedAt"] != "2026-11-03T09:29:00+08:00" {
		t.Fatalf("count %v", out)
	}
	// The same call again, and an older count delivered late: no write.
	for _, body := range []string{`{"code":"tok-lot-1","remaining":42,"at":"2026-11-03T09:29:00+08:00"}`, `{"code":"tok-lot-1","remaining":7,"at":"2026-11-03T09:28:00+08:00"}`} {
		if out = b.must("admin-spaces", nil, body); out["applied"] != false || out["remaining"] != 42.0 || out["version"] != 2.0 {
			t.Fatalf("repeat %s: %v", body, out)
		}
	}
	// The same count later refreshes its time, unaudited.
	if out = b.must("admin-spaces", nil, `{"code":"tok-lot-1","remaining":42}`); out["applied"] != true || out["updatedAt"] != "2026-11-03T09:30:00+08:00" {
		t.Fatalf("refresh %v", out)
	}
	if len(b.host.Audits) != audits+1 {
		t.Fatalf("%d audits for one change", len(b.host.Audits)-audits)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"code":"tok-lot-1","remaining":301}`, plugin.ErrInvalid},
		{`{"code":"tok-lot-1","remaining":-2}`, plugin.ErrInvalid},
		{`{"code":"tok-lot-1","remaining":5,"version":1}`, "FailedOperation.VersionConflict"},
		{`{"code":"tok-lot-2","remaining":5}`, plugin.ErrNotFound},
		{`{"code":"tok-lot-1","remaining":"5"}`, plugin.ErrInvalid},
	} {
		_, err := b.admin("admin-spaces", nil, tc.body)
		wantCode(t, err, tc.code)
	}
	// The car park's system writing at the same moment: without a version
	// the count retries; with one it is refused.
	race := func() {
		b.host.BeforePut = func(p plugin.Record) {
			b.host.BeforePut = nil
			rec, _ := b.host.Record("spaces", p.ID)
			if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	race()
	if out = b.must("admin-spaces", nil, `{"code":"tok-lot-1","remaining":40}`); out["applied"] != true || out["remaining"] != 40.0 {
		t.Fatalf("retried %v", out)
	}
	race()
	_, err = b.admin("admin-spaces", nil, `{"code":"tok-lot-1","remaining":39,"version":`+string(mustJSON(out["version"]))+`}`)
	wantCode(t, err, "FailedOperation.VersionConflict")
	if rec, _ := b.host.Record("spaces", lotID("tok-lot-1")); !strings.Contains(string(rec.Doc), `"remaining":40`) {
		t.Fatalf("stored %s", rec.Doc)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestComponents(t *testing.T) {
	b := newBench(t, "")
	add := `{"code":"tok-lot-1","name":"1 号入口道闸","kind":"入口设备","location":"西藏中路入口"}`
	out, err := b.admin("admin-component-add", nil, add)
	if err != nil || out["state"] != "正常" || out["lot"] != "人民广场停车库" || out["version"] != 1.0 {
		t.Fatalf("add %v %v", out, err)
	}
	id := out["id"].(string)
	b.must("admin-component-add", nil, `{"code":"tok-lot-2","name":"缴费机","kind":"支付终端"}`)
	for _, body := range []string{`{"code":"tok-lot-1","name":"x","kind":"火箭"}`, `{"code":"tok-lot-1","kind":"入口设备"}`,
		`{"code":"tok-nope","name":"x","kind":"入口设备"}`, `{"id":"r1","code":"tok-lot-1","name":"x","kind":"入口设备"}`} {
		if _, err := b.admin("admin-component-add", nil, body); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
	if list := b.must("admin-components", url.Values{"code": {"tok-lot-1"}}, ""); list["total"] != 1.0 {
		t.Fatalf("list %v", list)
	}
	if list := b.must("admin-components", nil, ""); list["total"] != 2.0 {
		t.Fatalf("all %v", list)
	}
	set := func(code string, version int, state string) (map[string]any, error) {
		return b.admin("admin-component-set", nil, `{"id":"`+id+`","code":"`+code+`","version":`+string(mustJSON(version))+
			`,"name":"1 号入口道闸","kind":"入口设备","state":"`+state+`"}`)
	}
	_, err = set("tok-lot-2", 1, "故障") // another car park's id
	wantCode(t, err, plugin.ErrNotFound)
	_, err = set("tok-lot-1", 0, "故障")
	wantCode(t, err, "MissingParameter")
	if out, err = set("tok-lot-1", 1, "故障"); err != nil || out["state"] != "故障" || out["version"] != 2.0 {
		t.Fatalf("update %v %v", out, err)
	}
	_, err = set("tok-lot-1", 1, "正常")
	wantCode(t, err, "FailedOperation.VersionConflict")
	_, err = b.admin("admin-component-delete", nil, `{"id":"`+id+`","code":"tok-lot-2"}`)
	wantCode(t, err, plugin.ErrNotFound)
	_, err = b.admin("admin-component-delete", nil, `{"id":"`+id+`","code":"tok-lot-1","name":"x"}`)
	wantCode(t, err, plugin.ErrInvalid)
	if out = b.must("admin-component-delete", nil, `{"id":"`+id+`","code":"tok-lot-1","version":2}`); out["deleted"] != true || b.count("components") != 1 {
		t.Fatalf("delete %v", out)
	}
	if got := strings.Join(b.actions(), ","); got != "component.add,component.add,component.update,component.delete" {
		t.Fatalf("audits %s", got)
	}
}

func TestFeedbackFlow(t *testing.T) {
	b := newBench(t, "")
	b.host.Visitor = plugin.VisitorDetails{Visitor: citizen}
	contains(t, b.page("feedback-form", tourist), `<option value="收费">收费</option>`, "游客匿名反馈", `enctype="multipart/form-data"`)
	contains(t, b.page("feedback-form", citizen), `<span id="who-name">张*</span>（<span id="who-mobile">139****0002</span>）`, `name="anonymous"`)

	// Bad input: refused, nothing stored.
	for _, tc := range []struct {
		fields url.Values
		photo  string
		code   string
	}{
		{url.Values{"kind": {"收费"}}, "", "MissingParameter"},
		{url.Values{"kind": {"排队"}, "content": {"x"}}, "", plugin.ErrInvalid},
		{url.Values{"kind": {"收费"}, "content": {strings.Repeat("长", 501)}}, "", plugin.ErrInvalid},
		{url.Values{"kind": {"收费"}, "content": {"x"}, "mobile": {"13800000000"}}, "", plugin.ErrInvalid},
		{url.Values{"kind": {"收费"}, "content": {"x"}}, "not an image", plugin.ErrInvalid},
	} {
		_, err := b.feedback(citizen, tc.fields, tc.photo)
		wantCode(t, err, tc.code)
	}
	if b.count("feedback") != 0 || len(b.host.Files) != 0 || len(b.host.Events) != 0 {
		t.Fatalf("bad input stored %d feedback, %d files", b.count("feedback"), len(b.host.Files))
	}

	resp, err := b.feedback(tourist, url.Values{"kind": {"设施"}, "content": {"B2 层照明坏了"}}, pngData)
	if err != nil || resp.Status != 201 {
		t.Fatalf("tourist: %v %v", resp, err)
	}
	first := b.host.Records("feedback")[0]
	var fb feedback
	decode(first, &fb)
	if fb.Submitter != "" || fb.Name != "" || fb.Status != statusPending || fb.Lot != "人民广场停车库" || fb.Photo != b.host.Files[0].URL ||
		b.host.Files[0].ContentType != "image/png" || b.host.Files[0].Name != "photo.png" {
		t.Fatalf("tourist feedback %+v %+v", fb, b.host.Files)
	}
	mine := b.submit(citizen, url.Values{"kind": {"收费"}, "content": {"出口缴费机不找零"}})
	quiet := b.submit(citizen, url.Values{"kind": {"服务"}, "content": {"保安很热情"}, "anonymous": {"1"}})
	b.host.Visitor = plugin.VisitorDetails{Visitor: other}
	b.submit(other, url.Values{"kind": {"环境"}, "content": {"地面有油污"}})
	for id, want := range map[string][2]string{mine: {"张*", "139****0002"}, quiet: {"", ""}} {
		rec, _ := b.host.Record("feedback", id)
		var fb feedback
		decode(rec, &fb)
		if fb.Submitter != citizen.Pseudonym || fb.Name != want[0] || fb.Mobile != want[1] {
			t.Fatalf("feedback %s: %+v", id, fb)
		}
	}
	if len(b.host.Events) != 4 || b.host.Events[0].Name != "feedback.submitted" {
		t.Fatalf("events %+v", b.host.Events)
	}

	// The staff reply once; the citizen sees it, and only their own.
	_, err = b.admin("admin-feedback-reply", nil, `{"id":"`+mine+`"}`)
	wantCode(t, err, "MissingParameter")
	out := b.must("admin-feedback-reply", nil, `{"id":"`+mine+`","reply":"已更换缴费机，感谢反馈"}`)
	if out["status"] != statusHandled || out["repliedAt"] != "2026-11-03T09:30:00+08:00" {
		t.Fatalf("reply %v", out)
	}
	_, err = b.admin("admin-feedback-reply", nil, `{"id":"`+mine+`","reply":"again"}`)
	wantCode(t, err, "FailedOperation.AlreadyHandled")
	_, err = b.admin("admin-feedback-reply", nil, `{"id":"r-none","reply":"x"}`)
	wantCode(t, err, plugin.ErrNotFound)
	page := b.page("home", citizen)
	contains(t, page, `<li id="f-`+mine+`">`, "出口缴费机不找零", "回复：已更换缴费机，感谢反馈", "保安很热情", `<span class="status">待处理</span>`)
	if strings.Contains(page, "地面有油污") || strings.Contains(page, "B2 层") {
		t.Fatal("someone else's feedback on the citizen's page")
	}
	if strings.Contains(b.page("home", tourist), `id="mine"`) {
		t.Fatal("a tourist sees feedback")
	}
	if got := strings.Join(b.actions(), ","); got != "feedback.reply" {
		t.Fatalf("audits %s", got)
	}
}

func TestFeedbackQuery(t *testing.T) {
	b := newBench(t, "")
	b.host.Visitor = plugin.VisitorDetails{Visitor: citizen}
	a := b.submit(citizen, url.Values{"kind": {"收费"}, "content": {"出口缴费机不找零"}})
	b.now = b.now.Add(24 * time.Hour)
	b.submit(tourist, url.Values{"kind": {"环境"}, "content": {"地面有油污"}})
	b.code = plugin.Code{Token: "tok-lot-2", Kind: "object", Status: "active"}
	c := b.submit(tourist, url.Values{"kind": {"收费"}, "content": {"收费标准看不清"}})
	b.must("admin-feedback-reply", nil, `{"id":"`+a+`","reply":"已处理"}`)

	for _, tc := range []struct {
		query url.Values
		want  []string
	}{
		{nil, []string{c, "", a}},
		{url.Values{"kind": {"收费"}}, []string{c, a}},
		{url.Values{"status": {statusHandled}}, []string{a}},
		{url.Values{"q": {"status=待处理 kind=收费"}}, []string{c}},
		{url.Values{"from": {"2026-11-04"}}, []string{c, ""}},
		{url.Values{"to": {"2026-11-03"}}, []string{a}},
		{url.Values{"code": {"tok-lot-2"}}, []string{c}},
		{url.Values{"q": {"缴费机"}}, []string{a}},
		{url.Values{"q": {"kind=收费 看不清"}}, []string{c}},
		{url.Values{"q": {"排队"}}, []string{}},
	} {
		out := b.must("admin-feedback", tc.query, "")
		items := out["items"].([]any)
		if out["total"] != float64(len(tc.want)) || len(items) != len(tc.want) {
			t.Errorf("%v: %v", tc.query, out)
			continue
		}
		for i, id := range tc.want {
			item := items[i].(map[string]any)
			if id != "" && item["id"] != id || item["submitter"] != nil {
				t.Errorf("%v: item %d %v", tc.query, i, item)
			}
		}
	}
	if out := b.must("admin-feedback", url.Values{"pageSize": {"1"}, "pageNo": {"2"}, "q": {"收费"}}, ""); out["total"] != 2.0 ||
		out["items"].([]any)[0].(map[string]any)["id"] != a {
		t.Fatalf("keyword page 2: %v", out)
	}
	for _, q := range []url.Values{{"status": {"x"}}, {"pageSize": {"0"}}, {"from": {"yesterday"}}} {
		_, err := b.admin("admin-feedback", q, "")
		wantCode(t, err, plugin.ErrInvalid)
	}
}

// Two operators replying at once: the one whose write lands second is
// told the feedback was just handled, and only one reply is audited.
func TestConcurrentReply(t *testing.T) {
	b := newBench(t, "")
	id := b.submit(tourist, url.Values{"kind": {"服务"}, "content": {"收费员态度差"}})
	b.host.BeforePut = func(p plugin.Record) {
		b.host.BeforePut = nil
		rec, _ := b.host.Record("feedback", id)
		rec.Doc = json.RawMessage(strings.Replace(string(rec.Doc), statusPending, statusHandled, 1))
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.admin("admin-feedback-reply", nil, `{"id":"`+id+`","reply":"已核实"}`)
	wantCode(t, err, "FailedOperation.AlreadyHandled")
	if rec, _ := b.host.Record("feedback", id); strings.Contains(string(rec.Doc), "已核实") || len(b.host.Audits) != 0 {
		t.Fatalf("stored %s, %d audits", rec.Doc, len(b.host.Audits))
	}
}

// Admin routes reached any other way than as an operator's admin call are
// refused, and change nothing.
func TestWrongRole(t *testing.T) {
	b := newBench(t, "")
	for name, r := range routes {
		if r.access != operator {
			continue
		}
		_, err := b.call(name, citizen, "application/json", []byte(lotBody("tok-lot-1", 0, 300, 10)))
		wantCode(t, err, "UnauthorizedOperation")
	}
	if b.count("lots")+b.count("components")+b.count("spaces") != 0 || len(b.host.Audits) != 0 {
		t.Fatal("a refused call stored something")
	}
	_, err := b.handle(&plugin.Request{ID: "q9", Route: "feedback", Kind: plugin.Action, Visitor: tourist})
	wantCode(t, err, plugin.ErrInvalid)
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
