package main

import (
	"context"
	"encoding/json"
	"net/url"
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
	anyone access = iota // citizens, tourists included
	login                // logged-in visitors (the staff portal and enrollment)
	staff                // enrolled cleaners only
)

// route is one entry of plugin.json's routes, by name.
type route struct {
	serve  func(ctx context.Context, c *call) (*plugin.Response, error)
	access access
}

// routes is the registry of the manifest's routes; a unit test checks that
// it and plugin.json name the same routes and that no staff route is open
// to tourists.
var routes = map[string]route{
	"home":        {serve: home},
	"report-form": {serve: reportForm},
	"report":      {serve: submitReport},
	"status":      {serve: reportStatus},
	"workorder":   {serve: workOrder},
	"rate-form":   {serve: rateForm},
	"rate":        {serve: rate},
	"staff":       {serve: staffHome, access: login},
	"enroll":      {serve: enroll, access: login},
	"checkin":     {serve: checkin, access: staff},
	"cleaning":    {serve: cleaning, access: staff},
	"resolve":     {serve: resolve, access: staff},
	"monthly":     {serve: monthly, access: staff},
	"learn":       {serve: learn, access: staff},
	"learned":     {serve: learned, access: staff},
}

// call is one request being served: the host handle, the request, the
// platform's configuration with defaults applied, the facility the code
// stands for and the time of the request in Beijing time.
type call struct {
	host     *plugin.Host
	req      *plugin.Request
	cfg      config
	facility facility
	now      time.Time
	member   *staffMember // the enrolled cleaner, on staff routes
}

// cst is Beijing time. WASM guests have no time zone database, and the
// city works in one zone: a fixed offset is exact.
var cst = time.FixedZone("CST", 8*3600)

func (h handler) Handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	r, ok := routes[req.Route]
	if !ok {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "页面不存在"}
	}
	if req.Code == nil {
		return nil, invalid("缺少扫码信息")
	}
	cfg, err := loadConfig(req.Config)
	if err != nil {
		return nil, err
	}
	c := &call{host: host, req: req, cfg: cfg, now: h.now().In(cst)}
	c.facility = facilityOf(req.Code, cfg)
	if r.access != anyone {
		// The host already refuses tourists on routes not marked tourist;
		// checked again so that the rule does not depend on the manifest.
		if req.Visitor.Tourist || req.Visitor.Pseudonym == "" {
			return nil, denied("保洁自助仅供登录用户使用，请在城市码 App 中扫码后登录")
		}
	}
	if r.access == staff {
		m, err := c.staffMember(ctx)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return nil, denied("您尚未登记为保洁人员，请先在“保洁自助”页面用登记码登记")
		}
		c.member = m
	}
	return r.serve(ctx, c)
}

// Errors the host turns into status codes: InvalidParameter and
// MissingParameter 400, UnauthorizedOperation 403, ResourceNotFound 404,
// FailedOperation 409. Messages are shown to citizens as they are.

func invalid(msg string) error { return &plugin.Error{Code: plugin.ErrInvalid, Message: msg} }

func missing(msg string) error { return &plugin.Error{Code: "MissingParameter", Message: msg} }

func denied(msg string) error { return &plugin.Error{Code: "UnauthorizedOperation", Message: msg} }

func notFound(msg string) error { return &plugin.Error{Code: plugin.ErrNotFound, Message: msg} }

func conflict(code, msg string) error {
	return &plugin.Error{Code: "FailedOperation." + code, Message: msg}
}

// warn logs a failure that must not fail the citizen's request: a report
// stored is answered as stored even when its notification could not be
// queued.
func (c *call) warn(ctx context.Context, what string, err error) {
	c.host.Log(ctx, "warn", what+": "+err.Error())
}

// link is an absolute URL below the code's landing page.
func (c *call) link(path string) string { return c.req.BaseURL + path }

// stamp formats a time for documents: RFC 3339 in Beijing time, readable
// in exports and parseable.
func stamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// Forms.

// maxPhoto bounds a photo: 4 MB, what a phone photo needs (the host takes
// landing forms up to 6 MB and files up to 5 MB).
const (
	maxPhoto  = 4 << 20
	maxField  = 8 << 10
	photoHint = "可选；JPG、PNG、WebP 或 GIF 图片，不超过 4 MB"
)

// form is a submitted form: its fields, and the photo when one was sent.
type form struct {
	values url.Values
	photo  *plugin.Image
}

func (f *form) get(name string) string { return strings.TrimSpace(f.values.Get(name)) }

// readForm parses a urlencoded or multipart body. A multipart body may
// carry one image, in the field "photo", of at most maxPhoto bytes.
func readForm(req *plugin.Request) (*form, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, ImageField: "photo", MaxImage: maxPhoto})
	if err != nil {
		return nil, err
	}
	return &form{values: f.Values, photo: f.Image}, nil
}

// storePhoto stores the form's photo, if any, and answers its URL.
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

// decode reads a record's document; a document that does not decode is
// shown empty rather than failing the page.
func decode(rec plugin.Record, v any) { _ = json.Unmarshal(rec.Doc, v) }

// put stores a document in a collection about the request's code.
func (c *call) put(ctx context.Context, collection, id string, doc any, version int64) (*plugin.Record, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return c.host.PutRecord(ctx, plugin.Record{Collection: collection, ID: id, CodeToken: c.req.Code.Token, Doc: b, Version: version})
}

// all pages through a query: the host answers at most 500 records a page.
func (c *call) all(ctx context.Context, q plugin.RecordQuery) ([]plugin.Record, error) {
	q.Limit = 500
	var out []plugin.Record
	for {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) == 0 || int64(len(out)) >= page.Total {
			return out, nil
		}
		q.Offset += len(page.Items)
	}
}
