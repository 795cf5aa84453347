package plugintest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// FakeHost answers a plugin's capability calls from memory, with the
// semantics of the real host: records scoped to declared collections, ids
// given when empty, optimistic versions, create-only puts, query filters
// and paging; files with a URL; object codes merged with null removing a
// key. Unit tests drive a handler with it directly, without a database, a
// build or a running host:
//
//	f := plugintest.NewFakeHost().Declare(manifest)
//	resp, err := handler.Handle(ctx, f.Host("q1"), req)
//	if len(f.Notifications) != 1 { ... }
//
// Set the exported fields before the calls; read them when no call is in
// flight (Records, Record and Object lock and may be used at any time).
// What the fake cannot know it does not check: policies beyond the
// manifest's capabilities, the request id being in flight, object type
// rules, files' SM3 digests.
type FakeHost struct {
	// Clock is the host's time (records' createdAt and updatedAt, access
	// tokens); default time.Now.
	Clock func() time.Time
	// PublicBase prefixes file URLs; default http://city.test.
	PublicBase string
	// Visitor is what visitor.get answers.
	Visitor plugin.VisitorDetails
	// Collections, when not nil, are the declared collections: records of
	// others are refused as the host does. Declare sets it.
	Collections map[string]bool
	// Capabilities, when not nil, are the granted capabilities: the others
	// are denied (UnauthorizedOperation.Capability). Declare sets it.
	Capabilities map[plugin.Capability]bool
	// Fail injects failures: a call of a capability listed here answers
	// the error, without effect (it is still in Calls). For example
	// Fail[plugin.ObjectWrite] = &plugin.Error{Code:
	// "FailedOperation.CodeNotActive"} plays the host refusing a change,
	// Fail[plugin.NotifySend] with plugin.ErrUnavailable an outbox down.
	Fail map[plugin.Capability]*plugin.Error
	// BeforePut, when set, runs before each records.write put, outside
	// the fake's lock, with the record to be put: it may call the fake
	// itself (another instance writing first). It can clear itself.
	BeforePut func(r plugin.Record)

	// Calls are every capability call made, in order.
	Calls []plugin.Call
	// Notifications are the messages sent (notify.send).
	Notifications []plugin.Notification
	// Events are the usage events written (events.write).
	Events []plugin.EventArgs
	// Audits are the audit entries written (audit.write).
	Audits []plugin.AuditArgs
	// Files are the files stored, with their data (files.write).
	Files []plugin.File
	// Logs are the log lines written.
	Logs []plugin.LogArgs

	mu      sync.Mutex
	records map[string]map[string]*plugin.Record
	objects map[string]*plugin.Code
	tokens  map[string]plugin.TokenInfo
	seq     int
}

// NewFakeHost makes an empty fake host granting every capability and
// accepting every collection until Declare.
func NewFakeHost() *FakeHost {
	return &FakeHost{
		Fail:    map[plugin.Capability]*plugin.Error{},
		records: map[string]map[string]*plugin.Record{},
		objects: map[string]*plugin.Code{},
		tokens:  map[string]plugin.TokenInfo{},
	}
}

// Declare grants the manifest's capabilities and declares its
// collections, as the host does for an installed plugin.
func (f *FakeHost) Declare(m *plugin.Manifest) *FakeHost {
	f.Collections = map[string]bool{}
	for _, c := range m.Collections {
		f.Collections[c.Name] = true
	}
	f.Capabilities = map[plugin.Capability]bool{}
	for _, c := range m.Capabilities {
		f.Capabilities[c] = true
	}
	return f
}

// Host is a plugin.Host for a request served against the fake.
func (f *FakeHost) Host(requestID string) *plugin.Host { return plugin.NewHost(f, requestID) }

// SetObject stores an object code (replacing one with its token), for
// object.get, object.write and code.resolve.
func (f *FakeHost) SetObject(c plugin.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Kind == "" {
		c.Kind = "object"
	}
	if c.Status == "" {
		c.Status = "active"
	}
	f.objects[c.Token] = &c
}

// Object answers a stored object code as it is now.
func (f *FakeHost) Object(token string) (plugin.Code, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.objects[token]
	if !ok {
		return plugin.Code{}, false
	}
	return *c, true
}

// AddToken makes an access token token.redeem exchanges, once, for info.
func (f *FakeHost) AddToken(token string, info plugin.TokenInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = info
}

