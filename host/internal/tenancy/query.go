package tenancy

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Paging limits shared by every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 500
	maxPageNo       = 1_000_000
	maxBatch        = 500
)

// PageIn is the paging of a list request: pageNo is 1-based (default 1),
// pageSize defaults to 20 and may not exceed 500.
type PageIn struct {
	PageNo   int `query:"pageNo" doc:"page number, 1-based (default 1)"`
	PageSize int `query:"pageSize" doc:"items per page (default 20, max 500)"`
}

// limits validates the paging and returns LIMIT and OFFSET.
func (p PageIn) limits() (limit, offset int, err error) {
	no, size := p.PageNo, p.PageSize
	if no == 0 {
		no = 1
	}
	if size == 0 {
		size = DefaultPageSize
	}
	if no < 1 || no > maxPageNo {
		return 0, 0, fault.Invalidf("parameter %q must be between 1 and %d", "pageNo", maxPageNo)
	}
	if size < 1 || size > MaxPageSize {
		return 0, 0, fault.Invalidf("parameter %q must be between 1 and %d", "pageSize", MaxPageSize)
	}
	return size, (no - 1) * size, nil
}

// Page is one page of a list and the total number of matching items.
type Page[T any] struct {
	Total int64 `json:"total"`
	Items []T   `json:"items"`
}

// TimeRange filters by creation time, both ends inclusive and optional.
type TimeRange struct {
	CreatedFrom time.Time `query:"createdFrom" doc:"created at or after (RFC 3339, YYYY-MM-DD or unix ms)"`
	CreatedTo   time.Time `query:"createdTo" doc:"created at or before (RFC 3339, YYYY-MM-DD or unix ms)"`
}

func (r TimeRange) check() error {
	if !r.CreatedFrom.IsZero() && !r.CreatedTo.IsZero() && r.CreatedTo.Before(r.CreatedFrom) {
		return fault.Invalidf("parameter %q must not be before %q", "createdTo", "createdFrom")
	}
	return nil
}

// IDs is the body of batch operations.
type IDs struct {
	IDs []int64 `json:"ids" validate:"required" doc:"ids of the records (at most 500)"`
}

func (in *IDs) check() error {
	if len(in.IDs) == 0 {
		return fault.Missing("ids")
	}
	if len(in.IDs) > maxBatch {
		return fault.Invalidf("parameter %q holds more than %d ids", "ids", maxBatch)
	}
	for _, id := range in.IDs {
		if id < 1 {
			return fault.Invalidf("parameter %q holds an invalid id %d", "ids", id)
		}
	}
	return nil
}

// Deleted answers batch deletions.
type Deleted struct {
	Deleted int64 `json:"deleted" doc:"how many records were deleted; unknown ids are ignored"`
}

// filter collects the conditions and arguments of a list query.
type filter struct {
	conds []string
	args  []any
}

// arg adds a bound argument and returns its placeholder.
func (f *filter) arg(v any) string {
	f.args = append(f.args, v)
	return fmt.Sprintf("$%d", len(f.args))
}

func (f *filter) add(cond string) { f.conds = append(f.conds, cond) }

// contains adds "col ILIKE %s%" for a non-empty s, for each of cols (ORed).
func (f *filter) contains(s string, cols ...string) {
	if s = strings.TrimSpace(s); s == "" {
		return
	}
	p := f.arg("%" + likeEscaper.Replace(s) + "%")
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + " ILIKE " + p
	}
	f.add("(" + strings.Join(parts, " OR ") + ")")
}

// eq adds "col = v" for a non-empty v.
func (f *filter) eq(col, v string) {
	if v != "" {
		f.add(col + " = " + f.arg(v))
	}
}

func (f *filter) timeRange(col string, r TimeRange) {
	if !r.CreatedFrom.IsZero() {
		f.add(col + " >= " + f.arg(r.CreatedFrom))
	}
	if !r.CreatedTo.IsZero() {
		f.add(col + " <= " + f.arg(r.CreatedTo))
	}
}

// scope restricts the query to the caller's data scope. Tenancy's records
// are not objects, and a record without an object type is inside an
// object-type restriction (as in policies/authz), so that restriction is
// dropped here rather than turned into "FALSE" for lack of a column.
func (f *filter) scope(sc policy.Scope, cols policy.ScopeColumns) {
	if len(sc.ObjectTypes) > 0 {
		sc.ObjectTypes = nil
		sc.All = len(sc.PlatformIDs) == 0 && len(sc.RegionPrefixes) == 0
	}
	clause, args := sc.SQL(cols, len(f.args)+1)
	f.args = append(f.args, args...)
	f.add(clause)
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// list runs the count and the page query of one list with the same filter,
// so the total always matches the items a caller may see.
func list[T any](ctx context.Context, q querier, from, cols, order string, f *filter, p PageIn, scan func(pgx.Row) (T, error)) (*Page[T], error) {
	limit, offset, err := p.limits()
	if err != nil {
		return nil, err
	}
	out := &Page[T]{Items: []T{}}
	if err := q.QueryRow(ctx, "SELECT count(*) FROM "+from+f.where(), f.args...).Scan(&out.Total); err != nil {
		return nil, fmt.Errorf("tenancy: count: %w", err)
	}
	if out.Total == 0 || int64(offset) >= out.Total {
		return out, nil
	}
	sql := "SELECT " + cols + " FROM " + from + f.where() + " ORDER BY " + order +
		fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)
	rows, err := q.Query(ctx, sql, f.args...)
	if err != nil {
		return nil, fmt.Errorf("tenancy: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("tenancy: scan: %w", err)
		}
		out.Items = append(out.Items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tenancy: list: %w", err)
	}
	return out, nil
}

// check validates inputs, remembering the first failure.
type check struct{ err error }

func (c *check) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// required fails with MissingParameter when v is blank.
func (c *check) required(name, v string) {
	if strings.TrimSpace(v) == "" {
		c.fail(fault.Missing(name))
	}
}

// max fails when v has more than n characters.
func (c *check) max(name, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		c.fail(fault.Invalidf("parameter %q is too long (max %d characters)", name, n))
	}
}

// text is required (when req) and max together.
func (c *check) text(name, v string, req bool, n int) {
	if req {
		c.required(name, v)
	}
	c.max(name, v, n)
}

// match fails when a non-empty v does not match re.
func (c *check) match(name, v string, re *regexp.Regexp, what string) {
	if v != "" && !re.MatchString(v) {
		c.fail(fault.Invalidf("parameter %q must be %s", name, what))
	}
}

// status fails unless v is empty or a known status.
func (c *check) status(name, v string) {
	if v != "" && v != StatusEnabled && v != StatusDisabled {
		c.fail(fault.Invalidf("parameter %q must be one of: enabled disabled", name))
	}
}

var (
	regionCodeRE   = regexp.MustCompile(`^[0-9]{6}([0-9]{3}){0,2}$`)
	industryCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	platformIDRE   = regexp.MustCompile(`^P[0-9]{4,9}$`)
	appIDRE        = regexp.MustCompile(`^cc[0-9a-f]{16}$`)
	mobileRE       = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	phoneRE        = regexp.MustCompile(`^\+?[0-9][0-9 -]{2,30}$`)
	emailRE        = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	accountRE      = regexp.MustCompile(`^[A-Za-z0-9_.@-]{3,64}$`)
	dictCodeRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
)

// orEmpty turns a nullable text column into a string.
func orEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// nullIf is nil for "", so optional references are stored as NULL.
func nullIf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
