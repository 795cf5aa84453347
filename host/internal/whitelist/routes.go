package whitelist

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Routes declares the console's management of the lists and the apps'
// query API.
func (s *Service) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/whitelists", s.listRoute).
			Doc("白名单列表", "Scan (扫码白名单) or service (服务白名单) whitelist entries of the platforms in the caller's scope, by kind and keyword.").
			Tag("whitelists").Console("whitelist.read"),
		httpapi.Handle(http.MethodPost, "/console/whitelists", s.createRoute).
			Doc("新增白名单", "Adds a domain (svc.example.cn, or *.example.cn for its subdomains) to a platform's scan or service whitelist; a main-platform entry holds for every platform.").
			Tag("whitelists").Console("whitelist.create"),
		httpapi.Handle(http.MethodDelete, "/console/whitelists/:id", s.deleteRoute).
			Doc("删除白名单", "Removes an entry.").
			Tag("whitelists").Console("whitelist.delete"),
		httpapi.Handle(http.MethodGet, "/openapi/v1/whitelists", s.appListRoute).
			Doc("白名单查询", "The domains on the app's platform's scan or service whitelist (a scanner recognizes codes of the scan whitelist's domains).").
			Tag("whitelists").App().Reads(),
		httpapi.Handle(http.MethodPost, "/openapi/v1/whitelists/check", s.checkRoute).
			Doc("白名单校验", "Whether a URL is on the app's platform's scan or service whitelist, and the entry that matched.").
			Tag("whitelists").App().Reads(),
	}
}

// Entry is one whitelisted domain.
type Entry struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	PlatformID string    `json:"platformId"`
	Domain     string    `json:"domain"`
	Note       string    `json:"note,omitempty"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
}

// EntryList is a list of entries.
type EntryList struct {
	Items []Entry `json:"items"`
}

// ListIn filters entries.
type ListIn struct {
	Kind    string `query:"kind" validate:"omitempty,oneof=scan service"`
	Keyword string `query:"keyword" validate:"max=100"`
}

func (s *Service) listRoute(ctx context.Context, in *ListIn) (*EntryList, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, kind, platform_id, domain, note, created_by, created_at FROM whitelist_entries
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR strpos(domain, lower($2)) > 0) ORDER BY kind, domain`, in.Kind, in.Keyword)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		return e, r.Scan(&e.ID, &e.Kind, &e.PlatformID, &e.Domain, &e.Note, &e.CreatedBy, &e.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	scope := policy.ScopeFrom(ctx)
	out := &EntryList{Items: []Entry{}}
	for _, e := range all {
		// The main platform's entries hold everywhere, so everyone sees them.
		if e.PlatformID == s.cfg.MainPlatformID || scope.Contains(e.PlatformID, "", "") {
			out.Items = append(out.Items, e)
		}
	}
	return out, nil
}

// CreateIn adds an entry.
type CreateIn struct {
	Kind       string `json:"kind" validate:"required,oneof=scan service"`
	Domain     string `json:"domain" validate:"required,max=260"`
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
	Note       string `json:"note" validate:"max=200"`
}

func (s *Service) createRoute(ctx context.Context, in *CreateIn) (*Entry, error) {
	a := actor.From(ctx)
	p := in.PlatformID
	if p == "" && a != nil {
		p = a.PlatformID
	}
	if p == "" || !policy.ScopeFrom(ctx).Contains(p, "", "") {
		return nil, fault.Deniedf("platform %s is outside your scope", p)
	}
	d, err := normalize(in.Domain)
	if err != nil {
		return nil, err
	}
	e := Entry{Kind: in.Kind, PlatformID: p, Domain: d, Note: in.Note, CreatedAt: s.cfg.Clock()}
	if a != nil {
		e.CreatedBy = a.Account
	}
	err = s.cfg.Pool.QueryRow(ctx, `INSERT INTO whitelist_entries (kind, platform_id, domain, note, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`, e.Kind, e.PlatformID, e.Domain, e.Note, e.CreatedBy, e.CreatedAt).Scan(&e.ID)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceInUse, "%s is already on the platform's %s whitelist", d, in.Kind)
	}
	if err != nil {
		return nil, err
	}
	s.cache.Clear()
	return &e, nil
}

// IDIn names an entry.
type IDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

func (s *Service) deleteRoute(ctx context.Context, in *IDIn) (*httpapi.Empty, error) {
	var p string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM whitelist_entries WHERE id = $1`, in.ID).Scan(&p)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(p, "", "")) {
		return nil, fault.NotFoundf("whitelist entry %d not found", in.ID)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `DELETE FROM whitelist_entries WHERE id = $1`, in.ID); err != nil {
		return nil, err
	}
	s.cache.Clear()
	return &httpapi.Empty{}, nil
}

// AppListIn asks for a kind's domains.
type AppListIn struct {
	Kind string `query:"kind" validate:"required,oneof=scan service"`
}

// DomainList is the domains of a list.
type DomainList struct {
	Kind    string   `json:"kind"`
	Domains []string `json:"domains"`
}

func (s *Service) appListRoute(ctx context.Context, in *AppListIn) (*DomainList, error) {
	a := actor.From(ctx)
	if a == nil {
		return nil, fault.Deniedf("an app's signature is required")
	}
	ds, err := s.domains(ctx, in.Kind, a.PlatformID)
	if err != nil {
		return nil, err
	}
	if ds == nil {
		ds = []string{}
	}
	return &DomainList{Kind: in.Kind, Domains: ds}, nil
}

// CheckIn is a URL to check.
type CheckIn struct {
	Kind string `json:"kind" validate:"required,oneof=scan service"`
	URL  string `json:"url" validate:"required,max=2000"`
}

// CheckOut answers a check.
type CheckOut struct {
	Allowed bool   `json:"allowed"`
	Domain  string `json:"domain,omitempty" doc:"the entry that matched"`
}

func (s *Service) checkRoute(ctx context.Context, in *CheckIn) (*CheckOut, error) {
	a := actor.From(ctx)
	if a == nil {
		return nil, fault.Deniedf("an app's signature is required")
	}
	ok, d, err := s.Allowed(ctx, in.Kind, a.PlatformID, in.URL)
	if err != nil {
		return nil, err
	}
	return &CheckOut{Allowed: ok, Domain: d}, nil
}
