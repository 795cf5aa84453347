package tenancy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Platform is the main platform or a sub-platform (子平台).
type Platform struct {
	ID           string    `json:"id" doc:"P0000 is the main platform; sub-platforms are P0001, P0002, ..."`
	Kind         string    `json:"kind" doc:"main | sub"`
	Name         string    `json:"name"`
	ServiceURL   string    `json:"serviceUrl" doc:"服务地址"`
	RegionCode   string    `json:"regionCode"`
	RegionName   string    `json:"regionName"`
	Contact      string    `json:"contact"`
	Description  string    `json:"description"`
	AdminAccount string    `json:"adminAccount" doc:"the administrator account created with the platform"`
	Status       string    `json:"status" doc:"enabled | disabled"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// ListPlatformsIn filters the platform list.
type ListPlatformsIn struct {
	Name   string `query:"name" doc:"part of the platform name"`
	ID     string `query:"id" doc:"part of the platform id"`
	Kind   string `query:"kind" doc:"main | sub"`
	Status string `query:"status" doc:"enabled | disabled"`
	TimeRange
	PageIn
}

// PlatformFields are a platform's editable fields; an update replaces them
// all.
type PlatformFields struct {
	Name        string `json:"name" validate:"required,max=64"`
	ServiceURL  string `json:"serviceUrl" validate:"max=512" doc:"http(s) URL of the platform's service (服务地址); required for sub-platforms"`
	RegionCode  string `json:"regionCode" validate:"required" doc:"an enabled region"`
	Contact     string `json:"contact,omitempty" validate:"max=64"`
	Description string `json:"description,omitempty" validate:"max=500"`
}

// CreatePlatformIn creates a sub-platform and its administrator.
type CreatePlatformIn struct {
	PlatformFields
	AdminAccount string `json:"adminAccount" validate:"required,max=64" doc:"操作员账户: the administrator account to create (3-64 of letters, digits, _ . @ -)"`
}

// UpdatePlatformIn replaces a platform's fields.
type UpdatePlatformIn struct {
	ID string `path:"platformId" json:"-"`
	PlatformFields
}

// PlatformIDIn names one platform.
type PlatformIDIn struct {
	ID string `path:"platformId" json:"-"`
}

// CreatedPlatform answers a creation: the platform and its administrator's
// one-time password, which is shown only in this answer.
type CreatedPlatform struct {
	Platform
	OneTimePassword string `json:"oneTimePassword" doc:"the administrator's one-time password; shown only once"`
}

const (
	platformFrom = "platforms p LEFT JOIN regions r ON r.code = p.region_code"
	platformCols = `p.id, p.kind, p.name, p.service_url, p.region_code, coalesce(r.name, ''), p.contact,
		p.description, p.admin_account, p.status, p.created_at, p.updated_at`
)

var platformScope = policy.ScopeColumns{Platform: "p.id", Region: "p.region_code"}

func scanPlatform(row pgx.Row) (Platform, error) {
	var p Platform
	err := row.Scan(&p.ID, &p.Kind, &p.Name, &p.ServiceURL, &p.RegionCode, &p.RegionName, &p.Contact,
		&p.Description, &p.AdminAccount, &p.Status, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

func (p *Platform) resource() *policy.Resource {
	return &policy.Resource{PlatformID: p.ID, RegionCode: p.RegionCode}
}

// check validates f for a platform of kind.
func (f *PlatformFields) check(kind string) error {
	f.Name, f.ServiceURL, f.RegionCode = strings.TrimSpace(f.Name), strings.TrimSpace(f.ServiceURL), strings.TrimSpace(f.RegionCode)
	f.Contact, f.Description = strings.TrimSpace(f.Contact), strings.TrimSpace(f.Description)
	var c check
	c.text("name", f.Name, true, 64)
	c.text("serviceUrl", f.ServiceURL, kind == KindSub, 512)
	if f.ServiceURL != "" {
		u, err := url.Parse(f.ServiceURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.fail(fault.Invalidf("parameter %q must be an http or https URL", "serviceUrl"))
		}
	}
	c.required("regionCode", f.RegionCode)
	c.match("regionCode", f.RegionCode, regionCodeRE, "a region code of 6, 9 or 12 digits")
	c.max("contact", f.Contact, 64)
	c.max("description", f.Description, 500)
	return c.err
}

// ListPlatforms answers the platforms in the caller's data scope: all for
// main-platform administrators, only their own for sub-platform operators.
// The main platform comes first, then the newest.
func (s *Service) ListPlatforms(ctx context.Context, in *ListPlatformsIn) (*Page[Platform], error) {
	sc, err := s.authz.Require(ctx, "platform.read", nil)
	if err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	if in.Kind != "" && in.Kind != KindMain && in.Kind != KindSub {
		c.fail(fault.Invalidf("parameter %q must be one of: main sub", "kind"))
	}
	c.fail(in.TimeRange.check())
	if c.err != nil {
		return nil, c.err
	}
	var f filter
	f.contains(in.Name, "p.name")
	f.contains(in.ID, "p.id")
	f.eq("p.kind", in.Kind)
	f.eq("p.status", in.Status)
	f.timeRange("p.created_at", in.TimeRange)
	f.scope(sc, platformScope)
	return list(ctx, s.pool, platformFrom, platformCols, "p.kind = 'main' DESC, p.created_at DESC, p.id DESC", &f, in.PageIn, scanPlatform)
}

// GetPlatform answers one platform; one outside the caller's scope is 403.
func (s *Service) GetPlatform(ctx context.Context, in *PlatformIDIn) (*Platform, error) {
	p, err := s.platform(ctx, s.pool, in.ID, lockNone)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "platform.read", p.resource()); err != nil {
		return nil, err
	}
	return p, nil
}

// Row locks of platform. Changes of a platform's status take lockUpdate,
// changes of its apps lockShare, always before locking apps, so that the
// two never interleave (an app enabled or created while its platform is
// being disabled) nor deadlock.
const (
	lockNone   = ""
	lockShare  = " FOR SHARE OF p"
	lockUpdate = " FOR UPDATE OF p"
)

// platform loads a platform with the row lock given.
func (s *Service) platform(ctx context.Context, q querier, id, lock string) (*Platform, error) {
	p, err := scanPlatform(q.QueryRow(ctx, "SELECT "+platformCols+" FROM "+platformFrom+" WHERE p.id = $1"+lock, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("platform %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: get platform: %w", err)
	}
	return &p, nil
}

// CreatePlatform creates a sub-platform and, in the same transaction, its
// administrator from in.AdminAccount through the AdminProvisioner (main
// platform only). If the account is taken nothing is stored and the answer
// is 409 ResourceAlreadyExists. The answer carries the administrator's
// one-time password, shown only once.
func (s *Service) CreatePlatform(ctx context.Context, in *CreatePlatformIn) (*CreatedPlatform, error) {
	if _, err := s.authz.Require(ctx, "platform.create", nil); err != nil {
		return nil, err
	}
	in.AdminAccount = strings.TrimSpace(in.AdminAccount)
	var c check
	c.fail(in.check(KindSub))
	c.required("adminAccount", in.AdminAccount)
	c.match("adminAccount", in.AdminAccount, accountRE, "3-64 letters, digits, _ . @ or -")
	if c.err != nil {
		return nil, c.err
	}
	if s.admins == nil {
		return nil, errors.New("tenancy: no administrator provisioner configured")
	}
	out := &CreatedPlatform{}
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.usableRegion(ctx, tx, "regionCode", in.RegionCode); err != nil {
			return err
		}
		var id string
		if err := tx.QueryRow(ctx, "SELECT 'P' || lpad(nextval('platform_number_seq')::text, 4, '0')").Scan(&id); err != nil {
			return fmt.Errorf("tenancy: platform id: %w", err)
		}
		now := s.now()
		_, err := tx.Exec(ctx, `
			INSERT INTO platforms (id, kind, name, service_url, region_code, contact, description, admin_account, created_at, updated_at)
			VALUES ($1, 'sub', $2, $3, $4, $5, $6, $7, $8, $8)`,
			id, in.Name, in.ServiceURL, in.RegionCode, in.Contact, in.Description, in.AdminAccount, now)
		switch {
		case store.IsUniqueViolation(err, "platforms_name_key"):
			return fault.Conflictf(fault.CodeResourceAlreadyExists, "a platform named %q already exists", in.Name)
		case store.IsForeignKeyViolation(err):
			return fault.Invalidf("parameter %q: region %s does not exist", "regionCode", in.RegionCode)
		case err != nil:
			return fmt.Errorf("tenancy: insert platform: %w", err)
		}
		// The administrator administers the whole platform: it is not a
		// region account, whatever region the platform serves.
		pw, err := s.admins.CreatePlatformAdmin(ctx, tx, id, in.AdminAccount, "")
		if err != nil {
			if errors.Is(err, ErrAdminAccountTaken) || store.IsUniqueViolation(err, "") {
				return fault.Conflictf(fault.CodeResourceAlreadyExists, "the account %q already exists; choose another adminAccount", in.AdminAccount)
			}
			if _, ok := fault.As(err); ok {
				return err
			}
			return fmt.Errorf("tenancy: create platform administrator: %w", err)
		}
		p, err := s.platform(ctx, tx, id, lockNone)
		if err != nil {
			return err
		}
		out.Platform, out.OneTimePassword = *p, pw
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePlatform replaces a platform's fields. Main-platform administrators
// may edit every platform, a sub-platform's operators only their own.
func (s *Service) UpdatePlatform(ctx context.Context, in *UpdatePlatformIn) (*Platform, error) {
	old, err := s.platform(ctx, s.pool, in.ID, lockNone)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "platform.update", old.resource()); err != nil {
		return nil, err
	}
	if err := in.check(old.Kind); err != nil {
		return nil, err
	}
	if in.RegionCode != old.RegionCode {
		// A region account may not move a platform out of its region.
		if _, err := s.authz.Require(ctx, "platform.update", &policy.Resource{PlatformID: old.ID, RegionCode: in.RegionCode}); err != nil {
			return nil, err
		}
		if err := s.usableRegion(ctx, s.pool, "regionCode", in.RegionCode); err != nil {
			return nil, err
		}
	}
	_, err = s.pool.Exec(ctx, `
		UPDATE platforms SET name = $2, service_url = $3, region_code = $4, contact = $5, description = $6, updated_at = $7
		WHERE id = $1`, in.ID, in.Name, in.ServiceURL, in.RegionCode, in.Contact, in.Description, s.now())
	switch {
	case store.IsUniqueViolation(err, "platforms_name_key"):
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "a platform named %q already exists", in.Name)
	case store.IsForeignKeyViolation(err):
		return nil, fault.Invalidf("parameter %q: region %s does not exist", "regionCode", in.RegionCode)
	case err != nil:
		return nil, fmt.Errorf("tenancy: update platform: %w", err)
	}
	return s.platform(ctx, s.pool, in.ID, lockNone)
}

// DeletePlatform deletes a sub-platform and its departments (main platform
// only). The main platform is never deleted (FailedOperation); a platform
// that still has apps is refused with ResourceInUse.
func (s *Service) DeletePlatform(ctx context.Context, in *PlatformIDIn) error {
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := s.lockSubPlatform(ctx, tx, in.ID, "platform.delete", "deleted")
		if err != nil {
			return err
		}
		var apps int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM apps WHERE platform_id = $1", p.ID).Scan(&apps); err != nil {
			return fmt.Errorf("tenancy: count apps: %w", err)
		}
		if apps > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "platform %s still has %d apps; delete them first", p.ID, apps)
		}
		_, err = tx.Exec(ctx, "DELETE FROM platforms WHERE id = $1", p.ID)
		if store.IsForeignKeyViolation(err) {
			return fault.Conflictf(fault.CodeResourceInUse, "platform %s is still referenced by other records", p.ID)
		}
		if err != nil {
			return fmt.Errorf("tenancy: delete platform: %w", err)
		}
		return nil
	})
}

// lockSubPlatform loads and locks a platform for a main-only action,
// refusing the main platform with FailedOperation.
func (s *Service) lockSubPlatform(ctx context.Context, tx pgx.Tx, id, action, verb string) (*Platform, error) {
	p, err := s.platform(ctx, tx, id, lockUpdate)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, action, p.resource()); err != nil {
		return nil, err
	}
	if p.Kind == KindMain {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "the main platform cannot be %s", verb)
	}
	return p, nil
}

// DisablePlatform disables a sub-platform and every app of it (main platform
// only). It is refused with FailedOperation, naming the apps, while any of
// its apps is listed on the citizen side (C端上架). The main platform cannot
// be disabled.
func (s *Service) DisablePlatform(ctx context.Context, in *PlatformIDIn) (*Platform, error) {
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := s.lockSubPlatform(ctx, tx, in.ID, "platform.disable", "disabled")
		if err != nil {
			return err
		}
		// Locking the apps keeps a listing from slipping in before they are
		// disabled.
		rows, err := tx.Query(ctx, "SELECT id, name, c_listed FROM apps WHERE platform_id = $1 ORDER BY name FOR UPDATE", p.ID)
		if err != nil {
			return fmt.Errorf("tenancy: platform apps: %w", err)
		}
		var listed []string
		for rows.Next() {
			var id, name string
			var isListed bool
			if err := rows.Scan(&id, &name, &isListed); err != nil {
				rows.Close()
				return fmt.Errorf("tenancy: platform apps: %w", err)
			}
			if isListed {
				listed = append(listed, fmt.Sprintf("%s (%s)", name, id))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("tenancy: platform apps: %w", err)
		}
		if len(listed) > 0 {
			return fault.Conflictf(fault.CodeFailedOperation,
				"platform %s has apps listed on the citizen side (C端上架); unlist them first: %s", p.ID, strings.Join(listed, ", "))
		}
		now := s.now()
		if _, err := tx.Exec(ctx, "UPDATE platforms SET status = 'disabled', updated_at = $2 WHERE id = $1", p.ID, now); err != nil {
			return fmt.Errorf("tenancy: disable platform: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE apps SET status = 'disabled', updated_at = $2 WHERE platform_id = $1 AND status <> 'disabled'", p.ID, now); err != nil {
			return fmt.Errorf("tenancy: disable apps: %w", err)
		}
		return nil
	})
	s.secrets.invalidatePlatform(in.ID)
	if err != nil {
		return nil, err
	}
	return s.platform(ctx, s.pool, in.ID, lockNone)
}

// EnablePlatform re-enables a sub-platform (main platform only). Its apps
// keep their own status: those disabled with the platform stay disabled
// until enabled one by one.
func (s *Service) EnablePlatform(ctx context.Context, in *PlatformIDIn) (*Platform, error) {
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := s.lockSubPlatform(ctx, tx, in.ID, "platform.enable", "enabled or disabled")
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE platforms SET status = 'enabled', updated_at = $2 WHERE id = $1", p.ID, s.now()); err != nil {
			return fmt.Errorf("tenancy: enable platform: %w", err)
		}
		return nil
	})
	s.secrets.invalidatePlatform(in.ID)
	if err != nil {
		return nil, err
	}
	return s.platform(ctx, s.pool, in.ID, lockNone)
}

// Counts answers how many sub-platforms and apps lie in the data scope that
// the HTTP layer put in ctx for the calling route (policy.ScopeFrom), for the
// workbench. Without a scope in ctx it counts nothing.
func (s *Service) Counts(ctx context.Context) (subPlatforms, apps int64, err error) {
	sc := policy.ScopeFrom(ctx)
	// One filter numbers the arguments of both sub-queries.
	var f filter
	f.add("p.kind = 'sub'")
	f.scope(sc, platformScope)
	platformWhere := f.where()
	f.conds = nil
	f.scope(sc, appScope)
	err = s.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM platforms p"+platformWhere+"), (SELECT count(*) FROM apps a"+f.where()+")",
		f.args...).Scan(&subPlatforms, &apps)
	if err != nil {
		return 0, 0, fmt.Errorf("tenancy: counts: %w", err)
	}
	return subPlatforms, apps, nil
}
