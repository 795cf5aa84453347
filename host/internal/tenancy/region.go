package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Region is an administrative division keyed by its national code (区划代码).
// Levels: 1 province, 2 prefecture city, 3 county or district, 4 township or
// street, 5 village. Codes have 6 digits at levels 1-3, 9 at level 4 and 12
// at level 5, and a child's code starts with its parent's significant digits
// (2, 4, 6 or 9 of them), so "within a region" is a prefix match — which is
// how region accounts are scoped. A level may be skipped (the districts of a
// municipality such as Shanghai hang directly below it at level 3).
type Region struct {
	Code       string    `json:"code"`
	ParentCode string    `json:"parentCode" doc:"empty for level 1"`
	Name       string    `json:"name"`
	Level      int       `json:"level"`
	Status     string    `json:"status" doc:"enabled | disabled"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// RegionTree is the answer of the tree query.
type RegionTree struct {
	Roots []*RegionNode `json:"roots"`
}

// RegionNode is a region in the tree answer.
type RegionNode struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Level    int           `json:"level"`
	Status   string        `json:"status"`
	Children []*RegionNode `json:"children"`
}

// ListRegionsIn filters the region list.
type ListRegionsIn struct {
	Keyword    string `query:"keyword" doc:"part of the name or the code"`
	ParentCode string `query:"parentCode" doc:"only the children of this region"`
	Level      int    `query:"level" doc:"only this level (1-5)"`
	Status     string `query:"status" doc:"enabled | disabled"`
	PageIn
}

// RegionTreeIn selects the part of the tree to answer.
type RegionTreeIn struct {
	RootCode string `query:"rootCode" doc:"answer the subtree of this region (default: every level-1 region)"`
	MaxLevel int    `query:"maxLevel" doc:"omit regions below this level (1-5, default all)"`
	Status   string `query:"status" doc:"enabled: leave out disabled regions and their subtrees"`
}

// CreateRegionIn creates a region.
type CreateRegionIn struct {
	Code       string `json:"code" validate:"required" doc:"national administrative code: 6, 9 or 12 digits"`
	ParentCode string `json:"parentCode,omitempty" doc:"required except at level 1"`
	Name       string `json:"name" validate:"required,max=64"`
	Level      int    `json:"level" validate:"required" doc:"1 province, 2 city, 3 county/district, 4 township/street, 5 village"`
	Status     string `json:"status,omitempty" doc:"enabled (default) | disabled"`
}

// UpdateRegionIn renames a region; its code, level and parent are fixed.
type UpdateRegionIn struct {
	Code string `path:"code" json:"-"`
	Name string `json:"name" validate:"required,max=64"`
}

// RegionCodeIn names one region.
type RegionCodeIn struct {
	Code string `path:"code" json:"-"`
}

const regionCols = "code, coalesce(parent_code, ''), name, level, status, created_at, updated_at"

func scanRegion(row pgx.Row) (Region, error) {
	var r Region
	err := row.Scan(&r.Code, &r.ParentCode, &r.Name, &r.Level, &r.Status, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// significant is the prefix of a region's code that its descendants share.
func significant(code string, level int) string {
	switch level {
	case 1:
		return code[:2]
	case 2:
		return code[:4]
	case 3:
		return code[:6]
	case 4:
		return code[:9]
	}
	return code
}

// codeLength is the length of a code at level.
func codeLength(level int) int {
	switch level {
	case 4:
		return 9
	case 5:
		return 12
	}
	return 6
}

// ListRegions answers regions by keyword, parent, level and status, ordered
// by code. Every operator may read regions.
func (s *Service) ListRegions(ctx context.Context, in *ListRegionsIn) (*Page[Region], error) {
	if _, err := s.authz.Require(ctx, "region.read", nil); err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	if in.Level < 0 || in.Level > 5 {
		c.fail(fault.Invalidf("parameter %q must be between 1 and 5", "level"))
	}
	if c.err != nil {
		return nil, c.err
	}
	var f filter
	f.contains(in.Keyword, "name", "code")
	f.eq("parent_code", in.ParentCode)
	f.eq("status", in.Status)
	if in.Level > 0 {
		f.add("level = " + f.arg(in.Level))
	}
	return list(ctx, s.pool, "regions", regionCols, "code", &f, in.PageIn, scanRegion)
}

// GetRegion answers one region.
func (s *Service) GetRegion(ctx context.Context, in *RegionCodeIn) (*Region, error) {
	if _, err := s.authz.Require(ctx, "region.read", nil); err != nil {
		return nil, err
	}
	return s.region(ctx, s.pool, in.Code)
}

func (s *Service) region(ctx context.Context, q querier, code string) (*Region, error) {
	r, err := scanRegion(q.QueryRow(ctx, "SELECT "+regionCols+" FROM regions WHERE code = $1", code))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("region %s not found", code)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: get region: %w", err)
	}
	return &r, nil
}

// RegionTree answers the region tree, children ordered by code.
func (s *Service) RegionTree(ctx context.Context, in *RegionTreeIn) (*RegionTree, error) {
	if _, err := s.authz.Require(ctx, "region.read", nil); err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	if in.MaxLevel < 0 || in.MaxLevel > 5 {
		c.fail(fault.Invalidf("parameter %q must be between 1 and 5", "maxLevel"))
	}
	if c.err != nil {
		return nil, c.err
	}
	maxLevel := in.MaxLevel
	if maxLevel == 0 {
		maxLevel = 5
	}
	if in.RootCode != "" {
		if _, err := s.region(ctx, s.pool, in.RootCode); err != nil {
			return nil, err
		}
	}
	// The walk starts at the root(s) and descends only through regions that
	// pass the filter, so a disabled region hides its subtree.
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE t AS (
			SELECT code, parent_code, name, level, status FROM regions
			WHERE (CASE WHEN $1 = '' THEN parent_code IS NULL ELSE code = $1 END)
			  AND ($2 = '' OR status = $2) AND level <= $3
			UNION ALL
			SELECT r.code, r.parent_code, r.name, r.level, r.status FROM regions r JOIN t ON r.parent_code = t.code
			WHERE ($2 = '' OR r.status = $2) AND r.level <= $3
		)
		SELECT code, coalesce(parent_code, ''), name, level, status FROM t ORDER BY level, code`,
		in.RootCode, in.Status, maxLevel)
	if err != nil {
		return nil, fmt.Errorf("tenancy: region tree: %w", err)
	}
	defer rows.Close()
	roots := []*RegionNode{}
	byCode := map[string]*RegionNode{}
	for rows.Next() {
		var n RegionNode
		var parent string
		if err := rows.Scan(&n.Code, &parent, &n.Name, &n.Level, &n.Status); err != nil {
			return nil, fmt.Errorf("tenancy: region tree: %w", err)
		}
		n.Children = []*RegionNode{}
		byCode[n.Code] = &n
		if p, ok := byCode[parent]; ok && n.Code != in.RootCode {
			p.Children = append(p.Children, &n)
		} else {
			roots = append(roots, &n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tenancy: region tree: %w", err)
	}
	return &RegionTree{Roots: roots}, nil
}

// CreateRegion adds a region (main platform only).
func (s *Service) CreateRegion(ctx context.Context, in *CreateRegionIn) (*Region, error) {
	if _, err := s.authz.Require(ctx, "region.create", nil); err != nil {
		return nil, err
	}
	in.Code, in.ParentCode, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.ParentCode), strings.TrimSpace(in.Name)
	var c check
	c.required("code", in.Code)
	c.match("code", in.Code, regionCodeRE, "a national administrative code of 6, 9 or 12 digits")
	c.text("name", in.Name, true, 64)
	if in.Level == 0 {
		c.fail(fault.Missing("level"))
	} else if in.Level < 1 || in.Level > 5 {
		c.fail(fault.Invalidf("parameter %q must be between 1 and 5", "level"))
	}
	c.status("status", in.Status)
	if c.err != nil {
		return nil, c.err
	}
	if len(in.Code) != codeLength(in.Level) {
		return nil, fault.Invalidf("parameter %q must have %d digits at level %d", "code", codeLength(in.Level), in.Level)
	}
	if in.Level == 1 && in.ParentCode != "" {
		return nil, fault.Invalidf("parameter %q must be empty at level 1", "parentCode")
	}
	if in.Level > 1 {
		if in.ParentCode == "" {
			return nil, fault.Missing("parentCode")
		}
		parent, err := s.region(ctx, s.pool, in.ParentCode)
		if fault.KindOf(err) == fault.NotFound {
			return nil, fault.Invalidf("parameter %q: region %s does not exist", "parentCode", in.ParentCode)
		}
		if err != nil {
			return nil, err
		}
		if parent.Level >= in.Level {
			return nil, fault.Invalidf("parameter %q: the parent's level %d is not above level %d", "parentCode", parent.Level, in.Level)
		}
		if p := significant(parent.Code, parent.Level); !strings.HasPrefix(in.Code, p) || in.Code == parent.Code {
			return nil, fault.Invalidf("parameter %q must start with %s, the code of its parent region", "code", p)
		}
	}
	status := in.Status
	if status == "" {
		status = StatusEnabled
	}
	now := s.now()
	r, err := scanRegion(s.pool.QueryRow(ctx, `
		INSERT INTO regions (code, parent_code, name, level, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+regionCols,
		in.Code, nullIf(in.ParentCode), in.Name, in.Level, status, now))
	switch {
	case store.IsUniqueViolation(err, ""):
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "region %s already exists", in.Code)
	case store.IsForeignKeyViolation(err):
		return nil, fault.Invalidf("parameter %q: region %s does not exist", "parentCode", in.ParentCode)
	case err != nil:
		return nil, fmt.Errorf("tenancy: create region: %w", err)
	}
	return &r, nil
}

// UpdateRegion renames a region (main platform only).
func (s *Service) UpdateRegion(ctx context.Context, in *UpdateRegionIn) (*Region, error) {
	if _, err := s.authz.Require(ctx, "region.update", nil); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	var c check
	c.text("name", in.Name, true, 64)
	if c.err != nil {
		return nil, c.err
	}
	return s.updateRegion(ctx, in.Code, "name = $2", in.Name)
}

// SetRegionStatus enables or disables a region (main platform only). A
// disabled region keeps its platforms and apps but can no longer be chosen
// for new ones, and the tree's status=enabled view leaves out its subtree.
func (s *Service) SetRegionStatus(ctx context.Context, code, status string) (*Region, error) {
	if _, err := s.authz.Require(ctx, "region.update", nil); err != nil {
		return nil, err
	}
	if status != StatusEnabled && status != StatusDisabled {
		return nil, fault.Invalidf("parameter %q must be one of: enabled disabled", "status")
	}
	return s.updateRegion(ctx, code, "status = $2", status)
}

func (s *Service) updateRegion(ctx context.Context, code, set string, v any) (*Region, error) {
	r, err := scanRegion(s.pool.QueryRow(ctx,
		"UPDATE regions SET "+set+", updated_at = $3 WHERE code = $1 RETURNING "+regionCols, code, v, s.now()))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("region %s not found", code)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: update region: %w", err)
	}
	return &r, nil
}

// DeleteRegion removes a region (main platform only). A region with
// sub-regions, or referenced by a platform, an app or a department, is
// refused with ResourceInUse.
func (s *Service) DeleteRegion(ctx context.Context, in *RegionCodeIn) error {
	if _, err := s.authz.Require(ctx, "region.delete", nil); err != nil {
		return err
	}
	if _, err := s.region(ctx, s.pool, in.Code); err != nil {
		return err
	}
	var children, platforms, apps, departments int64
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM regions WHERE parent_code = $1),
		(SELECT count(*) FROM platforms WHERE region_code = $1),
		(SELECT count(*) FROM apps WHERE region_code = $1),
		(SELECT count(*) FROM departments WHERE region_code = $1)`, in.Code).
		Scan(&children, &platforms, &apps, &departments); err != nil {
		return fmt.Errorf("tenancy: region references: %w", err)
	}
	if children > 0 {
		return fault.Conflictf(fault.CodeResourceInUse, "region %s has %d sub-regions; delete them first", in.Code, children)
	}
	if platforms+apps+departments > 0 {
		return fault.Conflictf(fault.CodeResourceInUse, "region %s is used by %d platforms, %d apps and %d departments", in.Code, platforms, apps, departments)
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM regions WHERE code = $1", in.Code)
	if store.IsForeignKeyViolation(err) {
		return fault.Conflictf(fault.CodeResourceInUse, "region %s is in use", in.Code)
	}
	if err != nil {
		return fmt.Errorf("tenancy: delete region: %w", err)
	}
	return nil
}

// usableRegion checks that code names an enabled region, for the parameter
// name of a platform, app or department.
func (s *Service) usableRegion(ctx context.Context, q querier, param, code string) error {
	var status string
	err := q.QueryRow(ctx, "SELECT status FROM regions WHERE code = $1", code).Scan(&status)
	if store.NoRows(err) {
		return fault.Invalidf("parameter %q: region %s does not exist", param, code)
	}
	if err != nil {
		return fmt.Errorf("tenancy: region: %w", err)
	}
	if status != StatusEnabled {
		return fault.Invalidf("parameter %q: region %s is disabled", param, code)
	}
	return nil
}
