package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	anyone   access = iota // citizens, tourists included: the guide and feedback
	operator               // console operators, through the host's admin routes
)

// route is one entry of plugin.json's routes, by name.
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree and that the operator routes are the admin
// ones.
var routes = map[string]route{
	"home":                   {serve: home},
	"feedback-form":          {serve: feedbackForm},
	"feedback":               {serve: submitFeedback},
	"admin-lot":              {serve: getLot, access: operator},
	"admin-lot-set":          {serve: setLot, access: operator},
	"admin-spaces":           {serve: setSpaces, access: operator},
	"admin-components":       {serve: listComponents, access: operator},
	"admin-component-add":    {serve: addComponent, access: operator},
	"admin-component-set":    {serve: updateComponent, access: operator},
	"admin-component-delete": {serve: deleteComponent, access: operator},
	"admin-feedback":         {serve: listFeedback, access: operator},
	"admin-feedback-reply":   {serve: replyFeedback, access: operator},
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
		// The host authenticated the operator and checked plugin.read
		// (GET) or plugin.update (the others); a call that is not an
		// admin call never gets here, whatever its route name says.
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
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

// isConflict reports a versioned put that lost to another writer.
func isConflict(err error) bool { return plugin.IsCode(err, "FailedOperation.VersionConflict") }

// warn logs a failure that must not fail the request: feedback stored is
// answered as stored even when its usage event could not be written.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// audit records an operator's change; the change stands when the trail
// cannot be written, and the log shows the gap.
func (c *call) audit(ctx context.Context, action, target string, detail map[string]any) {
	detail["operator"] = c.req.Operator.Account
	if err := c.host.Audit(ctx, action, target, detail); err != nil {
		c.host.Log(ctx, "error", action+" on "+target+" not audited: "+err.Error())
	}
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

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// readJSON decodes an admin body strictly: unknown fields are refused, so
// that a misspelt field is not silently dropped.
func readJSON(body []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("请求体须为 JSON：" + shape + "（" + jsonProblem(err) + "）")
	}
	if dec.More() {
		return invalid("请求体只能有一个 JSON 对象")
	}
	return nil
}

// jsonProblem says what was wrong with a body, without echoing it.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return "字段 " + typeErr.Field + " 的类型不正确"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "未知字段 " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "无法解析"
}

// text trims a field and checks it: at most max characters (runes), valid
// UTF-8, no control characters but newlines and tabs where multiline.
func text(label, s string, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", invalid(label + "不能超过 " + strconv.Itoa(max) + " 个字")
	}
	if !utf8.ValidString(s) {
		return "", invalid(label + "含有无效字符")
	}
	for _, r := range s {
		if r < 0x20 && !(multiline && (r == '\n' || r == '\t' || r == '\r')) || r == 0x7f {
			return "", invalid(label + "含有无效字符")
		}
	}
	return s, nil
}

// lotID names a code's records in the lots and spaces collections: one
// each per code. Record ids hold at most 64 characters and code tokens
// may be as long, so the id is a digest of the token.
func lotID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "lot-" + hex.EncodeToString(sum[:16])
}

// tokenOf reads a code an operator names: its token or its landing URL.
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

// resolve verifies an object code an operator names and answers it; a
// code that is not the platform's is not found.
func (c *call) resolve(ctx context.Context, code string) (*plugin.Code, error) {
	token := tokenOf(code)
	switch {
	case token == "":
		return nil, missing("请提供停车场的码 code（码值或码的网址）")
	case len(token) > 128 || strings.ContainsAny(token, " \x00"):
		return nil, invalid("code 须为码值或码的网址")
	}
	out, err := c.host.ResolveCode(ctx, token)
	switch {
	case plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) || plugin.IsCode(err, "FailedOperation.CodeTampered"):
		// The host takes a token it never issued for a forged one.
		return nil, notFound("没有找到码 " + token)
	case plugin.IsCode(err, "FailedOperation"):
		return nil, conflict("CodeNotUsable", "码 "+token+" 当前不可用（未激活或已作废）")
	case err != nil:
		return nil, err
	}
	if out.Kind != "object" {
		return nil, invalid("停车指南只用于停车场的物码")
	}
	return out, nil
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

// create stores a new document under an id, failing if the id is taken.
func (c *call) create(ctx context.Context, collection, id, codeToken string, doc any) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, IfAbsent: true})
}

// get reads a record; a missing one is nil without an error.
func (c *call) get(ctx context.Context, collection, id string) (*plugin.Record, error) {
	rec, err := c.host.GetRecord(ctx, collection, id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil
	}
	return rec, err
}
