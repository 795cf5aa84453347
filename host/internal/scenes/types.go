package scenes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// TypeRoutes declares the console's scene type tree (场景类型管理).
func (s *Service) TypeRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/scene-types", s.typeTreeRoute).
			Doc("场景类型树", "The scene type tree: the main platform's types and those of the platforms in the caller's scope, each with its typed definition parameters, siblings in their order.").
			Tag("scenes").Console("scenetype.read"),
		httpapi.Handle(http.MethodPost, "/console/scene-types", s.createTypeRoute).
			Doc("新增场景类型", "Adds a type under a parent (or at the top) with its definition parameters: each a key, a name, a type (string, number, bool, enum with options, date, or group with nested parameters) and whether it is required.").
			Tag("scenes").Console("scenetype.create"),
		httpapi.Handle(http.MethodPut, "/console/scene-types/:id", s.updateTypeRoute).
			Doc("修改场景类型", "Renames a type or replaces its definition parameters.").
			Tag("scenes").Console("scenetype.update"),
		httpapi.Handle(http.MethodPost, "/console/scene-types/:id/move", s.moveTypeRoute).
			Doc("移动场景类型", "Moves a type with its subtree under another parent (0: the top), last among its new siblings; never under itself or its descendants.").
			Tag("scenes").Console("scenetype.update"),
		httpapi.Handle(http.MethodPost, "/console/scene-types/reorder", s.reorderTypesRoute).
			Doc("场景类型排序", "Orders the children of a parent (0: the top): ids must name exactly those children, in their new order.").
			Tag("scenes").Console("scenetype.update"),
		httpapi.Handle(http.MethodDelete, "/console/scene-types/:id", s.deleteTypeRoute).
			Doc("删除场景类型", "Deletes a type that has no children and no scenes.").
			Tag("scenes").Console("scenetype.delete"),
	}
}

// Param is a typed definition parameter of a scene type; a scene of the
// type gives its values.
type Param struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Type     string   `json:"type" doc:"string, number, bool, enum, date or group"`
	Required bool     `json:"required,omitempty"`
	Options  []string `json:"options,omitempty" doc:"the values of an enum"`
	Params   []Param  `json:"params,omitempty" doc:"the nested parameters of a group"`
}

var paramKey = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,39}$`)

// checkParams validates definition parameters, nested at most three deep.
func checkParams(ps []Param, depth int) error {
	if depth > 3 {
		return fault.Invalidf("parameter %q: groups nest at most 3 levels", "params")
	}
	if len(ps) > 50 {
		return fault.Invalidf("parameter %q: at most 50 parameters per level", "params")
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if !paramKey.MatchString(p.Key) {
			return fault.Invalidf("parameter %q: key %q must be a letter then letters, digits or _ (at most 40)", "params", p.Key)
		}
		if seen[p.Key] {
			return fault.Invalidf("parameter %q: key %q appears twice", "params", p.Key)
		}
		seen[p.Key] = true
		if p.Name == "" || len([]rune(p.Name)) > 50 {
			return fault.Invalidf("parameter %q: %s needs a name of at most 50 characters", "params", p.Key)
		}
		switch p.Type {
		case "string", "number", "bool", "date":
			if len(p.Options) > 0 || len(p.Params) > 0 {
				return fault.Invalidf("parameter %q: %s of type %s takes no options or nested parameters", "params", p.Key, p.Type)
			}
		case "enum":
			if len(p.Options) == 0 || len(p.Params) > 0 {
				return fault.Invalidf("parameter %q: enum %s needs options and no nested parameters", "params", p.Key)
			}
		case "group":
			if len(p.Options) > 0 {
				return fault.Invalidf("parameter %q: group %s takes no options", "params", p.Key)
			}
			if err := checkParams(p.Params, depth+1); err != nil {
				return err
			}
		default:
			return fault.Invalidf("parameter %q: %s has type %q (string, number, bool, enum, date or group)", "params", p.Key, p.Type)
		}
	}
	return nil
}

// checkValues validates a scene's parameter values against definitions.
func checkValues(ps []Param, vals map[string]any, path string) error {
	for k := range vals {
		if !slices.ContainsFunc(ps, func(p Param) bool { return p.Key == k }) {
			return fault.Invalidf("parameter %q: the scene type defines no %s%s", "params", path, k)
		}
	}
	for _, p := range ps {
		v, ok := vals[p.Key]
		if !ok || v == nil {
			if p.Required {
				return fault.Invalidf("parameter %q: %s%s (%s) is required by the scene type", "params", path, p.Key, p.Name)
			}
			continue
		}
		bad := fault.Invalidf("parameter %q: %s%s must be a %s", "params", path, p.Key, p.Type)
		switch p.Type {
		case "string":
			if s, ok := v.(string); !ok || len([]rune(s)) > 500 {
				return bad
			}
		case "number":
			// The API decodes numbers of free-form JSON as json.Number.
			switch n := v.(type) {
			case float64:
			case json.Number:
				if _, err := n.Float64(); err != nil {
					return bad
				}
			default:
				return bad
			}
		case "bool":
			if _, ok := v.(bool); !ok {
				return bad
			}
		case "date":
			s, ok := v.(string)
			if !ok {
				return bad
			}
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return bad
			}
		case "enum":
			if s, ok := v.(string); !ok || !slices.Contains(p.Options, s) {
				return fault.Invalidf("parameter %q: %s%s must be one of %v", "params", path, p.Key, p.Options)
			}
		case "group":
			m, ok := v.(map[string]any)
			if !ok {
				return bad
			}
			if err := checkValues(p.Params, m, path+p.Key+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// Type is a node of the scene type tree.
type Type struct {
	ID         int64     `json:"id"`
	PlatformID string    `json:"platformId"`
	ParentID   int64     `json:"parentId" doc:"0 at the top"`
	Name       string    `json:"name"`
	Sort       int       `json:"sort"`
	Params     []Param   `json:"params"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Children   []*Type   `json:"children"`
}

