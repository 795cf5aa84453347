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

// bench drives the handler as the host would: it fills a Request from the
// manifest's route, with the visitor and code of the test, against the
// sdk's fake host with the plugin's manifest declared.
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

// The institutions of the tests: a nursing home in Xuhui and an elder
// care home in Changning, with different owner units.
const (
	homeUnit = "上海市徐汇区第一社会福利院"
	careUnit = "长宁区虹桥街道长者照护之家"
)

const homeAttrs = `{"name":"徐汇区第一社会福利院","机构类型":"养老机构","address":"龙吴路 2000 号","phone":"021-64000000",
	"机构等级":"四级","核定床位":300,"收住对象":"失能、半失能老人","收费标准":"床位费 2800–4500 元/月","医养结合":true,
	"服务时间":"全天 24 小时","服务内容":["生活照料","康复护理","认知症照护"],"机构简介":"区属公办养老机构。"}`

const roles = `{"staff":[{"account":"fly","ownerUnit":"` + homeUnit + `"},{"account":"hq","ownerUnit":"` + careUnit + `"}],
	"authorities":[{"account":"mz-xh","regionCode":"310104","name":"徐汇区民政局"},{"account":"mz-cn","regionCode":"310105"},
	{"account":"mz-city","regionCode":"310000","name":"上海市民政局"}]}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-home-1", Kind: "object", Number: 100000001, Status: "active", TypeName: "养老服务机构",
		RegionCode: "310104", OwnerUnit: homeUnit, Attributes: json.RawMessage(homeAttrs)}
	b.host.SetObject(b.code)
	b.host.SetObject(plugin.Code{Token: "tok-care-2", Number: 100000002, TypeName: "长者照护之家", RegionCode: "310105",
		OwnerUnit: careUnit, Attributes: json.RawMessage(`{"name":"虹桥长者照护之家","床位数":49}`)})
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

func (b *bench) get(route string, v plugin.Visitor, query url.Values) (*plugin.Response, error) {
	return b.call(route, v, query, "", nil)
}

func (b *bench) post(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	return b.call(route, v, nil, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// admin calls an admin route as the console does for account: no code,
// no visitor, JSON in; it answers the status and the decoded JSON.
func (b *bench) admin(account, route string, query url.Values, body string) (int, map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	if r.Kind != plugin.Admin {
		b.t.Fatalf("%s is not an admin route", route)
	}
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: query, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: account, PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return resp.Status, out, nil
}

// addCaregiver saves a caregiver as the staff account and answers its id.
func (b *bench) addCaregiver(account, body string) string {
	b.t.Helper()
	status, out, err := b.admin(account, "admin-caregiver-save", nil, body)
	if err != nil || status != 201 {
		b.t.Fatalf("caregiver: %d %v %v", status, out, err)
	}
	return out["id"].(string)
}

// count is the number of records in a collection.
func (b *bench) count(collection string) int { return len(b.host.Records(collection)) }

// doc decodes a stored record.
func (b *bench) doc(t *testing.T, collection, id string, v any) {
	t.Helper()
	rec, ok := b.host.Record(collection, id)
	if !ok {
		t.Fatalf("no %s record %s", collection, id)
	}
	if err := json.Unmarshal(rec.Doc, v); err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is a plugin error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}
