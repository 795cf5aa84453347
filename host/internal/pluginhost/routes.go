package pluginhost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Routes declares the console's plugin and landing-page management.
func (s *Service) Routes() []*httpapi.Route {
	return append(append(s.adminRoutes(), s.syncRoutes()...), []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/plugins", s.listRoute).
			Doc("插件列表", "Installed plugins with their active version, runtime, health, and whether they are enabled on the platform.").
			Tag("plugins").Console("plugin.read"),
		httpapi.Handle(http.MethodGet, "/console/plugins/:name", s.detailRoute).
			Doc("插件详情", "A plugin's manifest, its installed versions and its configuration on the platform.").
			Tag("plugins").Console("plugin.read"),
		httpapi.Handle(http.MethodPost, "/console/plugins", s.installRoute).
			Doc("安装插件", "Installs a plugin version from its plugin.json and artefact (base64 .wasm or executable), optionally SM2-signed by a trusted vendor key. The first version becomes active; later ones are activated by the upgrade.").
			Tag("plugins").Console("plugin.install").MaxBody(MaxUpload),
		httpapi.Handle(http.MethodPost, "/console/plugins/:name/activate", s.activateRoute).
			Doc("升级/回滚插件", "Makes an installed version the active one on every node, with zero downtime: the new version is warmed before the swap and the old one drains.").
			Tag("plugins").Console("plugin.install"),
		httpapi.Handle(http.MethodDelete, "/console/plugins/:name", s.removeRoute).
			Doc("卸载插件", "Removes a plugin, its versions, enablements and landing bindings; records stay.").
			Tag("plugins").Console("plugin.install"),
		httpapi.Handle(http.MethodPost, "/console/plugins/:name/enable", s.enableRoute).
			Doc("启用插件", "Enables the plugin on a platform.").Tag("plugins").Console("plugin.enable"),
		httpapi.Handle(http.MethodPost, "/console/plugins/:name/disable", s.disableRoute).
			Doc("停用插件", "Disables the plugin on a platform: its landing pages fall back to the standard page and its capability calls are denied.").
			Tag("plugins").Console("plugin.disable"),
		httpapi.Handle(http.MethodPut, "/console/plugins/:name/config", s.configRoute).
			Doc("配置插件", "Sets the platform's configuration of the plugin, validated against the manifest's config schema.").
			Tag("plugins").Console("plugin.update"),
		httpapi.Handle(http.MethodGet, "/console/plugins/:name/records/:collection", s.recordsRoute).
			Doc("插件数据", "Records the plugin keeps on the platform in one of its declared collections, newest first.").
			Tag("plugins").Console("plugin.read"),
		exportRoute(s),
		httpapi.Handle(http.MethodPost, "/console/plugin-vendor-keys", s.vendorKeyRoute).
			Doc("添加可信厂商公钥", "Trusts an SM2 public key to sign plugin packages.").Tag("plugins").Console("plugin.install"),
		httpapi.Handle(http.MethodPut, "/console/plugin-settings", s.settingsRoute).
			Doc("插件安全设置", "Whether the platform requires plugins signed by a trusted vendor key.").Tag("plugins").Console("plugin.update"),

		httpapi.Handle(http.MethodGet, "/console/landing/bindings", s.bindingsRoute).
			Doc("落地页配置列表", "The platform's landing bindings (which plugin serves which codes), by state and plugin.").
			Tag("landing").Console("landing.read"),
		httpapi.Handle(http.MethodPost, "/console/landing/bindings", s.createBindingRoute).
			Doc("新增落地页配置", "Binds codes (one code; owner unit + object type; region + object type; object type; code kind) to a plugin's landing page, as a draft.").
			Tag("landing").Console("landing.create"),
		httpapi.Handle(http.MethodPut, "/console/landing/bindings/:id", s.updateBindingRoute).
			Doc("修改落地页配置", "Edits a draft or offline binding.").Tag("landing").Console("landing.update"),
		httpapi.Handle(http.MethodDelete, "/console/landing/bindings/:id", s.deleteBindingRoute).
			Doc("删除落地页配置", "Deletes a binding that is not online.").Tag("landing").Console("landing.delete"),
		httpapi.Handle(http.MethodPost, "/console/landing/bindings/:id/submit", s.stateRoute("review")).
			Doc("提交审核", "draft → review.").Tag("landing").Console("landing.update"),
		httpapi.Handle(http.MethodPost, "/console/landing/bindings/:id/approve", s.stateRoute("online")).
			Doc("审核通过并上线", "review or offline → online.").Tag("landing").Console("landing.review"),
		httpapi.Handle(http.MethodPost, "/console/landing/bindings/:id/reject", s.stateRoute("draft")).
			Doc("驳回", "review or offline → draft.").Tag("landing").Console("landing.review"),
		httpapi.Handle(http.MethodPost, "/console/landing/bindings/:id/offline", s.stateRoute("offline")).
			Doc("下线", "online → offline: the codes fall back to the next binding or the standard page.").Tag("landing").Console("landing.update"),
		httpapi.Handle(http.MethodGet, "/console/landing/bindings/:id/preview", s.previewRoute).
			Doc("预览落地页", "Renders the binding's plugin landing page for one of the platform's codes, whatever the binding's state.").
			Tag("landing").Console("landing.read"),
		httpapi.Handle(http.MethodGet, "/console/landing/page", s.pageRoute).
			Doc("标准落地页", "The platform's standard landing page settings.").Tag("landing").Console("landing.read"),
		httpapi.Handle(http.MethodPut, "/console/landing/page", s.setPageRoute).
			Doc("配置标准落地页", "Background image or colour, transparency, scene info, more services and FAQ of the standard page.").
			Tag("landing").Console("landing.update"),
	}...)
}

