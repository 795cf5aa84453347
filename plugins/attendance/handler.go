package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// handler serves every route of plugin.json. now is its clock and rand
// the source of bind codes, both faked in tests.
type handler struct {
	now  func() time.Time
	rand io.Reader
}

var _ plugin.Handler = handler{}

// access says who may use a route, checked before it is served.
type access int

const (
	anyone  access = iota // tourists included: the landing page explains itself to each
	login                 // logged-in citizens: binding a staff number
	member                // bound staff members in service: check-in and check-out
	viewer                // console operators configured as managers or team leaders
	manager               // console operators configured as managers: roster changes
)

type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json agree.
var routes = map[string]route{
	"home":                 {serve: home},
	"bind":                 {serve: bind, access: login},
	"checkin":              {serve: checkIn, access: member},
	"checkout":             {serve: checkOut, access: member},
	"admin-staff":          {serve: listStaff, access: viewer},
	"admin-staff-add":      {serve: addStaff, access: manager},
	"admin-staff-update":   {serve: updateStaff, access: manager},
	"admin-staff-bindcode": {serve: reissueBindCode, access: manager},
	"admin-daily":          {serve: daily, access: viewer},
	"admin-monthly":        {serve: monthly, access: viewer},
}

// call is one request being served.
type call struct {
	host  *plugin.Host
	req   *plugin.Request
	cfg   config
	now   time.Time // Beijing time
	rand  io.Reader
	site  string // the check-in point the code stands for (landing and action routes)
	staff *staffRecord
	role  role
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
	c := &call{host: host, req: req, cfg: cfg, now: h.now().In(cst), rand: h.rand}
	if r.access >= viewer {
		if req.Kind != plugin.Admin || req.Operator == nil {
			return nil, denied("仅限平台工作人员在控制台使用")
		}
		c.role = cfg.roleOf(req.Operator.Account)
		if err := c.role.may(r.access, req.Operator.Account); err != nil {
			return nil, err
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	c.site = siteName(req.Code)
	if r.access >= login && (req.Visitor.Tourist || req.Visitor.Pseudonym == "") {
		// The host already sends tourists to log in on these routes;
		// checked again so that the rule does not hang on the manifest.
		return nil, denied(needLogin)
	}
	if r.access == member {
		if c.staff, err = c.staffOf(ctx, req.Visitor.Pseudonym); err != nil {
			return nil, err
		}
		switch {
		case c.staff == nil:
			return nil, denied(notOnRoster)
		case c.staff.doc.Status != statusActive:
			return nil, denied(disabledMsg)
		}
	}
	return r.serve(ctx, c)
}

// Refusals shown to citizens.
const (
	needLogin   = "考勤签到需实名登录：请在城市码 App 中扫码后登录"
	notOnRoster = "您不在本单位的考勤名单中，不能签到。新入职人员请先输入管理员发放的工号与绑定码完成绑定"
	disabledMsg = "您的考勤账号已停用，不能签到；如有疑问请联系考勤管理员"
)

// role is what a console operator is to this plugin. The host
// authenticated the operator and checked plugin.read (GET) or
// plugin.update (POST); which teams they see comes from the platform's
// configuration of the plugin, by account, as in 码上养老.
type role struct {
	manager bool
	teams   []string // a leader's teams
}

func (c config) roleOf(account string) role {
	r := role{manager: account != "" && slices.Contains(c.Managers, account)}
	for _, l := range c.Leaders {
		if l.Account == account && !slices.Contains(r.teams, l.Team) {
			r.teams = append(r.teams, l.Team)
		}
	}
	return r
}

func (r role) may(a access, account string) error {
	switch {
	case r.manager:
		return nil
	case len(r.teams) == 0:
		return denied("账号 " + account + " 未登记为考勤管理员（managers）或班组长（leaders），请平台管理员在考勤签到的配置中登记")
	case a == manager:
		return denied("班组长只能查看本班组的名单与考勤；维护考勤人员名单须由考勤管理员操作")
	}
	return nil
}

// teamScope answers the team a read is limited to: the one asked for, if
// the operator sees it; for a leader who asked for none, their only team.
// "" is every team, for managers.
func (c *call) teamScope() (string, error) {
	team, err := checkText(c.req.QueryValue("team"), "班组 team", false)
	if err != nil {
		return "", err
	}
	if c.role.manager {
		return team, nil
	}
	if team == "" {
		if len(c.role.teams) == 1 {
			return c.role.teams[0], nil
		}
		return "", missing("您是多个班组的班组长：请用 team 指明班组（" + strings.Join(c.role.teams, "、") + "）")
	}
	if !slices.Contains(c.role.teams, team) {
		return "", denied("您只能查看本班组（" + strings.Join(c.role.teams, "、") + "）的名单与考勤")
	}
	return team, nil
}

// siteName is the check-in point: the code's name attribute, else its
// name.
func siteName(code *plugin.Code) string {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	for _, k := range []string{"name", "名称", "考勤点"} {
		if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	if code.Name != "" {
		return code.Name
	}
	return "考勤点"
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

// outside refuses a position beyond the fence: a 400 with its own
// sub-code, as in 访客登记.
func outside(msg string) error {
	return &plugin.Error{Code: plugin.ErrInvalid + ".OutsideFence", Message: msg}
}

// stamp formats a time for documents: RFC 3339 in Beijing time.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// put stores a document; version 0 creates or replaces, a version
// replaces only that version; ifAbsent only creates.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64, ifAbsent bool) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b,
		Version: version, IfAbsent: ifAbsent})
}

// all reads every record a query matches, 500 at a time, up to 100,000:
// a roster and a month of its attendance.
func (c *call) all(ctx context.Context, q plugin.RecordQuery) ([]plugin.Record, error) {
	var out []plugin.Record
	q.Limit = 500
	for q.Offset = 0; q.Offset < 100000; q.Offset += q.Limit {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) < q.Limit {
			break
		}
	}
	return out, nil
}

// warn logs a failure that does not undo what the request did.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// pageArgs reads pageNo (from 1) and pageSize (1–500, default 100).
func pageArgs(req *plugin.Request) (int, int, error) {
	no, size := 1, 100
	if s := req.QueryValue("pageNo"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5000 {
			return 0, 0, invalid("pageNo 须为 1–5000 的整数")
		}
		no = n
	}
	if s := req.QueryValue("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, invalid("pageSize 须为 1–500 的整数")
		}
		size = n
	}
	return no, size, nil
}
