package tenancy

import (
	"context"
	"fmt"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
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

// AppResource answers an app's platform and region, for other services to
// authorize actions on the app (binding code rules); ResourceNotFound when
// there is no such app.
func (s *Service) AppResource(ctx context.Context, appID string) (*policy.Resource, error) {
	a, err := s.app(ctx, s.pool, appID)
	if err != nil {
		return nil, err
	}
	return a.resource(), nil
}

// PlatformExists reports whether a platform exists, for other services (the
// applicable platform of a code rule).
func (s *Service) PlatformExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM platforms WHERE id = $1)", id).Scan(&ok); err != nil {
		return false, fmt.Errorf("tenancy: platform exists: %w", err)
	}
	return ok, nil
}

// UsableIndustry checks, for other services, that a non-empty industry code
// names an enabled industry (InvalidParameter naming industryCode if not).
func (s *Service) UsableIndustry(ctx context.Context, code string) error {
	return s.usableIndustry(ctx, s.pool, code)
}
