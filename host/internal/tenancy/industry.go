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

// Industry is a line of business apps are classified by (行业), optionally
// below a parent industry.
type Industry struct {
	Code       string    `json:"code"`
	ParentCode string    `json:"parentCode"`
	Name       string    `json:"name"`
	Sort       int       `json:"sort"`
	Status     string    `json:"status" doc:"enabled | disabled"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ListIndustriesIn filters the industry list.
type ListIndustriesIn struct {
	Keyword    string `query:"keyword" doc:"part of the name or the code"`
	ParentCode string `query:"parentCode" doc:"only the children of this industry"`
	Status     string `query:"status" doc:"enabled | disabled"`
	PageIn
}

// IndustryFields are an industry's editable fields; an update replaces
// them all.
type IndustryFields struct {
	ParentCode string `json:"parentCode,omitempty"`
	Name       string `json:"name" validate:"required,max=64"`
	Sort       int    `json:"sort,omitempty"`
	Status     string `json:"status,omitempty" doc:"enabled (default) | disabled"`
}

// CreateIndustryIn creates an industry.
type CreateIndustryIn struct {
	Code string `json:"code" validate:"required" doc:"letters, digits, - and _ (max 32)"`
	IndustryFields
}

// UpdateIndustryIn replaces an industry's fields.
type UpdateIndustryIn struct {
	Code string `path:"code" json:"-"`
	IndustryFields
}

// IndustryCodeIn names one industry.
type IndustryCodeIn struct {
	Code string `path:"code" json:"-"`
}

const industryCols = "code, coalesce(parent_code, ''), name, sort, status, created_at, updated_at"

func scanIndustry(row pgx.Row) (Industry, error) {
	var i Industry
	err := row.Scan(&i.Code, &i.ParentCode, &i.Name, &i.Sort, &i.Status, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

// ListIndustries answers industries ordered by sort and code.
func (s *Service) ListIndustries(ctx context.Context, in *ListIndustriesIn) (*Page[Industry], error) {
	if _, err := s.authz.Require(ctx, "industry.read", nil); err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	if c.err != nil {
		return nil, c.err
	}
	var f filter
	f.contains(in.Keyword, "name", "code")
	f.eq("parent_code", in.ParentCode)
	f.eq("status", in.Status)
	return list(ctx, s.pool, "industries", industryCols, "sort, code", &f, in.PageIn, scanIndustry)
}

// GetIndustry answers one industry.
func (s *Service) GetIndustry(ctx context.Context, in *IndustryCodeIn) (*Industry, error) {
	if _, err := s.authz.Require(ctx, "industry.read", nil); err != nil {
		return nil, err
	}
	i, err := scanIndustry(s.pool.QueryRow(ctx, "SELECT "+industryCols+" FROM industries WHERE code = $1", in.Code))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("industry %s not found", in.Code)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: get industry: %w", err)
	}
	return &i, nil
}

// check validates f for the industry code.
func (f *IndustryFields) check(code string) error {
	f.ParentCode, f.Name = strings.TrimSpace(f.ParentCode), strings.TrimSpace(f.Name)
	if f.Status == "" {
		f.Status = StatusEnabled
	}
	var c check
	c.required("code", code)
	c.match("code", code, industryCodeRE, "1-32 letters, digits, - or _")
	c.text("name", f.Name, true, 64)
	c.status("status", f.Status)
	if f.ParentCode == code && code != "" {
		c.fail(fault.Invalidf("parameter %q must not be the industry itself", "parentCode"))
	}
	return c.err
}

// CreateIndustry adds an industry (main platform only).
func (s *Service) CreateIndustry(ctx context.Context, in *CreateIndustryIn) (*Industry, error) {
	if _, err := s.authz.Require(ctx, "industry.create", nil); err != nil {
		return nil, err
	}
	in.Code = strings.TrimSpace(in.Code)
	if err := in.check(in.Code); err != nil {
		return nil, err
	}
	i, err := scanIndustry(s.pool.QueryRow(ctx, `
		INSERT INTO industries (code, parent_code, name, sort, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+industryCols,
		in.Code, nullIf(in.ParentCode), in.Name, in.Sort, in.Status, s.now()))
	switch {
	case store.IsUniqueViolation(err, ""):
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "industry %s already exists", in.Code)
	case store.IsForeignKeyViolation(err):
		return nil, fault.Invalidf("parameter %q: industry %s does not exist", "parentCode", in.ParentCode)
	case err != nil:
		return nil, fmt.Errorf("tenancy: create industry: %w", err)
	}
	return &i, nil
}

