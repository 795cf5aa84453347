package openplatform

// This file holds developers' apps (应用管理) and their applications for a
// capability or for more quota (能力申请), reviewed by administrators.

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
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// PortalApp is a developer's app.
type PortalApp struct {
	AppID       string    `json:"appId" doc:"cityCodeAppId"`
	DeveloperID string    `json:"developerId"`
	Name        string    `json:"name"`
	Type        string    `json:"type" doc:"web | mobile | miniprogram | server"`
	IconURL     string    `json:"iconUrl"`
	Description string    `json:"description"`
	Status      string    `json:"status" doc:"enabled | disabled | reviewing (an application waits for review)"`
	Enabled     bool      `json:"enabled"`
	Pending     int       `json:"pendingApplications" doc:"applications waiting for review"`
	Grants      []Grant   `json:"grants" doc:"capabilities granted, with quota and period"`
	CreatedAt   time.Time `json:"createdAt"`
}

// CreatedPortalApp answers a creation with the secret, shown this once.
type CreatedPortalApp struct {
	PortalApp
	AppSecret string `json:"appSecret" doc:"the 32-byte app secret as 64 hex digits (the HMAC-SM3 key); shown only once"`
}

// NewAppIn creates an app.
type NewAppIn struct {
	Name        string `json:"name" validate:"required,max=64"`
	Type        string `json:"type" validate:"required,oneof=web mobile miniprogram server" doc:"web | mobile | miniprogram | server"`
	IconURL     string `json:"iconUrl" validate:"omitempty,max=512,url" doc:"http(s) URL of the icon"`
	Description string `json:"description" validate:"max=500"`
}

