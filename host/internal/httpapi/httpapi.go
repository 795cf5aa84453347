// Package httpapi is the host's HTTP layer: echo, the response envelope, the
// mapping of fault kinds to statuses, request ids, access logs, metrics,
// body limits, console-session and app-signature authentication, and the
// OpenAPI document — all driven by the Route declarations of the services.
//
// It is the only package that imports echo. Services declare routes with
// Handle and never see echo.Context.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
)

// ConsoleAuthenticator resolves a console session token to its operator.
type ConsoleAuthenticator interface {
	Authenticate(ctx context.Context, token string) (*actor.Actor, error)
}

// DeveloperAuthenticator resolves a developer session token (the open
// platform's portal) to its developer. Console and developer sessions are
// separate: neither authenticator knows the other's tokens.
type DeveloperAuthenticator interface {
	Authenticate(ctx context.Context, token string) (*actor.Actor, error)
}

// Authorizer decides whether the actor in ctx may perform action; on success
// it returns ctx carrying the decision's data scope for the service.
type Authorizer interface {
	AuthorizeAction(ctx context.Context, action string) (context.Context, error)
}

// SignedRequest is what the app verifier needs of a request.
type SignedRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// VerifiedApp is the result of a successful signature check.
type VerifiedApp struct {
	AppID      string
	PlatformID string
	Body       []byte // plaintext body (decrypted when it was encrypted)
	// Seal encrypts the answer when the request was encrypted; nil otherwise.
	Seal func(plaintext []byte) ([]byte, error)
}

// AppVerifier checks the signed open-API scheme.
type AppVerifier interface {
	VerifyApp(ctx context.Context, r SignedRequest) (*VerifiedApp, error)
}

// Limiter admits an app's call of a route, or refuses it (429) when a
// traffic limit of the route is reached (scene traffic control).
type Limiter interface {
	Admit(ctx context.Context, route *Route, appID string) error
}

// Grants admits an app's call of a route when the app holds the route's
// capability and has quota left (the open platform's grants), or refuses
// it: 403 UnauthorizedOperation, 429 LimitExceeded.Quota.
type Grants interface {
	Permit(ctx context.Context, route *Route, appID string) error
}

// Gate refuses callers on a blacklist (风控黑名单): an IP address on every
// request, an app's access account on its signed calls.
type Gate interface {
	AllowIP(ctx context.Context, ip string) error
	AllowApp(ctx context.Context, appID string) error
}

// Observer is told about every completed console or app call (after the
// handler ran), e.g. to write the audit trail. It must not fail the request.
type Observer interface {
	Observe(ctx context.Context, call Call)
}

// Call describes one completed route invocation.
type Call struct {
	Route      *Route
	Actor      *actor.Actor
	PathParams map[string]string
	Status     int
	Err        error
	Duration   time.Duration
}

// Config configures the HTTP layer.
type Config struct {
	Log          *slog.Logger
	MaxBodyBytes int64 // default 1 MiB
	Console      ConsoleAuthenticator
	Developers   DeveloperAuthenticator // nil: no Developer routes
	Authz        Authorizer
	Apps         AppVerifier
	Limiter      Limiter // nil: no traffic limits
	Gate         Gate    // nil: no blacklists
	Grants       Grants  // nil: every app may call every App route
	Observer     Observer
	Registry     *prometheus.Registry // nil: no /metrics
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed for the
	// client IP; empty means the TCP peer is the client.
	TrustedProxies []string
	Title, Version string // for the OpenAPI document
}

// API is the assembled HTTP layer.
type API struct {
	e      *echo.Echo
	cfg    Config
	bind   *binder
	routes []*Route
	dur    *prometheus.HistogramVec
}

// New builds the HTTP layer. Mount routes with Mount, then serve Handler().
func New(cfg Config) (*API, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	ext, err := ipExtractor(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e.IPExtractor = ext
	a := &API{e: e, cfg: cfg, bind: newBinder()}
	e.HTTPErrorHandler = a.echoError
	e.Use(a.requestContext, a.recoverPanics, a.gate)
	if cfg.Registry != nil {
		a.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "citycode_http_request_duration_seconds",
			Help:    "HTTP request latency by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route", "status"})
		cfg.Registry.MustRegister(a.dur)
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry})))
	}
	return a, nil
}

