package codeengine

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Relations keeps parent–child relations between object and enterprise
// codes (a building and its floors, a market and its stalls).
type Relations struct{ objects *Objects }

// NewRelations returns the relation service.
func NewRelations(objects *Objects) *Relations { return &Relations{objects: objects} }

// MaxChildren bounds one batch bind.
const MaxChildren = 1000

// owner answers the platform of a code by unified number (object or
// enterprise code).
func owner(ctx context.Context, tx pgx.Tx, number int64) (string, error) {
	var platform string
	err := tx.QueryRow(ctx, `SELECT platform_id FROM object_codes WHERE number = $1
		UNION ALL SELECT platform_id FROM enterprises WHERE number = $1 LIMIT 1`, number).Scan(&platform)
	if store.NoRows(err) {
		return "", fault.NotFoundf("no code with unified number %d", number)
	}
	return platform, err
}

// Bind makes parent the parent of every child: all or none. A child with a
// parent already, a child that is the parent or one of its ancestors (a
// cycle), or a code of another platform is refused.
func (r *Relations) Bind(ctx context.Context, appID, platformID string, parent int64, children []int64) error {
	if len(children) == 0 || len(children) > MaxChildren {
		return fault.Invalidf("children must hold 1 to %d unified numbers", MaxChildren)
	}
	now := r.objects.rules.cfg.Clock()
	var evs []events.Event
	err := store.Tx(ctx, r.objects.rules.cfg.Pool, func(tx pgx.Tx) error {
		// One writer of relations at a time per platform: cycle checks read
		// the graph and must not race another bind.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('relations:' || $1))`, platformID); err != nil {
			return err
		}
		for _, n := range append([]int64{parent}, children...) {
			p, err := owner(ctx, tx, n)
			if err != nil {
				return err
			}
			if p != platformID {
				return fault.Deniedf("code %d belongs to another platform", n)
			}
		}
		ancestors := map[int64]bool{parent: true}
		rows, err := tx.Query(ctx, `WITH RECURSIVE up(n) AS (
				SELECT parent_number FROM code_relations WHERE child_number = $1
				UNION SELECT r.parent_number FROM code_relations r JOIN up ON r.child_number = up.n)
			SELECT n FROM up`, parent)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			ancestors[n] = true
		}
		rows.Close()
		seen := map[int64]bool{}
		for _, c := range children {
			if ancestors[c] {
				return fault.Conflictf(fault.CodeFailedOperation, "binding %d under %d would make a cycle", c, parent)
			}
			if seen[c] {
				return fault.Invalidf("code %d is listed twice", c)
			}
			seen[c] = true
			_, err := tx.Exec(ctx, `INSERT INTO code_relations (child_number, parent_number, platform_id, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5)`, c, parent, platformID, "app:"+appID, now)
			if store.IsUniqueViolation(err, "") {
				return fault.Conflictf(fault.CodeFailedOperation, "code %d already has a parent", c)
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO code_relation_history (action, parent_number, child_number, actor, at) VALUES ('bind', $1, $2, $3, $4)`,
				parent, c, "app:"+appID, now); err != nil {
				return err
			}
			evs = append(evs, relationEvent(now, "bind", platformID, appID, parent, c))
		}
		// A legacy code's relations are part of what it is: read-only.
		return refuseLegacyNumbers(ctx, tx, children)
	})
	if err != nil {
		return err
	}
	return r.record(ctx, evs)
}

func relationEvent(at time.Time, action, platformID, appID string, parent, child int64) events.Event {
	return events.Event{At: at, Type: "relation", Result: "success", PlatformID: platformID, AppID: appID, Kind: "object",
		SubjectID: "o" + strconv.FormatInt(child, 10), Detail: []byte(fmt.Sprintf(`{"action":%q,"parent":%d,"child":%d}`, action, parent, child))}
}

func (r *Relations) record(ctx context.Context, evs []events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := r.objects.events.Write(ctx, evs...); err != nil {
		return fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written")
	}
	return nil
}

// Unbind removes child's link to its parent; with cascade, every relation
// in child's subtree too (multi-level unbind).
func (r *Relations) Unbind(ctx context.Context, appID, platformID string, child int64, cascade bool) (int, error) {
	now := r.objects.rules.cfg.Clock()
	var evs []events.Event
	err := store.Tx(ctx, r.objects.rules.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('relations:' || $1))`, platformID); err != nil {
			return err
		}
		q := `DELETE FROM code_relations WHERE child_number = $1 AND platform_id = $2 RETURNING parent_number, child_number`
		if cascade {
			q = `WITH RECURSIVE down(n) AS (
					SELECT $1::bigint UNION SELECT r.child_number FROM code_relations r JOIN down ON r.parent_number = down.n)
				DELETE FROM code_relations WHERE platform_id = $2 AND child_number IN (SELECT n FROM down) RETURNING parent_number, child_number`
		}
		rows, err := tx.Query(ctx, q, child, platformID)
		if err != nil {
			return err
		}
		var pairs [][2]int64
		for rows.Next() {
			var p [2]int64
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				rows.Close()
				return err
			}
			pairs = append(pairs, p)
		}
		rows.Close()
		if len(pairs) == 0 {
			return fault.NotFoundf("code %d has no parent on this platform", child)
		}
		unbound := make([]int64, len(pairs))
		for i, p := range pairs {
			unbound[i] = p[1]
		}
		if err := refuseLegacyNumbers(ctx, tx, unbound); err != nil {
			return err
		}
		for _, p := range pairs {
			if _, err := tx.Exec(ctx, `INSERT INTO code_relation_history (action, parent_number, child_number, actor, at) VALUES ('unbind', $1, $2, $3, $4)`,
				p[0], p[1], "app:"+appID, now); err != nil {
				return err
			}
			evs = append(evs, relationEvent(now, "unbind", platformID, appID, p[0], p[1]))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(evs), r.record(ctx, evs)
}

// Node is one code in a relation tree.
type Node struct {
	Number int64 `json:"number"`
	Parent int64 `json:"parent,omitempty"`
	Depth  int   `json:"depth"`
}

// Tree answers number and every code below it, parents before children.
func (r *Relations) Tree(ctx context.Context, number int64) ([]Node, error) {
	rows, err := r.objects.rules.cfg.Pool.Query(ctx, `WITH RECURSIVE down(n, parent, depth) AS (
			SELECT $1::bigint, 0::bigint, 0
			UNION ALL SELECT r.child_number, r.parent_number, down.depth + 1 FROM code_relations r JOIN down ON r.parent_number = down.n
			WHERE down.depth < 64)
		SELECT n, parent, depth FROM down ORDER BY depth, n`, number)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		if err := rows.Scan(&n.Number, &n.Parent, &n.Depth); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Change is one entry of a code's relation history.
type Change struct {
	Action string    `json:"action"`
	Parent int64     `json:"parent"`
	Child  int64     `json:"child"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
}

// History answers who bound or unbound number, and when, newest first.
func (r *Relations) History(ctx context.Context, number int64) ([]Change, error) {
	rows, err := r.objects.rules.cfg.Pool.Query(ctx, `SELECT action, parent_number, child_number, actor, at FROM code_relation_history
		WHERE child_number = $1 OR parent_number = $1 ORDER BY at DESC, id DESC LIMIT 1000`, number)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Action, &c.Parent, &c.Child, &c.Actor, &c.At); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Routes declares the relation API (signed, under /openapi/v1/).
func (r *Relations) Routes() []*httpapi.Route {
	const get, post = http.MethodGet, http.MethodPost
	return []*httpapi.Route{
		httpapi.Handle(post, "/openapi/v1/code-relations", r.bindRoute).
			Doc("绑定码间关系", "Makes parent the parent of children (unified numbers, up to 1,000, all or none). A code has at most one parent; cycles are refused.").
			Tag("code-relations").App().Errors(fault.CodeFailedOperation),
		httpapi.Handle(post, "/openapi/v1/code-relations/unbind", r.unbindRoute).
			Doc("解绑码间关系", "Removes child's link to its parent; cascade removes every relation of its subtree (multi-level unbind).").
			Tag("code-relations").App(),
		httpapi.Handle(get, "/openapi/v1/code-relations/:number/tree", r.treeRoute).
			Doc("码关系树", "The code and every code below it with depth and parent; parent look-up is the first node's parent via /parent.").
			Tag("code-relations").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/code-relations/:number/parent", r.parentRoute).
			Doc("上级码查询", "The parent of a code, if any.").Tag("code-relations").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/code-relations/:number/history", r.historyRoute).
			Doc("关系变更记录", "Who bound or unbound the code, and when.").Tag("code-relations").App().Reads(),
		httpapi.Handle(get, "/openapi/v1/code-relations/:number/export", r.exportRoute).
			Doc("导出子树", "The subtree as CSV (number, parent, depth).").Tag("code-relations").App().Reads(),
	}
}

// BindRelIn binds children to a parent.
type BindRelIn struct {
	Parent   int64   `json:"parent" validate:"required"`
	Children []int64 `json:"children" validate:"required,min=1,max=1000"`
}

func (r *Relations) bindRoute(ctx context.Context, in *BindRelIn) (*httpapi.Empty, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, r.Bind(ctx, a.AppID, a.PlatformID, in.Parent, in.Children)
}

// UnbindRelIn unbinds a child.
type UnbindRelIn struct {
	Child   int64 `json:"child" validate:"required"`
	Cascade bool  `json:"cascade"`
}

// Count answers how many relations a change touched.
type Count struct {
	Count int `json:"count"`
}

func (r *Relations) unbindRoute(ctx context.Context, in *UnbindRelIn) (*Count, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	n, err := r.Unbind(ctx, a.AppID, a.PlatformID, in.Child, in.Cascade)
	return &Count{Count: n}, err
}

// NumberIn names a code by unified number.
type NumberIn struct {
	Number int64 `path:"number" json:"-"`
}

// NodeList is a relation tree.
type NodeList struct {
	Items []Node `json:"items"`
}

func (r *Relations) treeRoute(ctx context.Context, in *NumberIn) (*NodeList, error) {
	nodes, err := r.Tree(ctx, in.Number)
	return &NodeList{Items: nodes}, err
}

// ParentOut is a code's parent (0 when none).
type ParentOut struct {
	Parent int64 `json:"parent"`
}

func (r *Relations) parentRoute(ctx context.Context, in *NumberIn) (*ParentOut, error) {
	out := &ParentOut{}
	err := r.objects.rules.cfg.Pool.QueryRow(ctx, `SELECT parent_number FROM code_relations WHERE child_number = $1`, in.Number).Scan(&out.Parent)
	if store.NoRows(err) {
		err = nil
	}
	return out, err
}

// ChangeList is a relation history.
type ChangeList struct {
	Items []Change `json:"items"`
}

func (r *Relations) historyRoute(ctx context.Context, in *NumberIn) (*ChangeList, error) {
	h, err := r.History(ctx, in.Number)
	return &ChangeList{Items: h}, err
}

// subtreeCSV is a subtree export.
type subtreeCSV struct {
	nodes []Node
	name  string
}

func (s *subtreeCSV) ContentType() string { return "text/csv; charset=utf-8" }
func (s *subtreeCSV) Filename() string    { return s.name }
func (s *subtreeCSV) WriteTo(_ context.Context, w io.Writer) error {
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.Write([]string{"统一编号", "上级编号", "层级"})
	for _, n := range s.nodes {
		cw.Write([]string{strconv.FormatInt(n.Number, 10), strconv.FormatInt(n.Parent, 10), strconv.Itoa(n.Depth)})
	}
	cw.Flush()
	return cw.Error()
}

func (r *Relations) exportRoute(ctx context.Context, in *NumberIn) (*subtreeCSV, error) {
	nodes, err := r.Tree(ctx, in.Number)
	if err != nil {
		return nil, err
	}
	return &subtreeCSV{nodes: nodes, name: strconv.FormatInt(in.Number, 10) + "-subtree.csv"}, nil
}
