package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

type createIn struct {
	Name     string   `json:"name" validate:"required,max=8" doc:"display name"`
	Count    int      `json:"count" validate:"min=0,max=100"`
	Tags     []string `json:"tags,omitempty"`
	Platform string   `path:"platformId"`
	Dry      bool     `query:"dry"`
}

type rawIn struct {
	Name string          `json:"name"`
	Raw  json.RawMessage `json:"-" raw:"body"`
}

type createOut struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Platform string    `json:"platformId"`
	Dry      bool      `json:"dry"`
	At       time.Time `json:"at"`
}

type listIn struct {
	PageNo   int       `query:"pageNo" validate:"omitempty,min=1"`
	PageSize int       `query:"pageSize" validate:"omitempty,min=1,max=500"`
	From     time.Time `query:"from"`
	Status   []string  `query:"status"`
}

type listOut struct {
	Total  int64    `json:"total"`
	Status []string `json:"status"`
	From   string   `json:"from"`
}

type csvOut struct{}

func (csvOut) ContentType() string { return "text/csv; charset=utf-8" }
func (csvOut) Filename() string    { return "导出.csv" }
func (csvOut) WriteTo(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "a,b\n1,2\n")
	return err
}

type tokenAuth struct{}

func (tokenAuth) Authenticate(_ context.Context, token string) (*actor.Actor, error) {
	switch token {
	case "good":
		return &actor.Actor{Kind: actor.KindOperator, Account: "alice"}, nil
	case "pending":
		return &actor.Actor{Kind: actor.KindOperator, Account: "bob", MustChangePassword: true}, nil
	}
	return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "session expired")
}

type denyAll struct{}

func (denyAll) AuthorizeAction(ctx context.Context, action string) (context.Context, error) {
	if action == "thing.forbidden" {
		return ctx, fault.Deniedf("no permission %s", action)
	}
	return ctx, nil
}

func newAPI(t *testing.T) *httpapi.API {
	t.Helper()
	api, err := httpapi.New(httpapi.Config{
		MaxBodyBytes: 2048, Console: tokenAuth{}, Authz: denyAll{},
		Registry: prometheus.NewRegistry(), Title: "t", Version: "1",
		Log: nilLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(
		httpapi.Handle(http.MethodPost, "/things/:platformId", func(_ context.Context, in *createIn) (*createOut, error) {
			if in.Name == "boom" {
				return nil, io.ErrUnexpectedEOF // an internal error: details must not leak
			}
			if in.Name == "taken" {
				return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "name %q is taken", in.Name)
			}
			return &createOut{ID: "t1", Name: in.Name, Platform: in.Platform, Dry: in.Dry, At: time.Unix(0, 0).UTC()}, nil
		}).Doc("create a thing", "").Tag("things").Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodGet, "/things", func(_ context.Context, in *listIn) (*listOut, error) {
			from := ""
			if !in.From.IsZero() {
				from = in.From.UTC().Format(time.RFC3339)
			}
			return &listOut{Total: int64(in.PageNo), Status: in.Status, From: from}, nil
		}).Doc("list", ""),
		httpapi.Handle(http.MethodGet, "/console/export", func(context.Context, *httpapi.Empty) (*csvOut, error) {
			return &csvOut{}, nil
		}).Console("thing.export"),
		httpapi.Handle(http.MethodGet, "/console/forbidden", func(context.Context, *httpapi.Empty) (*httpapi.Empty, error) {
			return &httpapi.Empty{}, nil
		}).Console("thing.forbidden"),
		httpapi.Handle(http.MethodGet, "/console/me", func(ctx context.Context, _ *httpapi.Empty) (*createOut, error) {
			return &createOut{Name: actor.From(ctx).Account}, nil
		}).Console("").PendingPasswordOK(),
	)
	api.ServeOpenAPI()
	return api
}

type envelope struct {
	Response struct {
		Data      json.RawMessage `json:"Data"`
		Error     *struct{ Code, Message string }
		RequestID string `json:"RequestId"`
	}
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr ...string) (*httptest.ResponseRecorder, envelope) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env envelope
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
		}
	}
	return rec, env
}

