package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// fakeHost answers a plugin's capability calls from memory, the way the
// host does (records scoped to declared collections, optimistic versions,
// create-only puts, query filters and paging; object codes merged with
// null removing a key), so that handler tests reach the edges the real
// host makes hard to provoke: a host that cannot write the code now, one
// that refuses the change, two reviewers at once.
type fakeHost struct {
	mu          sync.Mutex
	clock       *time.Time
	collections map[string]bool
	records     map[string]map[string]*plugin.Record
	codes       map[string]*plugin.Code
	seq         int
	files       []plugin.File
	notes       []plugin.Notification
	events      []plugin.EventArgs
	audits      []plugin.AuditArgs
	objectCalls int
	// failObject, when set, answers object.write with this error.
	failObject *plugin.Error
	// raceOnPut, when set, runs before the next versioned put: another
	// reviewer deciding first.
	raceOnPut func()
}

func newFakeHost(t *testing.T, clock *time.Time) *fakeHost {
	m := manifest(t)
	f := &fakeHost{clock: clock, collections: map[string]bool{}, records: map[string]map[string]*plugin.Record{},
		codes: map[string]*plugin.Code{}}
	for _, c := range m.Collections {
		f.collections[c.Name] = true
	}
	return f
}

func manifest(t *testing.T) *plugin.Manifest {
	t.Helper()
	b, err := os.ReadFile("plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := plugin.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fakeHost) Call(_ context.Context, raw []byte) ([]byte, error) {
	var c plugin.Call
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	f.mu.Lock()
	res, err := f.dispatch(c)
	f.mu.Unlock()
	var out plugin.CallResult
	if err != nil {
		pe, ok := err.(*plugin.Error)
		if !ok {
			pe = &plugin.Error{Code: plugin.ErrInternal, Message: err.Error()}
		}
		out.Error = pe
	} else if res != nil {
		out.Result, _ = json.Marshal(res)
	}
	return json.Marshal(out)
}

func bad(format string, a ...any) error {
	return &plugin.Error{Code: plugin.ErrInvalid, Message: fmt.Sprintf(format, a...)}
}

func (f *fakeHost) dispatch(c plugin.Call) (any, error) {
	switch string(c.Capability) + "/" + c.Op {
	case "log/write":
		return nil, nil
	case "records.write/put":
		var r plugin.Record
		if err := json.Unmarshal(c.Args, &r); err != nil {
			return nil, err
		}
		if race := f.raceOnPut; race != nil && r.Version > 0 {
			f.raceOnPut = nil
			race()
		}
		return f.put(r)
	case "records.read/get", "records.write/delete":
		var k plugin.RecordKey
		if err := json.Unmarshal(c.Args, &k); err != nil {
			return nil, err
		}
		if !f.collections[k.Collection] {
			return nil, bad("collection %q is not declared", k.Collection)
		}
		r, ok := f.records[k.Collection][k.ID]
		if !ok {
			return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no record"}
		}
		if c.Op == "delete" {
			delete(f.records[k.Collection], k.ID)
			return nil, nil
		}
		return r, nil
	case "records.read/query":
		var q plugin.RecordQuery
		if err := json.Unmarshal(c.Args, &q); err != nil {
			return nil, err
		}
		return f.query(q)
	case "object.write/update":
		var p plugin.ObjectPatch
		if err := json.Unmarshal(c.Args, &p); err != nil {
			return nil, err
		}
		f.objectCalls++
		if f.failObject != nil {
			return nil, f.failObject
		}
		code, ok := f.codes[p.Code]
		if !ok {
			return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such code"}
		}
		var patch, attrs map[string]any
		if json.Unmarshal(p.Attributes, &patch) != nil || patch == nil {
			return nil, bad("attributes must be a JSON object")
		}
		_ = json.Unmarshal(code.Attributes, &attrs)
		if attrs == nil {
			attrs = map[string]any{}
		}
		for k, v := range patch {
			if v == nil {
				delete(attrs, k)
			} else {
				attrs[k] = v
			}
		}
		code.Attributes, _ = json.Marshal(attrs)
		return code, nil
	case "files.write/put":
		var file plugin.File
		if err := json.Unmarshal(c.Args, &file); err != nil {
			return nil, err
		}
		if len(file.Data) == 0 || len(file.Data) > 5<<20 {
			return nil, bad("data size")
		}
		file.ID = fmt.Sprintf("f%d", len(f.files)+1)
		file.URL = "http://city.test/plugin-files/" + file.ID
		f.files = append(f.files, file)
		return plugin.File{ID: file.ID, URL: file.URL, Name: file.Name, ContentType: file.ContentType}, nil
	case "notify.send/send":
		var n plugin.Notification
		if err := json.Unmarshal(c.Args, &n); err != nil {
			return nil, err
		}
		f.notes = append(f.notes, n)
		return map[string]string{"id": fmt.Sprintf("n%d", len(f.notes))}, nil
	case "events.write/write":
		var e plugin.EventArgs
		if err := json.Unmarshal(c.Args, &e); err != nil {
			return nil, err
		}
		f.events = append(f.events, e)
		return nil, nil
	case "audit.write/write":
		var a plugin.AuditArgs
		if err := json.Unmarshal(c.Args, &a); err != nil {
			return nil, err
		}
		f.audits = append(f.audits, a)
		return nil, nil
	}
	return nil, &plugin.Error{Code: plugin.ErrDenied, Message: "capability not faked: " + string(c.Capability) + "." + c.Op}
}

func (f *fakeHost) put(r plugin.Record) (any, error) {
	if !f.collections[r.Collection] {
		return nil, bad("collection %q is not declared", r.Collection)
	}
	var obj map[string]any
	if json.Unmarshal(r.Doc, &obj) != nil || obj == nil {
		return nil, bad("doc must be a JSON object")
	}
	if f.records[r.Collection] == nil {
		f.records[r.Collection] = map[string]*plugin.Record{}
	}
	if r.ID == "" {
		f.seq++
		r.ID = fmt.Sprintf("r%06d", f.seq)
	} else if !requestIDRe.MatchString(r.ID) {
		return nil, bad("bad id %q", r.ID)
	}
	old, exists := f.records[r.Collection][r.ID]
	now := *f.clock
	switch {
	case r.IfAbsent && exists:
		return nil, &plugin.Error{Code: "FailedOperation.RecordExists", Message: "exists"}
	case r.Version > 0 && (!exists || old.Version != r.Version):
		return nil, &plugin.Error{Code: "FailedOperation.VersionConflict", Message: "changed"}
	case exists:
		old.Doc, old.CodeToken, old.Version, old.UpdatedAt = r.Doc, r.CodeToken, old.Version+1, now
		return old, nil
	}
	rec := &plugin.Record{Collection: r.Collection, ID: r.ID, CodeToken: r.CodeToken, Doc: r.Doc, Version: 1, CreatedAt: now, UpdatedAt: now}
	f.records[r.Collection][r.ID] = rec
	return rec, nil
}

func (f *fakeHost) query(q plugin.RecordQuery) (any, error) {
	if !f.collections[q.Collection] {
		return nil, bad("collection %q is not declared", q.Collection)
	}
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Limit > 500 || q.Offset < 0 {
		return nil, bad("limit")
	}
	var items []plugin.Record
	for _, r := range f.records[q.Collection] {
		if q.CodeToken != "" && r.CodeToken != q.CodeToken ||
			!q.From.IsZero() && r.CreatedAt.Before(q.From) || !q.To.IsZero() && !r.CreatedAt.Before(q.To) {
			continue
		}
		var doc map[string]any
		_ = json.Unmarshal(r.Doc, &doc)
		match := true
		for k, v := range q.Where {
			a, _ := json.Marshal(doc[k])
			b, _ := json.Marshal(v)
			match = match && bytes.Equal(a, b)
		}
		if match {
			items = append(items, *r)
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreatedAt.Equal(items[j].CreatedAt) {
			return items[i].CreatedAt.Before(items[j].CreatedAt) != q.Newest
		}
		return (items[i].ID < items[j].ID) != q.Newest
	})
	page := plugin.RecordPage{Total: int64(len(items)), Items: []plugin.Record{}}
	if q.Offset < len(items) {
		page.Items = items[q.Offset:min(len(items), q.Offset+q.Limit)]
	}
	return page, nil
}

func (f *fakeHost) count(collection string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.records[collection])
}