// MaxUpload bounds an uploaded package: the largest artefact, base64, and
// the manifest.
const MaxUpload = maxArtefact*4/3 + maxManifest + 4096

// platformFor answers the platform an operator acts on: the one asked for,
// which must be in the caller's scope, or the caller's own.
func platformFor(ctx context.Context, requested string) (string, error) {
	p := requested
	if p == "" {
		if a := actor.From(ctx); a != nil {
			p = a.PlatformID
		}
	}
	if p == "" {
		return "", fault.Missing("platformId")
	}
	if !policy.ScopeFrom(ctx).Contains(p, "", "") {
		return "", fault.Deniedf("platform %s is outside your scope", p)
	}
	return p, nil
}

// PluginInfo is a plugin as the console lists it.
type PluginInfo struct {
	Name          string    `json:"name"`
	Title         string    `json:"title"`
	Vendor        string    `json:"vendor"`
	Runtime       string    `json:"runtime"`
	ActiveVersion string    `json:"activeVersion"`
	Enabled       bool      `json:"enabled" doc:"on the platform"`
	Healthy       bool      `json:"healthy" doc:"on this node"`
	HealthError   string    `json:"healthError,omitempty"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// PlatformIn names a platform (default: the caller's).
type PlatformIn struct {
	PlatformID string `query:"platformId" validate:"max=32"`
}

// PluginList is the console's list.
type PluginList struct {
	Items []PluginInfo `json:"items"`
}

func (s *Service) listRoute(ctx context.Context, in *PlatformIn) (*PluginList, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return s.List(ctx, p)
}

// List answers the installed plugins and their state on a platform.
func (s *Service) List(ctx context.Context, platformID string) (*PluginList, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT p.name, p.title, p.vendor, p.runtime, p.active_version, coalesce(e.enabled, false), p.updated_at
		FROM plugins p LEFT JOIN plugin_platforms e ON e.name = p.name AND e.platform_id = $1 ORDER BY p.name`, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &PluginList{Items: []PluginInfo{}}
	for rows.Next() {
		var i PluginInfo
		if err := rows.Scan(&i.Name, &i.Title, &i.Vendor, &i.Runtime, &i.ActiveVersion, &i.Enabled, &i.UpdatedAt); err != nil {
			return nil, err
		}
		if l := s.get(i.Name); l == nil {
			i.HealthError = "not loaded on this node"
		} else if err := l.run.Health(ctx); err != nil {
			i.HealthError = err.Error()
		} else {
			i.Healthy = true
		}
		out.Items = append(out.Items, i)
	}
	return out, rows.Err()
}

// NameIn names a plugin.
type NameIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	PlatformID string `query:"platformId" validate:"max=32"`
}

// PluginDetail is one plugin in full.
type PluginDetail struct {
	PluginInfo
	Manifest *plugin.Manifest `json:"manifest"`
	Config   json.RawMessage  `json:"config"`
	Versions []Version        `json:"versions"`
}

