package main

import (
	"context"
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code,
// with no assets from elsewhere. The only script fills in the position
// when the point has a fence.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f3f6f8;color:#263238;font-size:16px}
header{background:#00796b;color:#fff;padding:.8rem 1rem;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.req{color:#c62828}
label{display:block;margin:.6rem 0 .3rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{display:block;padding:.7rem;margin:1rem 0 0;border-radius:6px;background:#00796b;color:#fff;border:0;width:100%;font-size:1rem}
</style></head>
<body><header>{{.Title}} · {{.Point}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Point": c.point, "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// inputType is the HTML input type of a field type.
func inputType(t string) string {
	switch t {
	case typeTel:
		return "tel"
	case typeNumber:
		return "number"
	}
	return "text"
}

type formItem struct {
	field
	Input string
	Max   int
}

// home is the landing page: the registration form.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	items := make([]formItem, len(c.cfg.Fields))
	for i, f := range c.cfg.Fields {
		items[i] = formItem{field: f, Input: inputType(f.Type), Max: maxRunes(f.Key)}
	}
	return render(200, homePage, c, map[string]any{"Fields": items, "Notice": c.cfg.Notice, "Fence": c.cfg.Fence})
}

var homePage = page(`{{define "title"}}登记{{end}}{{define "content"}}
<section><h1>{{.Point}}</h1>
{{if .D.Notice}}<p>{{.D.Notice}}</p>{{end}}
<form method="post" action="{{.Base}}/register" id="register">
{{range .D.Fields}}<label for="f-{{.Key}}">{{.Label}}{{if .Required}} <span class="req">*</span>{{end}}</label>
<input id="f-{{.Key}}" name="{{.Key}}" type="{{.Input}}"{{if eq .Input "number"}} min="0" step="any"{{else}} maxlength="{{.Max}}"{{end}}{{if eq .Input "tel"}} pattern="1[3-9][0-9]{9}" autocomplete="tel"{{end}}{{if .Required}} required{{end}}>
{{end}}
{{if .D.Fence}}<input type="hidden" name="lat" id="lat"><input type="hidden" name="lng" id="lng">
<p class="muted" id="geo">本登记点仅限现场登记（{{.D.Fence.Radius}} 米范围内），正在获取您的位置…</p>
<script>
(function(){var s=document.getElementById("geo");
if(!navigator.geolocation){s.textContent="无法获取位置：请在支持定位的浏览器中打开。";return}
navigator.geolocation.getCurrentPosition(function(p){document.getElementById("lat").value=p.coords.latitude;
document.getElementById("lng").value=p.coords.longitude;s.textContent="已获取位置。"},
function(){s.textContent="无法获取位置：请允许定位后刷新本页。"},{enableHighAccuracy:true,timeout:10000})})();
</script>{{end}}
<button>提交登记</button></form>
<p class="muted">登记信息仅用于访客管理。</p></section>{{end}}`)

var donePage = page(`{{define "title"}}登记成功{{end}}{{define "content"}}
<section><h1>登记成功</h1><dl>
<dt>登记编号</dt><dd><span id="registration-id">{{.D.ID}}</span></dd>
<dt>登记时间</dt><dd>{{.D.Time}}</dd>
<dt>登记点</dt><dd>{{.Point}}</dd>
{{range .D.Rows}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}
</dl><p class="muted">请向工作人员出示本页面。</p></section>{{end}}`)
