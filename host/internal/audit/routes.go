package audit

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Routes declares the console endpoints of the audit trail (日志管理).
func (l *Logger) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/audit/logs", l.listRoute).
			Doc("审计日志查询", "Lists audit entries (operation, login, API-call and data-security logs) newest first, by time range, type, operator account prefix and action, within the caller's platform scope.").
			Tag("audit").Console("audit.read"),
		httpapi.Handle(http.MethodGet, "/console/audit/logs/export", l.exportRoute).
			Doc("审计日志导出", "Exports the entries matching the filter as CSV (UTF-8 with BOM) or xlsx.").
			Tag("audit").Console("audit.export"),
		httpapi.Handle(http.MethodGet, "/console/audit/verify", l.verifyRoute).
			Doc("审计链校验", "Recomputes the SM3 hash chain over every entry and names the first broken one.").
			Tag("audit").Console("audit.read"),
	}
}

// FilterIn is the query of the list and export endpoints.
type FilterIn struct {
	From     time.Time `query:"from" doc:"start time (inclusive)"`
	To       time.Time `query:"to" doc:"end time (exclusive)"`
	Type     string    `query:"type" validate:"omitempty,oneof=operation login api data_security"`
	Account  string    `query:"account" validate:"max=128" doc:"operator account prefix"`
	Action   string    `query:"action" validate:"max=128"`
	PageNo   int       `query:"pageNo" validate:"omitempty,min=1"`
	PageSize int       `query:"pageSize" validate:"omitempty,min=1,max=500"`
}

func (in *FilterIn) filter(ctx context.Context) (Filter, error) {
	platforms, err := scopePlatforms(policy.ScopeFrom(ctx))
	if err != nil {
		return Filter{}, err
	}
	f := Filter{From: in.From, To: in.To, Type: Type(in.Type), Account: in.Account, Action: in.Action, PlatformIDs: platforms}
	size := in.PageSize
	if size == 0 {
		size = defaultLimit
	}
	page := max(in.PageNo, 1)
	f.Limit, f.Offset = size, (page-1)*size
	return f, nil
}

// scopePlatforms turns a policy scope into the platform restriction of a
// Filter. Audit entries carry a platform but no region, so a region-limited
// account cannot be given a faithful view and is refused rather than shown
// its whole platform's trail.
func scopePlatforms(s policy.Scope) ([]string, error) {
	switch {
	case s.All:
		return nil, nil
	case len(s.RegionPrefixes) > 0:
		return nil, fault.Deniedf("audit logs are kept per platform; a region-limited account cannot read them")
	case len(s.PlatformIDs) > 0:
		return s.PlatformIDs, nil
	default:
		return []string{}, nil
	}
}

func (l *Logger) listRoute(ctx context.Context, in *FilterIn) (*Page, error) {
	f, err := in.filter(ctx)
	if err != nil {
		return nil, err
	}
	p, err := l.List(ctx, f)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ExportIn is the query of the export endpoint.
type ExportIn struct {
	FilterIn
	Format string `query:"format" validate:"omitempty,oneof=csv xlsx" doc:"csv (default) or xlsx"`
}

// export is a file answer: the HTTP layer streams it.
type export struct {
	l      *Logger
	f      Filter
	format string
}

func (e *export) ContentType() string {
	if e.format == "xlsx" {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

func (e *export) Filename() string { return "审计日志." + e.format }

func (e *export) WriteTo(ctx context.Context, w io.Writer) error {
	if e.format == "xlsx" {
		return e.l.ExportXLSX(ctx, e.f, w)
	}
	return e.l.ExportCSV(ctx, e.f, w)
}

func (l *Logger) exportRoute(ctx context.Context, in *ExportIn) (*export, error) {
	f, err := in.filter(ctx)
	if err != nil {
		return nil, err
	}
	f.Offset, f.Limit = 0, 0
	if in.Format == "" {
		in.Format = "csv"
	}
	// Validate before the headers go out: once streaming starts, an error can
	// only truncate the file.
	if err := f.validate(false); err != nil {
		return nil, err
	}
	return &export{l: l, f: f, format: in.Format}, nil
}

func (l *Logger) verifyRoute(ctx context.Context, _ *httpapi.Empty) (*VerifyResult, error) {
	res, err := l.Verify(ctx)
	if err != nil {
		return nil, err
	}
	return &res, nil
}
