package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// newFakeHost is the sdk's fake host with the plugin's manifest declared
// and the bench's clock.
func newFakeHost(t *testing.T, clock *time.Time) *plugintest.FakeHost {
	f := plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	f.Clock = func() time.Time { return *clock }
	return f
}

// count is the number of records in a collection.
func (b *bench) count(collection string) int { return len(b.host.Records(collection)) }

// doc answers a stored request.
func (b *bench) doc(t *testing.T, id string) request {
	t.Helper()
	rec, ok := b.host.Record("requests", id)
	if !ok {
		t.Fatalf("no request %s", id)
	}
	var r request
	if err := json.Unmarshal(rec.Doc, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// raceOnPut applies change to the request's stored document just
// before the next versioned put: another reviewer deciding first.
func (b *bench) raceOnPut(id string, change func(*request)) {
	b.host.BeforePut = func(p plugin.Record) {
		if p.Version == 0 {
			return
		}
		b.host.BeforePut = nil
		rec, _ := b.host.Record("requests", id)
		var r request
		_ = json.Unmarshal(rec.Doc, &r)
		change(&r)
		rec.Doc, _ = json.Marshal(r)
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			b.t.Fatal(err)
		}
	}
}

// attrs answers a code's attributes as stored.
func (b *bench) attrs(token string) map[string]any {
	c, _ := b.host.Object(token)
	var a map[string]any
	_ = json.Unmarshal(c.Attributes, &a)
	return a
}

// objectCalls counts the object.write calls made, refused ones too.
func (b *bench) objectCalls() int {
	n := 0
	for _, c := range b.host.Calls {
		if c.Capability == plugin.ObjectWrite {
			n++
		}
	}
	return n
}

// bench drives the handler as the host would: it fills a Request from the
// manifest's route, with the visitor and code of the test.
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
	tourist   = plugin.Visitor{Tourist: true}
	inspector = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "王*", Mobile: "138****0001"}
	citizen   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

const wellAttrs = `{"name":"徐汇 1 号监测井","编号":"SW-310104-001","address":"漕溪北路 100 号东侧绿地","lng":121.4365,"lat":31.1882,
	"wellType":"水位监测井","depth":30,"监测项目":["水位","水温"],"status":"正常"}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}, token: "tok-well-1"}
	b.host = newFakeHost(t, &b.now)
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.host.SetObject(plugin.Code{Token: b.token, Kind: "object", Number: 100000001, Status: "active", TypeName: "地下水监测井",
		RegionCode: "310104", OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(wellAttrs)})
	b.host.SetObject(plugin.Code{Token: "tok-well-2", Kind: "object", Number: 100000002, Status: "active",
		OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(`{"编号":"SW-310104-002"}`)})
	return b
}

// call serves a route of the bench's code; query is appended to the
// request, body posted as the content type.
func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	code, _ := b.host.Object(b.token)
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
		Visitor: tourist, Operator: &plugin.Operator{Account: "reviewer1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

func (b *bench) get(route string, v plugin.Visitor, query url.Values) (*plugin.Response, error) {
	return b.call(route, v, query, "", nil)
}

func (b *bench) post(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	return b.call(route, v, nil, "application/x-www-form-urlencoded", []byte(form.Encode()))
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
