package scenes

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
)

// PageRoutes declares the configuration pages the phone clients read
// (配置中心). Their answers depend only on what is published, so they
// carry a strong ETag and answer 304 while it still matches.
func (s *Service) PageRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/openapi/v1/scenes/config", s.configPageRoute).
			Doc("场景配置页", "The scenes published to the client (app, mp-a, mp-b) for the app's platform, with their intro and required authorization level, and whether the user (userId of the calling app) switched each on. Answers carry a strong ETag; send it in If-None-Match to get 304 while nothing changed.").
			Tag("scenes").App().Reads().ETag(),
		httpapi.Handle(http.MethodGet, "/openapi/v1/scenes/:id/intro", s.introPageRoute).
			Doc("场景介绍页", "A scene published to the client: name, intro, images, contact, the recommended services published to the client, the application list and the current activity slots. With a strong ETag.").
			Tag("scenes").App().Reads().ETag(),
		httpapi.Handle(http.MethodGet, "/openapi/v1/scenes/more-services", s.moreServicesRoute).
			Doc("更多服务推荐", "The pool's services recommended on the client's more-services page, by category. With a strong ETag.").
			Tag("scenes").App().Reads().ETag(),
	}
}

// ClientRoutes declares the clients' other calls: the user's scene
// switches and time synchronization.
func (s *Service) ClientRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/openapi/v1/scenes/switches", s.switchRoute).
			Doc("场景开关", "Switches a scene on or off for a user of the calling app: while it is off, decodes of the user's personal codes at the scene's organizations are refused (UnauthorizedOperation.SceneSwitchedOff).").
			Tag("scenes").App(),
		// Public: a client whose clock drifted past the signature window
		// (300 s) could not sign the very call that would fix it; the
		// answer is the time and nothing else.
		httpapi.Handle(http.MethodGet, "/openapi/v1/time", s.timeRoute).
			Doc("时间同步", "The server's time for clients keeping dynamic codes in step, NTP-style: send your clock as originateTime (unix ms); with the arrival t3 of the answer, offset = ((receiveTime−originateTime)+(transmitTime−t3))/2 and its uncertainty ±((t3−originateTime)−(transmitTime−receiveTime))/2 (times in ms, receive and transmit given to the microsecond).").
			Tag("scenes").Public(),
	}
}

// appPlatform answers the calling app's platform.
func appPlatform(ctx context.Context) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	return a, nil
}

// visible is the condition on scenes s (with counterparts c joined) that a
// client of an app of platform $1 shows: published to client $3, not
// stopped, of the app's platform or the main platform ($2).
const visible = `s.platform_id IN ($1, $2) AND $3 = ANY(s.clients) AND NOT s.disabled AND coalesce(c.enabled, true)`

// ConfigIn asks for the scene configuration page.
type ConfigIn struct {
	Client string `query:"client" validate:"required,oneof=app mp-a mp-b"`
	UserID string `query:"userId" validate:"max=64" doc:"the user whose switches to show; empty: every scene on"`
}

// ConfigScene is a scene on the configuration page.
type ConfigScene struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Category  string   `json:"category"`
	TypeName  string   `json:"typeName"`
	Intro     string   `json:"intro"`
	Images    []string `json:"images"`
	AuthLevel int      `json:"authLevel"`
	On        bool     `json:"on" doc:"false when the user switched it off"`
}

// ConfigPage is the scene configuration page.
type ConfigPage struct {
	Client string        `json:"client"`
	Scenes []ConfigScene `json:"scenes"`
}

