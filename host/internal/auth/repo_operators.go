package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// operatorRecord is an operator row as written.
type operatorRecord struct {
	Account, Name             string
	MobileSealed, MobileIndex string
	Email                     string
	Type                      actor.OperatorType
	PlatformID, RegionCode    string
	DepartmentID              string
	ParentID                  int64
	ObjectTypes               []string
	Status                    string
	PasswordHash              string
	MustChange                bool
	CreatedBy                 int64
}

const operatorColumns = `o.id, o.account, o.name, o.mobile_sealed, o.email, o.type, o.platform_id,
	o.region_code, o.department_id, COALESCE(o.parent_id, 0), o.object_types, o.status,
	o.must_change_password, o.failed_logins, o.locked_until, o.last_login_at, o.last_login_ip,
	o.created_at, o.updated_at,
	ARRAY(SELECT r.role_id FROM auth_operator_roles r WHERE r.operator_id = o.id ORDER BY r.role_id)`

// scanOperator reads one row of operatorColumns, opening and masking the
// mobile number.
func (s *Service) scanOperator(row pgx.Row) (*Operator, error) {
	var o Operator
	var sealed string
	if err := row.Scan(&o.ID, &o.Account, &o.Name, &sealed, &o.Email, &o.Type, &o.PlatformID,
		&o.RegionCode, &o.DepartmentID, &o.ParentID, &o.ObjectTypes, &o.Status,
		&o.MustChangePassword, &o.FailedLogins, &o.LockedUntil, &o.LastLoginAt, &o.LastLoginIP,
		&o.CreatedAt, &o.UpdatedAt, &o.RoleIDs); err != nil {
		return nil, err
	}
	if sealed != "" {
		m, err := s.sealer.Open(sealed, mobilePurpose)
		if err != nil {
			return nil, fmt.Errorf("auth: open mobile of operator %d: %w", o.ID, err)
		}
		o.Mobile = maskMobile(string(m))
	}
	return &o, nil
}

// getOperator loads an operator by id (FOR UPDATE when lock), answering
// ResourceNotFound when there is none.
func (s *Service) getOperator(ctx context.Context, q querier, id int64, lock bool) (*Operator, error) {
	sql := `SELECT ` + operatorColumns + ` FROM auth_operators o WHERE o.id = $1`
	if lock {
		sql += ` FOR UPDATE OF o`
	}
	o, err := s.scanOperator(q.QueryRow(ctx, sql, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("operator %d does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load operator %d: %w", id, err)
	}
	return o, nil
}

func (s *Service) listOperators(ctx context.Context, w *where, limit, offset int) ([]*Operator, int64, error) {
	var total int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM auth_operators o`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count operators: %w", err)
	}
	n := len(w.args)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM auth_operators o%s ORDER BY o.id DESC LIMIT $%d OFFSET $%d`,
		operatorColumns, w.String(), n+1, n+2), append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list operators: %w", err)
	}
	defer rows.Close()
	items := []*Operator{}
	for rows.Next() {
		o, err := s.scanOperator(rows)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, o)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list operators: %w", err)
	}
	return items, total, nil
}

// insertOperator inserts rec and returns its id; a taken account answers
// ResourceAlreadyExists. ON CONFLICT keeps a caller's transaction usable.
func (s *Service) insertOperator(ctx context.Context, q querier, rec *operatorRecord) (int64, error) {
	now := s.now()
	var id int64
	err := q.QueryRow(ctx, `
		INSERT INTO auth_operators (account, name, mobile_sealed, mobile_index, email, type, platform_id,
			region_code, department_id, parent_id, object_types, status, password_hash,
			must_change_password, password_changed_at, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, 0), $11, $12, $13, $14, $15, NULLIF($16, 0), $15, $15)
		ON CONFLICT (lower(account)) DO NOTHING
		RETURNING id`,
		rec.Account, rec.Name, rec.MobileSealed, rec.MobileIndex, rec.Email, rec.Type, rec.PlatformID,
		rec.RegionCode, rec.DepartmentID, rec.ParentID, nonNil(rec.ObjectTypes), rec.Status, rec.PasswordHash,
		rec.MustChange, now, rec.CreatedBy).Scan(&id)
	if store.NoRows(err) {
		return 0, errAccountTaken(rec.Account)
	}
	if err != nil {
		return 0, fmt.Errorf("auth: insert operator: %w", err)
	}
	return id, nil
}

