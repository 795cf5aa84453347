package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Filter selects entries for List and the exports. Zero fields do not filter.
type Filter struct {
	From time.Time `json:"from"` // at >= From
	To   time.Time `json:"to"`   // at < To
	Type Type      `json:"type"`
	// Account matches operator accounts starting with it (prefix search).
	Account string `json:"account"`
	// Action matches exactly, e.g. "app.create".
	Action string `json:"action"`
	// PlatformIDs restricts entries to these platforms: the caller's data
	// scope. nil means every platform; empty and non-nil means none.
	PlatformIDs []string `json:"platformIds"`
	// Offset and Limit page List (the exports ignore them). Limit defaults
	// to 20 and may not exceed 500.
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// Page is one page of List, newest first, with the count of all matches.
type Page struct {
	Total int64   `json:"total"`
	Items []Entry `json:"items"`
}

// Paging bounds. Deep offsets make the database skip that many rows, so a
// caller paging further is told to narrow the time range instead.
const (
	defaultLimit   = 20
	maxLimit       = 500
	maxOffset      = 100_000
	maxPlatformIDs = 10_000
)

func (f *Filter) validate(paged bool) error {
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return fault.Invalidf("the start time is after the end time")
	}
	if f.Type != "" && !f.Type.valid() {
		return fault.Invalidf("unknown log type %q", f.Type)
	}
	if len(f.Account) > maxField || len(f.Action) > maxField {
		return fault.Invalidf("account or action filter longer than %d bytes", maxField)
	}
	if len(f.PlatformIDs) > maxPlatformIDs {
		return fault.Invalidf("more than %d platforms", maxPlatformIDs)
	}
	for _, s := range append([]string{f.Account, f.Action}, f.PlatformIDs...) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return fault.Invalidf("a filter value is not valid text")
		}
	}
	if !paged {
		return nil
	}
	if f.Offset < 0 || f.Offset > maxOffset {
		return fault.Invalidf("offset must be between 0 and %d; narrow the time range to go further", maxOffset)
	}
	if f.Limit < 0 || f.Limit > maxLimit {
		return fault.Invalidf("limit must be between 1 and %d", maxLimit)
	}
	if f.Limit == 0 {
		f.Limit = defaultLimit
	}
	return nil
}

// empty reports whether f's scope excludes everything.
func (f *Filter) empty() bool { return f.PlatformIDs != nil && len(f.PlatformIDs) == 0 }

// where returns f as SQL conditions and their arguments.
func (f *Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if !f.From.IsZero() {
		add("at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add("at < $%d", f.To)
	}
	if f.Type != "" {
		add("type = $%d", string(f.Type))
	}
	if f.Account != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Account)
		add(`account LIKE $%d ESCAPE '\'`, esc+"%")
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.PlatformIDs != nil {
		add("platform_id = ANY($%d)", f.PlatformIDs)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const selectEntries = `SELECT seq, at, type, operator_id, account, platform_id, source_ip,
	action, target, result, detail::text, request_id, prev_hash, hash FROM audit_entries`

func scanEntry(rows pgx.Rows, e *Entry) error {
	var detail string
	if err := rows.Scan(&e.Seq, &e.At, &e.Type, &e.OperatorID, &e.Account, &e.PlatformID, &e.SourceIP,
		&e.Action, &e.Target, &e.Result, &detail, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
		return err
	}
	e.Detail = json.RawMessage(detail)
	return nil
}

// List returns one page of the entries matching f, newest first.
// A malformed filter is a fault.Invalid error.
func (l *Logger) List(ctx context.Context, f Filter) (Page, error) {
	if err := f.validate(true); err != nil {
		return Page{}, err
	}
	page := Page{Items: []Entry{}}
	if f.empty() {
		return page, nil
	}
	where, args := f.where()
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries`+where, args...).Scan(&page.Total); err != nil {
		return Page{}, fmt.Errorf("audit: count entries: %w", err)
	}
	if page.Total <= int64(f.Offset) {
		return page, nil
	}
	n := len(args)
	rows, err := l.pool.Query(ctx, fmt.Sprintf(`%s%s ORDER BY at DESC, seq DESC OFFSET $%d LIMIT $%d`,
		selectEntries, where, n+1, n+2), append(args, f.Offset, f.Limit)...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		if err := scanEntry(rows, &e); err != nil {
			return Page{}, fmt.Errorf("audit: list entries: %w", err)
		}
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: list entries: %w", err)
	}
	return page, nil
}
