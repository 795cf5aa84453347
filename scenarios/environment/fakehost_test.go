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

// docs answers a collection's documents, with their id and code token
// under _id and _code.
func (b *bench) docs(collection string) []map[string]any {
	var out []map[string]any
	for _, r := range b.host.Records(collection) {
		var d map[string]any
		_ = json.Unmarshal(r.Doc, &d)
		d["_id"], d["_code"] = r.ID, r.CodeToken
		out = append(out, d)
	}
	return out
}

// bench drives the handler as the host would: it fills a Request from the
// manifest's route, with the visitor and code of the test.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	code   plugin.Code
	routes map[string]plugin.Route
}

// Visitors of the tests.
var (
	tourist = plugin.Visitor{Tourist: true}
	cleaner = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "王*"}
	citizen = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = newFakeHost(t, &b.now)
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-toilet-1", Kind: "object", Number: 100000001, Status: "active", TypeName: "环卫公厕",
		RegionCode: "310104", OwnerUnit: "徐汇区绿化市容局",
		Attributes: json.RawMessage(`{"name":"漕溪北路公厕","address":"漕溪北路 100 号","openingHours":"05:00-22:00","thirdToilet":true,"accessible":false,"area":56.5,"operator":"徐汇环卫"}`)}
	return b
}

// call serves a route; query is appended to the request, body posted as
// the content type.
func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	code := b.code
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{}, Body: body, PlatformID: "P0001", Code: &code, Visitor: v,
		Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	if ctype != "" {
		req.Header["Content-Type"] = ctype
	}
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), b.host.Host(req.ID), req)
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