// TypeTree is the forest of scene types.
type TypeTree struct {
	Items []*Type `json:"items"`
}

// visibleTypes reads the types the caller may see: the main platform's and
// its scope's.
func (s *Service) visibleTypes(ctx context.Context) ([]*Type, error) {
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 2)
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, platform_id, coalesce(parent_id, 0), name, sort, params, updated_at FROM scene_types
		WHERE (platform_id = $1 OR `+clause+`) ORDER BY sort, id`, append([]any{s.cfg.MainPlatformID}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Type, error) {
		t := &Type{Children: []*Type{}}
		var ps []byte
		err := r.Scan(&t.ID, &t.PlatformID, &t.ParentID, &t.Name, &t.Sort, &ps, &t.UpdatedAt)
		if err == nil {
			err = json.Unmarshal(ps, &t.Params)
		}
		return t, err
	})
}

func (s *Service) typeTreeRoute(ctx context.Context, _ *httpapi.Empty) (*TypeTree, error) {
	all, err := s.visibleTypes(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*Type{}
	for _, t := range all {
		byID[t.ID] = t
	}
	out := &TypeTree{Items: []*Type{}}
	for _, t := range all {
		if p, ok := byID[t.ParentID]; ok {
			p.Children = append(p.Children, t)
		} else {
			// A type whose parent the caller cannot see shows at the top.
			out.Items = append(out.Items, t)
		}
	}
	return out, nil
}

// typeIn reads one type the caller may change, locking it in tx.
func typeIn(ctx context.Context, tx pgx.Tx, id int64) (*Type, error) {
	t := &Type{}
	var ps []byte
	err := tx.QueryRow(ctx, `SELECT id, platform_id, coalesce(parent_id, 0), name, sort, params FROM scene_types WHERE id = $1 FOR UPDATE`, id).
		Scan(&t.ID, &t.PlatformID, &t.ParentID, &t.Name, &t.Sort, &ps)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(t.PlatformID, "", "")) {
		return nil, fault.NotFoundf("scene type %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return t, json.Unmarshal(ps, &t.Params)
}

// TypeIn creates a type.
type TypeIn struct {
	ParentID   int64   `json:"parentId" validate:"min=0"`
	Name       string  `json:"name" validate:"required,max=50"`
	Params     []Param `json:"params"`
	PlatformID string  `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

