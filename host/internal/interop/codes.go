package interop

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

func (s *Service) codeRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/interop/codes", s.listCodes).
			Doc("业务码列表", "Business codes (业务码) of the platforms in the caller's scope, newest first, by name, app name, platform, status and creation time.").
			Tag("interop").Console("interopcode.read"),
		httpapi.Handle(http.MethodPost, "/console/interop/codes", s.createCode).
			Doc("新增业务码", "Registers an external business code of an app: a match rule (prefix; RE2 expression matching the whole content, group \"code\" extracting the code; or URL template https://host/path/{code}) and a parse target (redirect: a landing URL template with {code}/{content}; service: an https parse service the host POSTs the code to), both on the platform's service whitelist. Created enabled. When several enabled codes match a content, the one spelling out more literal characters wins; at equal length template, then regex, then prefix; then the older one.").
			Tag("interop").Console("interopcode.create").Errors(fault.CodeResourceAlreadyExists, fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodGet, "/console/interop/codes/:id", s.getCode).
			Doc("业务码详情", "One business code.").
			Tag("interop").Console("interopcode.read").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPut, "/console/interop/codes/:id", s.updateCode).
			Doc("修改业务码", "Replaces a business code's fields, checked as at creation; its state stays.").
			Tag("interop").Console("interopcode.update").Errors(fault.CodeResourceAlreadyExists, fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodDelete, "/console/interop/codes/:id", s.deleteCode).
			Doc("删除业务码", "Deletes a business code with its alert rules and scene authorizations; its logs and alert records stay.").
			Tag("interop").Console("interopcode.delete").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/codes/:id/enable", s.enableCode).
			Doc("启用业务码", "Enables a business code: contents it matches are parsed again.").
			Tag("interop").Console("interopcode.enable").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/codes/:id/disable", s.disableCode).
			Doc("停用业务码", "Disables a business code: contents only it matches answer FailedOperation.").
			Tag("interop").Console("interopcode.disable").Errors(fault.CodeResourceNotFound),
	}
}

// Code is a registered business code.
type Code struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	AppID       string    `json:"appId"`
	AppName     string    `json:"appName" doc:"as when the code was last saved"`
	PlatformID  string    `json:"platformId" doc:"the app's platform"`
	Description string    `json:"description"`
	MatchKind   string    `json:"matchKind" doc:"prefix | regex | template"`
	MatchValue  string    `json:"matchValue"`
	TargetKind  string    `json:"targetKind" doc:"redirect | service"`
	TargetURL   string    `json:"targetUrl"`
	TimeoutMs   int       `json:"timeoutMs"`
	Status      string    `json:"status" doc:"enabled | disabled"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`

	regionCode string
}

const codeCols = `id, name, app_id, app_name, platform_id, region_code, description, match_kind, match_value, target_kind, target_url,
	timeout_ms, status, created_by, created_at, updated_at`

