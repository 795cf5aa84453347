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

// The manifest and the route registry must agree, the operator routes
// must be exactly the admin ones, and only the reporter's identity is
// personal.
func TestManifest(t *testing.T) {
	m := plugintest.Manifest(t)
	if m.Runtime != plugin.Native || m.Entry != "repair" {
		t.Fatalf("runtime %s entry %s", m.Runtime, m.Entry)
	}
	seen := map[string]bool{}
	for _, r := range m.Routes {
		seen[r.Name] = true
		h, ok := routes[r.Name]
		if !ok {
			t.Errorf("route %s of plugin.json has no handler", r.Name)
			continue
		}
		if (r.Kind == plugin.Admin) != (h.access == operator) || (r.Kind != plugin.Admin && !r.Tourist) {
			t.Errorf("route %s: kind %s tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	for _, c := range []plugin.Capability{plugin.CodeResolve, plugin.VisitorRead, plugin.RecordsRead, plugin.RecordsWrite,
		plugin.FilesWrite, plugin.EventsWrite, plugin.AuditWrite} {
		if !m.Declares(c) {
			t.Errorf("plugin.json does not declare %s", c)
		}
	}
	personal := map[string]bool{}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
			if f.Personal {
				personal[c.Name+"."+f.Name] = true
			}
		}
	}
	want := map[string]bool{"reports.reporter": true, "reports.reporterName": true, "reports.reporterMobile": true}
	if len(personal) != len(want) || !personal["reports.reporter"] || !personal["reports.reporterName"] || !personal["reports.reporterMobile"] {
		t.Errorf("personal fields %v, want %v", personal, want)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Mode != modeEither || strings.Join(c.Categories, ",") != "损坏,故障,缺失,污损,其他" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, raw := range []string{`{"mode":"secret"}`, `{"modes":"anonymous"}`, `{"categories":3}`} {
		if _, err := loadConfig(json.RawMessage(raw)); !plugin.IsCode(err, plugin.ErrInternal) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func TestComponentOf(t *testing.T) {
	code := &plugin.Code{Name: "路灯 A-01", OwnerUnit: "市路灯管理所", TypeName: "路灯",
		Attributes: json.RawMessage(`{"名称":"路灯 A-01","型号":"LED-120W","编号":88,"安装位置":"人民路 1 号","photo":{"x":1}}`)}
	cp := componentOf(code, nil)
	want := component{"name": "路灯 A-01", "model": "LED-120W", "serialNo": "88", "location": "人民路 1 号", "unit": "市路灯管理所"}
	if len(cp) != len(want) {
		t.Fatalf("component %v", cp)
	}
	for k, v := range want {
		if cp[k] != v {
			t.Errorf("%s = %q, want %q", k, cp[k], v)
		}
	}
	// The settings win field by field; what they leave empty stays.
	cp = componentOf(code, &settings{Model: "LED-150W", Category: "照明设施"})
	if cp["model"] != "LED-150W" || cp["category"] != "照明设施" || cp["location"] != "人民路 1 号" {
		t.Fatalf("overlaid %v", cp)
	}
	rows := componentOf(&plugin.Code{}, nil).rows()
	if len(rows) != 5 || rows[0] != (row{"型号", "暂无"}) || componentOf(&plugin.Code{}, nil).title() != "部件" {
		t.Fatalf("bare rows %v", rows)
	}
}

var now = time.Date(2026, 11, 3, 9, 30, 0, 0, cst)

func TestCheckReport(t *testing.T) {
	good := url.Values{"description": {"灯不亮"}, "category": {"故障"}, "occurredAt": {"2026-11-03T08:15"}}
	in, err := checkReport(good, defaultCategories, now)
	if err != nil || in.OccurredAt != "2026-11-03T08:15:00+08:00" || in.Description != "灯不亮" {
		t.Fatalf("good: %+v %v", in, err)
	}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = []string{v}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
	}{
		{"no description", with("description", ""), "MissingParameter"},
		{"501 characters", with("description", strings.Repeat("坏", 501)), plugin.ErrInvalid},
		{"NUL byte", with("description", "灯\x00不亮"), plugin.ErrInvalid},
		{"no category", with("category", ""), "MissingParameter"},
		{"unknown category", with("category", "火灾"), plugin.ErrInvalid},
		{"future", with("occurredAt", "2026-11-03T10:00"), plugin.ErrInvalid},
		{"two years ago", with("occurredAt", "2024-11-03 10:00"), plugin.ErrInvalid},
		{"not a time", with("occurredAt", "昨天"), plugin.ErrInvalid},
		{"hidden field", with("status", "已完成"), plugin.ErrInvalid},
		{"twice", url.Values{"description": {"a", "b"}, "category": {"故障"}}, plugin.ErrInvalid},
	} {
		if _, err := checkReport(tc.form, defaultCategories, now); !plugin.IsCode(err, tc.code) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := checkReport(with("description", strings.Repeat("坏", 500)), defaultCategories, now); err != nil {
		t.Errorf("500 characters: %v", err)
	}
}

// Visitors of the tests.
var (
	tourist  = plugin.Visitor{Tourist: true}
	citizen  = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
	verified = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "王*明", Mobile: "138****0001"}
)

func TestWantsAnonymous(t *testing.T) {
	named := url.Values{"reporterName": {"张三"}}
	for _, tc := range []struct {
		name string
		mode string
		v    plugin.Visitor
		form url.Values
		anon bool
		code string
	}{
		{"anonymous mode, logged in", modeAnonymous, verified, url.Values{}, true, ""},
		{"anonymous mode, asking for a name", modeAnonymous, citizen, url.Values{"anonymous": {"0"}}, true, ""},
		{"anonymous mode, a name typed", modeAnonymous, citizen, named, false, plugin.ErrInvalid},
		{"realname, tourist", modeRealname, tourist, url.Values{}, false, "UnauthorizedOperation"},
		{"realname, tourist forging a pseudonym-less visitor", modeRealname, plugin.Visitor{}, named, false, "UnauthorizedOperation"},
		{"realname, asking anonymity", modeRealname, citizen, url.Values{"anonymous": {"1"}}, false, plugin.ErrInvalid},
		{"realname, logged in", modeRealname, citizen, url.Values{}, false, ""},
		{"either, tourist", modeEither, tourist, url.Values{}, true, ""},
		{"either, tourist typing a name", modeEither, tourist, named, false, "UnauthorizedOperation"},
		{"either, tourist asking for a name", modeEither, tourist, url.Values{"anonymous": {"0"}}, false, "UnauthorizedOperation"},
		{"either, logged in, anonymous", modeEither, citizen, url.Values{"anonymous": {"on"}}, true, ""},
		{"either, anonymous with a name", modeEither, citizen, url.Values{"anonymous": {"1"}, "reporterName": {"张三"}}, true, ""},
		{"either, logged in, named", modeEither, citizen, url.Values{}, false, ""},
		{"bad flag", modeEither, citizen, url.Values{"anonymous": {"yes"}}, false, plugin.ErrInvalid},
	} {
		anon, err := wantsAnonymous(tc.mode, tc.v, tc.form)
		if tc.code != "" {
			if !plugin.IsCode(err, tc.code) {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
			continue
		}
		if err != nil || anon != tc.anon {
			t.Errorf("%s: %v %v, want %v", tc.name, anon, err, tc.anon)
		}
	}
}

func TestNamedIdentity(t *testing.T) {
	d := &plugin.VisitorDetails{Visitor: verified}
	id, err := namedIdentity(verified.Pseudonym, d, url.Values{"reporterName": {"王*明"}})
	if err != nil || id.Name != "王*明" || id.Mobile != "138****0001" || id.Source != "授权信息" || id.Reporter != verified.Pseudonym {
		t.Fatalf("authorized: %+v %v", id, err)
	}
	if _, err := namedIdentity(verified.Pseudonym, d, url.Values{"reporterName": {"李四"}}); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("changed name: %v", err)
	}
	plain := &plugin.VisitorDetails{Visitor: citizen}
	if _, err := namedIdentity(citizen.Pseudonym, plain, url.Values{}); !plugin.IsCode(err, "MissingParameter") {
		t.Fatalf("no name: %v", err)
	}
	if _, err := namedIdentity(citizen.Pseudonym, plain, url.Values{"reporterName": {"李四"}, "reporterMobile": {"12345"}}); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("bad mobile: %v", err)
	}
	id, err = namedIdentity(citizen.Pseudonym, plain, url.Values{"reporterName": {"李四"}, "reporterMobile": {"13900000002"}})
	if err != nil || id.Name != "李四" || id.Mobile != "13900000002" || id.Source != "报修人填写" {
		t.Fatalf("typed: %+v %v", id, err)
	}
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		code     string
	}{
		{statusPending, statusHandling, ""}, {statusPending, statusRejected, ""}, {statusHandling, statusDone, ""},
		{statusHandling, statusRejected, ""}, {statusPending, statusDone, "FailedOperation.IllegalTransition"},
		{statusHandling, statusHandling, "FailedOperation.IllegalTransition"}, {statusDone, statusRejected, "FailedOperation.StatusFinal"},
		{statusRejected, statusHandling, "FailedOperation.StatusFinal"},
	} {
		err := checkTransition(tc.from, tc.to)
		if (tc.code == "" && err != nil) || (tc.code != "" && !plugin.IsCode(err, tc.code)) {
			t.Errorf("%s → %s: %v, want %q", tc.from, tc.to, err, tc.code)
		}
	}
	for body, code := range map[string]string{
		`{"status":"处理中"}`:                                         "MissingParameter",
		`{"id":"x","status":"处理中"}`:                                plugin.ErrInvalid,
		`{"id":"BX20261103-ABCD2345"}`:                             "MissingParameter",
		`{"id":"BX20261103-ABCD2345","status":"待受理"}`:              plugin.ErrInvalid,
		`{"id":"BX20261103-ABCD2345","status":"已驳回"}`:              "MissingParameter",
		`{"id":"BX20261103-ABCD2345","status":"已完成","reason":"x"}`: plugin.ErrInvalid,
		`{"id":"BX20261103-ABCD2345","status":"已完成","by":"x"}`:     plugin.ErrInvalid,
		`[1]`: plugin.ErrInvalid,
	} {
		if _, err := readStatusChange([]byte(body)); !plugin.IsCode(err, code) {
			t.Errorf("%s: %v, want %s", body, err, code)
		}
	}
}

