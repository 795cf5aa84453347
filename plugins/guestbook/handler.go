package main

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
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
	anyone   access = iota // citizens, tourists included: reading, leaving messages and comments
	login                  // logged-in citizens: a like is counted once per person
	operator               // console operators, through the host's admin routes
)

type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree.
var routes = map[string]route{
	"home":                 {serve: home},
	"post":                 {serve: post},
	"like":                 {serve: like, access: login},
	"comment":              {serve: postComment},
	"admin-messages":       {serve: listMessages, access: operator},
	"admin-review":         {serve: reviewMessage, access: operator},
	"admin-comments":       {serve: listComments, access: operator},
	"admin-comment-review": {serve: reviewComment, access: operator},
}

// call is one request being served.
type call struct {
	host  *plugin.Host
	req   *plugin.Request
	cfg   config
	point string // what the code stands for (landing and action routes)
	now   time.Time
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
	c.point = pointName(req.Code)
	return r.serve(ctx, c)
}

// config is the platform's configuration; plugin.json holds its schema.
type config struct {
	Title  string `json:"title"`
	Notice string `json:"notice"`
}

const (
	defaultTitle  = "留言板"
	defaultNotice = "留言经工作人员审核后公开展示，请文明发言，勿填写个人隐私信息。"
)

func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "留言板的配置无法解析，请联系平台管理员"}
		}
	}
	if c.Title == "" {
		c.Title = defaultTitle
	}
	if c.Notice == "" {
		c.Notice = defaultNotice
	}
	return c, nil
}

// pointName is what the messages are about: the code's name attribute,
// else its name.
func pointName(code *plugin.Code) string {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	if s, ok := attrs["name"].(string); ok && strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s)
	}
	if code.Name != "" {
		return code.Name
	}
	return "本码"
}

// Errors the host turns into status codes: InvalidParameter and
// MissingParameter 400, UnauthorizedOperation 403, ResourceNotFound 404,
// FailedOperation 409. Messages are shown as they are.

func invalid(msg string) error { return &plugin.Error{Code: plugin.ErrInvalid, Message: msg} }

func missing(msg string) error { return &plugin.Error{Code: "MissingParameter", Message: msg} }

func denied(msg string) error { return &plugin.Error{Code: "UnauthorizedOperation", Message: msg} }

func notFound(msg string) error { return &plugin.Error{Code: plugin.ErrNotFound, Message: msg} }

func conflict(code, msg string) error {
	return &plugin.Error{Code: "FailedOperation." + code, Message: msg}
}

// stamp formats a time for documents: RFC 3339 in Beijing time.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

var idRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

// tokenRe is a code's token, as the staff give it in filters.
var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// tokenOf takes a code's token out of its URL ({publicBase}/c/{token}),
// so that the staff may paste either.
func tokenOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "/c/"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexAny(s, "/?#"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

// readForm parses a urlencoded body (the pages post nothing else).
func readForm(req *plugin.Request) (url.Values, error) {
	ct := req.Header["Content-Type"]
	if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, invalid("请以表单（application/x-www-form-urlencoded）提交")
	}
	v, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, invalid("表单无法解析")
	}
	return v, nil
}

// put stores a document; version 0 creates or replaces, a version
// replaces only that version.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, Version: version})
}