// Records answers a collection's records, oldest first.
func (f *FakeHost) Records(collection string) []plugin.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []plugin.Record{}
	for _, r := range f.records[collection] {
		out = append(out, *r)
	}
	sortRecords(out, false)
	return out
}

// Record answers one record.
func (f *FakeHost) Record(collection, id string) (plugin.Record, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[collection][id]
	if !ok {
		return plugin.Record{}, false
	}
	return *r, true
}

// Call answers a capability call (plugin.Caller).
func (f *FakeHost) Call(_ context.Context, raw []byte) ([]byte, error) {
	var c plugin.Call
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if hook := f.BeforePut; hook != nil && c.Capability == plugin.RecordsWrite && c.Op == "put" {
		var r plugin.Record
		if json.Unmarshal(c.Args, &r) == nil {
			hook(r)
		}
	}
	f.mu.Lock()
	f.Calls = append(f.Calls, c)
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
		b, err := json.Marshal(res)
		if err != nil {
			out.Error = &plugin.Error{Code: plugin.ErrInternal, Message: "unencodable result"}
		}
		out.Result = b
	}
	return json.Marshal(out)
}

func invalid(format string, a ...any) *plugin.Error {
	return &plugin.Error{Code: plugin.ErrInvalid, Message: fmt.Sprintf(format, a...)}
}

// decodeArgs decodes strictly, as the host does.
func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("arguments: %v", err)
	}
	return nil
}

func (f *FakeHost) now() time.Time {
	if f.Clock != nil {
		return f.Clock()
	}
	return time.Now()
}

func (f *FakeHost) dispatch(c plugin.Call) (any, error) {
	if c.Capability == "log" {
		var a plugin.LogArgs
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		f.Logs = append(f.Logs, a)
		return nil, nil
	}
	if f.Capabilities != nil && !f.Capabilities[c.Capability] {
		return nil, &plugin.Error{Code: plugin.ErrDenied, Message: fmt.Sprintf("capability %s not declared in the manifest", c.Capability)}
	}
	if e := f.Fail[c.Capability]; e != nil {
		return nil, e
	}
	switch c.Capability + "/" + plugin.Capability(c.Op) {
	case plugin.CodeResolve + "/resolve", plugin.ObjectRead + "/get":
		var a plugin.ResolveArgs
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		return f.object(a.Code)
	case plugin.ObjectWrite + "/update":
		var p plugin.ObjectPatch
		if err := decodeArgs(c.Args, &p); err != nil {
			return nil, err
		}
		return f.updateObject(p)
	case plugin.VisitorRead + "/get":
		return f.Visitor, nil
	case plugin.RecordsWrite + "/put":
		var r plugin.Record
		if err := decodeArgs(c.Args, &r); err != nil {
			return nil, err
		}
		return f.put(r)
	case plugin.RecordsRead + "/get", plugin.RecordsWrite + "/delete":
		var k plugin.RecordKey
		if err := decodeArgs(c.Args, &k); err != nil {
			return nil, err
		}
		if err := f.collection(k.Collection); err != nil {
			return nil, err
		}
		r, ok := f.records[k.Collection][k.ID]
		if !ok {
			return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: fmt.Sprintf("no record %s in %s", k.ID, k.Collection)}
		}
		if c.Op == "delete" {
			delete(f.records[k.Collection], k.ID)
			return nil, nil
		}
		return *r, nil
	case plugin.RecordsRead + "/query":
		var q plugin.RecordQuery
		if err := decodeArgs(c.Args, &q); err != nil {
			return nil, err
		}
		return f.query(q)
	case plugin.FilesWrite + "/put":
		var file plugin.File
		if err := decodeArgs(c.Args, &file); err != nil {
			return nil, err
		}
		return f.putFile(file)
	case plugin.FilesRead + "/get":
		var a plugin.File
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		for _, file := range f.Files {
			if file.ID == a.ID {
				return file, nil
			}
		}
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such file"}
	case plugin.NotifySend + "/send":
		var n plugin.Notification
		if err := decodeArgs(c.Args, &n); err != nil {
			return nil, err
		}
		if n.Template == "" || len(n.Template) > 64 || n.To == "" || len(n.To) > 128 {
			return nil, invalid("template (≤64) and to (≤128) are required")
		}
		if params, _ := json.Marshal(n.Params); len(params) > 8<<10 {
			return nil, invalid("params exceed 8 KB")
		}
		f.Notifications = append(f.Notifications, n)
		return map[string]string{"id": fmt.Sprintf("n%d", len(f.Notifications))}, nil
	case plugin.EventsWrite + "/write":
		var e plugin.EventArgs
		if err := decodeArgs(c.Args, &e); err != nil {
			return nil, err
		}
		if e.Name == "" || len(e.Name) > 64 {
			return nil, invalid("name is required (at most 64 bytes)")
		}
		if len(e.Detail) > 4<<10 {
			return nil, invalid("detail exceeds 4 KB")
		}
		f.Events = append(f.Events, e)
		return nil, nil
	case plugin.AuditWrite + "/write":
		var a plugin.AuditArgs
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		if a.Action == "" || len(a.Action) > 64 {
			return nil, invalid("action is required (at most 64 bytes)")
		}
		if len(a.Detail) > 0 {
			var obj map[string]any
			if json.Unmarshal(a.Detail, &obj) != nil {
				return nil, invalid("detail must be a JSON object")
			}
		}
		f.Audits = append(f.Audits, a)
		return nil, nil
	case plugin.TokenExchange + "/redeem":
		var a struct {
			Token string `json:"token"`
		}
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		if a.Token == "" || len(a.Token) > 64 {
			return nil, invalid("token is required")
		}
		info, ok := f.tokens[a.Token]
		if !ok {
			return nil, &plugin.Error{Code: "FailedOperation.TokenInvalid", Message: "the access token is unknown, used or expired"}
		}
		delete(f.tokens, a.Token)
		return info, nil
	}
	return nil, invalid("unknown operation %s.%s", c.Capability, c.Op)
}