// doc answers a stored application.
func (f *fakeHost) doc(t *testing.T, id string) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.records["requests"][id]
	if !ok {
		t.Fatalf("no request %s", id)
	}
	var r request
	if err := json.Unmarshal(rec.Doc, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// attrs answers a code's attributes as stored.
func (f *fakeHost) attrs(token string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var a map[string]any
	_ = json.Unmarshal(f.codes[token].Attributes, &a)
	return a
}

// bench drives the handler as the host would: it fills a Request from the
// manifest's route, with the visitor and code of the test.
type bench struct {
	t      *testing.T
	host   *fakeHost
	now    time.Time
	config string
	token  string
	routes map[string]plugin.Route
}

// Visitors of the tests.
var (
	tourist   = plugin.Visitor{Tourist: true}
	inspector = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "王*", Mobile: "138****0001"}
	citizen   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

const wellAttrs = `{"name":"徐汇 1 号监测井","编号":"SW-310104-001","address":"漕溪北路 100 号东侧绿地","lng":121.4365,"lat":31.1882,
	"wellType":"水位监测井","depth":30,"监测项目":["水位","水温"],"status":"正常"}`

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}, token: "tok-well-1"}
	b.host = newFakeHost(t, &b.now)
	for _, r := range manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.host.codes[b.token] = &plugin.Code{Token: b.token, Kind: "object", Number: 100000001, Status: "active", TypeName: "地下水监测井",
		RegionCode: "310104", OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(wellAttrs)}
	b.host.codes["tok-well-2"] = &plugin.Code{Token: "tok-well-2", Kind: "object", Number: 100000002, Status: "active",
		OwnerUnit: "徐汇区水务局", Attributes: json.RawMessage(`{"编号":"SW-310104-002"}`)}
	return b
}