// UpdateIndustry replaces an industry's name, parent, sort and status (main
// platform only). A parent that is the industry itself or one of its
// descendants is refused.
func (s *Service) UpdateIndustry(ctx context.Context, in *UpdateIndustryIn) (*Industry, error) {
	if _, err := s.authz.Require(ctx, "industry.update", nil); err != nil {
		return nil, err
	}
	if err := in.check(in.Code); err != nil {
		return nil, err
	}
	var out *Industry
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		if in.ParentCode != "" {
			// Serialize tree changes so two concurrent moves cannot build a cycle.
			if _, err := tx.Exec(ctx, "LOCK TABLE industries IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
			var cycle bool
			if err := tx.QueryRow(ctx, `
				WITH RECURSIVE up AS (
					SELECT code, parent_code FROM industries WHERE code = $1
					UNION SELECT i.code, i.parent_code FROM industries i JOIN up ON i.code = up.parent_code)
				SELECT EXISTS (SELECT 1 FROM up WHERE code = $2)`, in.ParentCode, in.Code).Scan(&cycle); err != nil {
				return err
			}
			if cycle {
				return fault.Invalidf("parameter %q: industry %s is below %s", "parentCode", in.ParentCode, in.Code)
			}
		}
		i, err := scanIndustry(tx.QueryRow(ctx, `
			UPDATE industries SET parent_code = $2, name = $3, sort = $4, status = $5, updated_at = $6
			WHERE code = $1 RETURNING `+industryCols,
			in.Code, nullIf(in.ParentCode), in.Name, in.Sort, in.Status, s.now()))
		if err != nil {
			return err
		}
		out = &i
		return nil
	})
	switch {
	case store.NoRows(err):
		return nil, fault.NotFoundf("industry %s not found", in.Code)
	case store.IsForeignKeyViolation(err):
		return nil, fault.Invalidf("parameter %q: industry %s does not exist", "parentCode", in.ParentCode)
	case err != nil:
		if _, ok := fault.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("tenancy: update industry: %w", err)
	}
	return out, nil
}

// DeleteIndustry removes an industry (main platform only); one with
// sub-industries or apps is refused with ResourceInUse.
func (s *Service) DeleteIndustry(ctx context.Context, in *IndustryCodeIn) error {
	if _, err := s.authz.Require(ctx, "industry.delete", nil); err != nil {
		return err
	}
	var exists bool
	var children, apps int64
	if err := s.pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM industries WHERE code = $1),
		(SELECT count(*) FROM industries WHERE parent_code = $1),
		(SELECT count(*) FROM apps WHERE industry_code = $1)`, in.Code).Scan(&exists, &children, &apps); err != nil {
		return fmt.Errorf("tenancy: industry references: %w", err)
	}
	switch {
	case !exists:
		return fault.NotFoundf("industry %s not found", in.Code)
	case children > 0:
		return fault.Conflictf(fault.CodeResourceInUse, "industry %s has %d sub-industries; delete them first", in.Code, children)
	case apps > 0:
		return fault.Conflictf(fault.CodeResourceInUse, "industry %s is used by %d apps", in.Code, apps)
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM industries WHERE code = $1", in.Code)
	if store.IsForeignKeyViolation(err) {
		return fault.Conflictf(fault.CodeResourceInUse, "industry %s is in use", in.Code)
	}
	if err != nil {
		return fmt.Errorf("tenancy: delete industry: %w", err)
	}
	return nil
}

// usableIndustry checks that a non-empty code names an enabled industry.
func (s *Service) usableIndustry(ctx context.Context, q querier, code string) error {
	if code == "" {
		return nil
	}
	var status string
	err := q.QueryRow(ctx, "SELECT status FROM industries WHERE code = $1", code).Scan(&status)
	if store.NoRows(err) {
		return fault.Invalidf("parameter %q: industry %s does not exist", "industryCode", code)
	}
	if err != nil {
		return fmt.Errorf("tenancy: industry: %w", err)
	}
	if status != StatusEnabled {
		return fault.Invalidf("parameter %q: industry %s is disabled", "industryCode", code)
	}
	return nil
}
