package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// handler serves every route of plugin.json. now is its clock, faked in
// tests.
type handler struct {
	now func() time.Time
}

var _ plugin.Handler = handler{}

// access says who may use a route, checked before it is served.
type access int

const (
	anyone   access = iota // citizens, tourists included: visitors register without an account
	operator               // console operators, through the host's admin routes
)

type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree.
var routes = map[string]route{
	"home":                {serve: home},
	"register":            {serve: register},
	"admin-registrations": {serve: listRegistrations, access: operator},
}

// call is one request being served.
type call struct {
	host  *plugin.Host
	req   *plugin.Request
	cfg   config
	point string // the registration point's name (landing and action routes)
	now   time.Time
}

// cst is Beijing time: the city works in one zone, so a fixed offset is
// exact.
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
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	c.point = pointName(req.Code)
	return r.serve(ctx, c)
}

// pointName is the registration point: the code's name attribute, else
// its name, else a generic one.
func pointName(code *plugin.Code) string {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	for _, k := range []string{"name", "名称", "登记点"} {
		if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	if code.Name != "" {
		return code.Name
	}
	return "访客登记点"
}

// Errors the host turns into status codes: InvalidParameter and
// MissingParameter 400, UnauthorizedOperation 403, ResourceNotFound 404.
// Messages are shown as they are.

func invalid(msg string) error { return &plugin.Error{Code: plugin.ErrInvalid, Message: msg} }

func missing(msg string) error { return &plugin.Error{Code: "MissingParameter", Message: msg} }

func denied(msg string) error { return &plugin.Error{Code: "UnauthorizedOperation", Message: msg} }

func notFound(msg string) error { return &plugin.Error{Code: plugin.ErrNotFound, Message: msg} }

// outside is the refusal of a position beyond the fence: a 400, with its
// own sub-code for the console's statistics.
func outside(msg string) error {
	return &plugin.Error{Code: plugin.ErrInvalid + ".OutsideFence", Message: msg}
}

// stamp formats a time for documents and lists: RFC 3339, Beijing time.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// maxField bounds a form field: the form has a few short ones.
const maxField = 4 << 10

// readForm parses a urlencoded or multipart body; the form takes no file.
func readForm(req *plugin.Request) (url.Values, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, NoFile: "访客登记无需上传文件"})
	if err != nil {
		return nil, err
	}
	return f.Values, nil
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
