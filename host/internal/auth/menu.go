package auth

import (
	"context"
	"regexp"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Menu kinds: pages and groups of the console's navigation, and buttons on
// a page. Either may carry a permission code; buttons must.
const (
	KindMenu   = "menu"
	KindButton = "button"
)

// Menu is one node of the console's menu tree. Permission is the policy
// action it stands for (app.create); roles grant the permissions of their
// menus.
type Menu struct {
	ID         int64   `json:"id"`
	ParentID   int64   `json:"parentId" doc:"0 for top-level menus"`
	Name       string  `json:"name"`
	Path       string  `json:"path"`
	Icon       string  `json:"icon"`
	Sort       int     `json:"sort"`
	Kind       string  `json:"kind" doc:"menu | button"`
	Permission string  `json:"permission"`
	Builtin    bool    `json:"builtin" doc:"created by the product: kind and permission are fixed, it cannot be deleted"`
	Children   []*Menu `json:"children,omitempty"`
}

// MenuInput creates or updates a menu.
type MenuInput struct {
	ParentID   int64  `json:"parentId" validate:"min=0"`
	Name       string `json:"name" validate:"required,max=64"`
	Path       string `json:"path" validate:"max=256"`
	Icon       string `json:"icon" validate:"max=64"`
	Sort       int    `json:"sort"`
	Kind       string `json:"kind" validate:"required,oneof=menu button"`
	Permission string `json:"permission" validate:"max=64" doc:"policy action, e.g. app.create; app.* and * grant families"`
}

var permissionRE = regexp.MustCompile(`^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$`)

// buildTree nests a flat list (ordered by sort, id) into trees.
func buildTree(flat []*Menu) []*Menu {
	byID := make(map[int64]*Menu, len(flat))
	for _, m := range flat {
		byID[m.ID] = m
	}
	roots := []*Menu{}
	for _, m := range flat {
		if p, ok := byID[m.ParentID]; ok {
			p.Children = append(p.Children, m)
		} else {
			roots = append(roots, m)
		}
	}
	return roots
}

// MenuTree returns the whole menu tree.
func (s *Service) MenuTree(ctx context.Context) ([]*Menu, error) {
	if _, err := s.authz.Require(ctx, "menu.read", nil); err != nil {
		return nil, err
	}
	flat, err := allMenus(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	return buildTree(flat), nil
}

// GetMenu returns one menu without its children.
func (s *Service) GetMenu(ctx context.Context, id int64) (*Menu, error) {
	if _, err := s.authz.Require(ctx, "menu.read", nil); err != nil {
		return nil, err
	}
	return getMenu(ctx, s.pool, id)
}

// MyMenus returns the menus the caller may use, as a tree: a node with a
// permission is shown when the policy allows that action to the caller (so
// administrators see everything their platform may do, staff what their
// roles give), a node without one when something below it is shown.
func (s *Service) MyMenus(ctx context.Context) ([]*Menu, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	flat, err := allMenus(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	allowed := map[string]bool{}
	for _, m := range flat {
		p := m.Permission
		if _, seen := allowed[p]; seen || p == "" {
			continue
		}
		_, err := s.authz.Require(ctx, p, nil)
		if err != nil && fault.KindOf(err) != fault.Denied {
			return nil, err
		}
		allowed[p] = err == nil
	}
	keep := map[int64]bool{}
	byID := make(map[int64]*Menu, len(flat))
	for _, m := range flat {
		byID[m.ID] = m
	}
	for _, m := range flat {
		if m.Permission == "" || !allowed[m.Permission] {
			continue
		}
		// A shown node shows its ancestors, unless one of them is itself
		// a permission the caller lacks (a button of a page it cannot open):
		// then none of the chain is shown.
		var chain []int64
		n := m
		for depth := 0; n != nil && !keep[n.ID] && depth <= len(flat); depth++ {
			if n != m && n.Permission != "" && !allowed[n.Permission] {
				break
			}
			chain = append(chain, n.ID)
			n = byID[n.ParentID]
		}
		if n == nil || keep[n.ID] {
			for _, id := range chain {
				keep[id] = true
			}
		}
	}
	var shown []*Menu
	for _, m := range flat {
		if keep[m.ID] {
			shown = append(shown, m)
		}
	}
	return buildTree(shown), nil
}

func (s *Service) checkMenuInput(ctx context.Context, in *MenuInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return fault.Missing("name")
	}
	if in.Kind != KindMenu && in.Kind != KindButton {
		return fault.Invalidf("parameter %q must be one of: menu button", "kind")
	}
	if in.Permission != "" && !permissionRE.MatchString(in.Permission) {
		return fault.Invalidf("parameter %q must be an action such as app.create", "permission")
	}
	if in.Kind == KindButton && in.Permission == "" {
		return fault.Invalidf("a button needs a permission")
	}
	if in.ParentID != 0 {
		p, err := getMenu(ctx, s.pool, in.ParentID)
		if fault.KindOf(err) == fault.NotFound {
			return fault.Invalidf("parent menu %d does not exist", in.ParentID)
		}
		if err != nil {
			return err
		}
		if p.Kind == KindButton {
			return fault.Invalidf("a button cannot have children")
		}
	}
	return nil
}

// CreateMenu adds a menu (main platform only, per policy).
func (s *Service) CreateMenu(ctx context.Context, in MenuInput) (*Menu, error) {
	if _, err := s.authz.Require(ctx, "menu.create", nil); err != nil {
		return nil, err
	}
	if err := s.checkMenuInput(ctx, &in); err != nil {
		return nil, err
	}
	id, err := insertMenu(ctx, s.pool, "", &in, s.now())
	if err != nil {
		return nil, err
	}
	return getMenu(ctx, s.pool, id)
}

// UpdateMenu changes a menu. A built-in menu keeps its kind and permission
// (the product's routes check those codes); a menu cannot move below itself.
func (s *Service) UpdateMenu(ctx context.Context, id int64, in MenuInput) (*Menu, error) {
	if _, err := s.authz.Require(ctx, "menu.update", nil); err != nil {
		return nil, err
	}
	cur, err := getMenu(ctx, s.pool, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkMenuInput(ctx, &in); err != nil {
		return nil, err
	}
	if cur.Builtin && (in.Kind != cur.Kind || in.Permission != cur.Permission) {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "the kind and permission of a built-in menu cannot be changed")
	}
	if in.ParentID != 0 {
		below, err := isSelfOrDescendant(ctx, s.pool, id, in.ParentID)
		if err != nil {
			return nil, err
		}
		if below {
			return nil, fault.Invalidf("a menu cannot move below itself")
		}
	}
	if in.Kind == KindButton {
		n, err := countChildren(ctx, s.pool, id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, fault.Invalidf("a menu with children cannot become a button")
		}
	}
	if err := updateMenu(ctx, s.pool, id, &in, s.now()); err != nil {
		return nil, err
	}
	return getMenu(ctx, s.pool, id)
}

// DeleteMenu deletes a menu without children; roles lose it. Built-in menus
// cannot be deleted.
func (s *Service) DeleteMenu(ctx context.Context, id int64) error {
	if _, err := s.authz.Require(ctx, "menu.delete", nil); err != nil {
		return err
	}
	m, err := getMenu(ctx, s.pool, id)
	if err != nil {
		return err
	}
	if m.Builtin {
		return fault.Conflictf(fault.CodeResourceInUse, "built-in menu %q cannot be deleted", m.Name)
	}
	return deleteMenu(ctx, s.pool, id)
}
