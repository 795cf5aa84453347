package auth

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Role is a named set of menus of one platform; its permissions are the
// permission codes of its menus.
type Role struct {
	ID          int64     `json:"id"`
	PlatformID  string    `json:"platformId"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Status      string    `json:"status" doc:"enabled | disabled; a disabled role grants nothing"`
	MenuIDs     []int64   `json:"menuIds"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// RoleInput creates or updates a role. On update PlatformID may be omitted
// and must not change.
type RoleInput struct {
	PlatformID  string  `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
	Code        string  `json:"code" validate:"required,max=64" doc:"unique within the platform; A-Z a-z 0-9 _ . -"`
	Name        string  `json:"name" validate:"required,max=64"`
	Description string  `json:"description" validate:"max=256"`
	Status      string  `json:"status" validate:"omitempty,oneof=enabled disabled" doc:"default enabled"`
	MenuIDs     []int64 `json:"menuIds" validate:"max=2000"`
}

// RoleFilter selects roles for a list.
type RoleFilter struct {
	Keyword    string `query:"keyword" validate:"max=64" doc:"part of the name or code"`
	Status     string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	PlatformID string `query:"platformId" validate:"max=32"`
	PageNo     int    `query:"pageNo" validate:"min=0"`
	PageSize   int    `query:"pageSize" validate:"min=0,max=500"`
}

// RolePage is one page of roles.
type RolePage struct {
	Total int64   `json:"total"`
	Items []*Role `json:"items"`
}

var roleCodeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Roles belong to a platform but not to a region: a region account may see
// its platform's roles (read checks place the role in the caller's region),
// but changing a role changes what operators all over the platform hold, so
// creating, changing and deleting roles needs platform-wide authority (the
// resource has no region, which a region account's scope excludes), and the
// role's permissions are checked as a platform-wide grant (no region, any
// object type), which a narrowed caller cannot give.

func roleReadResource(ctx context.Context, platformID string) *policy.Resource {
	res := &policy.Resource{PlatformID: platformID}
	if a, err := caller(ctx); err == nil {
		res.RegionCode = a.RegionCode
	}
	return res
}

// ListRoles lists the roles of the platforms in the caller's scope.
func (s *Service) ListRoles(ctx context.Context, f RoleFilter) (*RolePage, error) {
	var w where
	clause, args := withoutDims(policy.ScopeFrom(ctx), true).SQL(policy.ScopeColumns{Platform: "r.platform_id"}, w.next())
	w.addRaw(clause, args)
	if f.Keyword != "" {
		w.add("(r.name ILIKE ? OR r.code ILIKE ?)", likeContains(f.Keyword))
	}
	if f.Status != "" {
		w.add("r.status = ?", f.Status)
	}
	if f.PlatformID != "" {
		w.add("r.platform_id = ?", f.PlatformID)
	}
	limit, offset := page(f.PageNo, f.PageSize)
	items, total, err := listRoles(ctx, s.pool, &w, limit, offset)
	if err != nil {
		return nil, err
	}
	return &RolePage{Total: total, Items: items}, nil
}

// GetRole returns one role; another platform's is refused (403).
func (s *Service) GetRole(ctx context.Context, id int64) (*Role, error) {
	r, err := getRole(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "role.read", roleReadResource(ctx, r.PlatformID)); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) checkRoleInput(ctx context.Context, q querier, in *RoleInput) ([]string, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, fault.Missing("name")
	}
	if !roleCodeRE.MatchString(in.Code) {
		return nil, fault.Invalidf("parameter %q must be 1 to 64 of A-Z a-z 0-9 _ . -", "code")
	}
	in.MenuIDs = uniqueIDs(in.MenuIDs)
	if err := checkMenusExist(ctx, q, in.MenuIDs); err != nil {
		return nil, err
	}
	return menuPermissions(ctx, q, in.MenuIDs)
}

// CreateRole creates a role in the caller's platform (or, for main-platform
// administrators, any platform) from permissions the caller holds itself.
func (s *Service) CreateRole(ctx context.Context, in RoleInput) (*Role, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if in.PlatformID == "" {
		in.PlatformID = a.PlatformID
	}
	if in.Status == "" {
		in.Status = StatusEnabled
	}
	if _, err := s.authz.Require(ctx, "role.create", &policy.Resource{PlatformID: in.PlatformID}); err != nil {
		return nil, err
	}
	perms, err := s.checkRoleInput(ctx, s.pool, &in)
	if err != nil {
		return nil, err
	}
	if err := s.checkGrant(ctx, policy.Grant{Permissions: perms}, "the role"); err != nil {
		return nil, err
	}
	var r *Role
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		id, err := insertRole(ctx, tx, &in, s.now())
		if err != nil {
			return err
		}
		if err := setRoleMenus(ctx, tx, id, in.MenuIDs); err != nil {
			return err
		}
		r, err = getRole(ctx, tx, id, false)
		return err
	})
	return r, err
}

// mayManageRole checks the caller may change role r: platform-wide
// authority over its platform, and r grants nothing the caller lacks.
func (s *Service) mayManageRole(ctx context.Context, action string, r *Role) error {
	if _, err := s.authz.Require(ctx, action, &policy.Resource{PlatformID: r.PlatformID}); err != nil {
		return err
	}
	return s.checkGrant(ctx, policy.Grant{Permissions: r.Permissions}, "role "+r.Code)
}

// UpdateRole replaces a role's code, name, description, status and menus.
// Operators holding the role get the change with their next request.
func (s *Service) UpdateRole(ctx context.Context, id int64, in RoleInput) (*Role, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	var r *Role
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := getRole(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.mayManageRole(ctx, "role.update", cur); err != nil {
			return err
		}
		if in.PlatformID != "" && in.PlatformID != cur.PlatformID {
			return fault.Invalidf("the platform of a role cannot be changed")
		}
		in.PlatformID = cur.PlatformID
		if in.Status == "" {
			in.Status = cur.Status
		}
		perms, err := s.checkRoleInput(ctx, tx, &in)
		if err != nil {
			return err
		}
		if err := s.checkGrant(ctx, policy.Grant{Permissions: perms}, "the role"); err != nil {
			return err
		}
		if err := updateRole(ctx, tx, id, &in, s.now()); err != nil {
			return err
		}
		if err := setRoleMenus(ctx, tx, id, in.MenuIDs); err != nil {
			return err
		}
		r, err = getRole(ctx, tx, id, false)
		return err
	})
	return r, err
}

// DeleteRoles deletes roles, all or none. Roles still assigned are deleted
// too and their assignments removed: the operators lose those permissions
// with their next request. (Refusing would force an administrator to edit
// every holder first, for no safety gain: the permissions are gone either
// way.)
func (s *Service) DeleteRoles(ctx context.Context, ids []int64) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return fault.Missing("ids")
	}
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, id := range ids {
			r, err := getRole(ctx, tx, id, true)
			if err != nil {
				return err
			}
			if err := s.mayManageRole(ctx, "role.delete", r); err != nil {
				return err
			}
		}
		return deleteRoles(ctx, tx, ids)
	})
}
