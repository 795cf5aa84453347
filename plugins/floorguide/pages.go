package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code
// at a building's entrance. No scripts and no assets from elsewhere (the
// floor plans are the host's files); html/template escapes every value.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f3f6f9;color:#263238;font-size:16px}
header{background:#1565c0;color:#fff;padding:.8rem 1rem;font-weight:600}header a{color:#fff;text-decoration:none}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.15rem;margin:0 0 .6rem}h3{font-size:1rem;margin:.8rem 0 .4rem}
.muted{color:#78909c;font-size:.9rem}ul{list-style:none;padding:0;margin:0}li{border-bottom:1px solid #eceff1;padding:.5rem 0}
.no{display:inline-block;min-width:3.2rem;font-weight:600;color:#1565c0}.fix{float:right;font-size:.85rem;color:#90a4ae}
nav.floors a{display:inline-block;margin:0 .3rem .4rem 0;padding:.25rem .6rem;border-radius:14px;background:#e3f2fd;color:#0d47a1;text-decoration:none}
img.plan{width:100%;height:auto;border:1px solid #eceff1;border-radius:4px}
form.search{display:flex;gap:.4rem}input,select,textarea{font-size:1rem;padding:.45rem;box-sizing:border-box;width:100%}
form.search input{flex:1}label{display:block;margin:.6rem 0 .2rem}textarea{min-height:6rem}
button{padding:.55rem 1rem;border-radius:6px;background:#1565c0;color:#fff;border:0;font-size:1rem;white-space:nowrap}
</style></head>
<body><header><a href="{{.Base}}">{{.Title}}</a> · {{.Building}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, building string, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Building": building, "Notice": c.cfg.Notice, "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.Building}}{{end}}{{define "content"}}
<section><h1>{{.Building}}</h1>
{{if .D.Found}}<form class="search" method="get" action="{{.Base}}"><input name="q" value="{{.D.Q}}" maxlength="30" placeholder="搜索房间号、名称或科室">
<button>搜索</button></form>
{{if not .D.Q}}<nav class="floors" aria-label="楼层">{{range .D.All}}<a href="#f-{{.ID}}">{{.ID}}</a>{{end}}</nav>{{end}}
{{else}}<p class="muted" id="empty">本楼宇尚未设置楼层导览，请咨询现场工作人员。</p>{{end}}</section>
{{if .D.Found}}{{if .D.Q}}<section><p id="matches">“{{.D.Q}}”共找到 {{.D.Matches}} 个房间 · <a href="{{.Base}}">查看全部楼层</a></p>
{{if not .D.Floors}}<p class="muted">没有找到相关房间，请换个关键词试试。</p>{{end}}</section>{{end}}
{{range .D.Floors}}<section id="f-{{.ID}}"><h2>{{.ID}}{{if .Name}} · {{.Name}}{{end}}</h2>
{{if and .Plan (not $.D.Q)}}<img class="plan" src="{{.Plan}}" alt="{{.ID}} 平面图" loading="lazy">{{end}}
{{if .Rooms}}<h3>房间</h3><ul>{{$f := .ID}}{{range .Rooms}}<li><span class="no">{{.Number}}</span> {{.Name}}
<a class="fix" href="{{$.Base}}/correct?floor={{$f}}&room={{.Number}}">纠错</a>
{{if .Department}}<br><span class="muted">科室/功能：{{.Department}}</span>{{end}}{{if .Hours}}<br><span class="muted">开放时间：{{.Hours}}</span>{{end}}</li>
{{end}}</ul>{{end}}
{{if .Areas}}<h3>功能区域</h3><ul>{{range .Areas}}<li><strong>{{.Name}}</strong>{{if .Purpose}}<br><span class="muted">{{.Purpose}}</span>{{end}}</li>{{end}}</ul>{{end}}
{{if and (not .Rooms) (not .Areas)}}<p class="muted">本层暂无房间信息。</p>{{end}}
</section>{{end}}
<section><p class="muted">{{.Notice}}</p><p><a href="{{.Base}}/correct">信息有误？我要纠错</a></p></section>{{end}}{{end}}`)

var correctPage = page(`{{define "title"}}纠错{{end}}{{define "content"}}
<section><h1>楼层信息纠错</h1><p class="muted">{{.Notice}}</p>
<form method="post" action="{{.Base}}/correct">
<label for="type">纠错类型</label><select id="type" name="type" required><option value="">请选择</option>{{range .D.Types}}<option>{{.}}</option>{{end}}</select>
<label for="floor">楼层</label><select id="floor" name="floor"><option value="">不涉及具体楼层</option>
{{range .D.Guide.Floors}}<option value="{{.ID}}"{{if eq .ID $.D.Floor}} selected{{end}}>{{.ID}}{{if .Name}} {{.Name}}{{end}}</option>{{end}}</select>
<label for="room">房间</label><select id="room" name="room"><option value="">不涉及具体房间</option>
{{range .D.Guide.Floors}}{{$f := .ID}}{{range .Rooms}}<option value="{{.Number}}"{{if and (eq $f $.D.Floor) (eq .Number $.D.Room)}} selected{{end}}>{{$f}} · {{.Number}} {{.Name}}</option>{{end}}{{end}}</select>
<label for="area">功能区域</label><select id="area" name="area"><option value="">不涉及功能区域</option>
{{range .D.Guide.Floors}}{{$f := .ID}}{{range .Areas}}<option value="{{.Name}}">{{$f}} · {{.Name}}</option>{{end}}{{end}}</select>
<label for="description">问题描述</label><textarea id="description" name="description" maxlength="{{.D.Max}}" required placeholder="如：门牌是 203，导览写的是 205（最多 {{.D.Max}} 字）"></textarea>
<label for="suggestion">建议的正确信息（选填）</label><textarea id="suggestion" name="suggestion" maxlength="200"></textarea>
<p class="muted" id="reporter">{{with .D.Reporter}}{{if .Name}}纠错人：{{.Name}}{{if .Mobile}}（{{.Mobile}}）{{end}}，将随纠错一并提交，便于工作人员核实。{{else if .LoggedIn}}您未授权本服务获取姓名和联系方式，将仅记录匿名标识。{{else}}您未登录，纠错将匿名提交。{{end}}{{end}}</p>
<p class="muted">房间须与所选楼层一致；房间号本身有误的，请选择导览上显示的房间号。</p>
<button>提交纠错</button></form></section>{{end}}`)

var correctedPage = page(`{{define "title"}}纠错已提交{{end}}{{define "content"}}
<section><h1>纠错已提交</h1><p>纠错编号：<span id="correction-id">{{.D.ID}}</span></p>
<p>{{.D.Correction.Type}}{{with .D.Correction.Floor}} · {{.}}{{end}}{{with .D.Correction.Room}} · {{.}}{{end}}{{with .D.Correction.Area}} · {{.}}{{end}}</p>
<p class="muted">感谢您的反馈，工作人员核实后会及时更正楼层导览。</p>
<p><a href="{{.Base}}">返回楼层导览</a></p></section>{{end}}`)
