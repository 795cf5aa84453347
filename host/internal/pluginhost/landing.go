package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// maxLandingBody bounds a landing request: a form with a phone photo
// (files.write takes up to 5 MB).
const maxLandingBody = 6 << 20

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// binding is the landing binding that matched a code.
type binding struct {
	ID     int64
	Scope  string
	Plugin string
}

// bindingFor finds the online binding for a code, most specific first: the
// code itself, owner unit + object type, region + object type (the longest
// region prefix), object type, code kind.
func (s *Service) bindingFor(ctx context.Context, platformID string, c *plugin.Code) (*binding, error) {
	var b binding
	err := s.cfg.Pool.QueryRow(ctx, `SELECT id, scope, plugin FROM landing_bindings
		WHERE platform_id = $1 AND state = 'online' AND (
			(scope = 'code' AND code_token = $2)
			OR (scope = 'owner_type' AND owner_unit = $3 AND $3 <> '' AND type_id = $4 AND $4 <> '')
			OR (scope = 'region_type' AND $5 LIKE region_code || '%' AND region_code <> '' AND type_id = $4 AND $4 <> '')
			OR (scope = 'type' AND type_id = $4 AND $4 <> '')
			OR (scope = 'kind' AND code_kind = $6))
		ORDER BY CASE scope WHEN 'code' THEN 0 WHEN 'owner_type' THEN 1 WHEN 'region_type' THEN 2 WHEN 'type' THEN 3 ELSE 4 END,
			length(region_code) DESC, id
		LIMIT 1`, platformID, c.Token, c.OwnerUnit, c.TypeID, c.RegionCode, c.Kind).Scan(&b.ID, &b.Scope, &b.Plugin)
	if store.NoRows(err) {
		return nil, nil
	}
	return &b, err
}

// enablement reads whether a plugin is enabled on a platform, and its
// configuration there.
func (s *Service) enablement(ctx context.Context, platformID, name string) (bool, json.RawMessage, error) {
	var on bool
	var cfg []byte
	err := s.cfg.Pool.QueryRow(ctx, `SELECT enabled, config FROM plugin_platforms WHERE platform_id = $1 AND name = $2`,
		platformID, name).Scan(&on, &cfg)
	if store.NoRows(err) {
		return false, nil, nil
	}
	return on, cfg, err
}

// LandingHandler serves the landing pages of object codes, GET
// {publicBase}/c/{token}, and of enterprise codes, GET
// {publicBase}/e/{token}, and the plugin pages and actions below them.
// Mount it on /c/:token, /c/:token/*, /e/:token and /e/:token/*.
func (s *Service) LandingHandler() http.Handler {
	return http.HandlerFunc(s.serveLanding)
}

func (s *Service) serveLanding(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	prefix := landingPrefix(r.URL.Path)
	token, sub, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
	path := "/" + sub
	if !tokenRe.MatchString(token) {
		s.page(w, http.StatusNotFound, "码不存在", "未找到该码，请确认二维码完整清晰。", r)
		return
	}
	if s.ticketLanding(w, r, prefix) {
		return
	}
	// Object codes resolve by their token; enterprise codes by their path.
	key := token
	if prefix == enterprisePrefix {
		key = prefix + token
	}
	code, platformID, err := s.cfg.Codes.Resolve(ctx, key)
	if err != nil {
		s.codeError(w, r, err)
		return
	}
	b, err := s.bindingFor(ctx, platformID, code)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if b == nil {
		if path != "/" {
			s.page(w, http.StatusNotFound, "页面不存在", "该码没有此页面。", r)
			return
		}
		s.standardPage(ctx, w, r, platformID, code)
		return
	}
	l := s.get(b.Plugin)
	on, config, err := s.enablement(ctx, platformID, b.Plugin)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if l == nil || !on {
		// The binding names a plugin this platform cannot use now: the
		// citizen still gets the platform's standard page.
		s.log.Warn("landing plugin unavailable; standard page served", "plugin", b.Plugin, "platform", platformID, "binding", b.ID)
		if path != "/" {
			s.page(w, http.StatusServiceUnavailable, "服务暂不可用", "该服务暂未开通，请稍后再试。", r)
			return
		}
		s.standardPage(ctx, w, r, platformID, code)
		return
	}
	if !s.breakerOf(l).allow(s.cfg.Clock()) {
		// Resting after failures in a row: the citizen gets the standard
		// page at once rather than another failure.
		if path != "/" {
			s.page(w, http.StatusServiceUnavailable, "服务暂不可用", "服务暂时无法响应，请稍后再试。", r)
			return
		}
		s.standardPage(ctx, w, r, platformID, code)
		return
	}
	s.servePlugin(w, r, l, platformID, code, config, prefix+token, path)
}

