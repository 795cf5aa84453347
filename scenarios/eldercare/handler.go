package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	anyone   access = iota // citizens, tourists included (the institution's pages)
	login                  // logged-in citizens: an evaluation is made by someone
	operator               // console operators, through the host's admin routes
)

// route is one entry of plugin.json's routes, by name. roles are the
// plugin's roles an operator route admits (roles.go).
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
	roles  []roleKind
	// refusal is what an operator of another role is told.
	refusal string
}

const viewRefusal = "仅限登记的养老机构工作人员或民政部门人员使用"

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json name the same routes, that only the institution's
// pages are open to tourists, that the operator routes are the admin ones
// and that only the staff change caregivers.
var routes = map[string]route{
	"home":                 {serve: home},
	"caregiver":            {serve: caregiverPage},
	"evaluate-form":        {serve: evaluateForm, access: login},
	"evaluate":             {serve: submitEvaluation, access: login},
	"admin-me":             {serve: whoami, access: operator, roles: []roleKind{unregistered, staffRole, authorityRole}},
	"admin-caregivers":     {serve: listCaregivers, access: operator, roles: []roleKind{staffRole, authorityRole}, refusal: viewRefusal},
	"admin-caregiver-save": {serve: saveCaregiver, access: operator, roles: []roleKind{staffRole}, refusal: "护理员信息由所属养老机构的工作人员维护；民政部门及未登记的账号只能查看"},
	"admin-evaluations":    {serve: listEvaluations, access: operator, roles: []roleKind{staffRole, authorityRole}, refusal: viewRefusal},
}

// call is one request being served: the host handle, the request, the
// platform's configuration with defaults applied, the time of the request
// in Beijing time, and either the institution the code stands for
// (landing and action routes) or the operator's role (admin routes).
type call struct {
	host *plugin.Host
	req  *plugin.Request
	cfg  config
	now  time.Time
	inst institution
	role role
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
			return nil, denied("仅限控制台工作人员使用")
		}
		if c.role, err = cfg.roleOf(strings.TrimSpace(req.Operator.Account)); err != nil {
			return nil, err
		}
		if !slices.Contains(r.roles, c.role.kind) {
			if c.role.kind == unregistered {
				return nil, c.role.covers(institution{})
			}
			return nil, denied(r.refusal)
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	if r.access == login {
		// The host already sends tourists to log in on routes not marked
		// tourist; checked again so that the rule does not depend on the
		// manifest.
		if req.Visitor.Tourist || req.Visitor.Pseudonym == "" {
			return nil, denied("服务评价仅供登录用户使用，请在城市码 App 中扫码后登录")
		}
	}
	c.inst = institutionOf(req.Code, cfg)
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

// warn logs a failure that must not fail the request: an evaluation
// stored is answered as stored even when its notification could not be
// queued.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// stamp formats a time for documents: RFC 3339 in Beijing time, readable
// in exports and parseable.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// hashed derives a record id from what the record is about.
func hashed(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + hex.EncodeToString(sum[:12])
}

// maxField bounds a form field: the form has a few short ones (the
// comment is at most 300 characters, 900 bytes).
const maxField = 4 << 10

// readForm parses a urlencoded or multipart body; the form takes no file.
func readForm(req *plugin.Request) (url.Values, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, NoFile: "服务评价无需上传文件"})
	if err != nil {
		return nil, err
	}
	return f.Values, nil
}

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document in a collection about a code; ifAbsent creates
// only.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, ifAbsent bool) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, IfAbsent: ifAbsent})
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
