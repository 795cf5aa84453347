package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Developer is the one developer of an app (应用开发者), created with it.
type Developer struct {
	ID         string    `json:"id" doc:"developer number (开发者编号), D and 8 digits"`
	AppID      string    `json:"appId"`
	AppName    string    `json:"appName"`
	PlatformID string    `json:"platformId"`
	Name       string    `json:"name"`
	Contact    string    `json:"contact"`
	Mobile     string    `json:"mobile" doc:"masked (138****5678)"`
	Email      string    `json:"email"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ListDevelopersIn filters the developer list.
type ListDevelopersIn struct {
	ID    string `query:"id" doc:"part of the developer number"`
	Name  string `query:"name" doc:"part of the developer name"`
	AppID string `query:"appId" doc:"the owning app"`
	PageIn
}

// DeveloperIDIn names one developer.
type DeveloperIDIn struct {
	ID string `path:"developerId" json:"-"`
}

// UpdateDeveloperIn edits a developer. Name, contact and email are replaced;
// mobile is kept when absent (answers only ever carry it masked, so a form
// cannot send it back), cleared when "" and replaced otherwise.
type UpdateDeveloperIn struct {
	ID      string  `path:"developerId" json:"-"`
	Name    string  `json:"name" validate:"required,max=64"`
	Contact string  `json:"contact,omitempty" validate:"max=64"`
	Mobile  *string `json:"mobile,omitempty" doc:"absent: unchanged; empty: cleared; else an 11-digit mobile number"`
	Email   string  `json:"email,omitempty" validate:"max=128"`
}

const (
	developerFrom = "developers d JOIN apps a ON a.id = d.app_id"
	developerCols = "d.id, d.app_id, a.name, a.platform_id, d.name, d.contact, d.mobile_masked, d.email, d.created_at, d.updated_at"
)

func scanDeveloper(row pgx.Row) (Developer, error) {
	var d Developer
	err := row.Scan(&d.ID, &d.AppID, &d.AppName, &d.PlatformID, &d.Name, &d.Contact, &d.Mobile, &d.Email, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// ListDevelopers answers the developers of the apps in the caller's data
// scope, newest first.
func (s *Service) ListDevelopers(ctx context.Context, in *ListDevelopersIn) (*Page[Developer], error) {
	sc, err := s.authz.Require(ctx, "developer.read", nil)
	if err != nil {
		return nil, err
	}
	var f filter
	f.contains(in.ID, "d.id")
	f.contains(in.Name, "d.name")
	f.eq("d.app_id", in.AppID)
	f.scope(sc, appScope)
	return list(ctx, s.pool, developerFrom, developerCols, "d.created_at DESC, d.id DESC", &f, in.PageIn, scanDeveloper)
}

// GetDeveloper answers one developer, mobile masked.
func (s *Service) GetDeveloper(ctx context.Context, in *DeveloperIDIn) (*Developer, error) {
	d, res, err := s.developer(ctx, s.pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "developer.read", res); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) developer(ctx context.Context, q querier, id string, forUpdate bool) (*Developer, *policy.Resource, error) {
	sql := "SELECT " + developerCols + ", a.region_code FROM " + developerFrom + " WHERE d.id = $1"
	if forUpdate {
		sql += " FOR UPDATE OF d"
	}
	var d Developer
	var region string
	err := q.QueryRow(ctx, sql, id).Scan(&d.ID, &d.AppID, &d.AppName, &d.PlatformID, &d.Name, &d.Contact, &d.Mobile, &d.Email,
		&d.CreatedAt, &d.UpdatedAt, &region)
	if store.NoRows(err) {
		return nil, nil, fault.NotFoundf("developer %s not found", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tenancy: get developer: %w", err)
	}
	return &d, &policy.Resource{PlatformID: d.PlatformID, RegionCode: region}, nil
}

// UpdateDeveloper edits a developer in the caller's scope.
func (s *Service) UpdateDeveloper(ctx context.Context, in *UpdateDeveloperIn) (*Developer, error) {
	var out *Developer
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		_, res, err := s.developer(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if _, err := s.authz.Require(ctx, "developer.update", res); err != nil {
			return err
		}
		f := DeveloperFields{Name: in.Name, Contact: in.Contact, Email: in.Email}
		if in.Mobile != nil {
			f.Mobile = strings.TrimSpace(*in.Mobile)
		}
		if err := f.check(""); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.Exec(ctx, "UPDATE developers SET name = $2, contact = $3, email = $4, updated_at = $5 WHERE id = $1",
			in.ID, f.Name, f.Contact, f.Email, now); err != nil {
			return fmt.Errorf("tenancy: update developer: %w", err)
		}
		if in.Mobile != nil {
			sealed, masked, err := s.sealMobile(f.Mobile)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE developers SET mobile_sealed = $2, mobile_masked = $3 WHERE id = $1", in.ID, sealed, masked); err != nil {
				return fmt.Errorf("tenancy: update developer mobile: %w", err)
			}
		}
		out, _, err = s.developer(ctx, tx, in.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
