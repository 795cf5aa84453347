package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Department is a unit of a platform's organisation (组织机构), in a tree
// per platform. Leader and phone are the unit's contact for office use.
type Department struct {
	ID         int64     `json:"id"`
	PlatformID string    `json:"platformId"`
	RegionCode string    `json:"regionCode"`
	RegionName string    `json:"regionName"`
	ParentID   int64     `json:"parentId" doc:"0 for a top-level department"`
	Name       string    `json:"name"`
	Sort       int       `json:"sort"`
	Leader     string    `json:"leader"`
	Phone      string    `json:"phone"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ListDepartmentsIn filters the department list.
type ListDepartmentsIn struct {
	PlatformID string `query:"platformId"`
	ParentID   int64  `query:"parentId" doc:"only the children of this department"`
	Keyword    string `query:"keyword" doc:"part of the name or the leader"`
	PageIn
}

// DepartmentFields are a department's editable fields; an update replaces
// them all.
type DepartmentFields struct {
	RegionCode string `json:"regionCode,omitempty" doc:"an enabled region; empty for none"`
	ParentID   int64  `json:"parentId,omitempty" doc:"a department of the same platform; 0 for top level"`
	Name       string `json:"name" validate:"required,max=64"`
	Sort       int    `json:"sort,omitempty"`
	Leader     string `json:"leader,omitempty" validate:"max=64"`
	Phone      string `json:"phone,omitempty" validate:"max=32"`
}

// CreateDepartmentIn creates a department.
type CreateDepartmentIn struct {
	PlatformID string `json:"platformId,omitempty" doc:"default: the caller's platform"`
	DepartmentFields
}

// UpdateDepartmentIn replaces a department's fields; it cannot change
// platform.
type UpdateDepartmentIn struct {
	ID int64 `path:"departmentId" json:"-"`
	DepartmentFields
}

// DepartmentIDIn names one department.
type DepartmentIDIn struct {
	ID int64 `path:"departmentId" json:"-"`
}

const (
	departmentFrom = "departments d LEFT JOIN regions r ON r.code = d.region_code"
	departmentCols = `d.id, d.platform_id, coalesce(d.region_code, ''), coalesce(r.name, ''), coalesce(d.parent_id, 0),
		d.name, d.sort, d.leader, d.phone, d.created_at, d.updated_at`
)

var departmentScope = policy.ScopeColumns{Platform: "d.platform_id", Region: "d.region_code"}

func scanDepartment(row pgx.Row) (Department, error) {
	var d Department
	err := row.Scan(&d.ID, &d.PlatformID, &d.RegionCode, &d.RegionName, &d.ParentID, &d.Name, &d.Sort, &d.Leader, &d.Phone,
		&d.CreatedAt, &d.UpdatedAt)
	return d, err
}

func (d *Department) resource() *policy.Resource {
	return &policy.Resource{PlatformID: d.PlatformID, RegionCode: d.RegionCode}
}

func (f *DepartmentFields) check() error {
	f.RegionCode, f.Name = strings.TrimSpace(f.RegionCode), strings.TrimSpace(f.Name)
	f.Leader, f.Phone = strings.TrimSpace(f.Leader), strings.TrimSpace(f.Phone)
	var c check
	c.match("regionCode", f.RegionCode, regionCodeRE, "a region code of 6, 9 or 12 digits")
	if f.ParentID < 0 {
		c.fail(fault.Invalidf("parameter %q must not be negative", "parentId"))
	}
	c.text("name", f.Name, true, 64)
	c.max("leader", f.Leader, 64)
	c.max("phone", f.Phone, 32)
	c.match("phone", f.Phone, phoneRE, "a telephone number")
	return c.err
}

// ListDepartments answers the departments in the caller's data scope,
// ordered by platform, sort and name.
func (s *Service) ListDepartments(ctx context.Context, in *ListDepartmentsIn) (*Page[Department], error) {
	sc, err := s.authz.Require(ctx, "department.read", nil)
	if err != nil {
		return nil, err
	}
	var f filter
	f.eq("d.platform_id", in.PlatformID)
	if in.ParentID > 0 {
		f.add("d.parent_id = " + f.arg(in.ParentID))
	}
	f.contains(in.Keyword, "d.name", "d.leader")
	f.scope(sc, departmentScope)
	return list(ctx, s.pool, departmentFrom, departmentCols, "d.platform_id, d.sort, d.name, d.id", &f, in.PageIn, scanDepartment)
}

// GetDepartment answers one department; one outside the caller's scope is 403.
func (s *Service) GetDepartment(ctx context.Context, in *DepartmentIDIn) (*Department, error) {
	d, err := s.department(ctx, s.pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "department.read", d.resource()); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) department(ctx context.Context, q querier, id int64, forUpdate bool) (*Department, error) {
	sql := "SELECT " + departmentCols + " FROM " + departmentFrom + " WHERE d.id = $1"
	if forUpdate {
		sql += " FOR UPDATE OF d"
	}
	d, err := scanDepartment(q.QueryRow(ctx, sql, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("department %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: get department: %w", err)
	}
	return &d, nil
}

// checkDepartmentRefs checks a department's region and parent for platformID; self is
// the department being updated (0 on creation), which may not become its own
// ancestor.
func (s *Service) checkDepartmentRefs(ctx context.Context, tx pgx.Tx, platformID string, self int64, f *DepartmentFields) error {
	if f.RegionCode != "" {
		if err := s.usableRegion(ctx, tx, "regionCode", f.RegionCode); err != nil {
			return err
		}
	}
	if f.ParentID == 0 {
		return nil
	}
	if f.ParentID == self {
		return fault.Invalidf("parameter %q must not be the department itself", "parentId")
	}
	// Serialize tree changes of the platform so two moves cannot build a cycle.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('tenancy.departments'), hashtext($1))", platformID); err != nil {
		return fmt.Errorf("tenancy: lock departments: %w", err)
	}
	var parentPlatform *string
	var cycle bool
	if err := tx.QueryRow(ctx, `
		WITH RECURSIVE up AS (
			SELECT id, parent_id FROM departments WHERE id = $1
			UNION SELECT d.id, d.parent_id FROM departments d JOIN up ON d.id = up.parent_id)
		SELECT (SELECT platform_id FROM departments WHERE id = $1), EXISTS (SELECT 1 FROM up WHERE id = $2)`,
		f.ParentID, self).Scan(&parentPlatform, &cycle); err != nil {
		return fmt.Errorf("tenancy: department parent: %w", err)
	}
	if parentPlatform == nil || *parentPlatform != platformID {
		return fault.Invalidf("parameter %q: department %d does not exist in platform %s", "parentId", f.ParentID, platformID)
	}
	if cycle {
		return fault.Invalidf("parameter %q: department %d is below this department", "parentId", f.ParentID)
	}
	return nil
}

// CreateDepartment adds a department to a platform in the caller's scope
// (default: the caller's platform).
func (s *Service) CreateDepartment(ctx context.Context, in *CreateDepartmentIn) (*Department, error) {
	if _, err := s.authz.Require(ctx, "department.create", nil); err != nil {
		return nil, err
	}
	in.PlatformID = strings.TrimSpace(in.PlatformID)
	if in.PlatformID == "" {
		in.PlatformID = MainPlatformID
		if a := actor.From(ctx); a != nil && a.PlatformID != "" {
			in.PlatformID = a.PlatformID
		}
	}
	var c check
	c.match("platformId", in.PlatformID, platformIDRE, "a platform id such as P0001")
	c.fail(in.DepartmentFields.check())
	if c.err != nil {
		return nil, c.err
	}
	if _, err := s.authz.Require(ctx, "department.create", &policy.Resource{PlatformID: in.PlatformID, RegionCode: in.RegionCode}); err != nil {
		return nil, err
	}
	var out *Department
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := s.platform(ctx, tx, in.PlatformID, lockNone); err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return fault.Invalidf("parameter %q: platform %s does not exist", "platformId", in.PlatformID)
			}
			return err
		}
		if err := s.checkDepartmentRefs(ctx, tx, in.PlatformID, 0, &in.DepartmentFields); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO departments (platform_id, region_code, parent_id, name, sort, leader, phone, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			in.PlatformID, nullIf(in.RegionCode), nullID(in.ParentID), in.Name, in.Sort, in.Leader, in.Phone, s.now()).Scan(&id)
		if err != nil {
			return departmentWriteErr(err, in.Name)
		}
		out, err = s.department(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateDepartment replaces a department's fields within its platform.
func (s *Service) UpdateDepartment(ctx context.Context, in *UpdateDepartmentIn) (*Department, error) {
	var out *Department
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := s.department(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if _, err := s.authz.Require(ctx, "department.update", old.resource()); err != nil {
			return err
		}
		if err := in.DepartmentFields.check(); err != nil {
			return err
		}
		if in.RegionCode != old.RegionCode {
			if _, err := s.authz.Require(ctx, "department.update", &policy.Resource{PlatformID: old.PlatformID, RegionCode: in.RegionCode}); err != nil {
				return err
			}
		}
		if err := s.checkDepartmentRefs(ctx, tx, old.PlatformID, old.ID, &in.DepartmentFields); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE departments SET region_code = $2, parent_id = $3, name = $4, sort = $5, leader = $6, phone = $7, updated_at = $8
			WHERE id = $1`, in.ID, nullIf(in.RegionCode), nullID(in.ParentID), in.Name, in.Sort, in.Leader, in.Phone, s.now())
		if err != nil {
			return departmentWriteErr(err, in.Name)
		}
		out, err = s.department(ctx, tx, in.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDepartment removes a department without sub-departments (else
// ResourceInUse).
func (s *Service) DeleteDepartment(ctx context.Context, in *DepartmentIDIn) error {
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := s.department(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if _, err := s.authz.Require(ctx, "department.delete", d.resource()); err != nil {
			return err
		}
		var children int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM departments WHERE parent_id = $1", d.ID).Scan(&children); err != nil {
			return fmt.Errorf("tenancy: count sub-departments: %w", err)
		}
		if children > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "department %d has %d sub-departments; delete them first", d.ID, children)
		}
		_, err = tx.Exec(ctx, "DELETE FROM departments WHERE id = $1", d.ID)
		if store.IsForeignKeyViolation(err) {
			return fault.Conflictf(fault.CodeResourceInUse, "department %d is in use", d.ID)
		}
		if err != nil {
			return fmt.Errorf("tenancy: delete department: %w", err)
		}
		return nil
	})
}

func departmentWriteErr(err error, name string) error {
	switch {
	case store.IsUniqueViolation(err, "departments_sibling_name"):
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "a department named %q already exists at this place", name)
	case store.IsForeignKeyViolation(err):
		return fault.Invalidf("the platform, region or parent department no longer exists")
	}
	return fmt.Errorf("tenancy: write department: %w", err)
}

// nullID is nil for 0, so optional references are stored as NULL.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
