package scenes

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// ServiceRoutes declares the console's shared service pool (服务池).
func (s *Service) ServiceRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/scene-services", s.listServicesRoute).
			Doc("服务池列表", "Services of the pool: the main platform's and those of the platforms in the caller's scope, by category and keyword (exact: a keyword or the name; fuzzy: part of the name, a keyword or the description).").
			Tag("scenes").Console("sceneservice.read"),
		httpapi.Handle(http.MethodPost, "/console/scene-services", s.createServiceRoute).
			Doc("新增服务", "Adds a service to the pool: name, icon, description, https link, category and search keywords; every client shows the same service (三端同源).").
			Tag("scenes").Console("sceneservice.create"),
		httpapi.Handle(http.MethodPut, "/console/scene-services/:id", s.updateServiceRoute).
			Doc("修改服务", "Changes a service; every scene recommending it shows the change.").
			Tag("scenes").Console("sceneservice.update"),
		httpapi.Handle(http.MethodPut, "/console/scene-services/:id/publication", s.publishServiceRoute).
			Doc("服务发布", "Sets the clients (app, mp-a, mp-b) whose more-services page (更多服务) recommends the service; an empty list unpublishes it everywhere.").
			Tag("scenes").Console("sceneservice.publish"),
		httpapi.Handle(http.MethodDelete, "/console/scene-services/:id", s.deleteServiceRoute).
			Doc("删除服务", "Removes a service from the pool and from the scenes recommending it.").
			Tag("scenes").Console("sceneservice.delete"),
	}
}

// PoolService is a service of the pool.
type PoolService struct {
	ID          int64     `json:"id"`
	PlatformID  string    `json:"platformId"`
	Name        string    `json:"name"`
	Icon        string    `json:"icon"`
	Description string    `json:"description"`
	Link        string    `json:"link"`
	Category    string    `json:"category"`
	Keywords    []string  `json:"keywords"`
	Clients     []string  `json:"clients" doc:"the clients whose more-services page recommends it"`
	CodeKinds   []string  `json:"codeKinds" doc:"the codes it serves: person, enterprise, object (服务清单)"`
	Departments []string  `json:"departments" doc:"the departments offering it; empty: every department"`
	Industries  []string  `json:"industries" doc:"the industries of the codes it serves; empty: every industry"`
	ObjectTypes []string  `json:"objectTypes" doc:"the object types it serves; empty: every type"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

const serviceCols = `id, platform_id, name, icon, description, link, category, keywords, clients, code_kinds, departments, industries, object_types, updated_at`

func scanService(r pgx.CollectableRow) (PoolService, error) {
	var x PoolService
	return x, r.Scan(&x.ID, &x.PlatformID, &x.Name, &x.Icon, &x.Description, &x.Link, &x.Category, &x.Keywords, &x.Clients,
		&x.CodeKinds, &x.Departments, &x.Industries, &x.ObjectTypes, &x.UpdatedAt)
}

// SearchIn is a keyword search.
type SearchIn struct {
	Keyword string `query:"keyword" validate:"max=50"`
	Mode    string `query:"mode" validate:"omitempty,oneof=exact fuzzy" doc:"exact: equals a keyword or the name; fuzzy (default): part of the name, a keyword or the description"`
}

// match renders a keyword search over a table's name, keywords and
// description columns as a condition on $n, and its argument.
func (in SearchIn) match(n int, descr string) (string, any) {
	kw := strings.ToLower(strings.TrimSpace(in.Keyword))
	p := fmt.Sprintf("$%d", n)
	if in.Mode == "exact" {
		return fmt.Sprintf(`(%s = '' OR lower(name) = %s OR %s = ANY(keywords))`, p, p, p), kw
	}
	return fmt.Sprintf(`(%s = '' OR strpos(lower(name), %s) > 0 OR strpos(lower(%s), %s) > 0
		OR EXISTS (SELECT 1 FROM unnest(keywords) k WHERE strpos(k, %s) > 0))`, p, p, descr, p, p), kw
}

// ServicesIn filters the pool.
type ServicesIn struct {
	SearchIn
	Category string `query:"category" validate:"max=50"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// ServicePage is a page of services.
type ServicePage struct {
	Total int64         `json:"total"`
	Items []PoolService `json:"items"`
}

func (s *Service) services(ctx context.Context, in *ServicesIn) (*ServicePage, error) {
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 4)
	m, kw := in.SearchIn.match(3, "description")
	where := `(platform_id = $1 OR ` + clause + `) AND ($2 = '' OR category = $2) AND ` + m
	args = append([]any{s.cfg.MainPlatformID, in.Category, kw}, args...)
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	out := &ServicePage{}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM scene_services WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	// Exact matches of a fuzzy search come first.
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+serviceCols+` FROM scene_services WHERE `+where+
		fmt.Sprintf(` ORDER BY (lower(name) = $3 OR $3 = ANY(keywords)) DESC, id OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	if out.Items, err = pgx.CollectRows(rows, scanService); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) listServicesRoute(ctx context.Context, in *ServicesIn) (*ServicePage, error) {
	return s.services(ctx, in)
}

// ServiceIn creates or changes a service.
type ServiceIn struct {
	Name        string   `json:"name" validate:"required,max=50"`
	Icon        string   `json:"icon" validate:"max=1000" doc:"https URL of the icon"`
	Description string   `json:"description" validate:"max=500"`
	Link        string   `json:"link" validate:"required,max=2000" doc:"https URL the client opens"`
	Category    string   `json:"category" validate:"max=50"`
	Keywords    []string `json:"keywords" validate:"max=50"`
	CodeKinds   []string `json:"codeKinds" validate:"max=3,dive,oneof=person enterprise object" doc:"the codes it serves (服务清单)"`
	Departments []string `json:"departments" validate:"max=100" doc:"department ids offering it; empty: every department"`
	Industries  []string `json:"industries" validate:"max=100" doc:"industry codes of the codes it serves; empty: every industry"`
	ObjectTypes []string `json:"objectTypes" validate:"max=100" doc:"object types it serves; empty: every type"`
}

func (in *ServiceIn) check() error {
	if err := checkHTTPS("link", in.Link, true); err != nil {
		return err
	}
	if err := checkHTTPS("icon", in.Icon, false); err != nil {
		return err
	}
	var err error
	if in.Keywords, err = cleanWords("keywords", in.Keywords); err != nil {
		return err
	}
	for _, l := range []struct {
		param string
		ids   *[]string
	}{{"codeKinds", &in.CodeKinds}, {"departments", &in.Departments}, {"industries", &in.Industries}, {"objectTypes", &in.ObjectTypes}} {
		if *l.ids, err = cleanIDs(l.param, *l.ids); err != nil {
			return err
		}
	}
	return nil
}

// ServiceCreateIn creates a service.
type ServiceCreateIn struct {
	ServiceIn
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

func (s *Service) createServiceRoute(ctx context.Context, in *ServiceCreateIn) (*PoolService, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	rows, err := s.cfg.Pool.Query(ctx, `INSERT INTO scene_services (platform_id, name, icon, description, link, category, keywords,
			code_kinds, departments, industries, object_types, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING `+serviceCols,
		p, in.Name, in.Icon, in.Description, in.Link, in.Category, in.Keywords, in.CodeKinds, in.Departments, in.Industries, in.ObjectTypes, accountOf(ctx), now)
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanService)
	return &x, err
}

// ServiceIDIn names a service.
type ServiceIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// serviceInScope checks that the caller may change a service.
func (s *Service) serviceInScope(ctx context.Context, id int64) error {
	var p string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM scene_services WHERE id = $1`, id).Scan(&p)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(p, "", "")) {
		return fault.NotFoundf("service %d not found", id)
	}
	return err
}

