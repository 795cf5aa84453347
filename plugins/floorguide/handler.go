package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	anyone   access = iota // citizens, tourists included: the guide and corrections
	operator               // console operators, through the host's admin routes
)

type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree.
var routes = map[string]route{
	"home":              {serve: home},
	"correct-form":      {serve: correctionForm},
	"correct":           {serve: submitCorrection},
	"admin-guides":      {serve: getGuides, access: operator},
	"admin-save":        {serve: saveGuide, access: operator},
	"admin-plan":        {serve: uploadPlan, access: operator},
	"admin-plan-delete": {serve: deletePlan, access: operator},
	"admin-corrections": {serve: listCorrections, access: operator},
	"admin-handle":      {serve: handleCorrection, access: operator},
}

// call is one request being served.
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
		// The host authenticated the operator and checked plugin.read or
		// plugin.update; a call that is not an admin call never gets
		// here, whatever its route name says.
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Kind == plugin.Admin || req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	return r.serve(ctx, c)
}

// config is the platform's configuration; plugin.json holds its schema.
type config struct {
	Title  string `json:"title"`
	Notice string `json:"notice"`
}

const (
	defaultTitle  = "楼层导览"
	defaultNotice = "发现楼层、房间或区域信息有误？请告诉我们，工作人员核实后会及时更正。"
)

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "楼层导览的配置无法解析，请联系平台管理员"}
		}
	}
	if strings.TrimSpace(c.Title) == "" {
		c.Title = defaultTitle
	}
	if strings.TrimSpace(c.Notice) == "" {
		c.Notice = defaultNotice
	}
	return c, nil
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

// stamp formats a time for documents: RFC 3339 in Beijing time, readable
// in exports and parseable.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// text checks a free-text value: trimmed, at most max characters, valid
// UTF-8 and no control characters (a NUL or an escape sequence would end
// up in exports and other systems). Line breaks are allowed only where
// multiline says so. The error names the field as the user sees it.
func text(label, s string, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid(label + "含有无效字符")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", invalid(label + "含有无效字符")
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(label + "不能超过 " + strconv.Itoa(max) + " 个字")
	}
	return s, nil
}

// tokenRe is the form of the host's code tokens.
var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// tokenOf takes a code's token, or the token out of the code's URL.
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

// readJSON decodes an admin call's body strictly: one JSON object, no
// unknown fields, so that a field the plugin keeps for itself (a floor
// plan's file, a status) cannot be slipped in.
func readJSON(body []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return invalid("未知的字段 " + name + "；请求体须为 " + shape)
		}
		return invalid("请求体须为 JSON：" + shape)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("请求体只能是一个 JSON 对象：" + shape)
	}
	return nil
}

// readForm parses a urlencoded or multipart body; the forms take no file.
func readForm(req *plugin.Request) (url.Values, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: 4 << 10, NoFile: "纠错无需上传文件"})
	if err != nil {
		return nil, err
	}
	return f.Values, nil
}

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document; version 0 creates or replaces, a version
// replaces only that version, ifAbsent only creates.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64, ifAbsent bool) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, Version: version, IfAbsent: ifAbsent})
}

// audit records an operator's change. The change stands when the trail
// fails; the log must then show the gap.
func (c *call) audit(ctx context.Context, action, target string, detail map[string]any) {
	detail["operator"] = c.req.Operator.Account
	if err := c.host.Audit(ctx, action, target, detail); err != nil {
		c.host.Log(ctx, "error", action+" on "+target+" not audited: "+err.Error())
	}
}

// event records a usage event; a failure is logged and does not fail the
// request that already stored its record.
func (c *call) event(ctx context.Context, name string, detail map[string]any) {
	if err := c.host.Event(ctx, name, detail); err != nil {
		c.host.Log(ctx, "warn", name+" event: "+err.Error())
	}
}
