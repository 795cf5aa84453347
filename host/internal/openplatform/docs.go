package openplatform

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Docs is the docs center (文档中心): the API reference generated from the
// same route declarations as /openapi.json — grouped by capability for the
// open API and by module for the rest — with examples, error codes,
// signing examples and the changelog.
type Docs struct {
	groups []DocGroup
	byKey  map[string]*routeDoc
	codes  map[string]DocError // by code: its status and meaning
}

// DocGroup is a capability (open API) or a module (other routes).
type DocGroup struct {
	Key    string     `json:"key" doc:"the capability's code, or the module's tag"`
	Name   string     `json:"name"`
	Kind   string     `json:"kind" doc:"capability (signed open API), console, developer or public"`
	Routes []DocRoute `json:"routes"`
}

// DocRoute is one route in a list.
type DocRoute struct {
	Method  string `json:"method"`
	Path    string `json:"path" doc:"as /openapi.json writes it"`
	Summary string `json:"summary"`
}

// DocError is an error code a route may answer.
type DocError struct {
	Code    string `json:"code"`
	Status  int    `json:"status"`
	Meaning string `json:"meaning"`
}

// RouteDoc is one route's page.
type RouteDoc struct {
	DocRoute
	Description     string          `json:"description"`
	Auth            string          `json:"auth" doc:"app (signed), console, developer or public"`
	Capability      string          `json:"capability,omitempty"`
	Permission      string          `json:"permission,omitempty" doc:"the console permission it needs"`
	RequestExample  json.RawMessage `json:"requestExample" doc:"the JSON body's shape (path and query parameters apart)"`
	ResponseExample json.RawMessage `json:"responseExample" doc:"the envelope around the data"`
	Errors          []DocError      `json:"errors"`
}

type routeDoc struct {
	RouteDoc
	route *httpapi.Route
}

// NewDocs makes the docs center; Know gives it the routes.
func NewDocs() *Docs { return &Docs{byKey: map[string]*routeDoc{}, codes: map[string]DocError{}} }

// Know builds the reference over the mounted routes (its own included):
// call it once, after every route is mounted.
func (d *Docs) Know(routes []*httpapi.Route) {
	for _, c := range fault.Codes {
		d.codes[c.Code] = DocError{Code: c.Code, Status: kindStatus[c.Kind], Meaning: c.Meaning}
	}
	groups := map[string]*DocGroup{}
	for _, r := range routes {
		key, kind, name := "", r.Auth.String(), ""
		if r.Auth == httpapi.App {
			key, kind = r.CapabilityName(), "capability"
			name = names[key]
		} else if len(r.Tags) > 0 {
			key = r.Tags[0]
		} else {
			key = "other"
		}
		if name == "" {
			name = key
		}
		gk := kind + "/" + key
		g := groups[gk]
		if g == nil {
			g = &DocGroup{Key: key, Name: name, Kind: kind}
			groups[gk] = g
		}
		dr := DocRoute{Method: r.Method, Path: r.DocPath(), Summary: r.Summary}
		g.Routes = append(g.Routes, dr)
		doc := &routeDoc{route: r, RouteDoc: RouteDoc{DocRoute: dr, Description: r.Description, Auth: r.Auth.String(), Permission: r.Action}}
		if r.Auth == httpapi.App {
			doc.Capability = key
		}
		d.byKey[r.Method+" "+dr.Path] = doc
	}
	order := map[string]int{"capability": 0, "developer": 1, "public": 2, "console": 3}
	for _, g := range groups {
		d.groups = append(d.groups, *g)
	}
	sort.Slice(d.groups, func(i, j int) bool {
		a, b := d.groups[i], d.groups[j]
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] < order[b.Kind]
		}
		return a.Key < b.Key
	})
}

// Routes declares the docs center: public, as a developer reads it before
// having an account.
func (d *Docs) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/open/v1/docs", d.listRoute).
			Doc("文档中心", "The API reference: every route of /openapi.json, the open API grouped by capability and the rest by module; filter by a keyword of the path, summary or group.").
			Tag("docs").Public(),
		httpapi.Handle(http.MethodGet, "/open/v1/docs/route", d.routeRoute).
			Doc("接口文档", "One route's page: description, authentication, capability or permission, request and response examples, and every error code it may answer with its HTTP status and meaning.").
			Tag("docs").Public(),
		httpapi.Handle(http.MethodGet, "/open/v1/docs/signing", d.signingRoute).
			Doc("签名示例", "How to sign an open-API call (HMAC-SM3 over method, path, timestamp, nonce and the body's SM3), with working examples in Go, shell (curl and OpenSSL) and Python.").
			Tag("docs").Public(),
		httpapi.Handle(http.MethodGet, "/open/v1/docs/changelog", d.changelogRoute).
			Doc("版本变更", "The API's versions and what each changed, newest first, and the changes announced for coming versions.").
			Tag("docs").Public(),
	}
}