func TestBadInputNeverA500(t *testing.T) {
	h := newAPI(t).Handler()
	cases := []struct {
		name, method, path, body string
		status                   int
		code, msgHas             string
	}{
		{"malformed JSON", "POST", "/things/P1", `{"name": `, 400, fault.CodeInvalidParameter, "malformed JSON"},
		{"syntax error", "POST", "/things/P1", `{"name": x}`, 400, fault.CodeInvalidParameter, "malformed JSON"},
		{"wrong type", "POST", "/things/P1", `{"name": 12}`, 400, fault.CodeInvalidParameter, `"name" must be a string`},
		{"wrong type int", "POST", "/things/P1", `{"name":"a","count":"x"}`, 400, fault.CodeInvalidParameter, `"count" must be an integer`},
		{"array body", "POST", "/things/P1", `[1,2]`, 400, fault.CodeInvalidParameter, "JSON an object"},
		{"missing", "POST", "/things/P1", `{"count": 1}`, 400, fault.CodeMissingParameter, `"name"`},
		{"empty body", "POST", "/things/P1", ``, 400, fault.CodeMissingParameter, `"name"`},
		{"too long", "POST", "/things/P1", `{"name": "abcdefghij"}`, 400, fault.CodeInvalidParameter, `"name" is too long`},
		{"out of range", "POST", "/things/P1", `{"name": "a", "count": 1000}`, 400, fault.CodeInvalidParameter, `"count"`},
		{"unknown field", "POST", "/things/P1", `{"name": "a", "nmae": "b"}`, 400, fault.CodeInvalidParameter, `unknown parameter "nmae"`},
		{"trailing garbage", "POST", "/things/P1", `{"name": "a"} {}`, 400, fault.CodeInvalidParameter, "exactly one JSON value"},
		{"bad query bool", "POST", "/things/P1?dry=maybe", `{"name": "a"}`, 400, fault.CodeInvalidParameter, `"dry"`},
		{"bad query int", "GET", "/things?pageNo=abc", ``, 400, fault.CodeInvalidParameter, `"pageNo" must be an integer`},
		{"query below min", "GET", "/things?pageNo=-1", ``, 400, fault.CodeInvalidParameter, `"pageNo"`},
		{"bad time", "GET", "/things?from=yesterday", ``, 400, fault.CodeInvalidParameter, `"from" must be a time`},
		{"too large", "POST", "/things/P1", `{"name": "` + strings.Repeat("a", 3000) + `"}`, 400, fault.CodeInvalidParameter, "exceeds the limit"},
		{"unknown route", "GET", "/nowhere", ``, 404, fault.CodeResourceNotFound, "no such endpoint"},
		{"wrong method", "DELETE", "/things", ``, 400, fault.CodeUnsupportedOperation, "not allowed"},
		{"conflict", "POST", "/things/P1", `{"name": "taken"}`, 409, fault.CodeResourceAlreadyExists, "taken"},
		{"internal hides details", "POST", "/things/P1", `{"name": "boom"}`, 500, fault.CodeInternalError, "RequestId"},
		{"no session", "GET", "/console/export", ``, 401, fault.CodeSessionExpired, "log in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, env := do(t, h, c.method, c.path, c.body)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if env.Response.Error == nil || env.Response.Error.Code != c.code {
				t.Fatalf("error %+v, want code %s", env.Response.Error, c.code)
			}
			if !strings.Contains(env.Response.Error.Message, c.msgHas) {
				t.Fatalf("message %q lacks %q", env.Response.Error.Message, c.msgHas)
			}
			if strings.Contains(env.Response.Error.Message, "unexpected EOF") {
				t.Fatal("internal error detail leaked")
			}
			if env.Response.RequestID == "" || env.Response.RequestID != rec.Header().Get("X-Request-Id") {
				t.Fatalf("request id %q vs header %q", env.Response.RequestID, rec.Header().Get("X-Request-Id"))
			}
			if env.Response.Data != nil {
				t.Fatalf("error answer carries Data: %s", env.Response.Data)
			}
		})
	}
}