func (s *Service) detailRoute(ctx context.Context, in *NameIn) (*PluginDetail, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	list, err := s.List(ctx, p)
	if err != nil {
		return nil, err
	}
	var d *PluginDetail
	for _, i := range list.Items {
		if i.Name == in.Name {
			d = &PluginDetail{PluginInfo: i}
		}
	}
	if d == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	d.Manifest = s.manifestOf(ctx, in.Name)
	_, d.Config, err = s.enablement(ctx, p, in.Name)
	if err != nil {
		return nil, err
	}
	if d.Config == nil {
		d.Config = json.RawMessage("{}")
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT version, sm3, signer, installed_by, installed_at FROM plugin_versions WHERE name = $1 ORDER BY installed_at DESC`, in.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v := Version{Name: in.Name}
		if err := rows.Scan(&v.Version, &v.SM3, &v.Signer, &v.InstalledBy, &v.InstalledAt); err != nil {
			return nil, err
		}
		v.Signed, v.Active = v.Signer != "", v.Version == d.ActiveVersion
		d.Versions = append(d.Versions, v)
	}
	return d, rows.Err()
}

// InstallIn is an uploaded package.
type InstallIn struct {
	Manifest  json.RawMessage `json:"manifest" validate:"required" doc:"plugin.json"`
	Artefact  string          `json:"artefact" validate:"required" doc:"base64 of the .wasm module or the executable"`
	Signature string          `json:"signature" validate:"max=256" doc:"hex SM2 signature of the package digest (optional)"`
}

func (s *Service) installRoute(ctx context.Context, in *InstallIn) (*Version, error) {
	a, err := base64.StdEncoding.DecodeString(in.Artefact)
	if err != nil {
		return nil, fault.Invalidf("artefact must be base64")
	}
	v, err := s.Install(ctx, &Package{Manifest: in.Manifest, Artefact: a, Signature: in.Signature}, actor.AccountOf(ctx))
	if err != nil {
		return nil, err
	}
	v.Manifest = nil
	return v, nil
}

// ActivateIn names the version to run.
type ActivateIn struct {
	Name    string `path:"name" validate:"required,max=40"`
	Version string `json:"version" validate:"required,max=64"`
}

func (s *Service) activateRoute(ctx context.Context, in *ActivateIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.Activate(ctx, in.Name, in.Version)
}

func (s *Service) removeRoute(ctx context.Context, in *NameIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.Remove(ctx, in.Name)
}

// EnableIn names a plugin and a platform.
type EnableIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: your platform"`
}

func (s *Service) enableRoute(ctx context.Context, in *EnableIn) (*httpapi.Empty, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Enable(ctx, p, in.Name, true)
}

func (s *Service) disableRoute(ctx context.Context, in *EnableIn) (*httpapi.Empty, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Enable(ctx, p, in.Name, false)
}

// ConfigIn sets a plugin's configuration on a platform.
type ConfigIn struct {
	Name       string          `path:"name" validate:"required,max=40"`
	PlatformID string          `json:"platformId" validate:"max=32"`
	Config     json.RawMessage `json:"config" validate:"required"`
}

func (s *Service) configRoute(ctx context.Context, in *ConfigIn) (*httpapi.Empty, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Configure(ctx, p, in.Name, in.Config)
}

// RecordsIn pages a plugin's records.
type RecordsIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	Collection string `path:"collection" validate:"required,max=40"`
	PlatformID string `query:"platformId" validate:"max=32"`
	CodeToken  string `query:"codeToken" validate:"max=64"`
	PageNo     int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize   int    `query:"pageSize" validate:"min=0,max=500"`
}

func (s *Service) recordsRoute(ctx context.Context, in *RecordsIn) (*plugin.RecordPage, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	m := s.manifestOf(ctx, in.Name)
	if m == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	declared := false
	for _, c := range m.Collections {
		declared = declared || c.Name == in.Collection
	}
	if !declared {
		return nil, fault.NotFoundf("plugin %s has no collection %s", in.Name, in.Collection)
	}
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	page, err := queryRecords(ctx, s, in.Name, p, plugin.RecordQuery{Collection: in.Collection, CodeToken: in.CodeToken, Newest: true,
		Offset: (max(in.PageNo, 1) - 1) * size, Limit: size})
	if err != nil {
		if pe, ok := err.(*plugin.Error); ok {
			return nil, fault.Invalidf("%s", pe.Message)
		}
		return nil, err
	}
	return page, nil
}

// VendorKeyIn trusts a vendor key.
type VendorKeyIn struct {
	ID        string `json:"id" validate:"required,max=64"`
	Vendor    string `json:"vendor" validate:"required,max=128"`
	PublicKey string `json:"publicKey" validate:"required,max=512" doc:"SM2 public key, PEM or hex"`
}

func (s *Service) vendorKeyRoute(ctx context.Context, in *VendorKeyIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.AddVendorKey(ctx, in.ID, in.Vendor, in.PublicKey)
}

// SettingsIn sets a platform's plugin security settings.
type SettingsIn struct {
	PlatformID       string `json:"platformId" validate:"max=32"`
	RequireSignature bool   `json:"requireSignature"`
}

func (s *Service) settingsRoute(ctx context.Context, in *SettingsIn) (*httpapi.Empty, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.SetRequireSignature(ctx, p, in.RequireSignature)
}

// BindingsIn filters bindings.
type BindingsIn struct {
	PlatformID string `query:"platformId" validate:"max=32"`
	State      string `query:"state" validate:"omitempty,oneof=draft review online offline"`
	Plugin     string `query:"plugin" validate:"max=40"`
}

