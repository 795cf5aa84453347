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

// bench drives the handler as the host would: it fills a Request from the
// manifest's route, with the visitor and code of the test, against the
// sdk's in-memory host with the manifest declared.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	token  string
	routes map[string]plugin.Route
}

// Visitors of the tests.
var (
	tourist     = plugin.Visitor{Tourist: true}
	citizen     = plugin.Visitor{Pseudonym: "vcitizen00000000000000001", Authorized: true, Name: "张*", Mobile: "138****0001"}
	citizen2    = plugin.Visitor{Pseudonym: "vcitizen00000000000000002"}
	merchantA   = plugin.Visitor{Pseudonym: "vmerchant0000000000000000a", Authorized: true, Name: "王*", Mobile: "139****0002"}
	merchantB   = plugin.Visitor{Pseudonym: "vmerchant0000000000000000b"}
	officer     = plugin.Visitor{Pseudonym: "vinspector00000000000000001"}
	supervisorV = plugin.Visitor{Pseudonym: "vsupervisor0000000000000001"}
)

// The codes of the bench: two shops' object codes and an enterprise code.
const (
	shop1 = "tok-shop-1"
	shop2 = "tok-shop-2"
	ent1  = "tok-ent-1"
)

const shop1Attrs = `{"name":"老王面馆","地址":"漕溪北路 100 号","统一社会信用代码":"91310104MA1234567X","经营类别":"餐饮",
	"门前责任区":"门前 5 米人行道","经营者":"王大明","联系电话":"021-64000000","许可信息":["食品经营许可证","营业执照"]}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}, token: shop1}
	m := plugintest.Manifest(t)
	b.host = plugintest.NewFakeHost().Declare(m)
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range m.Routes {
		b.routes[r.Name] = r
	}
	b.host.SetObject(plugin.Code{Token: shop1, Kind: "object", Number: 100000001, Status: "active", TypeName: "沿街商户",
		RegionCode: "310104", OwnerUnit: "徐汇区城管执法局", Attributes: json.RawMessage(shop1Attrs)})
	b.host.SetObject(plugin.Code{Token: shop2, Kind: "object", Number: 100000002, Status: "active", OwnerUnit: "徐汇区城管执法局",
		Attributes: json.RawMessage(`{"名称":"小李便利店","address":"天钥桥路 1 号"}`)})
	b.host.SetObject(plugin.Code{Token: ent1, Kind: "enterprise", Status: "active", Name: "某某餐饮有限公司"})
	return b
}

// on switches the bench to another code.
func (b *bench) on(token string) *bench { b.token = token; return b }

// call serves a route of the bench's code.
func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	code, ok := b.host.Object(b.token)
	if !ok {
		b.t.Fatalf("no code %s", b.token)
	}
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{}, Body: body, PlatformID: "P0001", Code: &code, Visitor: v,
		Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	if ctype != "" {
		req.Header["Content-Type"] = ctype
	}
	return b.handle(req)
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), b.host.Host(req.ID), req)
}

func (b *bench) get(route string, v plugin.Visitor, query url.Values) (*plugin.Response, error) {
	return b.call(route, v, query, "", nil)
}

func (b *bench) post(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	return b.call(route, v, nil, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// page answers a page's body, failing on an error.
func (b *bench) page(route string, v plugin.Visitor, query url.Values) string {
	b.t.Helper()
	resp, err := b.get(route, v, query)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	return string(resp.Body)
}

// submit posts a form that must be stored (201), and answers the new
// record's id.
func (b *bench) submit(route string, v plugin.Visitor, form url.Values) string {
	b.t.Helper()
	resp, err := b.post(route, v, form)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	if resp.Status != 201 {
		b.t.Fatalf("%s answered %d", route, resp.Status)
	}
	return between(string(resp.Body), `<span id="record-id">`, "<")
}

// admin calls an admin route as the console does: no code, no visitor, the
// operator named, JSON in.
func (b *bench) admin(route string, query url.Values, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	if r.Kind != plugin.Admin {
		b.t.Fatalf("%s is not an admin route", route)
	}
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: query, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: "ops1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

// mustAdmin is admin failing the test on an error.
func (b *bench) mustAdmin(route string, query url.Values, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin(route, query, body)
	if err != nil {
		b.t.Fatalf("admin %s: %v", route, err)
	}
	return out
}

// bind makes the visitor a member of a role through a binding code, as
// an operator and the person would; token names the merchant's shop.
func (b *bench) bind(v plugin.Visitor, role, token string) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]any{"role": role, "code": token, "name": "测试" + roleNames[role], "badge": "310104-" + role})
	out := b.mustAdmin("admin-grant", nil, string(body))
	saved := b.token
	if token != "" {
		b.token = token
	}
	defer func() { b.token = saved }()
	resp, err := b.post("join", v, url.Values{"code": {out["grantCode"].(string)}})
	if err != nil || resp.Status != 303 {
		b.t.Fatalf("join as %s: %v %v", role, resp, err)
	}
}

// count is the number of records in a collection.
func (b *bench) count(collection string) int { return len(b.host.Records(collection)) }

// doc decodes a stored record.
func (b *bench) doc(collection, id string, v any) {
	b.t.Helper()
	rec, ok := b.host.Record(collection, id)
	if !ok {
		b.t.Fatalf("no record %s in %s", id, collection)
	}
	if err := json.Unmarshal(rec.Doc, v); err != nil {
		b.t.Fatal(err)
	}
}

// sent answers the notifications of a template, by recipient.
func (b *bench) sent(template string) map[string]plugin.Notification {
	out := map[string]plugin.Notification{}
	for _, n := range b.host.Notifications {
		if n.Template == template {
			out[n.To] = n
		}
	}
	return out
}

// attrs answers a code's attributes as stored.
func (b *bench) attrs(token string) map[string]any {
	c, _ := b.host.Object(token)
	var a map[string]any
	_ = json.Unmarshal(c.Attributes, &a)
	return a
}

// multipartBody builds a multipart form with an optional photo.
func multipartBody(fields url.Values, photo []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if photo != nil {
		w, _ := mw.CreateFormFile("photo", "photo.png")
		_, _ = w.Write(photo)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func pngBytes(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...) }

// wantCode fails unless err is a plugin error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
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