// createAppRoute creates an app for a certified developer on the main
// platform through tenancy (as the system actor: developers hold no
// console permissions), restricted to its grants from the start.
func (p *Portal) createAppRoute(ctx context.Context, in *NewAppIn) (*CreatedPortalApp, error) {
	if in.IconURL != "" && !strings.HasPrefix(in.IconURL, "https://") && !strings.HasPrefix(in.IconURL, "http://") {
		return nil, fault.Invalidf("parameter %q must be an http(s) URL", "iconUrl")
	}
	dev := developerOf(ctx)
	d, err := p.developer(ctx, p.cfg.Pool, dev)
	if err != nil {
		return nil, err
	}
	if d.Certification != ReviewApproved {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "apps are created once a qualification is approved (资质审核通过后方可创建应用)")
	}
	unit := "个人开发者 " + d.Nickname
	if d.CertKind == KindEnterprise {
		if err := p.cfg.Pool.QueryRow(ctx, `SELECT enterprise_name FROM open_qualifications WHERE developer_id = $1 AND status = 'approved'
			ORDER BY id DESC LIMIT 1`, dev).Scan(&unit); err != nil {
			return nil, err
		}
	}
	sys := actor.With(ctx, actor.System())
	created, err := p.cfg.Apps.CreateApp(sys, &tenancy.CreateAppIn{
		PlatformID: p.cfg.MainPlatformID,
		AppFields:  tenancy.AppFields{Name: strings.TrimSpace(in.Name), BusinessUnit: truncate(unit, 128), Description: in.Description},
		Developer:  tenancy.DeveloperFields{Name: truncate(d.Nickname, 64), Contact: d.Account},
	})
	if err != nil {
		return nil, err
	}
	now := p.cfg.Clock()
	err = store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO open_apps (app_id, developer_id, name, type, icon_url, description, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, created.AppID, dev, created.Name, in.Type, in.IconURL, in.Description, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_grant_modes (app_id, restricted, updated_by, updated_at) VALUES ($1, true, $2, $3)`,
			created.AppID, "developer:"+d.Account, now)
		return err
	})
	if err != nil {
		// An app the portal does not hold restricted must not live on.
		if derr := p.cfg.Apps.DeleteApp(sys, &tenancy.AppIDIn{AppID: created.AppID}); derr != nil {
			p.log.ErrorContext(ctx, "removing an app the portal could not record", "app", created.AppID, "err", derr)
		}
		return nil, err
	}
	p.cfg.Grants.invalidate()
	app, err := p.app(ctx, created.AppID)
	if err != nil {
		return nil, err
	}
	return &CreatedPortalApp{PortalApp: *app, AppSecret: created.AppSecret}, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

const appCols = `o.app_id, o.developer_id, o.name, o.type, o.icon_url, o.description, a.status = 'enabled',
	(SELECT count(*) FROM open_applications x WHERE x.app_id = o.app_id AND x.status = 'pending'), o.created_at`

func scanApp(r pgx.Row) (PortalApp, error) {
	var a PortalApp
	err := r.Scan(&a.AppID, &a.DeveloperID, &a.Name, &a.Type, &a.IconURL, &a.Description, &a.Enabled, &a.Pending, &a.CreatedAt)
	switch {
	case !a.Enabled:
		a.Status = "disabled"
	case a.Pending > 0:
		a.Status = "reviewing"
	default:
		a.Status = "enabled"
	}
	a.Grants = []Grant{}
	return a, err
}

func (p *Portal) app(ctx context.Context, appID string) (*PortalApp, error) {
	a, err := scanApp(p.cfg.Pool.QueryRow(ctx, `SELECT `+appCols+` FROM open_apps o JOIN apps a ON a.id = o.app_id WHERE o.app_id = $1`, appID))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("app %s not found", appID)
	}
	if err != nil {
		return nil, err
	}
	if err := p.withGrants(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (p *Portal) withGrants(ctx context.Context, a *PortalApp) error {
	g, err := p.cfg.Grants.grantsOf(ctx, a.AppID)
	if err != nil {
		return err
	}
	a.Grants = g.Grants
	return nil
}

// AppsIn searches the developer's apps.
type AppsIn struct {
	Keyword string `query:"keyword" validate:"max=64" doc:"part of the name or the app id"`
	Type    string `query:"type" validate:"omitempty,oneof=web mobile miniprogram server"`
	Status  string `query:"status" validate:"omitempty,oneof=enabled disabled reviewing"`
	Sort    string `query:"sort" validate:"omitempty,oneof=name -name createdAt -createdAt" doc:"name, createdAt; - for descending (default -createdAt)"`
}

// AppList is the developer's apps.
type AppList struct {
	Items []PortalApp `json:"items"`
}

func (p *Portal) appsRoute(ctx context.Context, in *AppsIn) (*AppList, error) {
	return p.appsOf(ctx, developerOf(ctx), in)
}

func (p *Portal) appsOf(ctx context.Context, dev string, in *AppsIn) (*AppList, error) {
	where, args := "o.developer_id = $1", []any{dev}
	if kw := strings.TrimSpace(in.Keyword); kw != "" {
		args = append(args, "%"+escapeLike(kw)+"%")
		where += fmt.Sprintf(" AND (o.name ILIKE $%[1]d OR o.app_id LIKE $%[1]d)", len(args))
	}
	if in.Type != "" {
		args = append(args, in.Type)
		where += fmt.Sprintf(" AND o.type = $%d", len(args))
	}
	order := map[string]string{"name": "o.name, o.app_id", "-name": "o.name DESC, o.app_id", "createdAt": "o.created_at, o.app_id",
		"-createdAt": "o.created_at DESC, o.app_id", "": "o.created_at DESC, o.app_id"}[in.Sort]
	rows, err := p.cfg.Pool.Query(ctx, `SELECT `+appCols+` FROM open_apps o JOIN apps a ON a.id = o.app_id WHERE `+where+` ORDER BY `+order+` LIMIT 500`, args...)
	if err != nil {
		return nil, err
	}
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PortalApp, error) { return scanApp(r) })
	if err != nil {
		return nil, err
	}
	out := &AppList{Items: []PortalApp{}}
	for i := range apps {
		if in.Status != "" && apps[i].Status != in.Status {
			continue
		}
		if err := p.withGrants(ctx, &apps[i]); err != nil {
			return nil, err
		}
		out.Items = append(out.Items, apps[i])
	}
	return out, nil
}

// ownApp answers NotFound for an app that is not the developer's.
func (p *Portal) ownApp(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, appID string) (name string, err error) {
	err = q.QueryRow(ctx, `SELECT name FROM open_apps WHERE app_id = $1 AND developer_id = $2`, appID, developerOf(ctx)).Scan(&name)
	if store.NoRows(err) {
		return "", fault.NotFoundf("app %s not found", appID)
	}
	return name, err
}

// PortalAppIn names one of the developer's apps.
type PortalAppIn struct {
	AppID string `path:"appId" validate:"required,max=32"`
}

func (p *Portal) appRoute(ctx context.Context, in *PortalAppIn) (*PortalApp, error) {
	if _, err := p.ownApp(ctx, p.cfg.Pool, in.AppID); err != nil {
		return nil, err
	}
	return p.app(ctx, in.AppID)
}

// ApplyIn applies for a capability, or for another quota of one granted.
type ApplyIn struct {
	AppID      string `path:"appId" validate:"required,max=32"`
	Capability string `json:"capability" validate:"required,max=64" doc:"a capability code of /open/v1/capabilities"`
	Quota      *int64 `json:"quota" validate:"omitempty,min=1,max=1000000000000" doc:"calls per period wanted; absent: unlimited"`
	Period     string `json:"period" validate:"omitempty,oneof=day month" doc:"day (default) or month"`
	Reason     string `json:"reason" validate:"required,max=500" doc:"what the app needs it for"`
}

// Application is an application for a capability.
type Application struct {
	ID             int64      `json:"id"`
	AppID          string     `json:"appId"`
	AppName        string     `json:"appName"`
	DeveloperID    string     `json:"developerId"`
	Account        string     `json:"account"`
	Capability     string     `json:"capability"`
	CapabilityName string     `json:"capabilityName"`
	Quota          *int64     `json:"quota,omitempty" doc:"absent: unlimited"`
	Period         string     `json:"period"`
	Reason         string     `json:"reason"`
	Status         string     `json:"status" doc:"pending | approved | rejected"`
	ReviewReason   string     `json:"reviewReason,omitempty"`
	ReviewedBy     string     `json:"reviewedBy,omitempty"`
	ReviewedAt     *time.Time `json:"reviewedAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
}

