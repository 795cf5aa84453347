package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// adminRoutes route the console to the plugins' admin routes: reads need
// plugin.read, changes plugin.update, both on the platform asked for.
func (s *Service) adminRoutes() []*httpapi.Route {
	doc := "Calls the plugin's admin route {path} (a manifest route of kind admin) for the platform, with the operator named; JSON in and out."
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/plugins/:name/admin/*", s.adminCall(http.MethodGet)).
			Doc("插件管理接口（查询）", doc).Tag("plugins").Console("plugin.read").AcceptUnknownFields(),
		httpapi.Handle(http.MethodPost, "/console/plugins/:name/admin/*", s.adminCall(http.MethodPost)).
			Doc("插件管理接口（提交）", doc).Tag("plugins").Console("plugin.update").AcceptUnknownFields(),
		httpapi.Handle(http.MethodPut, "/console/plugins/:name/admin/*", s.adminCall(http.MethodPut)).
			Doc("插件管理接口（修改）", doc).Tag("plugins").Console("plugin.update").AcceptUnknownFields(),
		httpapi.Handle(http.MethodDelete, "/console/plugins/:name/admin/*", s.adminCall(http.MethodDelete)).
			Doc("插件管理接口（删除）", doc).Tag("plugins").Console("plugin.update").AcceptUnknownFields(),
	}
}

// AdminIn is an admin call.
type AdminIn struct {
	Name       string          `path:"name" json:"-" validate:"required,max=40"`
	Path       string          `path:"*" json:"-" validate:"max=200"`
	PlatformID string          `query:"platformId" json:"-" validate:"max=32"`
	Q          string          `query:"q" json:"-" validate:"max=200" doc:"passed to the plugin, as is every query parameter but platformId (the plugin's own filters: status, from, to …)"`
	PageNo     string          `query:"pageNo" json:"-" validate:"max=10"`
	PageSize   string          `query:"pageSize" json:"-" validate:"max=10"`
	Query      url.Values      `raw:"query" json:"-"`
	Body       json.RawMessage `raw:"body" json:"-"`
}

// Bounds of the query passed on to a plugin's admin route.
const (
	maxAdminParams     = 30
	maxAdminParamBytes = 500
)

// pluginQuery is the query the plugin gets: the operator's, without the
// host's own platformId, within bounds.
func pluginQuery(q url.Values) (map[string][]string, error) {
	out := map[string][]string{}
	n := 0
	for k, vs := range q {
		if k == "platformId" {
			continue
		}
		for _, v := range vs {
			n++
			if len(k)+len(v) > maxAdminParamBytes || strings.ContainsRune(k+v, 0) {
				return nil, fault.Invalidf("query parameter %q is longer than %d bytes or holds a NUL", truncateRunes(k, 40), maxAdminParamBytes)
			}
		}
		out[k] = vs
	}
	if n > maxAdminParams {
		return nil, fault.Invalidf("at most %d query parameters", maxAdminParams)
	}
	return out, nil
}

func (s *Service) adminCall(method string) func(context.Context, *AdminIn) (*json.RawMessage, error) {
	return func(ctx context.Context, in *AdminIn) (*json.RawMessage, error) {
		p, err := platformFor(ctx, in.PlatformID)
		if err != nil {
			return nil, err
		}
		q, err := pluginQuery(in.Query)
		if err != nil {
			return nil, err
		}
		account := ""
		if a := actor.From(ctx); a != nil {
			account = a.Account
		}
		out, err := s.Admin(ctx, in.Name, p, method, in.Path, q, in.Body, account)
		if err != nil {
			return nil, err
		}
		return &out, nil
	}
}

// Admin calls a plugin's admin route for a platform on behalf of an
// operator (already authorized by the caller) and answers its JSON.
func (s *Service) Admin(ctx context.Context, name, platformID, method, path string, query map[string][]string, body []byte, account string) (json.RawMessage, error) {
	p := platformID
	l := s.get(name)
	if l == nil {
		return nil, fault.NotFoundf("plugin %s is not running", name)
	}
	on, config, err := s.enablement(ctx, p, name)
	if err != nil {
		return nil, err
	}
	if !on {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "plugin %s is not enabled on platform %s", name, p)
	}
	path = "/" + strings.TrimPrefix(path, "/")
	route, ok := l.manifest.Route(plugin.Admin, method, path)
	if !ok {
		return nil, fault.NotFoundf("plugin %s has no admin route %s %s", name, method, path)
	}
	q := query
	op := &plugin.Operator{PlatformID: p, Account: account}
	req := &plugin.Request{ID: httpapi.RequestID(ctx), Route: route.Name, Kind: plugin.Admin, Method: method, Path: path,
		Query: q, Header: map[string]string{"Content-Type": "application/json"}, Body: body, PlatformID: p,
		Visitor: plugin.Visitor{Tourist: true}, Operator: op, Config: config}
	if req.ID == "" {
		req.ID = newID("q")
	}
	out, err := s.Call(ctx, name, p, req, true)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the plugin did not answer; try again")
	}
	if out.Error != nil {
		// The plugin's message, under the host's own code of the same
		// class: the API answers only codes it documents.
		msg := out.Error.Message
		switch pluginErrorStatus(out.Error.Code) {
		case http.StatusBadRequest:
			if strings.HasPrefix(out.Error.Code, fault.CodeMissingParameter) {
				return nil, fault.E(fault.Invalid, fault.CodeMissingParameter, "%s", msg)
			}
			return nil, fault.Invalidf("%s", msg)
		case http.StatusNotFound:
			return nil, fault.NotFoundf("%s", msg)
		case http.StatusForbidden:
			return nil, fault.Deniedf("%s", msg)
		case http.StatusConflict:
			return nil, fault.Conflictf(fault.CodeFailedOperation, "%s", msg)
		}
		return nil, fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "the plugin failed: %s", msg)
	}
	answer := out.Response.Body
	if st := out.Response.Status; st >= 400 {
		msg := fmt.Sprintf("the plugin answered %d", st)
		switch {
		case st == http.StatusNotFound:
			return nil, fault.NotFoundf("%s", msg)
		case st < 500:
			return nil, fault.Invalidf("%s", msg)
		}
		return nil, fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "%s", msg)
	}
	if !json.Valid(answer) {
		return nil, fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "the plugin's admin route did not answer JSON")
	}
	return json.RawMessage(answer), nil
}
