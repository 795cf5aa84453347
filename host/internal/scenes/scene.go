package scenes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// SceneRoutes declares the console's scene management (场景管理).
func (s *Service) SceneRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/scenes", s.listScenesRoute).
			Doc("场景列表", "Scenes of the platforms in the caller's scope, by keyword (exact or fuzzy), type, category, client published to and state.").
			Tag("scenes").Console("scene.read"),
		httpapi.Handle(http.MethodGet, "/console/scenes/search", s.searchRoute).
			Doc("场景与服务搜索", "Scenes and services matching a keyword: exact (a keyword or the name) or fuzzy (part of the name, a keyword or the intro/description), exact matches first.").
			Tag("scenes").Console("scene.read"),
		httpapi.Handle(http.MethodGet, "/console/scenes/:id", s.getSceneRoute).
			Doc("场景详情", "A scene with its recommended services and the clients each is published to.").
			Tag("scenes").Console("scene.read"),
		httpapi.Handle(http.MethodPost, "/console/scenes", s.createSceneRoute).
			Doc("新增场景", "Adds a scene: name, category, type and the values of its parameters, intro (rich text, reduced to a safe subset of HTML), https images, contact, the user's required authorization level, search keywords, accepting organizations (acceptOrgId), applications and activity slots. It is published to no client yet.").
			Tag("scenes").Console("scene.create"),
		httpapi.Handle(http.MethodPut, "/console/scenes/:id", s.updateSceneRoute).
			Doc("修改场景", "Changes a scene; clients it is published to see the change at once (their ETags change).").
			Tag("scenes").Console("scene.update"),
		httpapi.Handle(http.MethodPut, "/console/scenes/:id/services", s.setSceneServicesRoute).
			Doc("场景推荐服务", "Sets the scene's recommended services in order, each with the clients it is published to (app, mp-a, mp-b).").
			Tag("scenes").Console("scene.update"),
		httpapi.Handle(http.MethodPost, "/console/scenes/:id/publish", s.publishSceneRoute).
			Doc("场景发布", "Publishes the scene to clients (app, mp-a, mp-b), each independently of the others.").
			Tag("scenes").Console("scene.publish"),
		httpapi.Handle(http.MethodPost, "/console/scenes/:id/unpublish", s.unpublishSceneRoute).
			Doc("场景下架", "Withdraws the scene from clients; the others keep it.").
			Tag("scenes").Console("scene.publish"),
		httpapi.Handle(http.MethodPost, "/console/scenes/:id/disable", s.disableSceneRoute).
			Doc("场景紧急停用", "Stops a scene at once (emergency): no client shows it and decodes at its organizations are refused (UnauthorizedOperation.SceneDisabled).").
			Tag("scenes").Console("scene.disable"),
		httpapi.Handle(http.MethodPost, "/console/scenes/:id/enable", s.enableSceneRoute).
			Doc("场景恢复", "Lifts an emergency stop.").
			Tag("scenes").Console("scene.enable"),
		httpapi.Handle(http.MethodDelete, "/console/scenes/:id", s.deleteSceneRoute).
			Doc("删除场景", "Deletes a scene that no client shows.").
			Tag("scenes").Console("scene.delete"),
	}
}

// Contact is whom a scene's users call: a service desk, not a person's
// private details.
type Contact struct {
	Name  string `json:"name,omitempty" validate:"max=50"`
	Phone string `json:"phone,omitempty" validate:"max=30"`
	Email string `json:"email,omitempty" validate:"omitempty,email,max=100"`
}

// Application is an entry of a scene's application list (应用列表).
type Application struct {
	Name string `json:"name" validate:"required,max=50"`
	Icon string `json:"icon,omitempty" validate:"max=1000"`
	Link string `json:"link" validate:"required,max=2000"`
}