// DocsIn filters the reference.
type DocsIn struct {
	Keyword string `query:"keyword" validate:"max=64"`
}

// DocList is the reference's table of contents.
type DocList struct {
	Groups []DocGroup `json:"groups"`
	Routes int        `json:"routes" doc:"how many routes are listed"`
}

func (d *Docs) listRoute(_ context.Context, in *DocsIn) (*DocList, error) {
	kw := strings.ToLower(strings.TrimSpace(in.Keyword))
	out := &DocList{Groups: []DocGroup{}}
	for _, g := range d.groups {
		if kw == "" || strings.Contains(strings.ToLower(g.Key), kw) || strings.Contains(g.Name, kw) {
			out.Groups = append(out.Groups, g)
			out.Routes += len(g.Routes)
			continue
		}
		var keep []DocRoute
		for _, r := range g.Routes {
			if strings.Contains(strings.ToLower(r.Path), kw) || strings.Contains(strings.ToLower(r.Summary), kw) {
				keep = append(keep, r)
			}
		}
		if len(keep) > 0 {
			g.Routes = keep
			out.Groups = append(out.Groups, g)
			out.Routes += len(keep)
		}
	}
	return out, nil
}

// RouteIn names a route.
type RouteIn struct {
	Method string `query:"method" validate:"required,oneof=GET POST PUT PATCH DELETE"`
	Path   string `query:"path" validate:"required,max=200" doc:"as /openapi.json writes it"`
}

var kindStatus = map[fault.Kind]int{
	fault.Invalid: http.StatusBadRequest, fault.Unauthenticated: http.StatusUnauthorized, fault.Denied: http.StatusForbidden,
	fault.NotFound: http.StatusNotFound, fault.Conflict: http.StatusConflict, fault.Limited: http.StatusTooManyRequests,
	fault.Unavailable: http.StatusServiceUnavailable, fault.Internal: http.StatusInternalServerError,
}

func (d *Docs) routeRoute(_ context.Context, in *RouteIn) (*RouteDoc, error) {
	doc := d.byKey[in.Method+" "+in.Path]
	if doc == nil {
		return nil, fault.NotFoundf("no route %s %s (see /open/v1/docs)", in.Method, in.Path)
	}
	out := doc.RouteDoc
	reqEx, dataEx := doc.route.Examples()
	out.RequestExample = reqEx
	out.ResponseExample, _ = json.Marshal(map[string]any{"Response": map[string]any{"Data": dataEx, "RequestId": "0f8e…"}})
	for _, c := range doc.route.ErrorCodes() {
		e := d.codes[c]
		e.Code = c
		out.Errors = append(out.Errors, e)
	}
	return &out, nil
}

// Signing is the signing guide.
type Signing struct {
	StringToSign string            `json:"stringToSign"`
	Headers      map[string]string `json:"headers"`
	Examples     map[string]string `json:"examples" doc:"go, shell, python: each a complete program calling /api/getAppInfo"`
}

func (d *Docs) signingRoute(context.Context, *httpapi.Empty) (*Signing, error) {
	return &Signing{
		StringToSign: "METHOD \\n PATH[?QUERY] \\n TIMESTAMP(ms) \\n NONCE \\n hex(SM3(body)); signature = hex(HMAC-SM3(appSecret decoded from hex, stringToSign))",
		Headers: map[string]string{
			"X-CityCode-AppId": "the app's cityCodeAppId", "X-CityCode-Timestamp": "unix milliseconds (±300 s)",
			"X-CityCode-Nonce": "16–64 of [A-Za-z0-9_-], never reused within 600 s", "X-CityCode-Signature": "hex HMAC-SM3",
			"X-CityCode-SignMethod": "optional: SM2 (base64 DER over the string to sign, with the app's registered key)",
			"X-CityCode-Encrypt":    "optional: SM4-GCM (body = base64(nonce ‖ ciphertext ‖ tag) under the app's data key)",
		},
		Examples: SigningExamples,
	}, nil
}