// gate refuses a blacklisted IP address on every path but the probes: the
// API with its envelope, landing pages with a page.
func (a *API) gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if a.cfg.Gate == nil || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			return next(c)
		}
		err := a.cfg.Gate.AllowIP(c.Request().Context(), c.RealIP())
		if err == nil {
			return next(c)
		}
		if strings.HasPrefix(p, "/c/") || strings.HasPrefix(p, "/e/") {
			return c.HTML(http.StatusForbidden, `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>访问受限</title><p>您的网络地址已被限制访问，如有疑问请联系平台。</p>`)
		}
		a.writeError(c, err, nil)
		return nil
	}
}

// Handler returns the http.Handler serving every mounted route.
func (a *API) Handler() http.Handler { return a.e }

// Routes returns the mounted route declarations in mount order.
func (a *API) Routes() []*Route { return a.routes }

// Mount registers routes.
func (a *API) Mount(routes ...*Route) {
	for _, r := range routes {
		if r.Auth == Console && a.cfg.Console == nil || r.Auth == App && a.cfg.Apps == nil ||
			r.Auth == Developer && a.cfg.Developers == nil {
			panic(fmt.Sprintf("httpapi: %s %s needs an authenticator that is not configured", r.Method, r.Path))
		}
		a.routes = append(a.routes, r)
		a.e.Add(r.Method, r.Path, a.serve(r))
	}
}

// MountHandler registers a plain http.Handler (static assets, probes) that
// is neither enveloped nor documented.
func (a *API) MountHandler(method, path string, h http.Handler) {
	a.e.Add(method, path, echo.WrapHandler(h))
}

type requestIDKey struct{}

type clientKey struct{}

type clientInfo struct{ ip, userAgent string }

// ClientInfo returns the client's address (as trusted per Config.TrustedProxies)
// and user agent of the request in ctx; public routes such as login have no
// actor to carry them.
func ClientInfo(ctx context.Context) (ip, userAgent string) {
	ci, _ := ctx.Value(clientKey{}).(clientInfo)
	return ci.ip, ci.userAgent
}

// RequestID returns the request id in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestContext assigns the request id, logs the access line and records
// the latency metric.
func (a *API) requestContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		c.Response().Header().Set("X-Request-Id", id)
		ctx := context.WithValue(req.Context(), requestIDKey{}, id)
		ctx = context.WithValue(ctx, clientKey{}, clientInfo{ip: c.RealIP(), userAgent: req.UserAgent()})
		c.SetRequest(req.WithContext(ctx))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := c.Path()
		if a.dur != nil && route != "/metrics" {
			a.dur.WithLabelValues(req.Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if !a.cfg.Log.Enabled(ctx, level) {
			return nil // spare building the line on every call
		}
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", status),
			slog.Duration("latency", time.Since(start)),
			slog.String("ip", c.RealIP()),
		}
		if act := actor.From(c.Request().Context()); act != nil {
			attrs = append(attrs, slog.String("actor", actorLabel(act)))
		}
		a.cfg.Log.LogAttrs(ctx, level, "http", attrs...)
		return nil
	}
}

// recoverPanics turns a handler panic into a logged internal error, so one
// bad request never takes the connection (or the process) down with it.
func (a *API) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				ctx := c.Request().Context()
				a.cfg.Log.ErrorContext(ctx, "handler panic", "request_id", RequestID(ctx), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !c.Response().Committed {
					a.writeError(c, fmt.Errorf("httpapi: panic: %v", p), nil)
				}
				err = nil
			}
		}()
		return next(c)
	}
}