// Activity fills an activity slot (活动位) of the scene intro page.
type Activity struct {
	Slot    string     `json:"slot" validate:"required,max=30"`
	Title   string     `json:"title" validate:"required,max=50"`
	Image   string     `json:"image,omitempty" validate:"max=1000"`
	Link    string     `json:"link,omitempty" validate:"max=2000"`
	StartAt *time.Time `json:"startAt,omitempty"`
	EndAt   *time.Time `json:"endAt,omitempty"`
}

// Scene is a scene as the console sees it.
type Scene struct {
	ID            int64          `json:"id"`
	PlatformID    string         `json:"platformId"`
	TypeID        int64          `json:"typeId"`
	CounterpartID int64          `json:"counterpartId" doc:"0: none"`
	Name          string         `json:"name"`
	Category      string         `json:"category"`
	Intro         string         `json:"intro" doc:"safe HTML"`
	Images        []string       `json:"images"`
	Contact       Contact        `json:"contact"`
	AuthLevel     int            `json:"authLevel" doc:"the user's required authorization level: 0 none, 1 real name (实名), 2 real person (实人), 3 in-person (线下核验)"`
	Params        map[string]any `json:"params"`
	Keywords      []string       `json:"keywords"`
	OrgIDs        []string       `json:"orgIds" doc:"accepting organizations (acceptOrgId) of the scene, besides its counterpart's"`
	Applications  []Application  `json:"applications"`
	Activities    []Activity     `json:"activities"`
	Clients       []string       `json:"clients" doc:"the clients it is published to"`
	Disabled      bool           `json:"disabled"`
	DisabledNote  string         `json:"disabledNote,omitempty"`
	UpdatedAt     time.Time      `json:"updatedAt"`
	Services      []SceneService `json:"services,omitempty"`
}

// SceneService is a recommended service of a scene.
type SceneService struct {
	ServiceID int64    `json:"serviceId"`
	Name      string   `json:"name"`
	Clients   []string `json:"clients"`
}

const sceneCols = `id, platform_id, coalesce(type_id, 0), coalesce(counterpart_id, 0), name, category, intro, images, contact, auth_level, params, keywords,
	org_ids, applications, activities, clients, disabled, disabled_note, updated_at`

func scanScene(r pgx.CollectableRow) (Scene, error) {
	var x Scene
	var contact, params, apps, acts []byte
	err := r.Scan(&x.ID, &x.PlatformID, &x.TypeID, &x.CounterpartID, &x.Name, &x.Category, &x.Intro, &x.Images, &contact, &x.AuthLevel, &params,
		&x.Keywords, &x.OrgIDs, &apps, &acts, &x.Clients, &x.Disabled, &x.DisabledNote, &x.UpdatedAt)
	if err != nil {
		return x, err
	}
	for _, f := range []struct {
		b []byte
		v any
	}{{contact, &x.Contact}, {params, &x.Params}, {apps, &x.Applications}, {acts, &x.Activities}} {
		if err := json.Unmarshal(f.b, f.v); err != nil {
			return x, fmt.Errorf("scenes: scene %d: %w", x.ID, err)
		}
	}
	return x, nil
}

// ScenesIn filters scenes.
type ScenesIn struct {
	SearchIn
	TypeID   int64  `query:"typeId" validate:"min=0"`
	Category string `query:"category" validate:"max=50"`
	Client   string `query:"client" validate:"omitempty,oneof=app mp-a mp-b" doc:"published to this client"`
	State    string `query:"state" validate:"omitempty,oneof=enabled disabled"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// ScenePage is a page of scenes.
type ScenePage struct {
	Total int64   `json:"total"`
	Items []Scene `json:"items"`
}

func (s *Service) scenes(ctx context.Context, in *ScenesIn) (*ScenePage, error) {
	m, kw := in.SearchIn.match(1, "intro")
	where := m + ` AND ($2 = 0 OR type_id = $2) AND ($3 = '' OR category = $3) AND ($4 = '' OR $4 = ANY(clients))
		AND ($5 = '' OR disabled = ($5 = 'disabled'))`
	args := []any{kw, in.TypeID, in.Category, in.Client, in.State}
	clause, more := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	out := &ScenePage{}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM scenes WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+sceneCols+` FROM scenes WHERE `+where+
		fmt.Sprintf(` ORDER BY (lower(name) = $1 OR $1 = ANY(keywords)) DESC, id OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	if out.Items, err = pgx.CollectRows(rows, scanScene); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) listScenesRoute(ctx context.Context, in *ScenesIn) (*ScenePage, error) {
	return s.scenes(ctx, in)
}

