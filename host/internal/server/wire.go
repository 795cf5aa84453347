package server

import (
	"context"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// wire builds the services and mounts their routes.
func (s *Server) wire(ctx context.Context) error {
	reg := s.registry()
	api, err := httpapi.New(httpapi.Config{
		Log:            s.log,
		MaxBodyBytes:   s.cfg.HTTP.MaxBodyBytes,
		Registry:       reg,
		TrustedProxies: s.cfg.HTTP.TrustedProxies,
		Title:          "City Code Platform API (城市码平台开放接口)",
		Version:        Version,
	})
	if err != nil {
		return err
	}
	s.api = api
	api.MountHandler(http.MethodGet, "/healthz", http.HandlerFunc(s.health))
	api.MountHandler(http.MethodGet, "/readyz", http.HandlerFunc(s.readiness))
	api.ServeOpenAPI()
	return nil
}
