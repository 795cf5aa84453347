package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

const menuColumns = `id, COALESCE(parent_id, 0), name, path, icon, sort, kind, permission, key IS NOT NULL`

func scanMenu(row pgx.Row) (*Menu, error) {
	var m Menu
	err := row.Scan(&m.ID, &m.ParentID, &m.Name, &m.Path, &m.Icon, &m.Sort, &m.Kind, &m.Permission, &m.Builtin)
	return &m, err
}

func getMenu(ctx context.Context, q querier, id int64) (*Menu, error) {
	m, err := scanMenu(q.QueryRow(ctx, `SELECT `+menuColumns+` FROM auth_menus WHERE id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("menu %d does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load menu %d: %w", id, err)
	}
	return m, nil
}

// allMenus returns every menu in display order.
func allMenus(ctx context.Context, q querier) ([]*Menu, error) {
	rows, err := q.Query(ctx, `SELECT `+menuColumns+` FROM auth_menus ORDER BY sort, id`)
	if err != nil {
		return nil, fmt.Errorf("auth: list menus: %w", err)
	}
	defer rows.Close()
	var out []*Menu
	for rows.Next() {
		m, err := scanMenu(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: list menus: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: list menus: %w", err)
	}
	return out, nil
}

// checkMenusExist answers InvalidParameter naming the first id that is not
// a menu.
func checkMenusExist(ctx context.Context, q querier, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var missing int64
	err := q.QueryRow(ctx, `
		SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS (SELECT 1 FROM auth_menus WHERE id = x) LIMIT 1`, ids).Scan(&missing)
	if store.NoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: check menus: %w", err)
	}
	return fault.Invalidf("menu %d does not exist", missing)
}

// menuPermissions is the sorted set of permission codes of menus ids.
func menuPermissions(ctx context.Context, q querier, ids []int64) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var perms []string
	err := q.QueryRow(ctx, `
		SELECT ARRAY(SELECT DISTINCT permission FROM auth_menus WHERE id = ANY($1) AND permission <> '' ORDER BY 1)`,
		ids).Scan(&perms)
	if err != nil {
		return nil, fmt.Errorf("auth: menu permissions: %w", err)
	}
	return perms, nil
}

// insertMenu adds a menu; a non-empty key marks a built-in one and makes the
// insert idempotent (nothing happens when the key exists).
func insertMenu(ctx context.Context, q querier, key string, in *MenuInput, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `
		INSERT INTO auth_menus (key, parent_id, name, path, icon, sort, kind, permission, created_at, updated_at)
		VALUES (NULLIF($1, ''), NULLIF($2, 0), $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (key) DO NOTHING
		RETURNING id`, key, in.ParentID, in.Name, in.Path, in.Icon, in.Sort, in.Kind, in.Permission, now).Scan(&id)
	if store.NoRows(err) {
		return 0, nil
	}
	if store.IsForeignKeyViolation(err) {
		return 0, fault.Invalidf("parent menu %d does not exist", in.ParentID)
	}
	if err != nil {
		return 0, fmt.Errorf("auth: insert menu: %w", err)
	}
	return id, nil
}

func updateMenu(ctx context.Context, q querier, id int64, in *MenuInput, now time.Time) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_menus SET parent_id = NULLIF($2, 0), name = $3, path = $4, icon = $5, sort = $6,
			kind = $7, permission = $8, updated_at = $9
		WHERE id = $1`, id, in.ParentID, in.Name, in.Path, in.Icon, in.Sort, in.Kind, in.Permission, now)
	if store.IsForeignKeyViolation(err) {
		return fault.Invalidf("parent menu %d does not exist", in.ParentID)
	}
	if err != nil {
		return fmt.Errorf("auth: update menu %d: %w", id, err)
	}
	return nil
}

// isSelfOrDescendant reports whether candidate is id or below it.
func isSelfOrDescendant(ctx context.Context, q querier, id, candidate int64) (bool, error) {
	var below bool
	err := q.QueryRow(ctx, `
		WITH RECURSIVE sub AS (
			SELECT id FROM auth_menus WHERE id = $1
			UNION
			SELECT m.id FROM auth_menus m JOIN sub ON m.parent_id = sub.id)
		SELECT EXISTS (SELECT 1 FROM sub WHERE id = $2)`, id, candidate).Scan(&below)
	if err != nil {
		return false, fmt.Errorf("auth: menu ancestry: %w", err)
	}
	return below, nil
}

func countChildren(ctx context.Context, q querier, id int64) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_menus WHERE parent_id = $1`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: count menu children: %w", err)
	}
	return n, nil
}

// deleteMenu deletes a menu without children; role links cascade.
func deleteMenu(ctx context.Context, q querier, id int64) error {
	_, err := q.Exec(ctx, `DELETE FROM auth_menus WHERE id = $1`, id)
	if store.IsForeignKeyViolation(err) {
		return fault.Conflictf(fault.CodeResourceInUse, "menu %d has children; delete them first", id)
	}
	if err != nil {
		return fmt.Errorf("auth: delete menu %d: %w", id, err)
	}
	return nil
}

// seedMenus inserts the built-in menus that are missing, in one round trip;
// entries come parents first, and each names its parent by key.
func seedMenus(ctx context.Context, tx pgx.Tx, menus []builtinMenu, now time.Time) error {
	b := &pgx.Batch{}
	for i, m := range menus {
		b.Queue(`
			INSERT INTO auth_menus (key, parent_id, name, path, icon, sort, kind, permission, created_at, updated_at)
			SELECT $1, (SELECT id FROM auth_menus WHERE key = NULLIF($2, '')), $3, $4, $5, $6, $7, $8, $9, $9
			ON CONFLICT (key) DO NOTHING`,
			m.key, m.parent, m.name, m.path, m.icon, (i+1)*10, m.kind(), m.perm, now)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("auth: seed menus: %w", err)
	}
	return nil
}

// rootExists reports whether the initial administrator exists.
func rootExists(ctx context.Context, q querier) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_operators WHERE type = 'root')`).Scan(&ok); err != nil {
		return false, fmt.Errorf("auth: look for the initial administrator: %w", err)
	}
	return ok, nil
}

// lockSeed serializes seeding among hosts starting at once.
func lockSeed(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('citycode.auth.seed', 0))`); err != nil {
		return fmt.Errorf("auth: seed lock: %w", err)
	}
	return nil
}
