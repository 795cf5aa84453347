package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

const roleColumns = `r.id, r.platform_id, r.code, r.name, r.description, r.status, r.created_at, r.updated_at,
	ARRAY(SELECT rm.menu_id FROM auth_role_menus rm WHERE rm.role_id = r.id ORDER BY rm.menu_id),
	ARRAY(SELECT DISTINCT m.permission FROM auth_role_menus rm JOIN auth_menus m ON m.id = rm.menu_id
	       WHERE rm.role_id = r.id AND m.permission <> '' ORDER BY 1)`

func scanRole(row pgx.Row) (*Role, error) {
	var r Role
	err := row.Scan(&r.ID, &r.PlatformID, &r.Code, &r.Name, &r.Description, &r.Status, &r.CreatedAt, &r.UpdatedAt,
		&r.MenuIDs, &r.Permissions)
	return &r, err
}

func getRole(ctx context.Context, q querier, id int64, lock bool) (*Role, error) {
	sql := `SELECT ` + roleColumns + ` FROM auth_roles r WHERE r.id = $1`
	if lock {
		sql += ` FOR UPDATE OF r`
	}
	r, err := scanRole(q.QueryRow(ctx, sql, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("role %d does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load role %d: %w", id, err)
	}
	return r, nil
}

func listRoles(ctx context.Context, q querier, w *where, limit, offset int) ([]*Role, int64, error) {
	var total int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_roles r`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count roles: %w", err)
	}
	n := len(w.args)
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT %s FROM auth_roles r%s ORDER BY r.id DESC LIMIT $%d OFFSET $%d`,
		roleColumns, w.String(), n+1, n+2), append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list roles: %w", err)
	}
	defer rows.Close()
	items := []*Role{}
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("auth: list roles: %w", err)
		}
		items = append(items, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list roles: %w", err)
	}
	return items, total, nil
}

func errRoleCodeTaken(code string) error {
	return fault.Conflictf(fault.CodeResourceAlreadyExists, "a role with code %q already exists on this platform", code)
}

func insertRole(ctx context.Context, q querier, in *RoleInput, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `
		INSERT INTO auth_roles (platform_id, code, name, description, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT ON CONSTRAINT auth_roles_platform_code DO NOTHING
		RETURNING id`, in.PlatformID, in.Code, in.Name, in.Description, in.Status, now).Scan(&id)
	if store.NoRows(err) {
		return 0, errRoleCodeTaken(in.Code)
	}
	if err != nil {
		return 0, fmt.Errorf("auth: insert role: %w", err)
	}
	return id, nil
}

func updateRole(ctx context.Context, q querier, id int64, in *RoleInput, now time.Time) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_roles SET code = $2, name = $3, description = $4, status = $5, updated_at = $6
		WHERE id = $1`, id, in.Code, in.Name, in.Description, in.Status, now)
	if store.IsUniqueViolation(err, "auth_roles_platform_code") {
		return errRoleCodeTaken(in.Code)
	}
	if err != nil {
		return fmt.Errorf("auth: update role %d: %w", id, err)
	}
	return nil
}

func setRoleMenus(ctx context.Context, q querier, id int64, menuIDs []int64) error {
	_, err := q.Exec(ctx, `
		WITH cleared AS (DELETE FROM auth_role_menus WHERE role_id = $1 AND menu_id <> ALL($2))
		INSERT INTO auth_role_menus (role_id, menu_id) SELECT $1, unnest($2::bigint[])
		ON CONFLICT DO NOTHING`, id, nonNil(menuIDs))
	if store.IsForeignKeyViolation(err) {
		return fault.Invalidf("a menu was deleted meanwhile; reload and retry")
	}
	if err != nil {
		return fmt.Errorf("auth: set menus of role %d: %w", id, err)
	}
	return nil
}

// deleteRoles deletes roles; their menu links and assignments cascade.
func deleteRoles(ctx context.Context, q querier, ids []int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM auth_roles WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("auth: delete roles: %w", err)
	}
	return nil
}