func (s *Service) configPageRoute(ctx context.Context, in *ConfigIn) (*ConfigPage, error) {
	a, err := appPlatform(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT s.id, s.name, s.category, coalesce(t.name, ''), s.intro, s.images, s.auth_level,
			NOT EXISTS (SELECT 1 FROM scene_switches w WHERE w.app_id = $4 AND w.user_id = $5 AND w.scene_id = s.id)
		FROM scenes s LEFT JOIN scene_counterparts c ON c.id = s.counterpart_id LEFT JOIN scene_types t ON t.id = s.type_id
		WHERE `+visible+` ORDER BY t.sort NULLS LAST, s.id`, a.PlatformID, s.cfg.MainPlatformID, in.Client, a.AppID, in.UserID)
	if err != nil {
		return nil, err
	}
	out := &ConfigPage{Client: in.Client}
	out.Scenes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConfigScene, error) {
		var x ConfigScene
		return x, r.Scan(&x.ID, &x.Name, &x.Category, &x.TypeName, &x.Intro, &x.Images, &x.AuthLevel, &x.On)
	})
	if out.Scenes == nil {
		out.Scenes = []ConfigScene{}
	}
	return out, err
}

// IntroIn asks for a scene's intro page.
type IntroIn struct {
	ID     int64  `path:"id" validate:"min=1"`
	Client string `query:"client" validate:"required,oneof=app mp-a mp-b"`
}

// ClientService is a service as the clients show it.
type ClientService struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Icon        string `json:"icon"`
	Description string `json:"description"`
	Link        string `json:"link"`
	Category    string `json:"category"`
}

// IntroPage is a scene's intro page.
type IntroPage struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	Category     string          `json:"category"`
	Intro        string          `json:"intro"`
	Images       []string        `json:"images"`
	Contact      Contact         `json:"contact"`
	AuthLevel    int             `json:"authLevel"`
	Services     []ClientService `json:"services"`
	Applications []Application   `json:"applications"`
	Activities   []Activity      `json:"activities" doc:"the slots whose time window holds now"`
}

func (s *Service) introPageRoute(ctx context.Context, in *IntroIn) (*IntroPage, error) {
	a, err := appPlatform(ctx)
	if err != nil {
		return nil, err
	}
	out := &IntroPage{}
	var contact, apps, acts []byte
	err = s.cfg.Pool.QueryRow(ctx, `SELECT s.id, s.name, s.category, s.intro, s.images, s.contact, s.auth_level, s.applications, s.activities
		FROM scenes s LEFT JOIN scene_counterparts c ON c.id = s.counterpart_id WHERE `+visible+` AND s.id = $4`,
		a.PlatformID, s.cfg.MainPlatformID, in.Client, in.ID).
		Scan(&out.ID, &out.Name, &out.Category, &out.Intro, &out.Images, &contact, &out.AuthLevel, &apps, &acts)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("scene %d is not published to %s", in.ID, in.Client)
	}
	if err != nil {
		return nil, err
	}
	var all []Activity
	for _, f := range []struct {
		b []byte
		v any
	}{{contact, &out.Contact}, {apps, &out.Applications}, {acts, &all}} {
		if err := json.Unmarshal(f.b, f.v); err != nil {
			return nil, err
		}
	}
	now := s.cfg.Clock()
	out.Activities = []Activity{}
	for _, x := range all {
		if (x.StartAt == nil || !now.Before(*x.StartAt)) && (x.EndAt == nil || now.Before(*x.EndAt)) {
			out.Activities = append(out.Activities, x)
		}
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT v.id, v.name, v.icon, v.description, v.link, v.category
		FROM scene_service_links l JOIN scene_services v ON v.id = l.service_id
		WHERE l.scene_id = $1 AND $2 = ANY(l.clients) ORDER BY l.sort, v.id`, in.ID, in.Client)
	if err != nil {
		return nil, err
	}
	if out.Services, err = pgx.CollectRows(rows, scanClientService); err != nil {
		return nil, err
	}
	if out.Services == nil {
		out.Services = []ClientService{}
	}
	return out, nil
}

func scanClientService(r pgx.CollectableRow) (ClientService, error) {
	var x ClientService
	return x, r.Scan(&x.ID, &x.Name, &x.Icon, &x.Description, &x.Link, &x.Category)
}