// ServiceUpdateIn changes a service.
type ServiceUpdateIn struct {
	ServiceIDIn
	ServiceIn
}

func (s *Service) updateServiceRoute(ctx context.Context, in *ServiceUpdateIn) (*PoolService, error) {
	if err := s.serviceInScope(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `UPDATE scene_services SET name = $2, icon = $3, description = $4, link = $5, category = $6, keywords = $7,
			code_kinds = $8, departments = $9, industries = $10, object_types = $11, updated_at = $12
		WHERE id = $1 RETURNING `+serviceCols, in.ID, in.Name, in.Icon, in.Description, in.Link, in.Category, in.Keywords,
		in.CodeKinds, in.Departments, in.Industries, in.ObjectTypes, s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanService)
	return &x, err
}

// PublishIn names the clients something is published to.
type PublishIn struct {
	ServiceIDIn
	Clients []string `json:"clients" validate:"max=3" doc:"app, mp-a, mp-b; empty: none"`
}

func (s *Service) publishServiceRoute(ctx context.Context, in *PublishIn) (*PoolService, error) {
	if err := s.serviceInScope(ctx, in.ID); err != nil {
		return nil, err
	}
	cs, err := checkClients("clients", in.Clients)
	if err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `UPDATE scene_services SET clients = $2, updated_at = $3 WHERE id = $1 RETURNING `+serviceCols, in.ID, cs, s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanService)
	return &x, err
}

func (s *Service) deleteServiceRoute(ctx context.Context, in *ServiceIDIn) (*httpapi.Empty, error) {
	if err := s.serviceInScope(ctx, in.ID); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `DELETE FROM scene_services WHERE id = $1`, in.ID); err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, nil
}
