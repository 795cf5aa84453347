package auth

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what the repository functions need: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// where accumulates AND-ed conditions and their positional arguments.
type where struct {
	conds []string
	args  []any
}

// add appends cond, in which every "?" stands for arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), -1))
}

// addRaw appends a condition already numbered from len(args)+1 and its
// arguments (a policy scope clause).
func (w *where) addRaw(cond string, args []any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// next is the number of the next positional argument.
func (w *where) next() int { return len(w.args) + 1 }

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeContains is a LIKE pattern matching s anywhere, with LIKE's
// metacharacters in s escaped (PostgreSQL's default escape is backslash).
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// page turns pageNo/pageSize into LIMIT and OFFSET with the console's
// defaults (1 and 20, at most 500).
func page(no, size int) (limit, offset int) {
	if no < 1 {
		no = 1
	}
	if size < 1 {
		size = 20
	}
	if size > 500 {
		size = 500
	}
	return size, (no - 1) * size
}
