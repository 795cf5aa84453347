package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"

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
	anyone   access = iota // citizens, tourists included; the report route applies the reporting mode itself
	operator               // console operators, through the host's admin routes
)

// route is one entry of plugin.json's routes, by name.
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json name the same routes and that the operator routes are
// exactly the admin ones.
var routes = map[string]route{
	"home":                   {serve: home},
	"report":                 {serve: submitReport},
	"ticket":                 {serve: ticketStatus},
	"admin-components":       {serve: listComponents, access: operator},
	"admin-component-add":    {serve: addComponent, access: operator},
	"admin-component-update": {serve: updateComponent, access: operator},
	"admin-component-delete": {serve: deleteComponent, access: operator},
	"admin-reports":          {serve: listReports, access: operator},
	"admin-status":           {serve: changeStatus, access: operator},
}

// call is one request being served: the host handle, the request, the
// platform's configuration with defaults applied and the time of the
// request in Beijing time.
type call struct {
	host *plugin.Host
	req  *plugin.Request
	cfg  config
	now  time.Time
}

// cst is Beijing time: the city works in one zone, so a fixed offset is
// exact (and needs no time zone database).
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
		// The host authenticated the operator and checked plugin.read or
		// plugin.update; a request that is not an admin call never gets
		// here, whatever its route name says.
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil || req.Kind == plugin.Admin {
		return nil, invalid("缺少扫码信息")
	}
	return r.serve(ctx, c)
}

// Reporting modes (报修方式设置).
const (
	modeAnonymous = "anonymous" // no reporter identity is stored, even for a logged-in citizen
	modeRealname  = "realname"  // login required; the reporter's name and mobile are stored
	modeEither    = "either"    // the citizen chooses; tourists report anonymously
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Mode is the reporting mode: anonymous, realname or either (default).
	Mode string `json:"mode"`
	// Categories are the fault categories (故障类型) a report picks from;
	// default defaultCategories.
	Categories []string `json:"categories"`
	// Notice is shown above the form.
	Notice string `json:"notice"`
}

var defaultCategories = []string{"损坏", "故障", "缺失", "污损", "其他"}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "部件报修的配置无法解析，请联系平台管理员"}
		}
	}
	switch c.Mode {
	case "":
		c.Mode = modeEither
	case modeAnonymous, modeRealname, modeEither:
	default:
		return c, &plugin.Error{Code: plugin.ErrInternal, Message: "部件报修的配置含未知的报修方式 " + c.Mode + "，请联系平台管理员"}
	}
	if len(c.Categories) == 0 {
		c.Categories = defaultCategories
	}
	return c, nil
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

// warn logs a failure that must not fail the request: a report stored is
// answered as stored even when its usage event could not be written.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// stamp formats a time for documents: RFC 3339 in Beijing time, readable
// in exports and parseable.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// readable formats a stamp for a page; what does not parse is shown as is.
func readable(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(cst).Format("2006-01-02 15:04")
}

// hasControl reports control characters other than line breaks and tabs:
// a NUL or an escape sequence in a description is an attack or an accident,
// never content.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0
}

// strictJSON decodes an admin body; unknown fields are refused so that a
// typo is not silently ignored.
func strictJSON(body []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("请求体须为 JSON：" + shape)
	}
	if dec.More() {
		return invalid("请求体须为一个 JSON 对象：" + shape)
	}
	return nil
}

// pageArgs reads pageNo (from 1) and pageSize (1–100, default 20).
func pageArgs(req *plugin.Request) (int, int, error) {
	no, size := 1, 20
	if s := req.QueryValue("pageNo"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5000 {
			return 0, 0, invalid("pageNo 须为 1–5000 的整数")
		}
		no = n
	}
	if s := req.QueryValue("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, invalid("pageSize 须为 1–100 的整数")
		}
		size = n
	}
	return no, size, nil
}

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document; version 0 creates or replaces, a version replaces
// only that version, ifAbsent only creates.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64, ifAbsent bool) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, Version: version, IfAbsent: ifAbsent})
}