func scanCode(r pgx.Row) (Code, error) {
	var c Code
	err := r.Scan(&c.ID, &c.Name, &c.AppID, &c.AppName, &c.PlatformID, &c.regionCode, &c.Description, &c.MatchKind, &c.MatchValue,
		&c.TargetKind, &c.TargetURL, &c.TimeoutMs, &c.Status, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// CodesIn filters business codes.
type CodesIn struct {
	Name       string `query:"name" validate:"max=64" doc:"part of the name"`
	AppName    string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Status     string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	TimeRange
	PageIn
}

func (s *Service) listCodes(ctx context.Context, in *CodesIn) (*Page[Code], error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var w where
	w.like("name", in.Name)
	w.like("app_name", in.AppName)
	w.eq("platform_id", in.PlatformID)
	w.eq("status", in.Status)
	w.between("created_at", in.TimeRange)
	w.scope(ctx, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"})
	p := &Page[Code]{Items: []Code{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM interop_codes WHERE `+w.String(), w.args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+codeCols+` FROM interop_codes WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d OFFSET %d`, limit, offset), w.args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) { return scanCode(r) })
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}

// IDIn names a record.
type IDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// code answers a business code in the caller's scope.
func (s *Service) code(ctx context.Context, q querier, id int64, lock bool) (*Code, error) {
	sql := `SELECT ` + codeCols + ` FROM interop_codes WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	c, err := scanCode(q.QueryRow(ctx, sql, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("business code %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := inScope(ctx, fmt.Sprintf("business code %d", id), c.PlatformID, c.regionCode); err != nil {
		return nil, err
	}
	return &c, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Service) getCode(ctx context.Context, in *IDIn) (*Code, error) {
	return s.code(ctx, s.cfg.Pool, in.ID, false)
}

// CodeIn is a business code as an administrator enters it.
type CodeIn struct {
	Name        string `json:"name" validate:"required,max=64"`
	AppID       string `json:"appId" validate:"required,max=32" doc:"the owning app; its platform is the code's"`
	Description string `json:"description" validate:"max=500"`
	MatchKind   string `json:"matchKind" validate:"required,oneof=prefix regex template"`
	MatchValue  string `json:"matchValue" validate:"required,max=512" doc:"prefix; RE2 expression (at most 512 characters, the whole content must match, group \"code\" is the code); or URL template with one {code}"`
	TargetKind  string `json:"targetKind" validate:"required,oneof=redirect service"`
	TargetURL   string `json:"targetUrl" validate:"required,max=2000" doc:"redirect: landing URL template ({code}, {content} in its path or query); service: parse service URL (https) the host POSTs {codeId, codeName, code, content, callerAppId, sceneCode, acceptOrgId} to"`
	TimeoutMs   int    `json:"timeoutMs" validate:"omitempty,min=100,max=30000" doc:"parse service timeout (default 3000)"`
}

// checked is a CodeIn that passed every check, with its app.
type checked struct {
	*CodeIn
	app *App
}

func (s *Service) check(ctx context.Context, in *CodeIn) (*checked, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, fault.Missing("name")
	}
	app, err := s.cfg.App(ctx, in.AppID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.NotFoundf("app %s not found", in.AppID)
	}
	if err != nil {
		return nil, err
	}
	if err := inScope(ctx, "app "+in.AppID, app.PlatformID, app.RegionCode); err != nil {
		return nil, err
	}
	if _, err := compileMatch(in.MatchKind, in.MatchValue); err != nil {
		return nil, err
	}
	if in.TimeoutMs == 0 {
		in.TimeoutMs = 3000
	}
	if err := s.checkTarget(ctx, app.PlatformID, in.TargetKind, in.TargetURL); err != nil {
		return nil, err
	}
	return &checked{CodeIn: in, app: app}, nil
}

// checkTarget checks a parse target: a well-formed URL (https unless
// insecure use is allowed) whose host is on the platform's service
// whitelist, so neither a redirect nor a parse service can lead anywhere
// else.
func (s *Service) checkTarget(ctx context.Context, platformID, kind, raw string) error {
	bad := func(format string, args ...any) error {
		return fault.Invalidf("parameter %q: "+format, append([]any{"targetUrl"}, args...)...)
	}
	probe := raw
	switch kind {
	case TargetRedirect:
		if _, _, err := splitTemplate(raw, "targetUrl", false); err != nil {
			return err
		}
		probe = strings.NewReplacer(placeholder, "x", contentPlaceholder, "x").Replace(raw)
	case TargetService:
		if strings.ContainsAny(raw, "{} \t\r\n\x00\\") {
			return bad("a parse service URL takes no placeholders, spaces or backslashes (the code is posted to it)")
		}
	}
	u, err := url.Parse(probe)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URL")
	case u.User != nil:
		return bad("must not carry credentials")
	case kind == TargetService && u.Fragment != "":
		return bad("must not carry a fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && s.cfg.AllowInsecure:
	default:
		return bad("must be https")
	}
	ok, err := s.allowed(ctx, platformID, u)
	if err != nil {
		return err
	}
	if !ok {
		return bad("%s is not on the platform's service whitelist (服务白名单)", u.Hostname())
	}
	return nil
}

// allowed asks the whitelist about the https form of u: the list names
// hosts, and plain http is only ever accepted in development.
func (s *Service) allowed(ctx context.Context, platformID string, u *url.URL) (bool, error) {
	v := *u
	v.Scheme = "https"
	return s.cfg.AllowTarget(ctx, platformID, v.String())
}

// conflict turns the unique constraints into clear 409s.
func conflict(err error, in *CodeIn) error {
	switch {
	case store.IsUniqueViolation(err, "interop_codes_name"):
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "the platform already has a business code named %q", in.Name)
	case store.IsUniqueViolation(err, "interop_codes_rule"):
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "the platform already has a business code with this %s rule", in.MatchKind)
	}
	return err
}

func (s *Service) createCode(ctx context.Context, in *CodeIn) (*Code, error) {
	c, err := s.check(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	out, err := scanCode(s.cfg.Pool.QueryRow(ctx, `INSERT INTO interop_codes (name, app_id, app_name, platform_id, region_code, description,
		match_kind, match_value, target_kind, target_url, timeout_ms, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING `+codeCols,
		c.Name, c.app.ID, c.app.Name, c.app.PlatformID, c.app.RegionCode, c.Description, c.MatchKind, c.MatchValue,
		c.TargetKind, c.TargetURL, c.TimeoutMs, actor.AccountOf(ctx), now))
	if err != nil {
		return nil, conflict(err, in)
	}
	s.invalidate()
	return &out, nil
}

// UpdateCodeIn replaces a business code's fields.
type UpdateCodeIn struct {
	ID int64 `path:"id" json:"-" validate:"min=1"`
	CodeIn
}

func (s *Service) updateCode(ctx context.Context, in *UpdateCodeIn) (*Code, error) {
	if _, err := s.code(ctx, s.cfg.Pool, in.ID, false); err != nil {
		return nil, err
	}
	c, err := s.check(ctx, &in.CodeIn)
	if err != nil {
		return nil, err
	}
	out, err := scanCode(s.cfg.Pool.QueryRow(ctx, `UPDATE interop_codes SET name = $2, app_id = $3, app_name = $4, platform_id = $5,
		region_code = $6, description = $7, match_kind = $8, match_value = $9, target_kind = $10, target_url = $11, timeout_ms = $12,
		updated_at = $13 WHERE id = $1 RETURNING `+codeCols,
		in.ID, c.Name, c.app.ID, c.app.Name, c.app.PlatformID, c.app.RegionCode, c.Description, c.MatchKind, c.MatchValue,
		c.TargetKind, c.TargetURL, c.TimeoutMs, s.cfg.Clock()))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("business code %d not found", in.ID)
	}
	if err != nil {
		return nil, conflict(err, &in.CodeIn)
	}
	s.invalidate()
	return &out, nil
}

func (s *Service) deleteCode(ctx context.Context, in *IDIn) (*httpapi.Empty, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := s.code(ctx, tx, in.ID, true); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM interop_codes WHERE id = $1`, in.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return &httpapi.Empty{}, nil
}

func (s *Service) setCodeStatus(ctx context.Context, id int64, status string) (*Code, error) {
	if _, err := s.code(ctx, s.cfg.Pool, id, false); err != nil {
		return nil, err
	}
	out, err := scanCode(s.cfg.Pool.QueryRow(ctx, `UPDATE interop_codes SET status = $2, updated_at = $3 WHERE id = $1 RETURNING `+codeCols,
		id, status, s.cfg.Clock()))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("business code %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return &out, nil
}

func (s *Service) enableCode(ctx context.Context, in *IDIn) (*Code, error) {
	return s.setCodeStatus(ctx, in.ID, "enabled")
}

func (s *Service) disableCode(ctx context.Context, in *IDIn) (*Code, error) {
	return s.setCodeStatus(ctx, in.ID, "disabled")
}
