package tenancy

import (
	"context"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// AppRoutes declares the signed open-API endpoints about the calling app
// itself. They let an integrator check its signing set-up end to end (every
// signing mode, encrypted bodies) before calling the code APIs.
func (s *Service) AppRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/api/getAppInfo", s.appInfo).
			Doc("查询应用信息", "Answers the calling app's own registration: id, name, platform and status, plus the server time. Any signed request of an enabled app succeeds, so it is the first call to make when integrating.").
			Tag("open-api").App().Reads().AcceptUnknownFields(),
	}
}

// AppInfoIn is the body of getAppInfo; cityCodeAppId, when sent, must be the
// caller's own id.
type AppInfoIn struct {
	CityCodeAppID string `json:"cityCodeAppId" validate:"max=128"`
}

// AppInfo is the calling app as the open API shows it.
type AppInfo struct {
	CityCodeAppID string `json:"cityCodeAppId"`
	AppName       string `json:"appName"`
	PlatformID    string `json:"platformId"`
	PlatformName  string `json:"platformName"`
	Status        string `json:"status"`
	ServerTime    int64  `json:"serverTime" doc:"server clock, unix milliseconds (for checking X-CityCode-Timestamp skew)"`
}

func (s *Service) appInfo(ctx context.Context, in *AppInfoIn) (*AppInfo, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	if in.CityCodeAppID != "" && in.CityCodeAppID != a.AppID {
		return nil, fault.Deniedf("cityCodeAppId %q is not the signing app", in.CityCodeAppID)
	}
	app, err := s.app(ctx, s.pool, a.AppID)
	if err != nil {
		return nil, err
	}
	return &AppInfo{
		CityCodeAppID: app.AppID, AppName: app.Name, PlatformID: app.PlatformID,
		PlatformName: app.PlatformName, Status: app.Status,
		ServerTime: s.clock().UnixMilli(),
	}, nil
}

// AppPlatform answers the platform an app belongs to, for other services
// (rule bindings); ResourceNotFound when there is no such app.
func (s *Service) AppPlatform(ctx context.Context, appID string) (string, error) {
	a, err := s.app(ctx, s.pool, appID)
	if err != nil {
		return "", err
	}
	return a.PlatformID, nil
}
