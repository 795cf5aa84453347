package pluginhost

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// PageSettings configure a platform's standard landing page (标准落地页):
// what a citizen sees when no plugin serves the scanned code.
type PageSettings struct {
	Title           string        `json:"title" validate:"max=64" doc:"page title; default 城市码"`
	SceneInfo       string        `json:"sceneInfo" validate:"max=2000" doc:"场景信息: what this code is for"`
	BackgroundImage string        `json:"backgroundImage" validate:"omitempty,max=512,url" doc:"https URL of the background image"`
	BackgroundColor string        `json:"backgroundColor" validate:"omitempty,hexcolor" doc:"e.g. #1F6FEB"`
	Opacity         float64       `json:"opacity" validate:"min=0,max=1" doc:"透明度 of the content panel, 0–1; 0 means 0.92"`
	Services        []ServiceLink `json:"services" validate:"max=20,dive" doc:"更多服务 links"`
	FAQ             []FAQ         `json:"faq" validate:"max=30,dive" doc:"常见问题"`
}

// ServiceLink is a link under 更多服务.
type ServiceLink struct {
	Name string `json:"name" validate:"required,max=32"`
	URL  string `json:"url" validate:"required,max=512,url"`
}

// FAQ is one question and answer.
type FAQ struct {
	Q string `json:"q" validate:"required,max=200"`
	A string `json:"a" validate:"required,max=2000"`
}

func (p *PageSettings) check() error {
	for _, u := range append([]string{p.BackgroundImage}, serviceURLs(p.Services)...) {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" {
			return fault.Invalidf("links must be https URLs: %q", u)
		}
	}
	return nil
}

func serviceURLs(ss []ServiceLink) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.URL
	}
	return out
}

// Page reads a platform's standard page settings (defaults when unset).
func (s *Service) Page(ctx context.Context, platformID string) (*PageSettings, error) {
	var raw []byte
	err := s.cfg.Pool.QueryRow(ctx, `SELECT settings FROM landing_pages WHERE platform_id = $1`, platformID).Scan(&raw)
	p := &PageSettings{}
	if store.NoRows(err) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	return p, json.Unmarshal(raw, p)
}

// SetPage stores a platform's standard page settings.
func (s *Service) SetPage(ctx context.Context, platformID string, p *PageSettings) error {
	if err := p.check(); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO landing_pages (platform_id, settings, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (platform_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at`, platformID, b, s.cfg.Clock())
	return err
}

var kindNames = map[string]string{"object": "一物一码", "enterprise": "一企一码", "person": "一人一码"}

var standardTmpl = template.Must(template.New("std").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:1.2rem;color:#303133;
background:{{if .Color}}{{.Color}}{{else}}#f5f7fa{{end}}{{if .Image}} url("{{.Image}}") center/cover no-repeat{{end}}}
main{max-width:32rem;margin:auto;background:rgba(255,255,255,{{.Opacity}});border-radius:8px;padding:1.2rem}
h1{font-size:1.3rem}h2{font-size:1rem;margin-top:1.4rem}dl{display:grid;grid-template-columns:6em 1fr;gap:.3rem}dt{color:#909399}
dd{margin:0}ul{padding-left:1.1rem}details{margin:.4rem 0}</style>
</head><body><main>
<h1>{{.Title}}</h1>
<section><h2>用户信息</h2><p>{{.Visitor}}</p></section>
<section><h2>码信息</h2><dl>
<dt>码类型</dt><dd>{{.KindName}}</dd>
{{if .Code.Name}}<dt>名称</dt><dd>{{.Code.Name}}</dd>{{end}}
{{if .Code.TypeName}}<dt>对象类型</dt><dd>{{.Code.TypeName}}</dd>{{end}}
{{if .Code.Number}}<dt>统一编号</dt><dd>{{.Code.Number}}</dd>{{end}}
{{if .Code.OwnerUnit}}<dt>权属单位</dt><dd>{{.Code.OwnerUnit}}</dd>{{end}}
<dt>状态</dt><dd>有效</dd></dl></section>
{{if .SceneInfo}}<section><h2>场景信息</h2><p>{{.SceneInfo}}</p></section>{{end}}
{{if .Services}}<section><h2>更多服务</h2><ul>{{range .Services}}<li><a href="{{.URL}}" rel="noopener noreferrer">{{.Name}}</a></li>{{end}}</ul></section>{{end}}
{{if .FAQ}}<section><h2>常见问题</h2>{{range .FAQ}}<details><summary>{{.Q}}</summary><p>{{.A}}</p></details>{{end}}</section>{{end}}
</main></body></html>`))

// standardPage renders the platform's standard landing page for a code.
func (s *Service) standardPage(ctx context.Context, w http.ResponseWriter, r *http.Request, platformID string, c *plugin.Code) {
	p, err := s.Page(ctx, platformID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// The standard page is the platform's own: a logged-in visitor sees
	// their masked name and mobile.
	v := plugin.Visitor{Tourist: true}
	if sess := s.session(ctx, r); sess != nil {
		v = plugin.Visitor{Name: sess.name, Mobile: sess.mobile}
	}
	s.renderStandard(w, r, p, c, v)
}

func (s *Service) renderStandard(w http.ResponseWriter, r *http.Request, p *PageSettings, c *plugin.Code, v plugin.Visitor) {
	title := strings.TrimSpace(p.Title)
	if title == "" {
		title = "城市码"
	}
	opacity := p.Opacity
	if opacity == 0 {
		opacity = 0.92
	}
	visitor := "游客（未登录）"
	if !v.Tourist {
		visitor = strings.TrimSpace(v.Name + " " + v.Mobile)
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_ = standardTmpl.Execute(w, map[string]any{
		"Title": title, "Color": template.CSS(p.BackgroundColor), "Image": p.BackgroundImage, "Opacity": opacity,
		"Visitor": visitor, "Code": c, "KindName": kindNames[c.Kind], "SceneInfo": p.SceneInfo,
		"Services": p.Services, "FAQ": p.FAQ,
	})
}