func (f *FakeHost) collection(name string) error {
	if f.Collections != nil && !f.Collections[name] {
		return invalid("collection %q is not declared in the manifest", name)
	}
	return nil
}

// pluginCode answers a code as the host does: its name from its
// attributes.
func pluginCode(c *plugin.Code) plugin.Code {
	out := *c
	var named struct {
		Name string `json:"name"`
		CN   string `json:"名称"`
	}
	if json.Unmarshal(c.Attributes, &named) == nil {
		out.Name = cmp.Or(named.Name, named.CN, c.Name)
	}
	return out
}

func (f *FakeHost) object(token string) (any, error) {
	if token == "" {
		return nil, invalid("code is required")
	}
	c, ok := f.objects[token]
	if !ok {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such code"}
	}
	return pluginCode(c), nil
}

func (f *FakeHost) updateObject(p plugin.ObjectPatch) (any, error) {
	if p.Code == "" {
		return nil, invalid("code is required")
	}
	var patch, attrs map[string]any
	if json.Unmarshal(p.Attributes, &patch) != nil || patch == nil {
		return nil, invalid("attributes must be a JSON object")
	}
	c, ok := f.objects[p.Code]
	if !ok {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no object code " + p.Code}
	}
	if c.Status != "active" {
		return nil, &plugin.Error{Code: "FailedOperation.CodeNotActive", Message: fmt.Sprintf("object code %d is %s, not active", c.Number, c.Status)}
	}
	_ = json.Unmarshal(c.Attributes, &attrs)
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
	c.Attributes, _ = json.Marshal(attrs)
	return pluginCode(c), nil
}

var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func (f *FakeHost) put(r plugin.Record) (any, error) {
	if err := f.collection(r.Collection); err != nil {
		return nil, err
	}
	now := f.now()
	if r.ID == "" {
		f.seq++
		r.ID = fmt.Sprintf("r%012x%016x", now.UnixMilli(), f.seq)
	} else if !recordIDRe.MatchString(r.ID) {
		return nil, invalid("id must be 1–64 letters, digits or _ . : -")
	}
	var obj map[string]any
	if json.Unmarshal(r.Doc, &obj) != nil || obj == nil {
		return nil, invalid("doc must be a JSON object")
	}
	if len(r.Doc) > 64<<10 || strings.Contains(string(r.Doc), `\u0000`) {
		return nil, invalid("doc must be at most 64 KB and hold no NUL characters")
	}
	if len(r.CodeToken) > 128 {
		return nil, invalid("codeToken is too long")
	}
	if f.records[r.Collection] == nil {
		f.records[r.Collection] = map[string]*plugin.Record{}
	}
	old, exists := f.records[r.Collection][r.ID]
	switch {
	case r.IfAbsent && r.Version > 0:
		return nil, invalid("ifAbsent and version exclude each other")
	case r.IfAbsent && exists:
		return nil, &plugin.Error{Code: "FailedOperation.RecordExists", Message: fmt.Sprintf("record %s exists", r.ID)}
	case r.Version > 0 && (!exists || old.Version != r.Version):
		return nil, &plugin.Error{Code: "FailedOperation.VersionConflict", Message: fmt.Sprintf("record %s changed since version %d", r.ID, r.Version)}
	case exists:
		old.Doc, old.CodeToken, old.Version, old.UpdatedAt = compact(r.Doc), r.CodeToken, old.Version+1, now
		return *old, nil
	}
	rec := &plugin.Record{Collection: r.Collection, ID: r.ID, CodeToken: r.CodeToken, Doc: compact(r.Doc), Version: 1, CreatedAt: now, UpdatedAt: now}
	f.records[r.Collection][r.ID] = rec
	return *rec, nil
}