// updateOperator writes the mutable fields of rec; keepMobile leaves the
// stored number alone.
func (s *Service) updateOperator(ctx context.Context, q querier, id int64, rec *operatorRecord, keepMobile bool) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_operators SET name = $2,
			mobile_sealed = CASE WHEN $3 THEN mobile_sealed ELSE $4 END,
			mobile_index = CASE WHEN $3 THEN mobile_index ELSE $5 END,
			email = $6, type = $7, region_code = $8, department_id = $9, object_types = $10,
			status = $11, updated_at = $12
		WHERE id = $1`,
		id, rec.Name, keepMobile, rec.MobileSealed, rec.MobileIndex, rec.Email, rec.Type, rec.RegionCode,
		rec.DepartmentID, nonNil(rec.ObjectTypes), rec.Status, s.now())
	if err != nil {
		return fmt.Errorf("auth: update operator %d: %w", id, err)
	}
	return nil
}

func setOperatorStatus(ctx context.Context, q querier, id int64, status string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE auth_operators SET status = $2, updated_at = $3 WHERE id = $1`, id, status, now); err != nil {
		return fmt.Errorf("auth: set status of operator %d: %w", id, err)
	}
	return nil
}

// setPassword stores a new hash; a reset (mustChange) also clears any
// lockout so the owner can log in with the new password.
func setPassword(ctx context.Context, q querier, id int64, hash string, mustChange bool, now time.Time) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_operators SET password_hash = $2, must_change_password = $3, password_changed_at = $4,
			failed_logins = CASE WHEN $3 THEN 0 ELSE failed_logins END,
			locked_until = CASE WHEN $3 THEN NULL ELSE locked_until END,
			updated_at = $4
		WHERE id = $1`, id, hash, mustChange, now)
	if err != nil {
		return fmt.Errorf("auth: set password of operator %d: %w", id, err)
	}
	return nil
}

func setOperatorRoles(ctx context.Context, q querier, id int64, roleIDs []int64) error {
	_, err := q.Exec(ctx, `
		WITH cleared AS (DELETE FROM auth_operator_roles WHERE operator_id = $1 AND role_id <> ALL($2))
		INSERT INTO auth_operator_roles (operator_id, role_id) SELECT $1, unnest($2::bigint[])
		ON CONFLICT DO NOTHING`, id, nonNil(roleIDs))
	if store.IsForeignKeyViolation(err) {
		return fault.Invalidf("a role was deleted meanwhile; reload and retry")
	}
	if err != nil {
		return fmt.Errorf("auth: set roles of operator %d: %w", id, err)
	}
	return nil
}

// deleteOperators deletes ids in one statement, so a parent and its
// sub-accounts may go together; other sub-accounts block the delete.
func deleteOperators(ctx context.Context, q querier, ids []int64) error {
	_, err := q.Exec(ctx, `DELETE FROM auth_operators WHERE id = ANY($1)`, ids)
	if store.IsForeignKeyViolation(err) {
		return fault.Conflictf(fault.CodeResourceInUse, "an operator to delete still has sub-accounts; delete them first")
	}
	if err != nil {
		return fmt.Errorf("auth: delete operators: %w", err)
	}
	return nil
}

// rolePlatforms maps each existing role of ids to its platform.
func (s *Service) rolePlatforms(ctx context.Context, q querier, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, platform_id FROM auth_roles WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("auth: load roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("auth: load roles: %w", err)
		}
		out[id] = p
	}
	return out, rows.Err()
}

// rolePermissions is the sorted union of the permission codes of the menus
// of the roles ids of platformID (enabled or not: a disabled role may be
// enabled again).
func rolePermissions(ctx context.Context, q querier, platformID string, ids []int64) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var perms []string
	err := q.QueryRow(ctx, `
		SELECT ARRAY(SELECT DISTINCT m.permission
		               FROM auth_roles r
		               JOIN auth_role_menus rm ON rm.role_id = r.id
		               JOIN auth_menus m ON m.id = rm.menu_id
		              WHERE r.id = ANY($1) AND r.platform_id = $2 AND m.permission <> ''
		              ORDER BY 1)`, ids, platformID).Scan(&perms)
	if err != nil {
		return nil, fmt.Errorf("auth: role permissions: %w", err)
	}
	return perms, nil
}

// nonNil turns a nil slice into an empty one, so PostgreSQL stores '{}'
// rather than NULL.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
