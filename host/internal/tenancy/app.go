package tenancy

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Seal purposes of the secrets this package stores.
const (
	purposeAppSecret = "app-secret"
	purposeDataKey   = "app-data-key"
	purposeMobile    = "developer-mobile"
)

// Key sizes.
const (
	appSecretBytes = 32
	dataKeyBytes   = 16
)

// App is an app of a platform (应用). Its secret and data key are never
// answered except once, when created or rotated.
type App struct {
	AppID        string     `json:"appId" doc:"cityCodeAppId: \"cc\" and 16 lowercase hex digits"`
	PlatformID   string     `json:"platformId"`
	PlatformName string     `json:"platformName"`
	Name         string     `json:"name"`
	BusinessUnit string     `json:"businessUnit" doc:"业务管理单位"`
	IndustryCode string     `json:"industryCode"`
	IndustryName string     `json:"industryName"`
	RegionCode   string     `json:"regionCode"`
	RegionName   string     `json:"regionName"`
	Description  string     `json:"description"`
	Status       string     `json:"status" doc:"enabled | disabled"`
	CListed      bool       `json:"cListed" doc:"listed on the citizen side (C端上架)"`
	SM2PublicKey string     `json:"sm2PublicKey" doc:"the app's SM2 public key for SM2-signed requests; empty when none"`
	HasDataKey   bool       `json:"hasDataKey" doc:"whether an SM4 data key for encrypted bodies is set"`
	Developer    *Developer `json:"developer"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
}

// ListAppsIn filters the app list.
type ListAppsIn struct {
	Name         string `query:"name" doc:"part of the app name"`
	AppID        string `query:"appId" doc:"part of the app id"`
	PlatformID   string `query:"platformId"`
	IndustryCode string `query:"industryCode"`
	Status       string `query:"status" doc:"enabled | disabled"`
	TimeRange
	PageIn
}

// AppFields are an app's editable fields; an update replaces them all.
type AppFields struct {
	Name         string `json:"name" validate:"required,max=64"`
	BusinessUnit string `json:"businessUnit" validate:"required,max=128" doc:"业务管理单位"`
	IndustryCode string `json:"industryCode,omitempty" doc:"an enabled industry; empty for none"`
	RegionCode   string `json:"regionCode,omitempty" doc:"an enabled region; empty: the platform's region at creation, unchanged on update"`
	Description  string `json:"description,omitempty" validate:"max=500"`
}

// DeveloperFields are a developer's editable fields. Mobile is personal
// data: stored sealed and answered masked.
type DeveloperFields struct {
	Name    string `json:"name" doc:"开发者名称, required, max 64"`
	Contact string `json:"contact,omitempty" doc:"contact person, max 64"`
	Mobile  string `json:"mobile,omitempty" doc:"mainland mobile number (11 digits)"`
	Email   string `json:"email,omitempty" doc:"max 128"`
}

// CreateAppIn creates an app with its developer.
type CreateAppIn struct {
	PlatformID string `json:"platformId,omitempty" doc:"default: the caller's platform; operators of a sub-platform may only name their own"`
	AppFields
	Developer       DeveloperFields `json:"developer" doc:"the app's one developer"`
	SM2PublicKey    string          `json:"sm2PublicKey,omitempty" doc:"optional SM2 public key (PEM, or hex/base64 of the DER or of the point)"`
	GenerateDataKey bool            `json:"generateDataKey,omitempty" doc:"generate an SM4 data key for encrypted bodies, shown once"`
}

// CreatedApp answers a creation with the secrets shown only this once.
type CreatedApp struct {
	App
	AppSecret string `json:"appSecret" doc:"the 32-byte app secret as 64 lowercase hex digits; the HMAC-SM3 key is the decoded 32 bytes; shown only once"`
	DataKey   string `json:"dataKey,omitempty" doc:"the 16-byte SM4 data key as 32 lowercase hex digits, when generated; shown only once"`
}

// UpdateAppIn replaces an app's fields.
type UpdateAppIn struct {
	AppID string `path:"appId" json:"-"`
	AppFields
}

// AppIDIn names one app.
type AppIDIn struct {
	AppID string `path:"appId" json:"-"`
}

// ListingIn lists or unlists an app on the citizen side.
type ListingIn struct {
	AppID  string `path:"appId" json:"-"`
	Listed *bool  `json:"listed" validate:"required" doc:"true: list on the citizen side (C端上架); false: unlist"`
}

// SM2KeyIn sets an app's SM2 public key.
type SM2KeyIn struct {
	AppID     string `path:"appId" json:"-"`
	PublicKey string `json:"publicKey" validate:"required,max=4096" doc:"PEM, or hex/base64 of the DER or of the point 04||X||Y"`
}

// AppKey answers a rotated secret or a generated data key, shown only once.
type AppKey struct {
	AppID     string `json:"appId"`
	AppSecret string `json:"appSecret,omitempty" doc:"the new secret as 64 lowercase hex digits; the old one stops working at once"`
	DataKey   string `json:"dataKey,omitempty" doc:"the new SM4 data key as 32 lowercase hex digits"`
}

const (
	appFrom = `apps a JOIN platforms p ON p.id = a.platform_id
		LEFT JOIN industries i ON i.code = a.industry_code
		LEFT JOIN regions r ON r.code = a.region_code
		LEFT JOIN developers d ON d.app_id = a.id`
	appCols = `a.id, a.platform_id, p.name, a.name, a.business_unit, coalesce(a.industry_code, ''), coalesce(i.name, ''),
		a.region_code, coalesce(r.name, ''), a.description, a.status, a.c_listed, a.sm2_public_key, a.data_key_sealed <> '',
		a.created_at, a.updated_at,
		d.id, coalesce(d.name, ''), coalesce(d.contact, ''), coalesce(d.mobile_masked, ''), coalesce(d.email, ''), d.created_at, d.updated_at`
)

var appScope = policy.ScopeColumns{Platform: "a.platform_id", Region: "a.region_code"}

func scanApp(row pgx.Row) (App, error) {
	var a App
	var d Developer
	var devID *string
	var devCreated, devUpdated *time.Time
	err := row.Scan(&a.AppID, &a.PlatformID, &a.PlatformName, &a.Name, &a.BusinessUnit, &a.IndustryCode, &a.IndustryName,
		&a.RegionCode, &a.RegionName, &a.Description, &a.Status, &a.CListed, &a.SM2PublicKey, &a.HasDataKey,
		&a.CreatedAt, &a.UpdatedAt,
		&devID, &d.Name, &d.Contact, &d.Mobile, &d.Email, &devCreated, &devUpdated)
	if err != nil || devID == nil {
		return a, err
	}
	d.ID, d.AppID, d.AppName, d.PlatformID = *devID, a.AppID, a.Name, a.PlatformID
	d.CreatedAt, d.UpdatedAt = *devCreated, *devUpdated
	a.Developer = &d
	return a, nil
}

func (a *App) resource() *policy.Resource {
	return &policy.Resource{PlatformID: a.PlatformID, RegionCode: a.RegionCode}
}

func (f *AppFields) check() error {
	f.Name, f.BusinessUnit = strings.TrimSpace(f.Name), strings.TrimSpace(f.BusinessUnit)
	f.IndustryCode, f.RegionCode, f.Description = strings.TrimSpace(f.IndustryCode), strings.TrimSpace(f.RegionCode), strings.TrimSpace(f.Description)
	var c check
	c.text("name", f.Name, true, 64)
	c.text("businessUnit", f.BusinessUnit, true, 128)
	c.match("industryCode", f.IndustryCode, industryCodeRE, "an industry code")
	c.match("regionCode", f.RegionCode, regionCodeRE, "a region code of 6, 9 or 12 digits")
	c.max("description", f.Description, 500)
	return c.err
}

// check validates the developer fields; prefix names them in errors.
func (f *DeveloperFields) check(prefix string) error {
	f.Name, f.Contact, f.Mobile, f.Email = strings.TrimSpace(f.Name), strings.TrimSpace(f.Contact), strings.TrimSpace(f.Mobile), strings.TrimSpace(f.Email)
	var c check
	c.text(prefix+"name", f.Name, true, 64)
	c.max(prefix+"contact", f.Contact, 64)
	c.match(prefix+"mobile", f.Mobile, mobileRE, "a mobile number of 11 digits")
	c.max(prefix+"email", f.Email, 128)
	c.match(prefix+"email", f.Email, emailRE, "an email address")
	return c.err
}

// checkSM2Key validates a pasted SM2 public key.
func checkSM2Key(param, key string) error {
	if len(key) > 4096 {
		return fault.Invalidf("parameter %q is too long (max 4096 characters)", param)
	}
	if _, err := codec.ParseSM2PublicKey(key); err != nil {
		return fault.Invalidf("parameter %q is not an SM2 public key", param)
	}
	return nil
}

// ListApps answers the apps in the caller's data scope: every app for
// main-platform administrators, the platform's apps for its operators, and
// for region accounts the apps whose region code starts with theirs.
func (s *Service) ListApps(ctx context.Context, in *ListAppsIn) (*Page[App], error) {
	sc, err := s.authz.Require(ctx, "app.read", nil)
	if err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	c.fail(in.TimeRange.check())
	if c.err != nil {
		return nil, c.err
	}
	var f filter
	f.contains(in.Name, "a.name")
	f.contains(in.AppID, "a.id")
	f.eq("a.platform_id", in.PlatformID)
	f.eq("a.industry_code", in.IndustryCode)
	f.eq("a.status", in.Status)
	f.timeRange("a.created_at", in.TimeRange)
	f.scope(sc, appScope)
	return list(ctx, s.pool, appFrom, appCols, "a.created_at DESC, a.id", &f, in.PageIn, scanApp)
}

// GetApp answers one app with its platform's name and its developer (mobile
// masked); an app outside the caller's scope is 403.
func (s *Service) GetApp(ctx context.Context, in *AppIDIn) (*App, error) {
	a, err := s.app(ctx, s.pool, in.AppID)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "app.read", a.resource()); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Service) app(ctx context.Context, q querier, id string) (*App, error) {
	a, err := scanApp(q.QueryRow(ctx, "SELECT "+appCols+" FROM "+appFrom+" WHERE a.id = $1", id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("app %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: get app: %w", err)
	}
	return &a, nil
}

// CreateApp creates an app and its developer in a platform, enabled and not
// listed. The platform defaults to the caller's; operators of a sub-platform
// may create apps only in their own (403 otherwise), and the platform must be
// enabled. The answer shows the app secret (and the data key when
// GenerateDataKey) this once; they are stored only sealed.
func (s *Service) CreateApp(ctx context.Context, in *CreateAppIn) (*CreatedApp, error) {
	if _, err := s.authz.Require(ctx, "app.create", nil); err != nil {
		return nil, err
	}
	in.PlatformID, in.SM2PublicKey = strings.TrimSpace(in.PlatformID), strings.TrimSpace(in.SM2PublicKey)
	if in.PlatformID == "" {
		in.PlatformID = MainPlatformID
		if a := actor.From(ctx); a != nil && a.PlatformID != "" {
			in.PlatformID = a.PlatformID
		}
	}
	var c check
	c.match("platformId", in.PlatformID, platformIDRE, "a platform id such as P0001")
	c.fail(in.AppFields.check())
	c.fail(in.Developer.check("developer."))
	if c.err == nil && in.SM2PublicKey != "" {
		c.fail(checkSM2Key("sm2PublicKey", in.SM2PublicKey))
	}
	if c.err != nil {
		return nil, c.err
	}

	out := &CreatedApp{}
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := s.platform(ctx, tx, in.PlatformID, lockShare)
		if fault.KindOf(err) == fault.NotFound {
			// Outsiders learn nothing about other platforms' ids.
			if _, err := s.authz.Require(ctx, "app.create", &policy.Resource{PlatformID: in.PlatformID}); err != nil {
				return err
			}
			return fault.Invalidf("parameter %q: platform %s does not exist", "platformId", in.PlatformID)
		}
		if err != nil {
			return err
		}
		if in.RegionCode == "" {
			in.RegionCode = p.RegionCode
		}
		if _, err := s.authz.Require(ctx, "app.create", &policy.Resource{PlatformID: p.ID, RegionCode: in.RegionCode}); err != nil {
			return err
		}
		if p.Status != StatusEnabled {
			return fault.Conflictf(fault.CodeFailedOperation, "platform %s is disabled; enable it before creating apps", p.ID)
		}
		if err := s.usableRegion(ctx, tx, "regionCode", in.RegionCode); err != nil {
			return err
		}
		if err := s.usableIndustry(ctx, tx, in.IndustryCode); err != nil {
			return err
		}
		idBytes, err := s.random(8)
		if err != nil {
			return err
		}
		secret, err := s.random(appSecretBytes)
		if err != nil {
			return err
		}
		sealedSecret, err := s.sealer.Seal(secret, purposeAppSecret)
		if err != nil {
			return fmt.Errorf("tenancy: seal secret: %w", err)
		}
		var dataKey []byte
		sealedKey := ""
		if in.GenerateDataKey {
			if dataKey, err = s.random(dataKeyBytes); err != nil {
				return err
			}
			if sealedKey, err = s.sealer.Seal(dataKey, purposeDataKey); err != nil {
				return fmt.Errorf("tenancy: seal data key: %w", err)
			}
		}
		mobileSealed, mobileMasked, err := s.sealMobile(in.Developer.Mobile)
		if err != nil {
			return err
		}
		id, now := "cc"+hex.EncodeToString(idBytes), s.now()
		_, err = tx.Exec(ctx, `
			INSERT INTO apps (id, platform_id, name, business_unit, industry_code, region_code, description,
				secret_sealed, sm2_public_key, data_key_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, p.ID, in.Name, in.BusinessUnit, nullIf(in.IndustryCode), in.RegionCode, in.Description,
			sealedSecret, in.SM2PublicKey, sealedKey, now)
		switch {
		case store.IsUniqueViolation(err, "apps_platform_name_key"):
			return fault.Conflictf(fault.CodeResourceAlreadyExists, "platform %s already has an app named %q", p.ID, in.Name)
		case store.IsForeignKeyViolation(err):
			return fault.Invalidf("the platform, region or industry of the app no longer exists")
		case err != nil:
			return fmt.Errorf("tenancy: insert app: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO developers (id, app_id, name, contact, mobile_sealed, mobile_masked, email, created_at, updated_at)
			VALUES ('D' || lpad(nextval('developer_number_seq')::text, 8, '0'), $1, $2, $3, $4, $5, $6, $7, $7)`,
			id, in.Developer.Name, in.Developer.Contact, mobileSealed, mobileMasked, in.Developer.Email, now); err != nil {
			return fmt.Errorf("tenancy: insert developer: %w", err)
		}
		a, err := s.app(ctx, tx, id)
		if err != nil {
			return err
		}
		out.App, out.AppSecret = *a, hex.EncodeToString(secret)
		if dataKey != nil {
			out.DataKey = hex.EncodeToString(dataKey)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.secrets.invalidate(out.AppID) // drop a cached "not found"
	return out, nil
}

// sealMobile seals a mobile number and masks it (138****5678); "" stays "".
func (s *Service) sealMobile(mobile string) (sealed, masked string, err error) {
	if mobile == "" {
		return "", "", nil
	}
	if sealed, err = s.sealer.Seal([]byte(mobile), purposeMobile); err != nil {
		return "", "", fmt.Errorf("tenancy: seal mobile: %w", err)
	}
	return sealed, mobile[:3] + "****" + mobile[len(mobile)-4:], nil
}

// appState is what app mutations decide on, read under a row lock.
type appState struct {
	id, platformID, regionCode, industryCode, status, name string
	listed                                                 bool
	platformStatus                                         string
}

func (a *appState) resource() *policy.Resource {
	return &policy.Resource{PlatformID: a.platformID, RegionCode: a.regionCode}
}

// mutateApp runs fn on the locked app after authorizing action on it, then
// drops the app from the secrets cache. It answers the app as changed, or
// nil when fn deleted it.
func (s *Service) mutateApp(ctx context.Context, appID, action string, fn func(tx pgx.Tx, a *appState) error) (*App, error) {
	var out *App
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		var a appState
		notFound := fault.NotFoundf("app %s not found", appID)
		// The platform first, as its status changes lock it (see lockShare).
		err := tx.QueryRow(ctx, "SELECT status FROM platforms WHERE id = (SELECT platform_id FROM apps WHERE id = $1) FOR SHARE",
			appID).Scan(&a.platformStatus)
		if store.NoRows(err) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("tenancy: lock platform of app: %w", err)
		}
		err = tx.QueryRow(ctx, `
			SELECT id, platform_id, region_code, coalesce(industry_code, ''), status, name, c_listed
			FROM apps WHERE id = $1 FOR UPDATE`, appID).
			Scan(&a.id, &a.platformID, &a.regionCode, &a.industryCode, &a.status, &a.name, &a.listed)
		if store.NoRows(err) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("tenancy: lock app: %w", err)
		}
		if _, err := s.authz.Require(ctx, action, a.resource()); err != nil {
			return err
		}
		if err := fn(tx, &a); err != nil {
			return err
		}
		out, err = s.app(ctx, tx, appID)
		if fault.KindOf(err) == fault.NotFound {
			out, err = nil, nil
		}
		return err
	})
	s.secrets.invalidate(appID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateApp replaces an app's fields. Moving it to another region needs the
// caller's scope to cover the new region too.
func (s *Service) UpdateApp(ctx context.Context, in *UpdateAppIn) (*App, error) {
	return s.mutateApp(ctx, in.AppID, "app.update", func(tx pgx.Tx, a *appState) error {
		if err := in.AppFields.check(); err != nil {
			return err
		}
		if in.RegionCode == "" {
			in.RegionCode = a.regionCode
		}
		if in.RegionCode != a.regionCode {
			if _, err := s.authz.Require(ctx, "app.update", &policy.Resource{PlatformID: a.platformID, RegionCode: in.RegionCode}); err != nil {
				return err
			}
			if err := s.usableRegion(ctx, tx, "regionCode", in.RegionCode); err != nil {
				return err
			}
		}
		if in.IndustryCode != a.industryCode {
			if err := s.usableIndustry(ctx, tx, in.IndustryCode); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `
			UPDATE apps SET name = $2, business_unit = $3, industry_code = $4, region_code = $5, description = $6, updated_at = $7
			WHERE id = $1`, a.id, in.Name, in.BusinessUnit, nullIf(in.IndustryCode), in.RegionCode, in.Description, s.now())
		switch {
		case store.IsUniqueViolation(err, "apps_platform_name_key"):
			return fault.Conflictf(fault.CodeResourceAlreadyExists, "platform %s already has an app named %q", a.platformID, in.Name)
		case store.IsForeignKeyViolation(err):
			return fault.Invalidf("the region or industry of the app no longer exists")
		case err != nil:
			return fmt.Errorf("tenancy: update app: %w", err)
		}
		return nil
	})
}

// SetListing lists or unlists an app on the citizen side (C端上架). Only an
// enabled app of an enabled platform may be listed; a listed app can be
// neither disabled nor have its platform disabled.
func (s *Service) SetListing(ctx context.Context, in *ListingIn) (*App, error) {
	if in.Listed == nil {
		return nil, fault.Missing("listed")
	}
	return s.mutateApp(ctx, in.AppID, "app.update", func(tx pgx.Tx, a *appState) error {
		if *in.Listed && (a.status != StatusEnabled || a.platformStatus != StatusEnabled) {
			return fault.Conflictf(fault.CodeFailedOperation, "app %s or its platform is disabled; only enabled apps can be listed", a.id)
		}
		_, err := tx.Exec(ctx, "UPDATE apps SET c_listed = $2, updated_at = $3 WHERE id = $1", a.id, *in.Listed, s.now())
		if err != nil {
			return fmt.Errorf("tenancy: set listing: %w", err)
		}
		return nil
	})
}

// EnableApp enables an app; the apps of a disabled platform stay disabled
// (FailedOperation) until the platform is enabled.
func (s *Service) EnableApp(ctx context.Context, in *AppIDIn) (*App, error) {
	return s.mutateApp(ctx, in.AppID, "app.enable", func(tx pgx.Tx, a *appState) error {
		if a.platformStatus != StatusEnabled {
			return fault.Conflictf(fault.CodeFailedOperation, "platform %s of app %s is disabled; enable the platform first", a.platformID, a.id)
		}
		return s.setAppStatus(ctx, tx, a.id, StatusEnabled)
	})
}

// DisableApp disables an app; an app listed on the citizen side (C端上架)
// must be unlisted first (FailedOperation). A disabled app's signed calls are
// refused at once on this host and within the secrets cache TTL on others.
func (s *Service) DisableApp(ctx context.Context, in *AppIDIn) (*App, error) {
	return s.mutateApp(ctx, in.AppID, "app.disable", func(tx pgx.Tx, a *appState) error {
		if a.listed {
			return fault.Conflictf(fault.CodeFailedOperation, "app %s (%s) is listed on the citizen side (C端上架); unlist it before disabling", a.name, a.id)
		}
		return s.setAppStatus(ctx, tx, a.id, StatusDisabled)
	})
}

func (s *Service) setAppStatus(ctx context.Context, tx pgx.Tx, id, status string) error {
	if _, err := tx.Exec(ctx, "UPDATE apps SET status = $2, updated_at = $3 WHERE id = $1", id, status, s.now()); err != nil {
		return fmt.Errorf("tenancy: set app status: %w", err)
	}
	return nil
}

// DeleteApp deletes a disabled app and its developer; an enabled app is
// refused with FailedOperation.
func (s *Service) DeleteApp(ctx context.Context, in *AppIDIn) error {
	_, err := s.mutateApp(ctx, in.AppID, "app.delete", func(tx pgx.Tx, a *appState) error {
		if a.status != StatusDisabled {
			return fault.Conflictf(fault.CodeFailedOperation, "app %s is enabled; disable it before deleting", a.id)
		}
		_, err := tx.Exec(ctx, "DELETE FROM apps WHERE id = $1", a.id)
		if store.IsForeignKeyViolation(err) {
			return fault.Conflictf(fault.CodeResourceInUse, "app %s is still referenced by other records", a.id)
		}
		if err != nil {
			return fmt.Errorf("tenancy: delete app: %w", err)
		}
		return nil
	})
	return err
}

// RotateSecret replaces an app's secret and answers the new one, shown only
// this once. The old secret stops working at once on this host and within
// the secrets cache TTL on others.
func (s *Service) RotateSecret(ctx context.Context, in *AppIDIn) (*AppKey, error) {
	out := &AppKey{AppID: in.AppID}
	_, err := s.mutateApp(ctx, in.AppID, "app.secret", func(tx pgx.Tx, a *appState) error {
		secret, err := s.random(appSecretBytes)
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(secret, purposeAppSecret)
		if err != nil {
			return fmt.Errorf("tenancy: seal secret: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE apps SET secret_sealed = $2, updated_at = $3 WHERE id = $1", a.id, sealed, s.now()); err != nil {
			return fmt.Errorf("tenancy: rotate secret: %w", err)
		}
		out.AppSecret = hex.EncodeToString(secret)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GenerateDataKey replaces (or sets) an app's SM4 data key for encrypted
// bodies and answers it, shown only this once.
func (s *Service) GenerateDataKey(ctx context.Context, in *AppIDIn) (*AppKey, error) {
	out := &AppKey{AppID: in.AppID}
	_, err := s.mutateApp(ctx, in.AppID, "app.secret", func(tx pgx.Tx, a *appState) error {
		key, err := s.random(dataKeyBytes)
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(key, purposeDataKey)
		if err != nil {
			return fmt.Errorf("tenancy: seal data key: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE apps SET data_key_sealed = $2, updated_at = $3 WHERE id = $1", a.id, sealed, s.now()); err != nil {
			return fmt.Errorf("tenancy: set data key: %w", err)
		}
		out.DataKey = hex.EncodeToString(key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClearDataKey removes an app's data key; encrypted bodies are then refused.
func (s *Service) ClearDataKey(ctx context.Context, in *AppIDIn) (*App, error) {
	return s.setAppColumn(ctx, in.AppID, "data_key_sealed", "")
}

// SetSM2Key sets the SM2 public key an app signs with (X-CityCode-SignMethod: SM2).
func (s *Service) SetSM2Key(ctx context.Context, in *SM2KeyIn) (*App, error) {
	in.PublicKey = strings.TrimSpace(in.PublicKey)
	if in.PublicKey == "" {
		return nil, fault.Missing("publicKey")
	}
	if err := checkSM2Key("publicKey", in.PublicKey); err != nil {
		return nil, err
	}
	return s.setAppColumn(ctx, in.AppID, "sm2_public_key", in.PublicKey)
}

// ClearSM2Key removes an app's SM2 public key; SM2-signed calls are then refused.
func (s *Service) ClearSM2Key(ctx context.Context, in *AppIDIn) (*App, error) {
	return s.setAppColumn(ctx, in.AppID, "sm2_public_key", "")
}

// setAppColumn sets one key column (a constant of this file) under app.secret.
func (s *Service) setAppColumn(ctx context.Context, appID, col, v string) (*App, error) {
	return s.mutateApp(ctx, appID, "app.secret", func(tx pgx.Tx, a *appState) error {
		if _, err := tx.Exec(ctx, "UPDATE apps SET "+col+" = $2, updated_at = $3 WHERE id = $1", a.id, v, s.now()); err != nil {
			return fmt.Errorf("tenancy: set %s: %w", col, err)
		}
		return nil
	})
}
