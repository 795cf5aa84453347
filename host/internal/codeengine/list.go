package codeengine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// PageIn is the paging of a console list: pageNo is 1-based (default 1),
// pageSize defaults to 20 and may not exceed 500.
type PageIn struct {
	PageNo   int `query:"pageNo" doc:"page number, 1-based (default 1)"`
	PageSize int `query:"pageSize" doc:"items per page (default 20, max 500)"`
}

func (p PageIn) limits() (limit, offset int, err error) {
	no, size := p.PageNo, p.PageSize
	if no == 0 {
		no = 1
	}
	if size == 0 {
		size = 20
	}
	if no < 1 || no > 1_000_000 {
		return 0, 0, fault.Invalidf("parameter %q must be between 1 and %d", "pageNo", 1_000_000)
	}
	if size < 1 || size > 500 {
		return 0, 0, fault.Invalidf("parameter %q must be between 1 and %d", "pageSize", 500)
	}
	return size, (no - 1) * size, nil
}

// Page is one page of a list and the number of all matching items.
type Page[T any] struct {
	Total int64 `json:"total"`
	Items []T   `json:"items"`
}

// TimeRange filters by creation time; both ends are inclusive and optional.
type TimeRange struct {
	CreatedFrom time.Time `query:"createdFrom" doc:"created at or after (RFC 3339, YYYY-MM-DD or unix ms)"`
	CreatedTo   time.Time `query:"createdTo" doc:"created at or before (RFC 3339, YYYY-MM-DD or unix ms)"`
}

// filter collects the conditions and arguments of a list query.
type filter struct {
	conds []string
	args  []any
}

// arg binds v and answers its placeholder.
func (f *filter) arg(v any) string {
	f.args = append(f.args, v)
	return fmt.Sprintf("$%d", len(f.args))
}

func (f *filter) add(cond string) { f.conds = append(f.conds, cond) }

// contains adds "col ILIKE %s%" for a non-empty s.
func (f *filter) contains(col, s string) {
	if s = strings.TrimSpace(s); s != "" {
		f.add(col + " ILIKE " + f.arg("%"+likeEscaper.Replace(s)+"%"))
	}
}

// eq adds "col = v" for a non-empty v.
func (f *filter) eq(col, v string) {
	if v != "" {
		f.add(col + " = " + f.arg(v))
	}
}

func (f *filter) timeRange(col string, r TimeRange) error {
	if !r.CreatedFrom.IsZero() && !r.CreatedTo.IsZero() && r.CreatedTo.Before(r.CreatedFrom) {
		return fault.Invalidf("parameter %q must not be before %q", "createdTo", "createdFrom")
	}
	if !r.CreatedFrom.IsZero() {
		f.add(col + " >= " + f.arg(r.CreatedFrom))
	}
	if !r.CreatedTo.IsZero() {
		f.add(col + " <= " + f.arg(r.CreatedTo))
	}
	return nil
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// queryer is a pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// list runs the count and the page query with the same filter, so the total
// matches the items the caller may see.
func list[T any](ctx context.Context, q queryer, from, cols, order string, f *filter, p PageIn, scan func(pgx.Row) (T, error)) (*Page[T], error) {
	limit, offset, err := p.limits()
	if err != nil {
		return nil, err
	}
	out := &Page[T]{Items: []T{}}
	if err := q.QueryRow(ctx, "SELECT count(*) FROM "+from+f.where(), f.args...).Scan(&out.Total); err != nil {
		return nil, fmt.Errorf("codeengine: count: %w", err)
	}
	if out.Total == 0 || int64(offset) >= out.Total {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT "+cols+" FROM "+from+f.where()+" ORDER BY "+order+fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset), f.args...)
	if err != nil {
		return nil, fmt.Errorf("codeengine: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("codeengine: list: %w", err)
		}
		out.Items = append(out.Items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("codeengine: list: %w", err)
	}
	return out, nil
}
