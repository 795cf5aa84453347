package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// maxAnswer caps what a parse service may answer.
const maxAnswer = 64 << 10

func (s *Service) parseRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/openapi/v1/interop/parse", s.parseRoute).
			Doc("业务码解析", "Recognizes scanned content as a registered business code of the app's platform or the main platform (the most specific enabled match: more literal characters, then template, regex, prefix, then the older code) and routes it: action redirect with the filled landing URL, or action data with what the code's parse service answered. With sceneId the mutual-recognition scene must be enabled, have routing on and be authorized for the code. Every call is logged, the content masked.").
			Tag("interop").App().Reads().
			Errors(fault.CodeResourceNotFound, fault.CodeForeignCode, fault.CodeUnauthorizedOperation, fault.CodeFailedOperation, fault.CodeServiceUnavailable),
		httpapi.Handle(http.MethodGet, "/console/interop/logs", s.listLogs).
			Doc("业务码解析日志", "Parse logs of the platforms in the caller's scope, newest first, by business code name, app name, platform, status and time. Contents are masked.").
			Tag("interop").Console("interoplog.read"),
	}
}

// ParseIn is scanned content to recognize.
type ParseIn struct {
	Content     string `json:"content" validate:"required,max=4096" doc:"the scanned content: a URL or any text"`
	SceneID     int64  `json:"sceneId" validate:"min=0" doc:"optional: the mutual-recognition scene (互通场景) the scan is made in"`
	AcceptOrgID string `json:"acceptOrgId" validate:"max=64" doc:"optional: the accepting organization, passed to the parse service"`
}

