package main

import (
	"context"
	"encoding/json"
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

// doc answers a stored application.
func (b *bench) doc(t *testing.T, id string) application {
	t.Helper()
	rec, ok := b.host.Record("applications", id)
	if !ok {
		t.Fatalf("no application %s", id)
	}
	var a application
	if err := json.Unmarshal(rec.Doc, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// raceOnPut applies change to the application's stored document just
// before the next versioned put: another reviewer deciding first.
func (b *bench) raceOnPut(id string, change func(*application)) {
	b.host.BeforePut = func(p plugin.Record) {
		if p.Version == 0 {
			return
		}
		b.host.BeforePut = nil
		rec, _ := b.host.Record("applications", id)
		var a application
		_ = json.Unmarshal(rec.Doc, &a)
		change(&a)
		rec.Doc, _ = json.Marshal(a)
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			b.t.Fatal(err)
		}
	}
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
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*", Mobile: "139****0002"}
	other   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

const pointAttrs = `{"name":"徐汇区康复辅具社区租赁服务点","address":"漕溪北路 200 号 1 楼","openingHours":"周一至周六 09:00-17:00",
	"咨询电话":"021-64000000","运营服务商":"上海某康复服务有限公司"}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = newFakeHost(t, &b.now)
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-point-1", Kind: "object", Number: 100000001, Status: "active", TypeName: "康复辅具租赁服务点",
		RegionCode: "310104", OwnerUnit: "徐汇区民政局", Attributes: json.RawMessage(pointAttrs)}
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
	code := b.code
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

func (b *bench) get(route string, v plugin.Visitor, query url.Values) (*plugin.Response, error) {
	return b.call(route, v, query, "", nil)
}

func (b *bench) post(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	return b.call(route, v, nil, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// wantCode fails unless err is a plugin error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}