const applicationCols = `x.id, x.app_id, o.name, x.developer_id, d.account, x.capability, x.quota, x.period, x.reason, x.status,
	x.review_reason, x.reviewed_by, x.reviewed_at, x.created_at`

const applicationFrom = ` FROM open_applications x JOIN open_apps o ON o.app_id = x.app_id JOIN open_developers d ON d.id = x.developer_id `

func (p *Portal) scanApplication(r pgx.Row) (Application, error) {
	var a Application
	err := r.Scan(&a.ID, &a.AppID, &a.AppName, &a.DeveloperID, &a.Account, &a.Capability, &a.Quota, &a.Period, &a.Reason, &a.Status,
		&a.ReviewReason, &a.ReviewedBy, &a.ReviewedAt, &a.CreatedAt)
	a.CapabilityName = a.Capability
	if c := p.cfg.Grants.catalogue[a.Capability]; c != nil {
		a.CapabilityName = c.Name
	}
	return a, err
}

func (p *Portal) applyRoute(ctx context.Context, in *ApplyIn) (*Application, error) {
	c := p.cfg.Grants.catalogue[in.Capability]
	if c == nil {
		return nil, fault.Invalidf("parameter %q: no capability %s (see /open/v1/capabilities)", "capability", in.Capability)
	}
	if c.Basic {
		return nil, fault.Invalidf("parameter %q: every app holds %s already", "capability", in.Capability)
	}
	if in.Period == "" {
		in.Period = "day"
	}
	var ob outbox
	var out Application
	err := store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		name, err := p.ownApp(ctx, tx, in.AppID)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO open_applications (developer_id, app_id, platform_id, capability, quota, period, reason, created_at)
			SELECT $1, $2, a.platform_id, $3, $4, $5, $6, $7 FROM apps a WHERE a.id = $2 RETURNING id`,
			developerOf(ctx), in.AppID, in.Capability, in.Quota, in.Period, strings.TrimSpace(in.Reason), p.cfg.Clock()).Scan(&id)
		if store.IsUniqueViolation(err, "open_applications_one_pending") {
			return fault.Conflictf(fault.CodeFailedOperation, "an application of %s for app %s is already waiting for review", in.Capability, in.AppID)
		}
		if err != nil {
			return err
		}
		if err := p.notify(ctx, tx, &ob, developerOf(ctx), "application.submitted", map[string]string{"app": name, "capability": c.Name}); err != nil {
			return err
		}
		out, err = p.scanApplication(tx.QueryRow(ctx, `SELECT `+applicationCols+applicationFrom+`WHERE x.id = $1`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	p.deliver(ctx, &ob)
	return &out, nil
}

// ApplicationsIn filters applications.
type ApplicationsIn struct {
	AppID      string `query:"appId" validate:"max=32"`
	Capability string `query:"capability" validate:"max=64"`
	Status     string `query:"status" validate:"omitempty,oneof=pending approved rejected"`
	PageIn
}

// ApplicationPage is a page of applications.
type ApplicationPage struct {
	Total int64         `json:"total"`
	Items []Application `json:"items"`
}

func (p *Portal) myApplicationsRoute(ctx context.Context, in *ApplicationsIn) (*ApplicationPage, error) {
	return p.applications(ctx, "x.developer_id = $1", []any{developerOf(ctx)}, in)
}

func (p *Portal) applicationsRoute(ctx context.Context, in *ApplicationsIn) (*ApplicationPage, error) {
	where, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "x.platform_id"}, 1)
	return p.applications(ctx, where, args, in)
}

func (p *Portal) applications(ctx context.Context, where string, args []any, in *ApplicationsIn) (*ApplicationPage, error) {
	for _, f := range []struct{ col, v string }{{"x.app_id", in.AppID}, {"x.capability", in.Capability}, {"x.status", in.Status}} {
		if f.v != "" {
			args = append(args, f.v)
			where += fmt.Sprintf(" AND %s = $%d", f.col, len(args))
		}
	}
	out := &ApplicationPage{Items: []Application{}}
	if err := p.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM open_applications x WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := p.cfg.Pool.Query(ctx, fmt.Sprintf(`SELECT %s %s WHERE %s ORDER BY x.created_at DESC, x.id DESC LIMIT %d OFFSET %d`,
		applicationCols, applicationFrom, where, limit, offset), args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Application, error) { return p.scanApplication(r) })
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, items...)
	return out, nil
}

// ApplicationReviewIn approves or rejects an application.
type ApplicationReviewIn struct {
	ReviewIn
	Quota *int64 `json:"quota" validate:"omitempty,min=1,max=1000000000000" doc:"approve: grant this quota instead of the one applied for"`
}

// reviewApplicationRoute approves an application — its grant joins the
// app's (the quota and period replace those of a grant the app holds) and
// applies on this node at once, on the others within the grants' reload
// period — or rejects it with a reason. The developer is notified either
// way.
func (p *Portal) reviewApplicationRoute(ctx context.Context, in *ApplicationReviewIn) (*Application, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var ob outbox
	var out Application
	err := store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		var platformID string
		a, err := p.scanApplication(scanTail{tx.QueryRow(ctx, `SELECT `+applicationCols+`, x.platform_id`+applicationFrom+`WHERE x.id = $1 FOR UPDATE OF x`, in.ID), &platformID})
		if store.NoRows(err) || err == nil && !policy.ScopeFrom(ctx).Contains(platformID, "", "") {
			return fault.NotFoundf("application %d not found", in.ID)
		}
		if err != nil {
			return err
		}
		if a.Status != ReviewPending {
			return fault.Conflictf(fault.CodeFailedOperation, "application %d is already %s", in.ID, a.Status)
		}
		status, reason, now, by := ReviewRejected, strings.TrimSpace(in.Reason), p.cfg.Clock(), actor.AccountOf(ctx)
		quota := a.Quota
		if *in.Approve {
			status = ReviewApproved
			if in.Quota != nil {
				quota = in.Quota
			}
			if _, err := tx.Exec(ctx, `INSERT INTO app_capabilities (app_id, capability, quota, period, granted_by, granted_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (app_id, capability) DO UPDATE SET quota = EXCLUDED.quota, period = EXCLUDED.period,
					granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`,
				a.AppID, a.Capability, quota, a.Period, by, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE open_applications SET status = $2, review_reason = $3, reviewed_by = $4, reviewed_at = $5, quota = $6
			WHERE id = $1`, in.ID, status, reason, by, now, quota); err != nil {
			return err
		}
		q := "不限"
		if quota != nil {
			q = fmt.Sprintf("%d 次/%s", *quota, map[string]string{"day": "日", "month": "月"}[a.Period])
		}
		if err := p.notify(ctx, tx, &ob, a.DeveloperID, "application."+status,
			map[string]string{"app": a.AppName, "capability": a.CapabilityName, "quota": q, "reason": reason}); err != nil {
			return err
		}
		out, err = p.scanApplication(tx.QueryRow(ctx, `SELECT `+applicationCols+applicationFrom+`WHERE x.id = $1`, in.ID))
		return err
	})
	if err != nil {
		return nil, err
	}
	if *in.Approve {
		p.cfg.Grants.invalidate()
	}
	p.deliver(ctx, &ob)
	return &out, nil
}

func (p *Portal) capabilitiesRoute(ctx context.Context, in *CatalogueIn) (*Catalogue, error) {
	return p.cfg.Grants.catalogueRoute(ctx, in)
}