func TestParseListQuery(t *testing.T) {
	q, err := parseListQuery("status:处理中 type:路灯 category:损坏 code:http://city.test/c/tok-lamp-1 from:2026-11-01 to:2026-11-30 灯罩 破损")
	if err != nil || q.Where["status"] != statusHandling || q.Where["componentCategory"] != "路灯" || q.Where["category"] != "损坏" ||
		q.CodeToken != "tok-lamp-1" || !q.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, cst)) ||
		!q.To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, cst)) || strings.Join(q.Keywords, ",") != "灯罩,破损" {
		t.Fatalf("%+v %v", q, err)
	}
	for _, bad := range []string{"status:完成", "colour:红", "from:11/01", "from:2026-11-02 to:2026-11-01", "code:", "code:a/b"} {
		if _, err := parseListQuery(bad); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// bench drives the handler as the host would, against the sdk's fake
// host, with the plugin's manifest declared.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	token  string
	routes map[string]plugin.Route
}

const lampAttrs = `{"name":"路灯 A-01","model":"LED-120W","serialNo":"SN-2026-0001","location":"人民路 1 号东侧"}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: now, token: "tok-lamp-1", routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.host.SetObject(plugin.Code{Token: b.token, Number: 100000001, OwnerUnit: "市路灯管理所", Attributes: json.RawMessage(lampAttrs)})
	b.host.SetObject(plugin.Code{Token: "tok-lamp-2", Number: 100000002, OwnerUnit: "市路灯管理所", Attributes: json.RawMessage(`{"name":"路灯 A-02"}`)})
	return b
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), b.host.Host(req.ID), req)
}

// call serves a citizen's route of the bench's code.
func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	b.host.Visitor = plugin.VisitorDetails{Visitor: v}
	code, _ := b.host.Object(b.token)
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{"Content-Type": ctype}, Body: body, PlatformID: "P0001", Code: &code, Visitor: v,
		Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	return b.handle(req)
}

// admin calls an admin route as the console does, and answers its JSON.
func (b *bench) admin(route string, q, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: map[string][]string{"q": {q}}, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body),
		PlatformID: "P0001", Visitor: tourist, Operator: &plugin.Operator{Account: "staff1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

// multipartBody builds a report form with an optional attachment.
func multipartBody(fields url.Values, file []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != nil {
		w, _ := mw.CreateFormFile("attachment", "x.bin")
		_, _ = w.Write(file)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func pngBytes(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...) }

// mp4Bytes is the start of an MP4 file: an ftyp box of brand mp42.
func mp4Bytes(n int) []byte {
	return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, n)...)
}

// submit posts a report and answers the response.
func (b *bench) submit(v plugin.Visitor, fields url.Values, file []byte) (*plugin.Response, error) {
	b.t.Helper()
	ctype, data := multipartBody(fields, file)
	return b.call("report", v, nil, ctype, data)
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

// report submits a good report and answers its ticket and key.
func (b *bench) report(v plugin.Visitor, extra url.Values) (string, string) {
	b.t.Helper()
	fields := url.Values{"description": {"灯不亮"}, "category": {"故障"}}
	for k, vs := range extra {
		fields[k] = vs
	}
	b.now = b.now.Add(time.Minute) // reports sort by time
	resp, err := b.submit(v, fields, nil)
	if err != nil || resp.Status != 201 {
		b.t.Fatalf("report: %v %v", resp, err)
	}
	page := string(resp.Body)
	return between(page, `<code id="ticket">`, "<"), between(page, `<code id="key">`, "<")
}

func (b *bench) doc(id string) report {
	b.t.Helper()
	rec, ok := b.host.Record("reports", id)
	if !ok {
		b.t.Fatalf("no report %s", id)
	}
	var r report
	_ = json.Unmarshal(rec.Doc, &r)
	return r
}

func (b *bench) nothingStored(what string) {
	b.t.Helper()
	if n, f := len(b.host.Records("reports")), len(b.host.Files); n != 0 || f != 0 {
		b.t.Fatalf("%s: %d reports and %d files stored", what, n, f)
	}
}

func TestRealnameRefusesTourists(t *testing.T) {
	b := newBench(t, `{"mode":"realname"}`)
	resp, err := b.call("home", tourist, nil, "", nil)
	if err != nil || !strings.Contains(string(resp.Body), `id="login"`) || strings.Contains(string(resp.Body), `name="description"`) {
		t.Fatalf("landing: %v %s", err, resp.Body)
	}
	_, err = b.submit(tourist, url.Values{"description": {"灯不亮"}, "category": {"故障"}, "reporterName": {"冒名"}}, pngBytes(64))
	if !plugin.IsCode(err, "UnauthorizedOperation") || !strings.Contains(err.Error(), "登录") {
		t.Fatalf("tourist: %v", err)
	}
	b.nothingStored("tourist in realname mode")
	// A logged-in citizen who authorized the service: name and mobile
	// pre-filled, and stored from the host, not the form.
	resp, _ = b.call("home", verified, nil, "", nil)
	if !strings.Contains(string(resp.Body), "报修人：王*明　联系电话：138****0001") {
		t.Fatalf("pre-fill: %s", resp.Body)
	}
	id, _ := b.report(verified, nil)
	r := b.doc(id)
	if r.Mode != "实名" || r.Reporter != verified.Pseudonym || r.ReporterName != "王*明" || r.ReporterMobile != "138****0001" || r.ReporterSource != "授权信息" {
		t.Fatalf("named report %+v", r)
	}
	// Their report is listed on the landing page and opens without a key;
	// another citizen gets 404 with the number alone.
	resp, _ = b.call("home", verified, nil, "", nil)
	if !strings.Contains(string(resp.Body), "/ticket?no="+id) {
		t.Fatalf("mine: %s", resp.Body)
	}
	if resp, err = b.call("ticket", verified, url.Values{"no": {id}}, "", nil); err != nil || !strings.Contains(string(resp.Body), `<dd id="status">待受理</dd>`) {
		t.Fatalf("owner: %v", err)
	}
	if _, err = b.call("ticket", citizen, url.Values{"no": {id}}, "", nil); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("stranger: %v", err)
	}
}

func TestAnonymousStoresNoIdentity(t *testing.T) {
	b := newBench(t, `{"mode":"anonymous"}`)
	resp, _ := b.call("home", verified, nil, "", nil)
	if strings.Contains(string(resp.Body), "王*明") || strings.Contains(string(resp.Body), `name="reporterName"`) {
		t.Fatalf("identity on an anonymous form: %s", resp.Body)
	}
	if _, err := b.submit(verified, url.Values{"description": {"灯不亮"}, "category": {"故障"}, "reporterMobile": {"13900000002"}}, nil); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("mobile in anonymous mode: %v", err)
	}
	b.nothingStored("mobile in anonymous mode")
	id, key := b.report(verified, url.Values{"anonymous": {"0"}})
	rec, _ := b.host.Record("reports", id)
	for _, secret := range []string{verified.Pseudonym, "王", "138****0001", "reporter"} {
		if strings.Contains(string(rec.Doc), secret) {
			t.Errorf("anonymous report holds %q: %s", secret, rec.Doc)
		}
	}
	for _, c := range b.host.Calls {
		if c.Capability == plugin.VisitorRead {
			t.Error("visitor.read called in anonymous mode")
		}
	}
	// Not listed as theirs; followed with the key only.
	if resp, _ = b.call("ticket", verified, nil, "", nil); strings.Contains(string(resp.Body), id) {
		t.Fatal("an anonymous report is listed as the citizen's")
	}
	if _, err := b.call("ticket", verified, url.Values{"no": {id}}, "", nil); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("without key: %v", err)
	}
	if _, err := b.call("ticket", tourist, url.Values{"no": {strings.ToLower(id)}, "key": {strings.ToLower(key)}}, "", nil); err != nil {
		t.Fatalf("with key: %v", err)
	}
	// Where the citizen chooses, ticking 匿名 drops what they typed.
	b = newBench(t, `{"mode":"either"}`)
	id, _ = b.report(citizen, url.Values{"anonymous": {"1"}, "reporterName": {"李四"}, "reporterMobile": {"13900000002"}})
	if r := b.doc(id); r.Mode != "匿名" || r.Reporter != "" || r.ReporterName != "" || r.ReporterMobile != "" {
		t.Fatalf("chosen anonymity: %+v", r)
	}
}

func TestTicketKeys(t *testing.T) {
	b := newBench(t, "")
	id, key := b.report(tourist, nil)
	if !ticketRe.MatchString(id) || !strings.HasPrefix(id, "BX20261103-") || len(key) != 19 {
		t.Fatalf("ticket %q key %q", id, key)
	}
	if r := b.doc(id); r.Mode != "匿名" || r.Reporter != "" || r.KeyHash != keyHash(id, normalizeKey(key)) {
		t.Fatalf("tourist report %+v", r)
	}
	other, _ := b.report(tourist, nil)
	wrong := "2222-2222-2222-2222"
	for _, tc := range []struct {
		name, no, key, code string
	}{
		{"wrong key", id, wrong, plugin.ErrNotFound},
		{"no key", id, "", plugin.ErrNotFound},
		{"another ticket's key", other, key, plugin.ErrNotFound},
		{"unknown number", "BX20261103-ZZZZZZZZ", key, plugin.ErrNotFound},
		{"bad number", "r1", key, plugin.ErrInvalid},
		{"bad key", id, "abc", plugin.ErrInvalid},
	} {
		if _, err := b.call("ticket", tourist, url.Values{"no": {tc.no}, "key": {tc.key}}, "", nil); !plugin.IsCode(err, tc.code) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// The right key on another code's page shows nothing.
	b.token = "tok-lamp-2"
	if _, err := b.call("ticket", tourist, url.Values{"no": {id}, "key": {key}}, "", nil); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("another code: %v", err)
	}
}

func TestAttachments(t *testing.T) {
	b := newBench(t, "")
	fields := url.Values{"description": {"外壳破损"}, "category": {"损坏"}}
	for name, file := range map[string][]byte{
		"too large":  pngBytes(maxAttachment),
		"a PDF":      []byte("%PDF-1.7\n" + strings.Repeat("x", 100)),
		"a script":   []byte("<script>alert(1)</script>"),
		"video 5MB+": mp4Bytes(maxAttachment),
	} {
		if _, err := b.submit(tourist, fields, file); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	b.nothingStored("bad attachments")
	// A bad description with a good photo stores no photo either.
	if _, err := b.submit(tourist, url.Values{"category": {"损坏"}}, pngBytes(64)); !plugin.IsCode(err, "MissingParameter") {
		t.Fatalf("no description: %v", err)
	}
	b.nothingStored("no description")
	resp, err := b.submit(tourist, fields, mp4Bytes(1024))
	if err != nil || resp.Status != 201 {
		t.Fatalf("video: %v", err)
	}
	id := between(string(resp.Body), `<code id="ticket">`, "<")
	r := b.doc(id)
	if r.AttachmentType != "视频" || !strings.HasPrefix(r.Attachment, "http://city.test/plugin-files/") || b.host.Files[0].ContentType != "video/mp4" {
		t.Fatalf("video report %+v", r)
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "report.created" || strings.Contains(string(b.host.Events[0].Detail), "reporter") {
		t.Fatalf("events %+v", b.host.Events)
	}
}

func TestStatusTransitions(t *testing.T) {
	b := newBench(t, "")
	id, key := b.report(tourist, nil)
	move := func(body string) (map[string]any, error) { return b.admin("admin-status", "", body) }
	if _, err := move(`{"id":"` + id + `","status":"已完成"}`); !plugin.IsCode(err, "FailedOperation.IllegalTransition") {
		t.Fatalf("pending → done: %v", err)
	}
	if _, err := move(`{"id":"BX20261103-ZZZZZZZZ","status":"处理中"}`); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	// Two operators accept at once: the other one's write lands first.
	b.host.BeforePut = func(p plugin.Record) {
		if p.Version == 0 {
			return
		}
		b.host.BeforePut = nil
		rec, _ := b.host.Record("reports", id)
		var r report
		_ = json.Unmarshal(rec.Doc, &r)
		r.Status, r.Handler = statusHandling, "staff2"
		rec.Doc, _ = json.Marshal(r)
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := move(`{"id":"` + id + `","status":"处理中"}`); !plugin.IsCode(err, "FailedOperation.VersionConflict") {
		t.Fatalf("race: %v", err)
	}
	if r := b.doc(id); r.Handler != "staff2" || len(b.host.Audits) != 0 {
		t.Fatalf("the loser wrote: %+v %v", r, b.host.Audits)
	}
	// Accepting again is illegal; a stale version is refused.
	if _, err := move(`{"id":"` + id + `","status":"处理中"}`); !plugin.IsCode(err, "FailedOperation.IllegalTransition") {
		t.Fatalf("accept twice: %v", err)
	}
	if _, err := move(`{"id":"` + id + `","status":"已完成","version":1}`); !plugin.IsCode(err, "FailedOperation.VersionConflict") {
		t.Fatalf("stale version: %v", err)
	}
	out, err := move(`{"id":"` + id + `","status":"已完成","version":2,"note":"已更换灯泡"}`)
	if err != nil || out["status"] != statusDone || out["handler"] != "staff1" || out["keyHash"] != nil || out["version"] != 3.0 {
		t.Fatalf("done: %v %v", out, err)
	}
	if _, err := move(`{"id":"` + id + `","status":"已驳回","reason":"重复"}`); !plugin.IsCode(err, "FailedOperation.StatusFinal") {
		t.Fatalf("after done: %v", err)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "report.status" || b.host.Audits[0].Target != "report:"+id ||
		!strings.Contains(string(b.host.Audits[0].Detail), `"to":"已完成"`) {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	resp, _ := b.call("ticket", tourist, url.Values{"no": {id}, "key": {key}}, "", nil)
	if !strings.Contains(string(resp.Body), `<dd id="status">已完成</dd>`) || !strings.Contains(string(resp.Body), `<dd id="note">已更换灯泡</dd>`) {
		t.Fatalf("citizen's view: %s", resp.Body)
	}
	// A rejection carries its reason to the citizen.
	second, key2 := b.report(tourist, nil)
	if _, err := move(`{"id":"` + second + `","status":"已驳回","reason":"非本单位管辖"}`); err != nil {
		t.Fatal(err)
	}
	if resp, _ = b.call("ticket", tourist, url.Values{"no": {second}, "key": {key2}}, "", nil); !strings.Contains(string(resp.Body), `<dd id="reason">非本单位管辖</dd>`) {
		t.Fatalf("rejected: %s", resp.Body)
	}
}

func TestComponentSettings(t *testing.T) {
	b := newBench(t, "")
	resp, _ := b.call("home", tourist, nil, "", nil)
	for _, want := range []string{"<h1>路灯 A-01</h1>", "<dt>型号</dt><dd>LED-120W</dd>", "<dt>序列号</dt><dd>SN-2026-0001</dd>",
		"<dt>安装位置</dt><dd>人民路 1 号东侧</dd>", "<dt>部件类型</dt><dd>暂无</dd>", "<dt>责任单位</dt><dd>市路灯管理所</dd>"} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("landing lacks %q", want)
		}
	}
	for body, code := range map[string]string{
		`{"code":"tok-lamp-9","model":"X"}`:                               plugin.ErrNotFound,
		`{"code":"tok-lamp-1"}`:                                           "MissingParameter",
		`{"model":"X"}`:                                                   "MissingParameter",
		`{"code":"tok-lamp-1","colour":"红"}`:                              plugin.ErrInvalid,
		`{"code":"tok-lamp-1","model":"` + strings.Repeat("x", 65) + `"}`: plugin.ErrInvalid,
		`{"code":"tok-lamp-1","model":"a\u0000b"}`:                        plugin.ErrInvalid,
	} {
		if _, err := b.admin("admin-component-add", "", body); !plugin.IsCode(err, code) {
			t.Errorf("add %s: %v, want %s", body, err, code)
		}
	}
	if n := len(b.host.Records("components")); n != 0 || len(b.host.Audits) != 0 {
		t.Fatalf("%d settings after bad input", n)
	}
	out, err := b.admin("admin-component-add", "", `{"code":"http://city.test/c/tok-lamp-1","model":"LED-150W","category":"照明设施"}`)
	if err != nil || out["version"] != 1.0 {
		t.Fatalf("add: %v %v", out, err)
	}
	if _, err := b.admin("admin-component-add", "", `{"code":"tok-lamp-1","model":"Y"}`); !plugin.IsCode(err, "FailedOperation.ComponentExists") {
		t.Fatalf("add twice: %v", err)
	}
	resp, _ = b.call("home", tourist, nil, "", nil)
	if !strings.Contains(string(resp.Body), "<dt>型号</dt><dd>LED-150W</dd>") || !strings.Contains(string(resp.Body), "<dt>部件类型</dt><dd>照明设施</dd>") {
		t.Fatalf("landing after settings: %s", resp.Body)
	}
	// The report copies the component as shown; the list filters by it.
	id, _ := b.report(tourist, nil)
	if r := b.doc(id); r.Model != "LED-150W" || r.ComponentCategory != "照明设施" || r.SerialNo != "SN-2026-0001" || r.Component != "路灯 A-01" {
		t.Fatalf("report's component %+v", r)
	}
	if _, err := b.admin("admin-component-update", "", `{"code":"tok-lamp-1","version":5,"model":"Z"}`); !plugin.IsCode(err, "FailedOperation.VersionConflict") {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := b.admin("admin-component-update", "", `{"code":"tok-lamp-1"}`); !plugin.IsCode(err, "MissingParameter") {
		t.Fatalf("update of nothing: %v", err)
	}
	if out, err = b.admin("admin-component-update", "", `{"code":"tok-lamp-1","version":1,"model":""}`); err != nil || out["version"] != 2.0 {
		t.Fatalf("update: %v %v", out, err)
	}
	one, err := b.admin("admin-components", "code:tok-lamp-1", "")
	if err != nil || one["shown"].(map[string]any)["model"] != "LED-120W" || one["settings"].(map[string]any)["category"] != "照明设施" {
		t.Fatalf("one: %v %v", one, err)
	}
	if _, err := b.admin("admin-component-delete", "", `{"code":"tok-lamp-1","model":"x"}`); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("delete with fields: %v", err)
	}
	if _, err := b.admin("admin-component-delete", "", `{"code":"tok-lamp-1","version":2}`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.admin("admin-component-delete", "", `{"code":"tok-lamp-1"}`); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action+" "+a.Target)
	}
	if strings.Join(actions, ",") != "component.add component:tok-lamp-1,component.update component:tok-lamp-1,component.delete component:tok-lamp-1" ||
		!strings.Contains(string(b.host.Audits[1].Detail), `"before":{"category":"照明设施","location":"","model":"LED-150W"`) {
		t.Fatalf("audits %v %s", actions, b.host.Audits[1].Detail)
	}
	resp, _ = b.call("home", tourist, nil, "", nil)
	if !strings.Contains(string(resp.Body), "<dt>部件类型</dt><dd>暂无</dd>") {
		t.Fatal("settings still shown after delete")
	}
}

func TestAdminList(t *testing.T) {
	b := newBench(t, "")
	first, _ := b.report(tourist, url.Values{"description": {"灯罩破损"}, "category": {"损坏"}})
	b.report(verified, url.Values{"description": {"灯不亮"}})
	b.token = "tok-lamp-2"
	b.report(tourist, url.Values{"description": {"灯罩脱落"}, "category": {"损坏"}})
	list := func(q string) []string {
		t.Helper()
		out, err := b.admin("admin-reports", q, "")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var ids []string
		for _, it := range out["items"].([]any) {
			m := it.(map[string]any)
			if m["reporter"] != nil || m["keyHash"] != nil {
				t.Fatalf("pseudonym or key hash listed: %v", m)
			}
			ids = append(ids, m["code"].(string)+" "+m["description"].(string))
		}
		if int(out["total"].(float64)) != len(ids) {
			t.Fatalf("%s: total %v for %d items", q, out["total"], len(ids))
		}
		return ids
	}
	for q, want := range map[string]string{
		"":                              "tok-lamp-2 灯罩脱落,tok-lamp-1 灯不亮,tok-lamp-1 灯罩破损",
		"category:损坏":                   "tok-lamp-2 灯罩脱落,tok-lamp-1 灯罩破损",
		"code:tok-lamp-1 灯罩":            "tok-lamp-1 灯罩破损",
		"mode:实名":                       "tok-lamp-1 灯不亮",
		"status:处理中":                    "",
		"from:2026-11-04":               "",
		"from:2026-11-03 to:2026-11-03": "tok-lamp-2 灯罩脱落,tok-lamp-1 灯不亮,tok-lamp-1 灯罩破损",
		first:                           "tok-lamp-1 灯罩破损",
	} {
		if got := strings.Join(list(q), ","); got != want {
			t.Errorf("%q: %s, want %s", q, got, want)
		}
	}
}

func TestOperatorRoutesNeedTheConsole(t *testing.T) {
	b := newBench(t, "")
	code, _ := b.host.Object(b.token)
	for _, name := range []string{"admin-reports", "admin-status", "admin-component-add"} {
		r := b.routes[name]
		_, err := b.handle(&plugin.Request{ID: "q1", Route: name, Kind: plugin.Action, Method: r.MethodOrGET(), Path: r.Path,
			Code: &code, Visitor: verified, Body: []byte(`{"code":"tok-lamp-1","model":"x"}`)})
		if !plugin.IsCode(err, "UnauthorizedOperation") {
			t.Errorf("%s from a landing page: %v", name, err)
		}
	}
	if len(b.host.Calls) != 0 {
		t.Fatalf("calls made: %v", b.host.Calls)
	}
}