// compact copies a document, as stored.
func compact(doc json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, doc) != nil {
		return slices.Clone(doc)
	}
	return b.Bytes()
}

func (f *FakeHost) query(q plugin.RecordQuery) (any, error) {
	if err := f.collection(q.Collection); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Limit > 500 || q.Offset < 0 || q.Offset > 100000 {
		return nil, invalid("limit must be at most 500 and offset between 0 and 100000")
	}
	var where any
	if len(q.Where) > 0 {
		b, err := json.Marshal(q.Where)
		if err != nil {
			return nil, invalid("where: %v", err)
		}
		_ = json.Unmarshal(b, &where)
	}
	items := []plugin.Record{}
	for _, r := range f.records[q.Collection] {
		if q.CodeToken != "" && r.CodeToken != q.CodeToken ||
			!q.From.IsZero() && r.CreatedAt.Before(q.From) || !q.To.IsZero() && !r.CreatedAt.Before(q.To) {
			continue
		}
		if where != nil {
			var doc any
			if json.Unmarshal(r.Doc, &doc) != nil || !contains(doc, where) {
				continue
			}
		}
		items = append(items, *r)
	}
	sortRecords(items, q.Newest)
	page := plugin.RecordPage{Total: int64(len(items)), Items: []plugin.Record{}}
	if q.Offset < len(items) {
		page.Items = items[q.Offset:min(len(items), q.Offset+q.Limit)]
	}
	return page, nil
}

func sortRecords(items []plugin.Record, newest bool) {
	slices.SortFunc(items, func(a, b plugin.Record) int {
		c := cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
		if newest {
			return -c
		}
		return c
	})
}

// contains is PostgreSQL's jsonb containment (doc @> want), which the
// host's Where uses: objects contain the keys wanted with contained
// values, arrays contain every element wanted, scalars are equal.
func contains(doc, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		d, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			dv, ok := d[k]
			if !ok || !contains(dv, wv) {
				return false
			}
		}
		return true
	case []any:
		d, ok := doc.([]any)
		if !ok {
			return false
		}
		for _, wv := range w {
			if !slices.ContainsFunc(d, func(dv any) bool { return contains(dv, wv) }) {
				return false
			}
		}
		return true
	default:
		return doc == want
	}
}

var allowedTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true, "application/pdf": true,
	"video/mp4": true, "video/webm": true}

func (f *FakeHost) putFile(file plugin.File) (any, error) {
	if file.ID != "" || file.URL != "" || file.SM3 != "" || file.Size != 0 {
		return nil, invalid("only name, contentType and data may be given")
	}
	if len(file.Data) == 0 || len(file.Data) > 5<<20 {
		return nil, invalid("data must be 1 byte to 5 MB")
	}
	if !allowedTypes[file.ContentType] {
		return nil, invalid("contentType %q is not accepted (jpeg, png, webp, gif, pdf, mp4, webm)", file.ContentType)
	}
	if file.Name == "" || len(file.Name) > 128 || strings.ContainsAny(file.Name, "/\\\x00") {
		return nil, invalid("name must be a plain file name of at most 128 bytes")
	}
	file.ID = fmt.Sprintf("f%d", len(f.Files)+1)
	file.Size = int64(len(file.Data))
	file.URL = cmp.Or(f.PublicBase, "http://city.test") + "/plugin-files/" + file.ID
	f.Files = append(f.Files, file)
	file.Data = nil
	return file, nil
}