func actorLabel(a *actor.Actor) string {
	switch a.Kind {
	case actor.KindApp:
		return "app:" + a.AppID
	case actor.KindDeveloper:
		return "developer:" + a.Account
	}
	return "operator:" + a.Account
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serve adapts a Route to echo: authenticate, read and bind the input, call
// the handler, write the envelope, tell the observer.
func (a *API) serve(r *Route) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		ctx := req.Context()
		var seal func([]byte) ([]byte, error)
		var act *actor.Actor

		out, err := func() (any, error) {
			limit := a.cfg.MaxBodyBytes
			if r.MaxBodyBytes > 0 {
				limit = r.MaxBodyBytes
			}
			body, err := readBody(req, limit)
			if err != nil {
				return nil, err
			}
			switch r.Auth {
			case Console:
				act, ctx, err = a.authConsole(ctx, c, r)
			case Developer:
				act, err = a.cfg.Developers.Authenticate(ctx, bearer(c))
				if err == nil && act.Kind != actor.KindDeveloper {
					// An authenticator that answered another class of
					// caller is misconfigured; never let it through.
					err = errors.New("httpapi: the developer authenticator answered a non-developer")
				}
			case App:
				var v *VerifiedApp
				v, err = a.cfg.Apps.VerifyApp(ctx, SignedRequest{
					Method: req.Method, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery,
					Header: req.Header, Body: body,
				})
				if err == nil {
					act = &actor.Actor{Kind: actor.KindApp, AppID: v.AppID, PlatformID: v.PlatformID}
					body, seal = v.Body, v.Seal
					// Counted once the signature holds: a forger cannot spend
					// an app's allowance.
					if a.cfg.Gate != nil {
						err = a.cfg.Gate.AllowApp(ctx, v.AppID)
					}
					if err == nil && a.cfg.Grants != nil {
						err = a.cfg.Grants.Permit(ctx, r, v.AppID)
					}
					if err == nil && a.cfg.Limiter != nil {
						err = a.cfg.Limiter.Admit(ctx, r, v.AppID)
					}
				}
			}
			if err != nil {
				return nil, err
			}
			if act != nil {
				act.SourceIP, act.RequestID = c.RealIP(), RequestID(ctx)
				ctx = actor.With(ctx, act)
				c.SetRequest(req.WithContext(ctx))
			}
			in := r.newIn()
			if err := a.bind.bind(in, body, r.Lenient, c.Param, c.QueryParams); err != nil {
				return nil, err
			}
			return r.invoke(ctx, in)
		}()

		status := statusOK
		if err != nil {
			status = a.writeError(c, err, seal)
		} else if dl, ok := out.(Download); ok {
			status = a.writeDownload(c, dl)
		} else if tag := etagOf(r, out, seal); tag != "" && noneMatch(req.Header.Get("If-None-Match"), tag) {
			h := c.Response().Header()
			h.Set("ETag", tag)
			h.Set("Cache-Control", "private, no-cache")
			c.Response().WriteHeader(http.StatusNotModified)
			status = http.StatusNotModified
		} else {
			if r.CacheSeconds > 0 {
				c.Response().Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(r.CacheSeconds))
			}
			if tag != "" {
				// Clients may keep the answer but must ask before using it.
				c.Response().Header().Set("ETag", tag)
				c.Response().Header().Set("Cache-Control", "private, no-cache")
			}
			a.writeBody(c, statusOK, marshalEnvelope(out, nil, RequestID(ctx)), seal)
		}
		if a.cfg.Observer != nil && r.Auth != Public {
			params := map[string]string{}
			for i, n := range c.ParamNames() {
				params[n] = c.ParamValues()[i]
			}
			a.cfg.Observer.Observe(ctx, Call{Route: r, Actor: act, PathParams: params, Status: status, Err: err, Duration: time.Since(start)})
		}
		return nil
	}
}

// bearer answers the request's bearer token, "" when none.
func bearer(c echo.Context) string {
	if h := c.Request().Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	return ""
}

func (a *API) authConsole(ctx context.Context, c echo.Context, r *Route) (*actor.Actor, context.Context, error) {
	token := bearer(c)
	if token == "" {
		return nil, ctx, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "log in first: no session token")
	}
	act, err := a.cfg.Console.Authenticate(ctx, token)
	if err != nil {
		return nil, ctx, err
	}
	if act.MustChangePassword && !r.AllowPendingPassword {
		return nil, ctx, fault.E(fault.Denied, fault.CodePasswordChangeRequired, "change the one-time password before anything else")
	}
	act.SourceIP = c.RealIP()
	ctx = actor.With(ctx, act)
	if r.Action != "" {
		if a.cfg.Authz == nil {
			return nil, ctx, errors.New("httpapi: console route with an action but no authorizer")
		}
		ctx, err = a.cfg.Authz.AuthorizeAction(ctx, r.Action)
		if err != nil {
			return nil, ctx, err
		}
	}
	return act, ctx, nil
}

