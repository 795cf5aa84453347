package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code.
// No scripts and no assets from elsewhere (the host's CSP allows only the
// host itself); html/template escapes every value, and refuses URLs that
// are not http(s) in links.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · 一码核查</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f3f6f9;color:#263238;font-size:16px}
header{background:#1565c0;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.warn{color:#c62828}.ok{color:#2e7d32}
.actions a,button{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#1565c0;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
.actions a.secondary{background:#eceff1;color:#263238}
label{display:block;margin:.6rem 0 .3rem}input[type=text],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:5rem}table{width:100%;border-collapse:collapse}td,th{border-bottom:1px solid #eceff1;padding:.3rem;text-align:left}
img{max-width:100%;border-radius:6px}
</style></head>
<body><header><a href="{{.Base}}">一码核查</a> · {{.W.Title}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "W": c.well, "D": data, "Visitor": c.req.Visitor}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.W.Title}}{{end}}{{define "content"}}
<section><h1>{{.W.Title}}</h1><dl id="well">
{{range .W.Rows}}<dt>{{.Label}}</dt><dd{{if .Missing}} class="muted"{{end}}>{{.Value}}</dd>{{end}}
</dl></section>
{{if .D.Editable}}<section class="actions">
<a href="{{.Base}}/update">信息更新申请</a>
<a class="secondary" href="{{.Base}}/request">我的申请</a>
{{if .Visitor.Tourist}}<p class="muted">信息有误？登录城市码 App 后扫码即可申请更新。</p>{{end}}
</section>{{end}}{{end}}`)

var updateFormPage = page(`{{define "title"}}信息更新申请{{end}}{{define "content"}}
<section><h1>信息更新申请</h1>
<p class="muted">只填写需要更正的项目，其余留空。提交后由平台审核人员审核，审核通过后生效。</p>
<form method="post" action="{{.Base}}/update" enctype="multipart/form-data">
{{range .D.Fields}}<label for="f-{{.Key}}">{{.Label}}</label>
<p class="muted">现值：{{if .Current}}{{.Current}}{{else}}暂无{{end}}{{if .Hint}}；{{.Hint}}{{end}}</p>
{{if .Choices}}<select id="f-{{.Key}}" name="f.{{.Key}}"><option value="">（不变）</option>{{range .Choices}}<option>{{.}}</option>{{end}}</select>
{{else}}<input id="f-{{.Key}}" type="text" name="f.{{.Key}}" maxlength="200">{{end}}
{{end}}
<label for="reason">申请理由</label>
<textarea id="reason" name="reason" maxlength="500" required placeholder="请说明需要更正的原因，如现场核查情况"></textarea>
<label for="photo">现场照片</label>
<input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p>
<button>提交申请</button></form></section>{{end}}`)

var requestDonePage = page(`{{define "title"}}已提交{{end}}{{define "content"}}
<section><h1>申请已提交</h1>
<p>申请编号：<span id="request-id">{{.D.ID}}</span></p><p>状态：{{.D.Status}}</p><p>变更内容：{{.D.Summary}}</p>
<p class="muted">请保存申请编号，扫描本码后可查询审核进度。</p>
<div class="actions"><a href="{{.Base}}/request?id={{.D.ID}}">查看审核进度</a></div></section>{{end}}`)

var requestPage = page(`{{define "title"}}申请进度{{end}}{{define "content"}}
{{with .D.Request}}<section><h1>申请进度</h1><dl>
<dt>申请编号</dt><dd id="request-id">{{.ID}}</dd>
<dt>提交时间</dt><dd>{{.Created}}</dd>
<dt>状态</dt><dd id="request-status">{{.Status}}</dd>
{{if .Reviewed}}<dt>审核时间</dt><dd>{{.Reviewed}}</dd>{{end}}
{{if .ReviewNote}}<dt>审核意见</dt><dd id="review-note">{{.ReviewNote}}</dd>{{end}}
<dt>申请理由</dt><dd>{{.Reason}}</dd>
</dl>
<h2>变更内容</h2><table><thead><tr><th>项目</th><th>原值</th><th>新值</th></tr></thead><tbody>
{{range .Changes}}<tr><td>{{.Label}}</td><td>{{if .From}}{{.From}}{{else}}暂无{{end}}</td><td>{{.To}}</td></tr>{{end}}
</tbody></table>
{{if .Applied}}<p class="ok" id="applied">变更已生效。</p>
{{else if .ApplyError}}<p class="warn">审核已通过，但码属性未能更新：{{.ApplyError}}</p>
{{else if .PendingApply}}<p class="muted">审核已通过，变更即将生效。</p>{{end}}
{{if .Photo}}<p><img src="{{.Photo}}" alt="现场照片"></p>{{end}}</section>
{{else}}<section><h1>申请进度查询</h1>
<form method="get" action="{{.Base}}/request"><label for="id">申请编号</label>
<input id="id" type="text" name="id" maxlength="64" required><button>查询</button></form></section>
<section><h2>我在本井的申请</h2>{{if .D.Mine}}<ul>{{range .D.Mine}}<li><a href="{{$.Base}}/request?id={{.ID}}">{{.Created}} {{.Summary}}</a>：{{.Status}}</li>{{end}}</ul>
{{else}}<p class="muted">暂无。</p>{{end}}</section>
{{end}}{{end}}`)