// SearchOut answers a search over scenes and services.
type SearchOut struct {
	Scenes   []Scene       `json:"scenes"`
	Services []PoolService `json:"services"`
}

func (s *Service) searchRoute(ctx context.Context, in *SearchIn) (*SearchOut, error) {
	if in.Keyword == "" {
		return nil, fault.Missing("keyword")
	}
	sc, err := s.scenes(ctx, &ScenesIn{SearchIn: *in, PageSize: 50})
	if err != nil {
		return nil, err
	}
	sv, err := s.services(ctx, &ServicesIn{SearchIn: *in, PageSize: 50})
	if err != nil {
		return nil, err
	}
	return &SearchOut{Scenes: sc.Items, Services: sv.Items}, nil
}

// SceneIDIn names a scene.
type SceneIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// scene reads a scene in the caller's scope.
func (s *Service) scene(ctx context.Context, id int64) (*Scene, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+sceneCols+` FROM scenes WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanScene)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(x.PlatformID, "", "")) {
		return nil, fault.NotFoundf("scene %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	rows, err = s.cfg.Pool.Query(ctx, `SELECT l.service_id, v.name, l.clients FROM scene_service_links l JOIN scene_services v ON v.id = l.service_id
		WHERE l.scene_id = $1 ORDER BY l.sort, l.service_id`, id)
	if err != nil {
		return nil, err
	}
	x.Services, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SceneService, error) {
		var v SceneService
		return v, r.Scan(&v.ServiceID, &v.Name, &v.Clients)
	})
	if x.Services == nil {
		x.Services = []SceneService{}
	}
	return &x, err
}

func (s *Service) getSceneRoute(ctx context.Context, in *SceneIDIn) (*Scene, error) {
	return s.scene(ctx, in.ID)
}

// SceneIn is what the console writes of a scene.
type SceneIn struct {
	Name          string         `json:"name" validate:"required,max=50"`
	Category      string         `json:"category" validate:"max=50"`
	TypeID        int64          `json:"typeId" validate:"min=0" doc:"0: untyped"`
	CounterpartID int64          `json:"counterpartId" validate:"min=0" doc:"0: none"`
	Intro         string         `json:"intro" validate:"max=100000" doc:"rich text; kept as safe HTML"`
	Images        []string       `json:"images" validate:"max=20" doc:"https URLs"`
	Contact       Contact        `json:"contact"`
	AuthLevel     int            `json:"authLevel" validate:"min=0,max=3"`
	Params        map[string]any `json:"params"`
	Keywords      []string       `json:"keywords" validate:"max=50"`
	OrgIDs        []string       `json:"orgIds" validate:"max=1000"`
	Applications  []Application  `json:"applications" validate:"max=50,dive"`
	Activities    []Activity     `json:"activities" validate:"max=20,dive"`
}

// check validates and normalizes the input.
func (s *Service) check(ctx context.Context, in *SceneIn) error {
	for i, u := range in.Images {
		if err := checkHTTPS(fmt.Sprintf("images[%d]", i), u, true); err != nil {
			return err
		}
	}
	if in.Images == nil {
		in.Images = []string{}
	}
	for i, a := range in.Applications {
		if err := checkHTTPS(fmt.Sprintf("applications[%d].link", i), a.Link, true); err != nil {
			return err
		}
		if err := checkHTTPS(fmt.Sprintf("applications[%d].icon", i), a.Icon, false); err != nil {
			return err
		}
	}
	for i, a := range in.Activities {
		if err := checkHTTPS(fmt.Sprintf("activities[%d].link", i), a.Link, false); err != nil {
			return err
		}
		if err := checkHTTPS(fmt.Sprintf("activities[%d].image", i), a.Image, false); err != nil {
			return err
		}
		if a.StartAt != nil && a.EndAt != nil && !a.StartAt.Before(*a.EndAt) {
			return fault.Invalidf("parameter %q: must be after startAt", fmt.Sprintf("activities[%d].endAt", i))
		}
	}
	var err error
	if in.Keywords, err = cleanWords("keywords", in.Keywords); err != nil {
		return err
	}
	if in.OrgIDs, err = cleanIDs("orgIds", in.OrgIDs); err != nil {
		return err
	}
	if in.Params == nil {
		in.Params = map[string]any{}
	}
	var defs []Param
	if in.TypeID != 0 {
		if defs, err = s.typeParams(ctx, in.TypeID); err != nil {
			return err
		}
	}
	if err := checkValues(defs, in.Params, ""); err != nil {
		return err
	}
	if in.CounterpartID != 0 {
		if _, err := s.counterpart(ctx, in.CounterpartID); err != nil {
			return fault.Invalidf("parameter %q: scene counterpart %d does not exist", "counterpartId", in.CounterpartID)
		}
	}
	in.Intro = Sanitize(in.Intro)
	if in.Applications == nil {
		in.Applications = []Application{}
	}
	if in.Activities == nil {
		in.Activities = []Activity{}
	}
	return nil
}

// SceneCreateIn creates a scene.
type SceneCreateIn struct {
	SceneIn
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

func (s *Service) createSceneRoute(ctx context.Context, in *SceneCreateIn) (*Scene, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, &in.SceneIn); err != nil {
		return nil, err
	}
	contact, _ := json.Marshal(in.Contact)
	params, _ := json.Marshal(in.Params)
	apps, _ := json.Marshal(in.Applications)
	acts, _ := json.Marshal(in.Activities)
	var id int64
	err = s.cfg.Pool.QueryRow(ctx, `INSERT INTO scenes (platform_id, type_id, counterpart_id, name, category, intro, images, contact, auth_level, params,
		keywords, org_ids, applications, activities, created_by, created_at, updated_at)
		VALUES ($1, nullif($2, 0), nullif($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id`,
		p, in.TypeID, in.CounterpartID, in.Name, in.Category, in.Intro, in.Images, contact, in.AuthLevel, params,
		in.Keywords, in.OrgIDs, apps, acts, accountOf(ctx), s.cfg.Clock()).Scan(&id)
	if err != nil {
		return nil, err
	}
	s.changed()
	return s.scene(ctx, id)
}

// SceneUpdateIn changes a scene.
type SceneUpdateIn struct {
	SceneIDIn
	SceneIn
}

func (s *Service) updateSceneRoute(ctx context.Context, in *SceneUpdateIn) (*Scene, error) {
	if _, err := s.scene(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := s.check(ctx, &in.SceneIn); err != nil {
		return nil, err
	}
	contact, _ := json.Marshal(in.Contact)
	params, _ := json.Marshal(in.Params)
	apps, _ := json.Marshal(in.Applications)
	acts, _ := json.Marshal(in.Activities)
	_, err := s.cfg.Pool.Exec(ctx, `UPDATE scenes SET type_id = nullif($2, 0), counterpart_id = nullif($3, 0), name = $4, category = $5, intro = $6,
		images = $7, contact = $8, auth_level = $9, params = $10, keywords = $11, org_ids = $12, applications = $13, activities = $14, updated_at = $15
		WHERE id = $1`, in.ID, in.TypeID, in.CounterpartID, in.Name, in.Category, in.Intro, in.Images, contact, in.AuthLevel, params,
		in.Keywords, in.OrgIDs, apps, acts, s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	s.changed()
	return s.scene(ctx, in.ID)
}

// SceneServicesIn sets a scene's recommended services.
type SceneServicesIn struct {
	SceneIDIn
	Items []struct {
		ServiceID int64    `json:"serviceId" validate:"min=1"`
		Clients   []string `json:"clients" validate:"max=3" doc:"the clients it is published to; empty: none yet"`
	} `json:"items" validate:"max=100,dive"`
}

func (s *Service) setSceneServicesRoute(ctx context.Context, in *SceneServicesIn) (*Scene, error) {
	if _, err := s.scene(ctx, in.ID); err != nil {
		return nil, err
	}
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM scene_service_links WHERE scene_id = $1`, in.ID); err != nil {
			return err
		}
		clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 3)
		for i, it := range in.Items {
			cs, err := checkClients(fmt.Sprintf("items[%d].clients", i), it.Clients)
			if err != nil {
				return err
			}
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scene_services WHERE id = $1 AND (platform_id = $2 OR `+clause+`))`,
				append([]any{it.ServiceID, s.cfg.MainPlatformID}, args...)...).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return fault.Invalidf("parameter %q: service %d does not exist", fmt.Sprintf("items[%d].serviceId", i), it.ServiceID)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO scene_service_links (scene_id, service_id, sort, clients) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				in.ID, it.ServiceID, i, cs)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fault.Invalidf("parameter %q: service %d is listed twice", "items", it.ServiceID)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE scenes SET updated_at = $2 WHERE id = $1`, in.ID, s.cfg.Clock())
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.scene(ctx, in.ID)
}