func (s *Service) createTypeRoute(ctx context.Context, in *TypeIn) (*Type, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if in.Params == nil {
		in.Params = []Param{}
	}
	if err := checkParams(in.Params, 1); err != nil {
		return nil, err
	}
	ps, _ := json.Marshal(in.Params)
	now := s.cfg.Clock()
	t := &Type{PlatformID: p, ParentID: in.ParentID, Name: in.Name, Params: in.Params, UpdatedAt: now, Children: []*Type{}}
	err = store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if in.ParentID != 0 {
			if _, err := s.visibleParent(ctx, tx, in.ParentID); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO scene_types (platform_id, parent_id, name, sort, params, created_at, updated_at)
			VALUES ($1, nullif($2, 0), $3, (SELECT coalesce(max(sort) + 1, 0) FROM scene_types WHERE parent_id IS NOT DISTINCT FROM nullif($2, 0)), $4, $5, $5)
			RETURNING id, sort`, p, in.ParentID, in.Name, ps, now).Scan(&t.ID, &t.Sort)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// visibleParent checks that a parent type exists and the caller sees it.
func (s *Service) visibleParent(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var p string
	err := tx.QueryRow(ctx, `SELECT platform_id FROM scene_types WHERE id = $1`, id).Scan(&p)
	if store.NoRows(err) || (err == nil && p != s.cfg.MainPlatformID && !policy.ScopeFrom(ctx).Contains(p, "", "")) {
		return "", fault.NotFoundf("parent scene type %d not found", id)
	}
	return p, err
}

// TypeIDIn names a type.
type TypeIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// TypeUpdateIn changes a type.
type TypeUpdateIn struct {
	TypeIDIn
	Name   string  `json:"name" validate:"required,max=50"`
	Params []Param `json:"params"`
}

func (s *Service) updateTypeRoute(ctx context.Context, in *TypeUpdateIn) (*Type, error) {
	if in.Params == nil {
		in.Params = []Param{}
	}
	if err := checkParams(in.Params, 1); err != nil {
		return nil, err
	}
	var t *Type
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		var err error
		if t, err = typeIn(ctx, tx, in.ID); err != nil {
			return err
		}
		ps, _ := json.Marshal(in.Params)
		t.Name, t.Params, t.UpdatedAt, t.Children = in.Name, in.Params, s.cfg.Clock(), []*Type{}
		_, err = tx.Exec(ctx, `UPDATE scene_types SET name = $2, params = $3, updated_at = $4 WHERE id = $1`, t.ID, t.Name, ps, t.UpdatedAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// MoveIn moves a type.
type MoveIn struct {
	TypeIDIn
	ParentID int64 `json:"parentId" validate:"min=0" doc:"0: the top"`
}

func (s *Service) moveTypeRoute(ctx context.Context, in *MoveIn) (*Type, error) {
	var t *Type
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		var err error
		if t, err = typeIn(ctx, tx, in.ID); err != nil {
			return err
		}
		if in.ParentID != 0 {
			if _, err := s.visibleParent(ctx, tx, in.ParentID); err != nil {
				return err
			}
			// The new parent must not be the type or one of its descendants.
			var cycle bool
			if err := tx.QueryRow(ctx, `WITH RECURSIVE sub AS (SELECT id FROM scene_types WHERE id = $1
				UNION ALL SELECT c.id FROM scene_types c JOIN sub ON c.parent_id = sub.id)
				SELECT EXISTS (SELECT 1 FROM sub WHERE id = $2)`, in.ID, in.ParentID).Scan(&cycle); err != nil {
				return err
			}
			if cycle {
				return fault.Invalidf("parameter %q: a type cannot move under itself or its descendants", "parentId")
			}
		}
		t.UpdatedAt, t.ParentID, t.Children = s.cfg.Clock(), in.ParentID, []*Type{}
		return tx.QueryRow(ctx, `UPDATE scene_types SET parent_id = nullif($2, 0), updated_at = $3,
			sort = (SELECT coalesce(max(sort) + 1, 0) FROM scene_types WHERE parent_id IS NOT DISTINCT FROM nullif($2, 0) AND id <> $1)
			WHERE id = $1 RETURNING sort`, in.ID, in.ParentID, t.UpdatedAt).Scan(&t.Sort)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ReorderIn orders siblings.
type ReorderIn struct {
	ParentID int64   `json:"parentId" validate:"min=0" doc:"0: the top"`
	IDs      []int64 `json:"ids" validate:"required,min=1,max=500"`
}

func (s *Service) reorderTypesRoute(ctx context.Context, in *ReorderIn) (*TypeTree, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, platform_id FROM scene_types WHERE parent_id IS NOT DISTINCT FROM nullif($1, 0) ORDER BY id FOR UPDATE`, in.ParentID)
		if err != nil {
			return err
		}
		type sib struct {
			id       int64
			platform string
		}
		sibs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sib, error) {
			var x sib
			return x, r.Scan(&x.id, &x.platform)
		})
		if err != nil {
			return err
		}
		want := slices.Clone(in.IDs)
		slices.Sort(want)
		have := make([]int64, len(sibs))
		for i, x := range sibs {
			have[i] = x.id
			if !policy.ScopeFrom(ctx).Contains(x.platform, "", "") {
				return fault.Deniedf("the children of %d include types outside your scope", in.ParentID)
			}
		}
		if !slices.Equal(want, have) {
			return fault.Invalidf("parameter %q: must name exactly the %d children of %d", "ids", len(have), in.ParentID)
		}
		now := s.cfg.Clock()
		for i, id := range in.IDs {
			if _, err := tx.Exec(ctx, `UPDATE scene_types SET sort = $2, updated_at = $3 WHERE id = $1`, id, i, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.typeTreeRoute(ctx, nil)
}

func (s *Service) deleteTypeRoute(ctx context.Context, in *TypeIDIn) (*httpapi.Empty, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := typeIn(ctx, tx, in.ID); err != nil {
			return err
		}
		var children, used int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM scene_types WHERE parent_id = $1), (SELECT count(*) FROM scenes WHERE type_id = $1)`, in.ID).
			Scan(&children, &used); err != nil {
			return err
		}
		if children > 0 || used > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "scene type %d has %d children and %d scenes: move or delete them first", in.ID, children, used)
		}
		_, err := tx.Exec(ctx, `DELETE FROM scene_types WHERE id = $1`, in.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, nil
}

// typeParams answers a type's effective definition parameters: its
// ancestors' and its own, a descendant's parameter replacing an ancestor's
// of the same key.
func (s *Service) typeParams(ctx context.Context, typeID int64) ([]Param, error) {
	rows, err := s.cfg.Pool.Query(ctx, `WITH RECURSIVE up AS (SELECT id, parent_id, params, 0 AS depth, platform_id FROM scene_types WHERE id = $1
		UNION ALL SELECT t.id, t.parent_id, t.params, up.depth + 1, t.platform_id FROM scene_types t JOIN up ON t.id = up.parent_id)
		SELECT params, platform_id FROM up ORDER BY depth DESC`, typeID)
	if err != nil {
		return nil, err
	}
	type level struct {
		params   []byte
		platform string
	}
	levels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (level, error) {
		var l level
		return l, r.Scan(&l.params, &l.platform)
	})
	if err != nil {
		return nil, err
	}
	if len(levels) == 0 {
		return nil, fault.Invalidf("parameter %q: scene type %d does not exist", "typeId", typeID)
	}
	if own := levels[len(levels)-1].platform; own != s.cfg.MainPlatformID && !policy.ScopeFrom(ctx).Contains(own, "", "") {
		return nil, fault.Invalidf("parameter %q: scene type %d does not exist", "typeId", typeID)
	}
	var out []Param
	for _, l := range levels {
		var ps []Param
		if err := json.Unmarshal(l.params, &ps); err != nil {
			return nil, fmt.Errorf("scenes: type params: %w", err)
		}
		for _, p := range ps {
			if i := slices.IndexFunc(out, func(q Param) bool { return q.Key == p.Key }); i >= 0 {
				out[i] = p
			} else {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// accountOf names the caller for created_by columns.
func accountOf(ctx context.Context) string {
	if a := actor.From(ctx); a != nil {
		if a.Account != "" {
			return a.Account
		}
		return "app:" + a.AppID
	}
	return ""
}
