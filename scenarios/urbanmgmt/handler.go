package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
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
	anyone     access = iota // citizens, tourists included (the shop's page, notices)
	login                    // logged-in visitors: what they file is theirs
	merchant                 // a visitor bound to this code as its merchant
	inspector                // a visitor bound as an inspector (城管队员)
	supervisor               // a visitor bound as a supervisor (督察队员)
	operator                 // console operators, through the host's admin routes
)

// route is one entry of plugin.json's routes, by name.
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json name the same routes, that only the shop's page and
// the notices are open to tourists and that the operator routes are
// exactly the admin ones.
var routes = map[string]route{
	"home":          {serve: home},
	"notices":       {serve: noticesPage},
	"complain-form": {serve: complainForm, access: login},
	"complain":      {serve: complain, access: login},
	"mine":          {serve: mine, access: login},
	"rectify-form":  {serve: rectifyForm, access: login},
	"rectify":       {serve: rectify, access: login},
	"rate-form":     {serve: rateForm, access: login},
	"rate":          {serve: rate, access: login},
	"follow":        {serve: follow, access: login},
	"join-form":     {serve: joinForm, access: login},
	"join":          {serve: join, access: login},

	"merchant":    {serve: merchantHome, access: merchant},
	"pledge-form": {serve: pledgeForm, access: merchant},
	"pledge":      {serve: signPledge, access: merchant},
	"selfcheck":   {serve: selfCheck, access: merchant},

	"inspect":          {serve: inspectHome, access: inspector},
	"patrol":           {serve: logPatrol, access: inspector},
	"correct":          {serve: correctInfo, access: inspector},
	"review-info":      {serve: reviewInfo, access: inspector},
	"handle-complaint": {serve: handleComplaintHere, access: inspector},

	"supervise":   {serve: superviseHome, access: supervisor},
	"supervision": {serve: recordSupervision, access: supervisor},

	"admin-records":     {serve: listRecords, access: operator},
	"admin-grant":       {serve: issueGrant, access: operator},
	"admin-revoke":      {serve: revokeMember, access: operator},
	"admin-notice":      {serve: publishNotice, access: operator},
	"admin-penalty":     {serve: recordPenalty, access: operator},
	"admin-complaint":   {serve: handleComplaintAdmin, access: operator},
	"admin-correction":  {serve: reviewCorrectionAdmin, access: operator},
	"admin-mappings":    {serve: listMappings, access: operator},
	"admin-map":         {serve: mapObject, access: operator},
	"admin-unmap":       {serve: unmapObject, access: operator},
	"admin-handoffs":    {serve: handoffList, access: operator},
	"admin-handoff-ack": {serve: handoffAck, access: operator},
}