// ScenePublishIn names the clients to publish a scene to or withdraw it
// from.
type ScenePublishIn struct {
	SceneIDIn
	Clients []string `json:"clients" validate:"required,min=1,max=3" doc:"app, mp-a, mp-b"`
}

func (s *Service) publication(ctx context.Context, in *ScenePublishIn, publish bool) (*Scene, error) {
	x, err := s.scene(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	cs, err := checkClients("clients", in.Clients)
	if err != nil {
		return nil, err
	}
	next := slices.DeleteFunc(slices.Clone(x.Clients), func(c string) bool { return slices.Contains(cs, c) })
	if publish {
		next = append(next, cs...)
	}
	slices.Sort(next)
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE scenes SET clients = $2, updated_at = $3 WHERE id = $1`, in.ID, next, s.cfg.Clock()); err != nil {
		return nil, err
	}
	return s.scene(ctx, in.ID)
}

func (s *Service) publishSceneRoute(ctx context.Context, in *ScenePublishIn) (*Scene, error) {
	return s.publication(ctx, in, true)
}

func (s *Service) unpublishSceneRoute(ctx context.Context, in *ScenePublishIn) (*Scene, error) {
	return s.publication(ctx, in, false)
}

// DisableIn stops a scene.
type DisableIn struct {
	SceneIDIn
	Note string `json:"note" validate:"max=200" doc:"why (shown to operators)"`
}

func (s *Service) disableSceneRoute(ctx context.Context, in *DisableIn) (*Scene, error) {
	return s.setDisabled(ctx, in.ID, true, in.Note)
}

func (s *Service) enableSceneRoute(ctx context.Context, in *SceneIDIn) (*Scene, error) {
	return s.setDisabled(ctx, in.ID, false, "")
}

func (s *Service) setDisabled(ctx context.Context, id int64, disabled bool, note string) (*Scene, error) {
	if _, err := s.scene(ctx, id); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE scenes SET disabled = $2, disabled_note = $3, updated_at = $4 WHERE id = $1`, id, disabled, note, s.cfg.Clock()); err != nil {
		return nil, err
	}
	s.changed()
	return s.scene(ctx, id)
}

func (s *Service) deleteSceneRoute(ctx context.Context, in *SceneIDIn) (*httpapi.Empty, error) {
	x, err := s.scene(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if len(x.Clients) > 0 {
		return nil, fault.Conflictf(fault.CodeResourceInUse, "scene %d is published to %v: unpublish it first", in.ID, x.Clients)
	}
	if _, err := s.cfg.Pool.Exec(ctx, `DELETE FROM scenes WHERE id = $1`, in.ID); err != nil {
		return nil, err
	}
	s.changed()
	return &httpapi.Empty{}, nil
}
