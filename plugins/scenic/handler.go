package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// handler serves every route of plugin.json. now is its clock, faked in
// tests; everything else comes from the request.
type handler struct {
	now func() time.Time
}

var _ plugin.Handler = handler{}

// access says who may use a route, checked before it is served.
type access int

const (
	anyone   access = iota // citizens, tourists included: the spot, the check-ins, checking in
	login                  // logged-in citizens: a like is counted once per person
	operator               // console operators, through the host's admin routes
)

// route is one entry of plugin.json's routes, by name.
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree on names, tourists and admin kinds.
var routes = map[string]route{
	"home":         {serve: home},
	"post":         {serve: showPost},
	"checkin":      {serve: checkIn},
	"like":         {serve: like, access: login},
	"admin-posts":  {serve: listPosts, access: operator},
	"admin-review": {serve: review, access: operator},
	"admin-spot":   {serve: setSpot, access: operator},
}

// call is one request being served: the host handle, the request, the
// platform's configuration with defaults applied, the spot the code
// stands for (landing and action routes) and the time in Beijing time.
type call struct {
	host *plugin.Host
	req  *plugin.Request
	cfg  config
	spot spot
	now  time.Time
}

// cst is Beijing time. WASM guests have no time zone database, and the
// city works in one zone: a fixed offset is exact.
var cst = time.FixedZone("CST", 8*3600)

func (h handler) Handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	r, ok := routes[req.Route]
	if !ok {
		return nil, notFound("页面不存在")
	}
	cfg, err := loadConfig(req.Config)
	if err != nil {
		return nil, err
	}
	c := &call{host: host, req: req, cfg: cfg, now: h.now().In(cst)}
	if r.access == operator {
		// The host authenticated the operator and checked plugin.read (GET)
		// or plugin.update (POST, PUT); a call that is not an admin call
		// never gets here, whatever its route name says.
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	if r.access == login && (req.Visitor.Tourist || req.Visitor.Pseudonym == "") {
		// The host already sends tourists to log in on routes not marked
		// tourist; checked again so that the rule does not depend on the
		// manifest. A token the page could send would not do: anyone can
		// make up a new one for every like.
		return nil, denied("点赞需登录：请在城市码 App 中扫码后登录")
	}
	if c.spot, err = c.loadSpot(ctx, req.Code); err != nil {
		return nil, err
	}
	return r.serve(ctx, c)
}

// Errors the host turns into status codes: InvalidParameter and
// MissingParameter 400, UnauthorizedOperation 403, ResourceNotFound 404,
// FailedOperation 409. Messages are shown to citizens and operators as
// they are.

func invalid(msg string) error { return &plugin.Error{Code: plugin.ErrInvalid, Message: msg} }

func missing(msg string) error { return &plugin.Error{Code: "MissingParameter", Message: msg} }

func denied(msg string) error { return &plugin.Error{Code: "UnauthorizedOperation", Message: msg} }

func notFound(msg string) error { return &plugin.Error{Code: plugin.ErrNotFound, Message: msg} }

func conflict(code, msg string) error {
	return &plugin.Error{Code: "FailedOperation." + code, Message: msg}
}

// warn logs a failure that must not fail the request: a check-in stored
// is answered as stored even when its usage event was not written.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// stamp formats a time for documents: RFC 3339 in Beijing time, readable
// in exports and parseable.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document; version 0 creates or replaces, a version
// replaces only that version.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, Version: version})
}