// call is one request being served: the host handle, the request, the
// platform's configuration with defaults applied, the time of the request
// in Beijing time, and on landing and action routes the shop the code
// stands for and the visitor's bindings.
type call struct {
	host *plugin.Host
	req  *plugin.Request
	cfg  config
	now  time.Time
	shop shop
	// roles are the logged-in visitor's bindings (any code); member is
	// the one the route asked for (merchant of this code, inspector,
	// supervisor).
	roles  []binding
	member *binding
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
			return nil, denied("仅限平台管理人员在控制台使用")
		}
		return r.serve(ctx, c)
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	c.shop = shopOf(req.Code)
	loggedIn := !req.Visitor.Tourist && req.Visitor.Pseudonym != ""
	if r.access != anyone && !loggedIn {
		// The host already sends tourists to log in on routes not marked
		// tourist; checked again so that the rule does not depend on the
		// manifest.
		return nil, denied("请在城市码 App 中扫码并登录后使用")
	}
	if loggedIn {
		if c.roles, err = c.bindings(ctx); err != nil {
			return nil, err
		}
	}
	switch r.access {
	case merchant:
		if c.member = c.role(roleMerchant, req.Code.Token); c.member == nil {
			return nil, denied("仅限本店已绑定的商户使用；请向属地城管中队申领绑定码后在“身份绑定”页面绑定")
		}
	case inspector:
		if c.member = c.role(roleInspector, ""); c.member == nil {
			return nil, denied("仅限已绑定的城管队员使用")
		}
	case supervisor:
		if c.member = c.role(roleSupervisor, ""); c.member == nil {
			return nil, denied("仅限已绑定的督察队员使用")
		}
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

// warn logs a failure that must not fail the request: a complaint stored
// is answered as stored even when its notification could not be queued.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// audit writes an audit entry; the operation stands when the trail is
// down, but the log shows the gap.
func (c *call) audit(ctx context.Context, action, target string, detail any) {
	if err := c.host.Audit(ctx, action, target, detail); err != nil {
		c.host.Log(ctx, "error", action+" on "+target+" not audited: "+err.Error())
	}
}

// event writes a usage event; a failure is logged.
func (c *call) event(ctx context.Context, name string, detail any) {
	if err := c.host.Event(ctx, name, detail); err != nil {
		c.warn(ctx, name+" event", err)
	}
}

// link is an absolute URL below the code's landing page.
func (c *call) link(path string) string { return c.req.BaseURL + path }

// token is the scanned code's token ("" on admin routes).
func (c *call) token() string {
	if c.req.Code == nil {
		return ""
	}
	return c.req.Code.Token
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

// hashed derives a record id from what a record is about: "one per …"
// rules then hold without a look-up race, since a create-only put of the
// same id fails.
func hashed(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + hex.EncodeToString(sum[:16])
}

// Forms.

// maxPhoto bounds a photo: 4 MB, what a phone photo needs (the host takes
// landing forms up to 6 MB and files up to 5 MB).
const (
	maxPhoto  = 4 << 20
	maxField  = 16 << 10
	maxText   = 500 // characters of a complaint, a finding, a rectification
	photoHint = "可选；JPG、PNG、WebP 或 GIF 图片，不超过 4 MB"
)

// form is a submitted form: its fields, and the photo when one was sent.
type form struct {
	values url.Values
	photo  *plugin.Image
}

func (f *form) get(name string) string { return strings.TrimSpace(f.values.Get(name)) }

// only refuses a form that has a field other than the named ones (and
// "photo"), or one of them twice: a typo is an error, not a silently lost
// answer. Prefixes ending in '.' admit their families (f.address).
func (f *form) only(names ...string) error {
	keys := make([]string, 0, len(f.values))
	for k := range f.values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same form always fails the same way
	for _, k := range keys {
		known := false
		for _, n := range names {
			known = known || k == n || strings.HasSuffix(n, ".") && strings.HasPrefix(k, n)
		}
		if !known {
			return invalid("未知的表单字段：" + k)
		}
		if len(f.values[k]) > 1 && !multi[k] {
			return invalid("表单字段 " + k + " 只能填写一次")
		}
	}
	return nil
}

// multi are the form fields that may repeat (check boxes).
var multi = map[string]bool{"failed": true}

// text reads a text field: trimmed, required or not, at most max
// characters.
func (f *form) text(name, label string, max int, required bool) (string, error) {
	return checkText(f.get(name), label, max, required)
}

func checkText(s, label string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", missing("请填写" + label)
	case utf8.RuneCountInString(s) > max:
		return "", invalid(label + "不能超过 " + strconv.Itoa(max) + " 个字")
	case strings.ContainsRune(s, 0):
		return "", invalid(label + "含有无效字符")
	}
	return s, nil
}

// readForm parses a urlencoded or multipart body. A multipart body may
// carry one image, in the field "photo", of at most maxPhoto bytes.
func readForm(req *plugin.Request) (*form, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, ImageField: "photo", MaxImage: maxPhoto})
	if err != nil {
		return nil, err
	}
	return &form{values: f.Values, photo: f.Image}, nil
}

// storePhoto stores the form's photo, if any, and answers its URL. It is
// called after every check of the form has passed, so that bad input
// stores nothing.
func (c *call) storePhoto(ctx context.Context, f *form) (string, error) {
	if f.photo == nil {
		return "", nil
	}
	file, err := c.host.PutFile(ctx, f.photo.Name, f.photo.ContentType, f.photo.Data)
	if err != nil {
		return "", err
	}
	return file.URL, nil
}

// readJSON decodes an admin call's body strictly: unknown fields are
// refused, so that a misspelt key is not silently ignored.
func readJSON(body []byte, v any, hint string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("请求体须为 JSON：" + hint)
	}
	if dec.More() {
		return invalid("请求体须为单个 JSON 对象：" + hint)
	}
	return nil
}

// Records.

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document in a collection about a code; version 0 creates
// or replaces, a version replaces only that version.
func (c *call) put(ctx context.Context, collection, id, codeToken string, doc any, version int64) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, Version: version})
}

// create stores a new document under a derived id, once: a second create
// of the id fails with FailedOperation.RecordExists.
func (c *call) create(ctx context.Context, collection, id, codeToken string, doc any) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: codeToken, Doc: b, IfAbsent: true})
}

// list answers up to limit records of a collection about the request's
// code, newest first.
func (c *call) list(ctx context.Context, collection string, where map[string]any, limit int) ([]plugin.Record, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: collection, CodeToken: c.token(), Where: where,
		Newest: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}

var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// ofCode reads a record of a collection by id, when it is about the code
// being served: another code's record, or one that does not exist, is not
// found alike, so an id alone reveals nothing.
func (c *call) ofCode(ctx context.Context, collection, id, what string) (*plugin.Record, error) {
	if !recordIDRe.MatchString(id) {
		return nil, invalid(what + "编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, collection, id)
	if plugin.IsCode(err, plugin.ErrNotFound) || err == nil && c.req.Code != nil && rec.CodeToken != c.req.Code.Token {
		return nil, notFound("没有找到该" + what)
	}
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// ref reads a record a form refers to, written "collection:id", from one
// of the allowed collections and about this code.
func (c *call) ref(ctx context.Context, s string, allowed ...string) (*plugin.Record, error) {
	coll, id, ok := strings.Cut(s, ":")
	known := false
	for _, a := range allowed {
		known = known || a == coll
	}
	if !ok || !known {
		return nil, invalid("关联记录格式不正确（如 " + allowed[0] + ":r0123…）")
	}
	return c.ofCode(ctx, coll, id, "关联记录")
}