// call serves a route of the bench's code; query is appended to the
// request, body posted as the content type.
func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s in plugin.json", route)
	}
	b.host.mu.Lock()
	code := *b.host.codes[b.token]
	b.host.mu.Unlock()
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{}, Body: body, PlatformID: "P0001", Code: &code, Visitor: v,
		Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	if ctype != "" {
		req.Header["Content-Type"] = ctype
	}
	return b.handle(req)
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), plugin.NewHost(b.host, req.ID), req)
}

// admin calls an admin route as the console does: no code, no visitor, the
// operator named, JSON in.
func (b *bench) admin(route string, query url.Values, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	if r.Kind != plugin.Admin {
		b.t.Fatalf("%s is not an admin route", route)
	}
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: query, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: "reviewer1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

func (b *bench) get(route string, v plugin.Visitor, query url.Values) (*plugin.Response, error) {
	return b.call(route, v, query, "", nil)
}

func (b *bench) post(route string, v plugin.Visitor, form url.Values) (*plugin.Response, error) {
	return b.call(route, v, nil, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// multipartBody builds a multipart form with an optional photo.
func multipartBody(fields url.Values, photo []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if photo != nil {
		w, _ := mw.CreateFormFile("photo", "photo.png")
		_, _ = w.Write(photo)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func pngBytes(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...) }

// wantCode fails unless err is a plugin error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}