func readBody(req *http.Request, limit int64) ([]byte, error) {
	if req.Body == nil || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return nil, nil
	}
	if req.ContentLength > limit {
		return nil, fault.Invalidf("request body exceeds the limit of %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fault.Invalidf("request body exceeds the limit of %d bytes", limit)
		}
		return nil, fault.Invalidf("could not read the request body")
	}
	return body, nil
}

func (a *API) writeError(c echo.Context, err error, seal func([]byte) ([]byte, error)) int {
	ctx := c.Request().Context()
	status, eb := errorBody(err)
	if status >= 500 {
		a.cfg.Log.ErrorContext(ctx, "request failed", "request_id", RequestID(ctx), "err", err)
	}
	if status == http.StatusTooManyRequests {
		after := "1"
		if fe, ok := fault.As(err); ok && fe.RetryAfter > time.Second {
			after = strconv.Itoa(int((fe.RetryAfter + time.Second - 1) / time.Second))
		}
		c.Response().Header().Set("Retry-After", after)
	}
	a.writeBody(c, status, marshalEnvelope(nil, eb, RequestID(ctx)), seal)
	return status
}

// etagOf answers the strong ETag of a conditional route's data: its JSON's
// SHA-256, truncated (a cache validator, not a secret); "" for other routes
// and encrypted answers.
func etagOf(r *Route, out any, seal func([]byte) ([]byte, error)) string {
	if !r.Conditional || seal != nil {
		return ""
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// noneMatch reports whether an If-None-Match header names tag (or is "*");
// weak validators match too, as RFC 9110 says for If-None-Match.
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

func (a *API) writeBody(c echo.Context, status int, body []byte, seal func([]byte) ([]byte, error)) {
	h := c.Response().Header()
	if seal != nil {
		sealed, err := seal(body)
		if err == nil {
			h.Set("X-CityCode-Encrypt", "SM4-GCM")
			h.Set(echo.HeaderContentType, "text/plain; charset=utf-8")
			c.Response().WriteHeader(status)
			_, _ = c.Response().Write(sealed)
			return
		}
		a.cfg.Log.Error("sealing the answer failed", "err", err)
	}
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
	c.Response().WriteHeader(status)
	_, _ = c.Response().Write(body)
}

func (a *API) writeDownload(c echo.Context, d Download) int {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, d.ContentType())
	if fn := d.Filename(); fn != "" {
		h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, asciiName(fn), urlEscape(fn)))
	}
	c.Response().WriteHeader(statusOK)
	if err := d.WriteTo(c.Request().Context(), c.Response()); err != nil {
		// Headers are gone; the truncated body is all the client can get.
		a.cfg.Log.ErrorContext(c.Request().Context(), "download failed mid-stream", "err", err)
	}
	return statusOK
}

// echoError answers echo's own errors (unknown route, wrong method) in the
// envelope.
func (a *API) echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	ferr := error(fault.E(fault.Internal, fault.CodeInternalError, "internal error"))
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			ferr = fault.NotFoundf("no such endpoint: %s %s", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			ferr = fault.E(fault.Invalid, fault.CodeUnsupportedOperation, "method %s not allowed here", c.Request().Method)
		case http.StatusRequestEntityTooLarge:
			ferr = fault.Invalidf("request body too large")
		default:
			if he.Code < 500 {
				ferr = fault.Invalidf("%v", he.Message)
			}
		}
	}
	a.writeError(c, ferr, nil)
}

func ipExtractor(cidrs []string) (echo.IPExtractor, error) {
	if len(cidrs) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	var opts []echo.TrustOption
	opts = append(opts, echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false))
	for _, s := range cidrs {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("httpapi: trusted proxy %q: %w", s, err)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

func asciiName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			b.WriteByte('_')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