// MoreIn asks for the more-services page.
type MoreIn struct {
	Client string `query:"client" validate:"required,oneof=app mp-a mp-b"`
}

// ServiceGroup is a category of services.
type ServiceGroup struct {
	Category string          `json:"category"`
	Services []ClientService `json:"services"`
}

// MorePage is the more-services page.
type MorePage struct {
	Categories []ServiceGroup `json:"categories"`
}

func (s *Service) moreServicesRoute(ctx context.Context, in *MoreIn) (*MorePage, error) {
	a, err := appPlatform(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, name, icon, description, link, category FROM scene_services
		WHERE platform_id IN ($1, $2) AND $3 = ANY(clients) ORDER BY category, id`, a.PlatformID, s.cfg.MainPlatformID, in.Client)
	if err != nil {
		return nil, err
	}
	svcs, err := pgx.CollectRows(rows, scanClientService)
	if err != nil {
		return nil, err
	}
	out := &MorePage{Categories: []ServiceGroup{}}
	for _, v := range svcs {
		if n := len(out.Categories); n == 0 || out.Categories[n-1].Category != v.Category {
			out.Categories = append(out.Categories, ServiceGroup{Category: v.Category})
		}
		g := &out.Categories[len(out.Categories)-1]
		g.Services = append(g.Services, v)
	}
	return out, nil
}

// SwitchIn switches a scene for a user.
type SwitchIn struct {
	UserID  string `json:"userId" validate:"required,max=64" doc:"the user of the calling app"`
	SceneID int64  `json:"sceneId" validate:"min=1"`
	On      *bool  `json:"on" validate:"required"`
}

// SwitchOut is a user's switch of a scene.
type SwitchOut struct {
	SceneID int64 `json:"sceneId"`
	On      bool  `json:"on"`
}

func (s *Service) switchRoute(ctx context.Context, in *SwitchIn) (*SwitchOut, error) {
	a, err := appPlatform(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scenes WHERE id = $1 AND platform_id IN ($2, $3))`,
		in.SceneID, a.PlatformID, s.cfg.MainPlatformID).Scan(&ok); err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.NotFoundf("scene %d not found", in.SceneID)
	}
	if *in.On {
		_, err = s.cfg.Pool.Exec(ctx, `DELETE FROM scene_switches WHERE app_id = $1 AND user_id = $2 AND scene_id = $3`, a.AppID, in.UserID, in.SceneID)
	} else {
		_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO scene_switches (app_id, user_id, scene_id, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app_id, user_id, scene_id) DO UPDATE SET updated_at = excluded.updated_at`, a.AppID, in.UserID, in.SceneID, s.cfg.Clock())
	}
	if err != nil {
		return nil, err
	}
	return &SwitchOut{SceneID: in.SceneID, On: *in.On}, nil
}

// TimeIn carries the client's clock.
type TimeIn struct {
	OriginateTime int64 `query:"originateTime" validate:"min=0" doc:"the client's clock when it sent the request, unix ms (echoed)"`
}

// TimeOut is the server's time, NTP-style.
type TimeOut struct {
	OriginateTime int64   `json:"originateTime" doc:"as sent"`
	ReceiveTime   float64 `json:"receiveTime" doc:"when the server took the request, unix ms to the microsecond"`
	TransmitTime  float64 `json:"transmitTime" doc:"when the server answered, unix ms to the microsecond"`
	ServerTime    string  `json:"serverTime" doc:"transmitTime as RFC 3339"`
}

func unixMillis(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

func (s *Service) timeRoute(_ context.Context, in *TimeIn) (*TimeOut, error) {
	recv := s.cfg.Clock()
	out := &TimeOut{OriginateTime: in.OriginateTime, ReceiveTime: unixMillis(recv)}
	sent := s.cfg.Clock()
	out.TransmitTime, out.ServerTime = unixMillis(sent), sent.UTC().Format(time.RFC3339Nano)
	return out, nil
}