func TestSuccessEnvelopeAndBinding(t *testing.T) {
	h := newAPI(t).Handler()
	rec, env := do(t, h, "POST", "/things/P0001?dry=true", `{"name":"toilet","tags":["a"]}`, "X-Request-Id", "client-req-0001")
	if rec.Code != 200 || env.Response.Error != nil {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if env.Response.RequestID != "client-req-0001" {
		t.Fatalf("client request id not kept: %q", env.Response.RequestID)
	}
	var out createOut
	json.Unmarshal(env.Response.Data, &out)
	if out.Name != "toilet" || out.Platform != "P0001" || !out.Dry {
		t.Fatalf("binding lost fields: %+v", out)
	}
	if strings.Contains(rec.Body.String(), `"Error"`) {
		t.Fatal("success answer carries Error")
	}

	rec, env = do(t, h, "GET", "/things?pageNo=3&status=enabled,disabled&from=2026-01-02", "")
	var lo listOut
	json.Unmarshal(env.Response.Data, &lo)
	if rec.Code != 200 || lo.Total != 3 || len(lo.Status) != 2 || lo.From == "" {
		t.Fatalf("query binding: %d %+v", rec.Code, lo)
	}
}

func TestConsoleAuthAndDownload(t *testing.T) {
	h := newAPI(t).Handler()
	rec, _ := do(t, h, "GET", "/console/export", "", "Authorization", "Bearer good")
	if rec.Code != 200 || rec.Body.String() != "a,b\n1,2\n" {
		t.Fatalf("download: %d %q", rec.Code, rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''%E5%AF%BC%E5%87%BA.csv") {
		t.Fatalf("content disposition %q", cd)
	}
	rec, env := do(t, h, "GET", "/console/export", "", "Authorization", "Bearer pending")
	if rec.Code != 403 || env.Response.Error.Code != fault.CodePasswordChangeRequired {
		t.Fatalf("pending password: %d %s", rec.Code, rec.Body)
	}
	rec, _ = do(t, h, "GET", "/console/me", "", "Authorization", "Bearer pending")
	if rec.Code != 200 {
		t.Fatalf("pending-password-ok route refused: %d %s", rec.Code, rec.Body)
	}
	rec, env = do(t, h, "GET", "/console/forbidden", "", "Authorization", "Bearer good")
	if rec.Code != 403 || env.Response.Error.Code != fault.CodeUnauthorizedOperation {
		t.Fatalf("denied action: %d %s", rec.Code, rec.Body)
	}
	rec, env = do(t, h, "GET", "/console/export", "", "Authorization", "Bearer stolen")
	if rec.Code != 401 || env.Response.Error.Code != fault.CodeSessionExpired {
		t.Fatalf("bad token: %d %s", rec.Code, rec.Body)
	}
}

func TestOpenAPIDocumentsEveryRouteAndCode(t *testing.T) {
	api := newAPI(t)
	rec, _ := do(t, api.Handler(), "GET", "/openapi.json", "")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	for _, r := range api.Routes() {
		p := strings.ReplaceAll(r.Path, ":platformId", "{platformId}")
		item := doc.Paths.Find(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s missing from the document", r.Method, r.Path)
		}
	}
	for _, c := range fault.Codes {
		if !strings.Contains(doc.Info.Description, "| "+c.Code+" |") {
			t.Errorf("error code %s not documented", c.Code)
		}
	}
	op := doc.Paths.Find("/things/{platformId}").Post
	if op.Responses.Value("409") == nil || !strings.Contains(*op.Responses.Value("409").Value.Description, fault.CodeResourceAlreadyExists) {
		t.Error("route-specific error code not documented")
	}
	body := op.RequestBody.Value.Content.Get("application/json").Schema.Value
	if len(body.Required) != 1 || body.Required[0] != "name" || body.Properties["name"].Value.Description != "display name" {
		t.Errorf("request schema: required=%v", body.Required)
	}
}

func TestRawBodyField(t *testing.T) {
	api, _ := httpapi.New(httpapi.Config{Log: nilLogger()})
	api.Mount(httpapi.Handle(http.MethodPost, "/raw", func(_ context.Context, in *rawIn) (*map[string]any, error) {
		var m map[string]any
		json.Unmarshal(in.Raw, &m)
		return &m, nil
	}).AcceptUnknownFields())
	rec, env := do(t, api.Handler(), "POST", "/raw", `{"name":"a","temperature":36.6}`)
	if rec.Code != 200 || !strings.Contains(string(env.Response.Data), `"temperature":36.6`) {
		t.Fatalf("raw body: %d %s", rec.Code, rec.Body)
	}
}

func TestMetricsExposed(t *testing.T) {
	h := newAPI(t).Handler()
	do(t, h, "GET", "/things", "")
	rec, _ := do(t, h, "GET", "/metrics", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `citycode_http_request_duration_seconds_count{method="GET",route="/things",status="200"} 1`) {
		t.Fatalf("metrics: %d\n%s", rec.Code, rec.Body)
	}
}

type item struct {
	ID string `json:"id"`
}

type page[T any] struct {
	Total int64 `json:"total"`
	Items []T   `json:"items"`
}

func TestOpenAPIGenericsAndPanics(t *testing.T) {
	api, err := httpapi.New(httpapi.Config{Log: nilLogger(), Title: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(
		httpapi.Handle(http.MethodGet, "/items", func(context.Context, *httpapi.Empty) (*page[item], error) {
			return &page[item]{Items: []item{{ID: "a"}}}, nil
		}),
		httpapi.Handle(http.MethodGet, "/panic", func(context.Context, *httpapi.Empty) (*item, error) {
			var m map[string]int
			m["boom"]++ // a handler bug
			return nil, nil
		}),
	)
	api.ServeOpenAPI()
	rec, _ := do(t, api.Handler(), "GET", "/openapi.json", "")
	if rec.Code != 200 {
		t.Fatalf("openapi: %d %s", rec.Code, rec.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document with generic types: %v", err)
	}
	rec, env := do(t, api.Handler(), "GET", "/panic", "")
	if rec.Code != 500 || env.Response.Error == nil || env.Response.Error.Code != fault.CodeInternalError {
		t.Fatalf("panic answer: %d %s", rec.Code, rec.Body)
	}
}

type devAuth struct{}

func (devAuth) Authenticate(_ context.Context, token string) (*actor.Actor, error) {
	switch token {
	case "dev":
		return &actor.Actor{Kind: actor.KindDeveloper, DeveloperID: "DV00000001", Account: "dora"}, nil
	case "confused":
		// A misconfigured authenticator answering an operator.
		return &actor.Actor{Kind: actor.KindOperator, Account: "alice"}, nil
	}
	return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "session expired")
}

// Developer routes take developer sessions only, and console routes never
// take them; the OpenAPI document names the developer session scheme.
func TestDeveloperRoutes(t *testing.T) {
	if !panics(func() {
		api, _ := httpapi.New(httpapi.Config{Console: tokenAuth{}, Log: nilLogger()})
		api.Mount(httpapi.Handle(http.MethodGet, "/open/v1/me", func(context.Context, *httpapi.Empty) (*httpapi.Empty, error) { return nil, nil }).Developer())
	}) {
		t.Fatal("a developer route mounted without a developer authenticator")
	}
	api, err := httpapi.New(httpapi.Config{Console: tokenAuth{}, Developers: devAuth{}, Authz: denyAll{}, Log: nilLogger(), Title: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(
		httpapi.Handle(http.MethodGet, "/open/v1/me", func(ctx context.Context, _ *httpapi.Empty) (*createOut, error) {
			a := actor.From(ctx)
			return &createOut{ID: a.DeveloperID, Name: a.Account}, nil
		}).Developer(),
		httpapi.Handle(http.MethodGet, "/console/me", func(ctx context.Context, _ *httpapi.Empty) (*createOut, error) {
			return &createOut{Name: actor.From(ctx).Account}, nil
		}).Console(""),
	)
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		path, token string
		status      int
		has         string
	}{
		{"/open/v1/me", "dev", 200, `"DV00000001"`},
		{"/open/v1/me", "good", 401, fault.CodeSessionExpired},
		{"/open/v1/me", "", 401, fault.CodeSessionExpired},
		{"/open/v1/me", "confused", 500, fault.CodeInternalError},
		{"/console/me", "dev", 401, fault.CodeSessionExpired},
		{"/console/me", "good", 200, `"alice"`},
	} {
		st, body := get(c.path, c.token)
		if st != c.status || !strings.Contains(body, c.has) {
			t.Errorf("%s with %q: %d %s", c.path, c.token, st, body)
		}
	}
	doc := api.OpenAPI()
	op := doc.Paths.Value("/open/v1/me").Get
	if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["developerSession"] == nil {
		t.Fatalf("security: %+v", op.Security)
	}
	if doc.Components.SecuritySchemes["developerSession"] == nil || op.Responses.Value("401") == nil {
		t.Fatal("the developer session scheme or its 401 is not documented")
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

// TestConditionalETag: a route marked ETag answers a strong tag of its data
// — the same for the same data whatever the request id — and 304 with no
// body to a matching If-None-Match (a list, weak or "*" too); when the data
// changes so does the tag; failures and unmarked routes carry none.
func TestConditionalETag(t *testing.T) {
	api, err := httpapi.New(httpapi.Config{Log: nilLogger(), Title: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	page := "一"
	api.Mount(
		httpapi.Handle(http.MethodGet, "/page", func(_ context.Context, in *listIn) (*listOut, error) {
			if len(in.Status) > 0 && in.Status[0] == "bad" {
				return nil, fault.Invalidf("bad")
			}
			return &listOut{Status: []string{page}}, nil
		}).ETag(),
		httpapi.Handle(http.MethodGet, "/plain", func(context.Context, *httpapi.Empty) (*listOut, error) { return &listOut{}, nil }),
	)
	h := api.Handler()
	first, env := do(t, h, http.MethodGet, "/page", "")
	tag := first.Header().Get("ETag")
	if first.Code != 200 || len(tag) != 34 || tag[0] != '"' || !strings.Contains(string(env.Response.Data), "一") {
		t.Fatalf("first: %d %q %s", first.Code, tag, first.Body)
	}
	if again, _ := do(t, h, http.MethodGet, "/page", ""); again.Header().Get("ETag") != tag {
		t.Fatal("the same data, another tag")
	}
	for _, inm := range []string{tag, `"other", ` + tag, "W/" + tag, "*"} {
		nm, _ := do(t, h, http.MethodGet, "/page", "", "If-None-Match", inm)
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != tag {
			t.Fatalf("If-None-Match %s: %d %q", inm, nm.Code, nm.Body)
		}
	}
	if other, _ := do(t, h, http.MethodGet, "/page", "", "If-None-Match", `"other"`); other.Code != 200 {
		t.Fatalf("another tag: %d", other.Code)
	}
	page = "二"
	if changed, _ := do(t, h, http.MethodGet, "/page", "", "If-None-Match", tag); changed.Code != 200 || changed.Header().Get("ETag") == tag {
		t.Fatalf("changed data: %d %q", changed.Code, changed.Header().Get("ETag"))
	}
	if bad, _ := do(t, h, http.MethodGet, "/page?status=bad", "", "If-None-Match", "*"); bad.Code != 400 || bad.Header().Get("ETag") != "" {
		t.Fatalf("a failure: %d %q", bad.Code, bad.Header().Get("ETag"))
	}
	if plain, _ := do(t, h, http.MethodGet, "/plain", "", "If-None-Match", "*"); plain.Code != 200 || plain.Header().Get("ETag") != "" {
		t.Fatalf("an unmarked route: %d %q", plain.Code, plain.Header().Get("ETag"))
	}
}
