package server

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/pluginhost"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/tenancy"
	"github.com/opencitycode/citycode/host/internal/whitelist"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// wirePlugins starts the plugin host and mounts the landing pages of
// object codes ({publicBase}/c/{token}) and enterprise codes
// ({publicBase}/e/{token}), plugin files and the console routes.
func (s *Server) wirePlugins(ctx context.Context, api *httpapi.API, engine *policy.Engine, trail *audit.Logger,
	evw *events.Writer, codes landingCodes, people *persons.Service, sealer *codec.Sealer, clock func() time.Time) error {
	ph, err := pluginhost.New(pluginhost.Config{
		Pool: s.pool, Authz: engine, Audit: trail, Events: evw, Codes: codes, Persons: holders{people},
		Runtimes: pluginhost.DefaultRuntimes{Dir: s.cfg.Plugins.Dir, CacheDir: s.cfg.Plugins.CacheDir, Log: s.log, Timeout: s.cfg.Plugins.CallTimeout},
		Log:      s.log, Clock: clock, PublicBase: s.publicBase(),
		PseudonymKey: []byte(sealer.BlindIndex("plugin visitor pseudonyms", "pluginhost.pseudonym")),
		Reload:       s.cfg.Plugins.Reload,
		CallTimeout:  s.cfg.Plugins.CallTimeout,
		Services: func(ctx context.Context, platformID, u string) (bool, error) {
			ok, _, err := s.whitelist.Allowed(ctx, whitelist.KindService, platformID, u)
			return ok, err
		},
		MainPlatformID: tenancy.MainPlatformID,
	})
	if err != nil {
		return err
	}
	if err := ph.Start(ctx); err != nil {
		return err
	}
	s.closers = append(s.closers, ph.Close)
	s.plugins = ph
	api.Mount(ph.Routes()...)
	api.Mount(ph.AppRoutes()...)
	landing := ph.LandingHandler()
	for _, prefix := range []string{"/c/", "/e/"} {
		api.MountHandler(http.MethodGet, prefix+":token", landing)
		api.MountHandler(http.MethodHead, prefix+":token", landing)
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
			api.MountHandler(m, prefix+":token/*", landing)
		}
	}
	api.MountHandler(http.MethodGet, "/plugin-files/:id", ph.ServeFile())
	return nil
}

// holders adapts the code holders to the landing pages.
type holders struct{ p *persons.Service }

func (h holders) Holder(ctx context.Context, appID, userID string) (int64, string, string, error) {
	u, err := h.p.User(ctx, appID, userID)
	if err != nil {
		return 0, "", "", err
	}
	return u.PersonID, u.Masked.Name, u.Masked.Mobile, nil
}

func (h holders) Authorized(ctx context.Context, personID int64, orgID string) (bool, error) {
	return h.p.Authorized(ctx, personID, orgID)
}

// landingCodes adapts the code engine's object and enterprise codes to the
// plugin host.
type landingCodes struct {
	o *codeengine.Objects
	e *codeengine.Enterprises
}

// PluginCodes is the code engine as the plugin host sees it (for the
// command line's plugin host).
func PluginCodes(o *codeengine.Objects) pluginhost.Codes {
	return landingCodes{o, codeengine.NewEnterprises(o, nil, nil)}
}

// Resolve answers an object code, or an enterprise code when code is an
// enterprise code's URL or its path /e/{token}.
func (l landingCodes) Resolve(ctx context.Context, code string) (*plugin.Code, string, error) {
	if strings.LastIndex(code, "/e/") > strings.LastIndex(code, "/c/") {
		ent, platform, err := l.e.Scan(ctx, code)
		if ent == nil {
			return nil, "", err
		}
		return enterpriseCode(ent), platform, err
	}
	c, platform, err := l.o.Scan(ctx, code)
	if c == nil {
		return nil, "", err
	}
	return pluginCode(c), platform, err
}

func (l landingCodes) MergeAttributes(ctx context.Context, pluginName, platformID, code string, patch []byte) (*plugin.Code, error) {
	c, err := l.o.MergeAttributes(ctx, pluginName, platformID, code, patch)
	if err != nil {
		return nil, err
	}
	return pluginCode(c), nil
}

// enterpriseCode is an enterprise code as plugins see it: its status is
// active or disabled like an object code's, and its attributes are what
// the code's QR stands for — the name, the unified social credit code and
// the business addresses, all public registry data.
func enterpriseCode(e *codeengine.Enterprise) *plugin.Code {
	status := "active"
	if e.Status != "enabled" {
		status = e.Status
	}
	attrs, _ := json.Marshal(map[string]any{"name": e.Name, "uscc": e.USCC, "addresses": e.Addresses, "enterpriseId": e.ID})
	return &plugin.Code{Token: e.Token(), Kind: "enterprise", Number: e.Number, Status: status, CodeDefID: e.CodeDefID,
		Name: e.Name, Attributes: attrs}
}

func pluginCode(c *codeengine.ObjectCode) *plugin.Code {
	out := &plugin.Code{Token: c.Token, Kind: "object", Number: c.Number, Status: c.Status, CodeDefID: c.CodeDefID,
		TypeID: c.TypeID, TypeName: c.TypeName, RegionCode: c.RegionCode, OwnerUnit: c.OwnerUnit, Attributes: c.Attributes}
	// The object's name, when its attributes carry one (名称).
	var named struct {
		Name string `json:"name"`
		CN   string `json:"名称"`
	}
	if json.Unmarshal(c.Attributes, &named) == nil {
		out.Name = cmp.Or(named.Name, named.CN)
	}
	return out
}