// The landing paths: object codes hold {publicBase}/c/{token}, enterprise
// codes {publicBase}/e/{token}.
const (
	objectPrefix     = "/c/"
	enterprisePrefix = "/e/"
)

// landingPrefix is the landing path prefix of a request path.
func landingPrefix(p string) string {
	if strings.HasPrefix(p, enterprisePrefix) {
		return enterprisePrefix
	}
	return objectPrefix
}

// servePlugin serves path below the code's own landing path own
// (/c/{token} or /e/{token}) through plugin l.
func (s *Service) servePlugin(w http.ResponseWriter, r *http.Request, l *loaded, platformID string, code *plugin.Code,
	config json.RawMessage, own, path string) {
	ctx := r.Context()
	// Which plugin version serves the code, for support and for test
	// harnesses (set even when the plugin has no such page).
	w.Header().Set("X-CityCode-Plugin", l.name+"/"+l.version)
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	kind := plugin.Landing
	route, ok := l.manifest.Route(plugin.Landing, method, path)
	if !ok {
		kind = plugin.Action
		route, ok = l.manifest.Route(plugin.Action, method, path)
	}
	if !ok {
		s.page(w, http.StatusNotFound, "页面不存在", "该服务没有此页面。", r)
		return
	}
	visitor := s.visitorFor(ctx, s.session(ctx, r), l.name)
	if !route.Tourist && visitor.Tourist {
		s.page(w, http.StatusUnauthorized, "请登录后使用", "此服务需要实名登录，请在城市码App或小程序中扫码打开。", r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLandingBody+1))
	if err != nil {
		s.page(w, http.StatusBadRequest, "请求无效", "请求内容无法读取。", r)
		return
	}
	if len(body) > maxLandingBody {
		s.page(w, http.StatusRequestEntityTooLarge, "内容过大", "提交的内容超过 6 MB。", r)
		return
	}
	reqID := httpapi.RequestID(ctx)
	if reqID == "" {
		reqID = newID("q")
	}
	req := &plugin.Request{
		ID: reqID, Route: route.Name, Kind: kind, Method: method, Path: path, Query: r.URL.Query(),
		Header: pickHeaders(r.Header), Body: body, PlatformID: platformID, Code: code, Visitor: visitor,
		Config: config, BaseURL: s.cfg.PublicBase + own,
	}
	if l.manifest.Declares(plugin.TokenExchange) && kind == plugin.Landing {
		if req.AccessToken, err = s.mintToken(ctx, l.name, platformID, code, visitor); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	start := time.Now()
	out, err := s.Call(ctx, l.name, platformID, req, true)
	switch {
	case err == nil:
		s.breakerOf(l).done(true, s.cfg.Clock())
	case errors.Is(err, runner.ErrCrashed) || errors.Is(err, runner.ErrTimeout) || errors.Is(err, runner.ErrOutOfMemory):
		s.breakerOf(l).done(false, s.cfg.Clock())
	}
	evType := events.Landing
	if kind == plugin.Action {
		evType = events.PluginAction
	}
	s.recordVisit(ctx, evType, err == nil && out.Error == nil, platformID, code, l, route.Name, time.Since(start))
	if err != nil {
		s.log.Warn("plugin call failed", "plugin", l.name, "route", route.Name, "err", err)
		status := http.StatusBadGateway
		if errors.Is(err, runner.ErrUnavailable) || errors.Is(err, runner.ErrClosed) {
			status = http.StatusServiceUnavailable
		}
		if errors.Is(err, runner.ErrTimeout) {
			status = http.StatusGatewayTimeout
		}
		s.page(w, status, "服务暂不可用", "服务暂时无法响应，请稍后再试。", r)
		return
	}
	if out.Error != nil {
		s.page(w, pluginErrorStatus(out.Error.Code), "操作未完成", out.Error.Message, r)
		return
	}
	s.writeResponse(w, r, out.Response, own, platformID)
}

func pluginErrorStatus(code string) int {
	switch {
	case strings.HasPrefix(code, plugin.ErrInvalid), strings.HasPrefix(code, "MissingParameter"):
		return http.StatusBadRequest
	case strings.HasPrefix(code, plugin.ErrNotFound):
		return http.StatusNotFound
	case strings.HasPrefix(code, "UnauthorizedOperation"):
		return http.StatusForbidden
	case strings.HasPrefix(code, "FailedOperation"):
		return http.StatusConflict
	case strings.HasPrefix(code, plugin.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Call hands a request to a plugin and answers its outcome. A call that
// lands on a version being retired (ErrClosed) is retried once on the
// version that replaced it: upgrades lose no request.
func (s *Service) Call(ctx context.Context, name, platformID string, req *plugin.Request, enabled bool) (*plugin.Outcome, error) {
	// The request as JSON, with its body in it or (for a runtime that takes
	// it apart) without; each made once, when first needed.
	var whole, bare []byte
	encode := func(apart bool) ([]byte, error) {
		var err error
		switch {
		case apart && bare == nil:
			r := *req
			r.Body = nil
			bare, err = json.Marshal(&r)
		case !apart && whole == nil:
			whole, err = json.Marshal(req)
		}
		if apart {
			return bare, err
		}
		return whole, err
	}
	for attempt := 0; ; attempt++ {
		l := s.get(name)
		if l == nil {
			return nil, fmt.Errorf("plugin %s: %w", name, runner.ErrUnavailable)
		}
		br, apart := l.run.(runner.BodyRunner)
		apart = apart && len(req.Body) > 0 && br.TakesBody()
		raw, err := encode(apart)
		if err != nil {
			return nil, err
		}
		c := &call{s: s, l: l, platformID: platformID, requestID: req.ID, code: req.Code, visitor: req.Visitor, enabled: enabled}
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout(l))
		var b []byte
		if apart {
			b, err = br.HandleBody(cctx, raw, req.Body, c.hostFunc())
		} else {
			b, err = l.run.Handle(cctx, raw, c.hostFunc())
		}
		cancel()
		if errors.Is(err, runner.ErrClosed) && attempt == 0 && s.get(name) != l {
			continue
		}
		if err != nil {
			return nil, err
		}
		var out plugin.Outcome
		if err := json.Unmarshal(b, &out); err != nil || (out.Response == nil && out.Error == nil) {
			return nil, fmt.Errorf("plugin %s answered an undecodable outcome: %w", name, runner.ErrCrashed)
		}
		return &out, nil
	}
}

func (s *Service) callTimeout(l *loaded) time.Duration {
	if ms := l.manifest.Limits.TimeoutMS; ms > 0 && time.Duration(ms)*time.Millisecond < s.cfg.CallTimeout {
		return time.Duration(ms) * time.Millisecond
	}
	return s.cfg.CallTimeout
}

func (s *Service) recordVisit(ctx context.Context, t events.Type, ok bool, platformID string, c *plugin.Code, l *loaded, route string, d time.Duration) {
	res := events.Success
	if !ok {
		res = events.Failure
	}
	detail, _ := json.Marshal(map[string]any{"plugin": l.name, "version": l.version, "route": route, "ms": d.Milliseconds()})
	ev := events.Event{Type: t, Result: res, PlatformID: platformID, RuleID: c.CodeDefID, Kind: c.Kind, CodeID: c.Token,
		RegionCode: c.RegionCode, Detail: detail}
	if c.Kind == "object" && c.Number > 0 {
		ev.SubjectID = "o" + strconv.FormatInt(c.Number, 10)
	}
	if err := s.cfg.Events.Write(ctx, ev); err != nil {
		s.log.Warn("landing event not recorded", "err", err)
	}
}

// pickHeaders passes the few request headers a page needs; cookies and
// credentials never reach a plugin.
func pickHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"Accept-Language", "Content-Type", "User-Agent", "Accept"} {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

// writeResponse writes a plugin's response with only the headers a page
// may set, and redirects only to the plugin's own pages or to https
// addresses on the platform's service whitelist (no open redirect).
func (s *Service) writeResponse(w http.ResponseWriter, r *http.Request, resp *plugin.Response, own, platformID string) {
	h := w.Header()
	securityHeaders(h)
	status := resp.Status
	if status < 200 || status > 599 {
		status = http.StatusOK
	}
	for k, v := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Cache-Control", "Content-Disposition", "Content-Language":
			h.Set(k, v)
		case "Location":
			if !s.ownLocation(v, own) && !s.whitelisted(r.Context(), platformID, v) {
				s.log.Warn("plugin redirect refused", "location", v)
				s.page(w, http.StatusBadGateway, "跳转被拒绝", "该服务试图跳转到未经许可的地址。", r)
				return
			}
			h.Set("Location", v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(resp.Body))
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

// ownLocation accepts redirects to the code's own pages (below own,
// /c/{token} or /e/{token}), relative or absolute on the public base.
func (s *Service) ownLocation(loc, own string) bool {
	// Browsers read a backslash as a slash (\\evil.example is
	// //evil.example, another host) and drop tabs and newlines.
	if strings.ContainsAny(loc, "\\\t\r\n\x00") {
		return false
	}
	u, err := url.Parse(loc)
	if err != nil || u.User != nil || strings.Contains(u.Path, "..") {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return u.Path == own || strings.HasPrefix(u.Path, own+"/") || (!strings.HasPrefix(u.Path, "/") && u.Path != "")
	}
	base, err := url.Parse(s.cfg.PublicBase)
	if err != nil {
		return false
	}
	return u.Scheme == base.Scheme && u.Host == base.Host && (u.Path == own || strings.HasPrefix(u.Path, own+"/"))
}

// whitelisted reports whether a redirect target is on the platform's
// service whitelist.
func (s *Service) whitelisted(ctx context.Context, platformID, loc string) bool {
	if s.cfg.Services == nil {
		return false
	}
	ok, err := s.cfg.Services(ctx, platformID, loc)
	if err != nil {
		s.log.Warn("service whitelist unavailable: redirect refused", "err", err)
	}
	return ok && err == nil
}

func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'")
}

// codeError answers a code that cannot be landed on.
func (s *Service) codeError(w http.ResponseWriter, r *http.Request, err error) {
	f, ok := fault.As(err)
	switch {
	case ok && f.Code == fault.CodeCodeRevoked:
		s.page(w, http.StatusGone, "该码已注销", "该码已注销，不再提供服务。", r)
	case ok && f.Code == fault.CodeCodeNotActive:
		s.page(w, http.StatusConflict, "该码尚未启用", "该码尚未激活或正在审核，请稍后再试。", r)
	case ok && (f.Kind == fault.NotFound || f.Kind == fault.Invalid):
		s.page(w, http.StatusNotFound, "码不存在", "未找到该码，请确认二维码完整清晰。", r)
	default:
		s.internal(w, r, err)
	}
}

func (s *Service) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("landing failed", "path", r.URL.Path, "err", err)
	s.page(w, http.StatusInternalServerError, "系统繁忙", "系统繁忙，请稍后再试。", r)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:2rem 1.2rem;background:#f5f7fa;color:#303133}
main{max-width:32rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem}h1{font-size:1.3rem}.id{color:#909399;font-size:.8rem}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .RequestID}}<p class="id">请求编号 {{.RequestID}}</p>{{end}}</main></body></html>`))

// page answers a small page for citizens: they arrive from a phone camera,
// not from an API client.
func (s *Service) page(w http.ResponseWriter, status int, title, msg string, r *http.Request) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = pageTmpl.Execute(w, map[string]string{"Title": title, "Message": msg, "RequestID": httpapi.RequestID(r.Context())})
}

// ServeFile serves a plugin file by its unguessable id.
func (s *Service) ServeFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/plugin-files/")
		if !tokenRe.MatchString(id) {
			http.NotFound(w, r)
			return
		}
		f, err := s.file(r.Context(), id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Header().Set("ETag", `"`+f.SM3+`"`)
		// ServeContent answers Range requests (a phone's <video> seeks with
		// them) and If-None-Match against the ETag.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Data))
	})
}

// pseudonym is the visitor id a plugin sees: stable for one person within
// one plugin, unlinkable across plugins.
func (s *Service) pseudonym(name, subject string) string {
	return "v" + codec.SM3Hex(append(append([]byte{}, s.cfg.PseudonymKey...), []byte(name+"\x00"+subject)...))[:24]
}