// SigningExamples are complete programs calling /api/getAppInfo with
// BASE, APP_ID and APP_SECRET from the environment; the tests run the
// shell and Python ones against a real host.
var SigningExamples = map[string]string{
	"go": `package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/opencitycode/citycode/sdk/client"
)

func main() {
	secret, _ := hex.DecodeString(os.Getenv("APP_SECRET"))
	c := client.New(os.Getenv("BASE"), os.Getenv("APP_ID"), secret)
	var info map[string]any
	if err := c.Call(context.Background(), "/api/getAppInfo", map[string]any{}, &info); err != nil {
		panic(err)
	}
	fmt.Println(info)
}
`,
	"shell": `#!/usr/bin/env bash
# Needs curl and OpenSSL 1.1.1 or later (SM3).
set -euo pipefail
path=/api/getAppInfo
body='{}'
ts=$(( $(date +%s) * 1000 ))
nonce=$(openssl rand -hex 16)
digest=$(printf '%s' "$body" | openssl dgst -sm3 -r | cut -d' ' -f1)
sig=$(printf 'POST\n%s\n%s\n%s\n%s' "$path" "$ts" "$nonce" "$digest" |
  openssl dgst -sm3 -mac HMAC -macopt "hexkey:$APP_SECRET" -r | cut -d' ' -f1)
curl -sS -X POST "$BASE$path" -H 'Content-Type: application/json' \
  -H "X-CityCode-AppId: $APP_ID" -H "X-CityCode-Timestamp: $ts" \
  -H "X-CityCode-Nonce: $nonce" -H "X-CityCode-Signature: $sig" \
  --data "$body"
`,
	"python": `# Python 3 whose OpenSSL has SM3 (1.1.1 or later).
import hashlib, hmac, json, os, secrets, time, urllib.request

base, app_id, secret = os.environ["BASE"], os.environ["APP_ID"], bytes.fromhex(os.environ["APP_SECRET"])
path, body = "/api/getAppInfo", b"{}"
ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
digest = hashlib.new("sm3", body).hexdigest()
sts = "\n".join(["POST", path, ts, nonce, digest]).encode()
sig = hmac.new(secret, sts, "sm3").hexdigest()
req = urllib.request.Request(base + path, data=body, method="POST", headers={
    "Content-Type": "application/json", "X-CityCode-AppId": app_id, "X-CityCode-Timestamp": ts,
    "X-CityCode-Nonce": nonce, "X-CityCode-Signature": sig})
print(json.load(urllib.request.urlopen(req)))
`,
}

// Change is one version of the API.
type Change struct {
	Version  string   `json:"version"`
	Upcoming bool     `json:"upcoming,omitempty"`
	Items    []string `json:"items"`
}

// changelog is the API's history, newest first; it is kept with the code
// that changes the API.
var changelog = []Change{
	{Version: "1.4", Upcoming: true, Items: []string{
		"Call statistics per app and API in the developer portal (调用统计).",
	}},
	{Version: "1.3", Items: []string{
		"Open platform: developer accounts, qualifications, capability applications; apps restricted to granted capabilities answer 403 UnauthorizedOperation and 429 LimitExceeded.Quota.",
		"互联互通: POST /openapi/v1/interop/parse; unknown content answers 404 ResourceNotFound.ForeignCode.",
		"Scene configuration pages with strong ETags (304 on If-None-Match); scene switches; GET /openapi/v1/time.",
		"Decode may answer UnauthorizedOperation.SceneSwitchedOff, .SceneDisabled, .CounterpartDisabled and .RiskIntercepted.",
	}},
	{Version: "1.2", Items: []string{
		"Risk control on generate, show and verify (403 UnauthorizedOperation.RiskIntercepted); blacklists (403 UnauthorizedOperation.Blacklisted); traffic limits (429 LimitExceeded.RateLimit with Retry-After).",
		"Plugin data sync: GET /openapi/v1/plugins/{name}/records/{collection}.",
	}},
	{Version: "1.0", Items: []string{
		"The user manual's section-5 app API (open, show and decode of personal, health and payment codes; bound data; payment notifications), signed with HMAC-SM3 or SM2, bodies optionally SM4-GCM.",
		"Object and enterprise codes: pre-issue, entry, activation, verification, images.",
	}},
}

// Changelog is the API's history and coming changes.
type Changelog struct {
	Items []Change `json:"items"`
}

func (d *Docs) changelogRoute(context.Context, *httpapi.Empty) (*Changelog, error) {
	return &Changelog{Items: changelog}, nil
}