// ParseOut is how to handle a recognized business code.
type ParseOut struct {
	CodeID   int64           `json:"codeId"`
	CodeName string          `json:"codeName"`
	Action   string          `json:"action" doc:"redirect: open url; data: the parse service's answer is in data"`
	URL      string          `json:"url,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// logRecord is one parse log line in the making.
type logRecord struct {
	code        *codeEntry
	scene       *sceneEntry
	platformID  string
	regionCode  string
	callerAppID string
	acceptOrgID string
	content     string // masked
	reason      string
	failed      bool
	latency     time.Duration
	at          time.Time
}

func (s *Service) parseRoute(ctx context.Context, in *ParseIn) (*ParseOut, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	start := s.cfg.Clock()
	rec := &logRecord{platformID: a.PlatformID, callerAppID: a.AppID, acceptOrgID: in.AcceptOrgID, at: start}
	out, err := s.parse(ctx, snap, a, in, rec)
	rec.latency = s.cfg.Clock().Sub(start)
	if err != nil {
		rec.failed = true
		rec.reason = "internal error"
		if fe, ok := fault.As(err); ok {
			rec.reason = fe.Message
		}
	}
	// The log and the alerts are the platform's, not the caller's: a
	// caller that hangs up does not cancel them.
	bg := context.WithoutCancel(ctx)
	if lerr := s.writeLog(bg, rec); lerr != nil {
		if err == nil {
			// A parse that answers success has its log line.
			return nil, lerr
		}
		s.log.Error("writing a parse log", "err", lerr)
	}
	if rec.code != nil {
		s.observe(bg, snap, rec.code, rec.failed, rec.at)
	}
	return out, err
}

// parse recognizes and routes in.Content, filling rec as it learns.
func (s *Service) parse(ctx context.Context, snap *registered, a *actor.Actor, in *ParseIn, rec *logRecord) (*ParseOut, error) {
	c, code, err := s.recognize(snap, a.PlatformID, in.Content)
	if c != nil {
		rec.code, rec.platformID, rec.regionCode = c, c.PlatformID, c.RegionCode
		rec.content = maskContent(in.Content, c.m.public)
	} else {
		rec.content = maskContent(in.Content, 0)
	}
	if in.SceneID != 0 {
		sc := snap.scenes[in.SceneID]
		if sc == nil || (sc.PlatformID != a.PlatformID && sc.PlatformID != s.cfg.MainPlatformID) {
			return nil, fault.NotFoundf("mutual-recognition scene %d not found", in.SceneID)
		}
		rec.scene = sc
		switch {
		case !sc.Enabled:
			return nil, fault.Deniedf("mutual-recognition scene %q is disabled", sc.Name)
		case !sc.Routing:
			return nil, fault.Deniedf("mutual-recognition scene %q has its routing switched off (路由已关闭)", sc.Name)
		case c != nil && err == nil && !sc.grants[c.ID]:
			return nil, fault.Deniedf("mutual-recognition scene %q is not authorized to decode business code %q", sc.Name, c.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	out := &ParseOut{CodeID: c.ID, CodeName: c.Name}
	switch c.TargetKind {
	case TargetRedirect:
		target := fill(c.TargetURL, code, in.Content)
		u, perr := url.Parse(target)
		if perr != nil {
			return nil, fault.Conflictf(fault.CodeFailedOperation, "the landing URL of business code %q cannot be made for this content", c.Name)
		}
		if err := s.stillAllowed(ctx, c, u); err != nil {
			return nil, err
		}
		out.Action, out.URL = "redirect", target
	case TargetService:
		u, perr := url.Parse(c.TargetURL)
		if perr != nil {
			return nil, fault.Conflictf(fault.CodeFailedOperation, "the parse service URL of business code %q is malformed", c.Name)
		}
		if err := s.stillAllowed(ctx, c, u); err != nil {
			return nil, err
		}
		req := serviceRequest{CodeID: c.ID, CodeName: c.Name, Code: code, Content: in.Content, CallerAppID: a.AppID, AcceptOrgID: in.AcceptOrgID}
		if rec.scene != nil {
			req.SceneCode = rec.scene.Code
		}
		data, err := s.callService(ctx, c, req, a.RequestID)
		if err != nil {
			return nil, err
		}
		out.Action, out.Data = "data", data
	}
	return out, nil
}

// recognize answers the business code content is, among the enabled codes
// of the caller's platform and the main platform, in precedence order, and
// the code it carries. Content only disabled codes match answers
// FailedOperation naming the first of them, with it.
func (s *Service) recognize(snap *registered, platformID, content string) (*codeEntry, string, error) {
	var disabled *codeEntry
	for _, c := range snap.codes {
		if c.PlatformID != platformID && c.PlatformID != s.cfg.MainPlatformID {
			continue
		}
		code, ok := c.m.match(content)
		if !ok {
			continue
		}
		if c.Enabled {
			return c, code, nil
		}
		if disabled == nil {
			disabled = c
		}
	}
	if disabled != nil {
		return disabled, "", fault.Conflictf(fault.CodeFailedOperation, "business code %q is disabled (已停用)", disabled.Name)
	}
	return nil, "", fault.E(fault.NotFound, fault.CodeForeignCode, "the content is not a registered business code")
}

// stillAllowed checks a target against the whitelist again at parse time:
// an entry removed since the code was saved takes effect at once.
func (s *Service) stillAllowed(ctx context.Context, c *codeEntry, u *url.URL) error {
	ok, err := s.allowed(ctx, c.PlatformID, u)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflictf(fault.CodeFailedOperation, "the target of business code %q is no longer on the service whitelist (服务白名单)", c.Name)
	}
	return nil
}

// serviceRequest is what a parse service is posted.
type serviceRequest struct {
	CodeID      int64  `json:"codeId"`
	CodeName    string `json:"codeName"`
	Code        string `json:"code" doc:"the code the match rule extracted"`
	Content     string `json:"content"`
	CallerAppID string `json:"callerAppId"`
	SceneCode   string `json:"sceneCode,omitempty"`
	AcceptOrgID string `json:"acceptOrgId,omitempty"`
}

// callService posts the code to the business code's parse service within
// its timeout and answers its JSON answer. Any other outcome is a 503
// saying what went wrong, never the service's own text.
func (s *Service) callService(ctx context.Context, c *codeEntry, in serviceRequest, requestID string) (json.RawMessage, error) {
	failed := func(format string, args ...any) error {
		return fault.E(fault.Unavailable, fault.CodeServiceUnavailable, "the parse service of business code %q failed: %s", c.Name, fmt.Sprintf(format, args...))
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TargetURL, bytes.NewReader(body))
	if err != nil {
		return nil, failed("its URL is malformed")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "citycode-interop")
	if requestID != "" {
		req.Header.Set("X-CityCode-RequestId", requestID)
	}
	timedOut := func(err error) bool {
		return errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if timedOut(err) {
			return nil, failed("no answer within %d ms", c.Timeout.Milliseconds())
		}
		s.log.Info("parse service unreachable", "code", c.ID, "err", err)
		return nil, failed("it could not be reached")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil && timedOut(err):
		return nil, failed("no answer within %d ms", c.Timeout.Milliseconds())
	case err != nil:
		return nil, failed("its answer broke off")
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, failed("it answered HTTP %d", resp.StatusCode)
	case len(data) > maxAnswer:
		return nil, failed("its answer is larger than %d KiB", maxAnswer>>10)
	case !json.Valid(data):
		return nil, failed("its answer is not JSON")
	}
	return data, nil
}

func (s *Service) writeLog(ctx context.Context, r *logRecord) error {
	var codeID, sceneID *int64
	var codeName, appID, appName, sceneName string
	if r.code != nil {
		codeID, codeName, appID, appName = &r.code.ID, r.code.Name, r.code.AppID, r.code.AppName
	}
	if r.scene != nil {
		sceneID, sceneName = &r.scene.ID, r.scene.Name
	}
	status := "success"
	if r.failed {
		status = "failure"
	}
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO interop_parse_logs (code_id, code_name, app_id, app_name, platform_id, region_code,
		caller_app_id, scene_id, scene_name, accept_org_id, content, status, reason, latency_ms, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		codeID, codeName, appID, appName, r.platformID, r.regionCode, r.callerAppID, sceneID, sceneName, r.acceptOrgID,
		r.content, status, truncate(r.reason, 500), r.latency.Milliseconds(), r.at)
	if err != nil {
		return fmt.Errorf("interop: write parse log: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
