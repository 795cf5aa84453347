package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
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
	anyone   access = iota // citizens, tourists included
	login                  // logged-in citizens: drafts and answers belong to someone
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
	"publish":              {serve: publish},
	"draft":                {serve: saveDraft, access: login},
	"rate":                 {serve: rate},
	"survey":               {serve: surveyPage, access: login},
	"answer":               {serve: answer, access: login},
	"admin-feedback":       {serve: listFeedback, access: operator},
	"admin-questionnaires": {serve: listQuestionnaires, access: operator},
	"admin-create":         {serve: createQuestionnaire, access: operator},
	"admin-update":         {serve: updateQuestionnaire, access: operator},
	"admin-publish":        {serve: transition, access: operator},
	"admin-close":          {serve: transition, access: operator},
	"admin-copy":           {serve: copyQuestionnaire, access: operator},
	"admin-bind":           {serve: bindQuestionnaire, access: operator},
	"admin-summary":        {serve: questionnaireSummary, access: operator},
	"admin-ratings":        {serve: ratingSummary, access: operator},
}

// call is one request being served.
type call struct {
	host  *plugin.Host
	req   *plugin.Request
	cfg   config
	place string // the code's name (landing and action routes)
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
	// The host already sends tourists to log in on routes not marked
	// tourist; checked again so that the rule does not rest on the
	// manifest alone.
	if r.access == login && !c.loggedIn() {
		return nil, denied("请在城市码 App 中登录后使用")
	}
	c.place = placeName(req.Code)
	return r.serve(ctx, c)
}

func (c *call) loggedIn() bool { return !c.req.Visitor.Tourist && c.req.Visitor.Pseudonym != "" }

// placeName is what the code stands for: its name attribute, else its
// name, else a generic one.
func placeName(code *plugin.Code) string {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	for _, k := range []string{"name", "名称"} {
		if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	if code.Name != "" {
		return code.Name
	}
	return "服务点"
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

// warn logs a failure that must not fail the request: a submission stored
// is answered as stored even when its event could not be written.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// stamp formats a time for documents and lists: RFC 3339, Beijing time.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// cleanText trims s and checks it: valid UTF-8, no control characters
// (line breaks and tabs only where multiline), at most max characters.
// name says what it is in the message.
func cleanText(s, name string, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid(name + "含有无法识别的字符")
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return "", invalid(name + "含有不可见的控制字符")
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(fmt.Sprintf("%s不能超过 %d 个字（现有 %d 个字）", name, max, n))
	}
	return s, nil
}

// maxField bounds one form field: the longest text answer, 2000
// characters of three bytes.
const maxField = 8 << 10

// readForm parses a urlencoded or multipart body (no files) and refuses
// fields that allowed does not know, and fields sent twice unless multi
// says they may be.
func readForm(req *plugin.Request, allowed func(name string) bool, multi func(name string) bool) (url.Values, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, NoFile: "意见反馈无需上传文件"})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.Values))
	for name := range f.Values {
		names = append(names, name)
	}
	sort.Strings(names) // the same form always fails the same way
	for _, name := range names {
		if !allowed(name) {
			return nil, invalid("未知的表单字段：" + name)
		}
		if len(f.Values[name]) > 1 && (multi == nil || !multi(name)) {
			return nil, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	return f.Values, nil
}

// fields allows a fixed set of form fields.
func fields(names ...string) func(string) bool {
	return func(n string) bool {
		for _, x := range names {
			if x == n {
				return true
			}
		}
		return false
	}
}

// recordIDRe is the host's record id syntax: ids from clients are checked
// against it before they reach the host.
var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// keyFor derives a record id from parts: the same citizen and code (or
// questionnaire) always give the same id, so that the host's create-only
// put makes "one per person" hold across instances.
func keyFor(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + hex.EncodeToString(sum[:20])
}

// put stores a document; an empty id lets the host give one.
func (c *call) put(ctx context.Context, r plugin.Record, doc any) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	r.Doc = b
	return c.host.PutRecord(ctx, r)
}

// decode reads a record's document; one that does not decode is shown
// empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

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