// BindingList lists bindings.
type BindingList struct {
	Items []*Binding `json:"items"`
}

func (s *Service) bindingsRoute(ctx context.Context, in *BindingsIn) (*BindingList, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	items, err := s.Bindings(ctx, p, in.State, in.Plugin)
	return &BindingList{Items: items}, err
}

func (s *Service) createBindingRoute(ctx context.Context, in *BindingIn) (*Binding, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	in.PlatformID = p
	return s.CreateBinding(ctx, in, actor.AccountOf(ctx))
}

// BindingUpdateIn edits a binding.
type BindingUpdateIn struct {
	ID int64 `path:"id" validate:"required,min=1"`
	BindingIn
}

func (s *Service) updateBindingRoute(ctx context.Context, in *BindingUpdateIn) (*Binding, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	in.PlatformID = p
	return s.UpdateBinding(ctx, in.ID, &in.BindingIn)
}

// BindingIDIn names a binding.
type BindingIDIn struct {
	ID         int64  `path:"id" validate:"required,min=1"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Code       string `query:"code" validate:"max=256" doc:"preview: a code (token or URL) of the platform"`
}

func (s *Service) scopedBinding(ctx context.Context, id int64) (*Binding, error) {
	b, err := s.Binding(ctx, id)
	if err != nil {
		return nil, err
	}
	if !policy.ScopeFrom(ctx).Contains(b.PlatformID, "", "") {
		return nil, fault.NotFoundf("landing binding %d not found", id)
	}
	return b, nil
}

func (s *Service) deleteBindingRoute(ctx context.Context, in *BindingIDIn) (*httpapi.Empty, error) {
	b, err := s.scopedBinding(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.DeleteBinding(ctx, in.ID, b.PlatformID)
}

func (s *Service) stateRoute(state string) func(context.Context, *BindingIDIn) (*Binding, error) {
	return func(ctx context.Context, in *BindingIDIn) (*Binding, error) {
		if _, err := s.scopedBinding(ctx, in.ID); err != nil {
			return nil, err
		}
		return s.SetBindingState(ctx, in.ID, state)
	}
}

// htmlPage is a rendered page answered as is.
type htmlPage struct{ body []byte }

func (h *htmlPage) ContentType() string { return "text/html; charset=utf-8" }
func (h *htmlPage) Filename() string    { return "" }
func (h *htmlPage) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(h.body)
	return err
}

func (s *Service) previewRoute(ctx context.Context, in *BindingIDIn) (*htmlPage, error) {
	b, err := s.scopedBinding(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.Code == "" {
		return nil, fault.Missing("code")
	}
	code, platform, err := s.cfg.Codes.Resolve(ctx, in.Code)
	if code == nil || platform != b.PlatformID {
		return nil, fault.NotFoundf("no code %s on platform %s", in.Code, b.PlatformID)
	}
	if err != nil {
		return nil, err
	}
	if s.get(b.Plugin) == nil {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "plugin %s is not running", b.Plugin)
	}
	_, config, err := s.enablement(ctx, b.PlatformID, b.Plugin)
	if err != nil {
		return nil, err
	}
	req := &plugin.Request{ID: httpapi.RequestID(ctx) + "-preview", Route: "", Kind: plugin.Landing, Method: "GET", Path: "/",
		PlatformID: b.PlatformID, Code: code, Visitor: plugin.Visitor{Tourist: true}, Config: config,
		BaseURL: s.cfg.PublicBase + "/c/" + code.Token}
	if m := s.manifestOf(ctx, b.Plugin); m != nil {
		if r, ok := m.Route(plugin.Landing, "GET", "/"); ok {
			req.Route = r.Name
		}
	}
	// A preview may run before the plugin is enabled: capabilities that
	// need enablement are then denied, which the preview shows.
	on, _, _ := s.enablement(ctx, b.PlatformID, b.Plugin)
	out, err := s.Call(ctx, b.Plugin, b.PlatformID, req, on)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the plugin did not answer: "+err.Error())
	}
	if out.Error != nil {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "the plugin answered %s: %s", out.Error.Code, out.Error.Message)
	}
	return &htmlPage{body: out.Response.Body}, nil
}

// PageIn reads or sets the standard page.
type PageIn struct {
	PlatformID string `query:"platformId" validate:"max=32"`
	PageSettings
}

func (s *Service) pageRoute(ctx context.Context, in *PlatformIn) (*PageSettings, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return s.Page(ctx, p)
}

func (s *Service) setPageRoute(ctx context.Context, in *PageIn) (*PageSettings, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if err := s.SetPage(ctx, p, &in.PageSettings); err != nil {
		return nil, err
	}
	return s.Page(ctx, p)
}
