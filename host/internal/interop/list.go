package interop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Page is a page of a list.
type Page[T any] struct {
	Total int64 `json:"total"`
	Items []T   `json:"items"`
}

// PageIn pages a list.
type PageIn struct {
	PageNo   int `query:"pageNo" validate:"min=0,max=100000" doc:"page number, 1-based (default 1)"`
	PageSize int `query:"pageSize" validate:"min=0,max=500" doc:"items per page (default 20, max 500)"`
}

func (p PageIn) limits() (limit, offset int) {
	size := p.PageSize
	if size == 0 {
		size = 20
	}
	return size, (max(p.PageNo, 1) - 1) * size
}

// TimeRange filters by time, both ends inclusive and optional.
type TimeRange struct {
	From time.Time `query:"createdFrom" doc:"at or after (RFC 3339, YYYY-MM-DD or unix ms)"`
	To   time.Time `query:"createdTo" doc:"at or before (RFC 3339, YYYY-MM-DD or unix ms)"`
}

func (r TimeRange) check() error {
	if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
		return fault.Invalidf("parameter %q must not be before %q", "createdTo", "createdFrom")
	}
	return nil
}

// where builds a parameterized WHERE clause. Column names and SQL come
// from this package's constants, values only through parameters.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose %s stands for v's parameter.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, fmt.Sprintf(cond, "$"+strconv.Itoa(len(w.args))))
}

// like appends a case-insensitive substring match of col when s is set.
func (w *where) like(col, s string) {
	if s = strings.TrimSpace(s); s != "" {
		w.add("strpos(lower("+col+"), lower(%s)) > 0", s)
	}
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = %s", v)
	}
}

func (w *where) between(col string, r TimeRange) {
	if !r.From.IsZero() {
		w.add(col+" >= %s", r.From)
	}
	if !r.To.IsZero() {
		w.add(col+" <= %s", r.To)
	}
}

// scope restricts the rows to the caller's data scope.
func (w *where) scope(ctx context.Context, cols policy.ScopeColumns) {
	clause, args := policy.ScopeFrom(ctx).SQL(cols, len(w.args)+1)
	w.conds = append(w.conds, clause)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// inScope refuses a record of a platform outside the caller's scope with
// 403, as every console resource does (RATIONALE.md: 403, not 404).
func inScope(ctx context.Context, what, platformID, regionCode string) error {
	if !policy.ScopeFrom(ctx).Contains(platformID, regionCode, "") {
		return fault.Deniedf("%s belongs to a platform outside your scope", what)
	}
	return nil
}
