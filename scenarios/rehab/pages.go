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
<title>{{template "title" .}} · 康复辅具</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f6f4f9;color:#263238;font-size:16px}
header{background:#6a1b9a;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.warn{color:#c62828}.ok{color:#2e7d32}
.actions a,button{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#6a1b9a;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
.actions a.secondary{background:#eceff1;color:#263238}
label{display:block;margin:.6rem 0 .3rem}input[type=text],input[type=tel],input[type=date],input[type=number],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:4rem}table{width:100%;border-collapse:collapse;font-size:.95rem}td,th{border-bottom:1px solid #eceff1;padding:.3rem;text-align:left}
</style></head>
<body><header><a href="{{.Base}}">康复辅具</a> · {{.P.Name}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "P": c.point, "D": data, "Visitor": c.req.Visitor}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.P.Name}}{{end}}{{define "content"}}
<section><h1>{{.P.Name}}</h1><p class="muted">康复辅具租赁服务点</p><dl id="point">
{{range .P.Rows}}<dt>{{.Label}}</dt><dd{{if .Missing}} class="muted"{{end}}>{{.Value}}</dd>{{end}}
</dl></section>
<section id="policy"><h2>租赁政策</h2><dl>
<dt>申请条件</dt><dd>{{.D.Policy.Eligibility}}</dd>
<dt>押金</dt><dd>{{.D.Policy.Deposit}}</dd>
<dt>租金</dt><dd>{{.D.Policy.Fees}}</dd>
<dt>租期</dt><dd>{{.D.Policy.Duration}}</dd>
</dl>
{{range .D.Documents}}<h3>{{.Title}}</h3><p>{{.Content}}</p>
<p class="muted">{{if .Publisher}}发布单位：{{.Publisher}}{{end}}{{if .PublishedAt}} 发布时间：{{.PublishedAt}}{{end}}{{if .URL}} <a href="{{.URL}}" rel="noopener">查看原文</a>{{end}}</p>{{end}}
</section>
<section id="catalogue"><h2>辅具目录</h2>
<table><thead><tr><th>辅具</th><th>押金</th><th>租金</th><th>最长</th></tr></thead><tbody>
{{range .D.Catalogue}}<tr id="aid-{{.ID}}"><td>{{if .Rentable}}<a href="{{$.Base}}/apply?aid={{.ID}}">{{.Name}}</a>{{else}}{{.Name}}<br><span class="muted">暂不可租</span>{{end}}
{{if .Category}}<br><span class="muted">{{.Category}}{{if .Description}} · {{.Description}}{{end}}</span>{{end}}</td>
<td>{{.DepositText}}</td><td>{{.FeeText}}</td><td>{{.MaxDays}} 天</td></tr>{{end}}
</tbody></table></section>
<section class="actions">
<a href="{{.Base}}/apply">申请租赁</a>
<a class="secondary" href="{{.Base}}/application">我的申请</a>
{{if .Visitor.Tourist}}<p class="muted">申请租赁需登录：请在城市码 App 中扫码。</p>{{end}}
</section>{{end}}`)

var applyFormPage = page(`{{define "title"}}租赁申请{{end}}{{define "content"}}
<section><h1>辅具租赁申请</h1>
<form method="post" action="{{.Base}}/apply">
<label for="aid">辅具</label>
<select id="aid" name="aid" required>{{range .D.Catalogue}}<option value="{{.ID}}"{{if eq .ID $.D.Selected}} selected{{end}}>{{.Name}}（押金 {{.DepositText}}，{{.FeeText}}，最长 {{.MaxDays}} 天）</option>{{end}}</select>
<label for="start">起租日期</label>
<input id="start" type="date" name="start" value="{{.D.Today}}" min="{{.D.Today}}" max="{{.D.Latest}}" required>
<label for="days">租期（天）</label>
<input id="days" type="number" name="days" min="1" max="{{.D.MaxDays}}" value="30" required>
<label for="phone">联系电话</label>
<input id="phone" type="tel" name="phone" maxlength="20" required autocomplete="tel" placeholder="手机号或带区号的固定电话">
<label for="note">备注（可选）</label>
<textarea id="note" name="note" maxlength="200" placeholder="如需送货上门、代办人等"></textarea>
<p class="muted">提交后由服务点工作人员审核；审核通过后，请按起租日期携带身份证件到服务点办理租赁并缴纳押金。</p>
<button>提交申请</button></form></section>{{end}}`)

var appliedPage = page(`{{define "title"}}已提交{{end}}{{define "content"}}
<section><h1>申请已提交</h1>
<p>申请编号：<span id="application-id">{{.D.ID}}</span></p><p>状态：{{.D.Status}}</p>
<p>{{.D.AidName}}，{{.D.Start}} 至 {{.D.End}}（{{.D.Days}} 天），押金 {{.D.DepositText}}，预计租金 {{.D.FeeText}}</p>
<p class="muted">请保存申请编号，扫描本码后可查询审核进度。</p>
<div class="actions"><a href="{{.Base}}/application?id={{.D.ID}}">查看审核进度</a></div></section>{{end}}`)

var applicationPage = page(`{{define "title"}}申请进度{{end}}{{define "content"}}
{{with .D.Application}}<section><h1>申请进度</h1><dl>
<dt>申请编号</dt><dd id="application-id">{{.ID}}</dd>
<dt>提交时间</dt><dd>{{.Created}}</dd>
<dt>状态</dt><dd id="application-status">{{.Status}}</dd>
{{if .Reviewed}}<dt>审核时间</dt><dd>{{.Reviewed}}</dd>{{end}}
{{if .ReviewNote}}<dt>审核意见</dt><dd id="review-note">{{.ReviewNote}}</dd>{{end}}
<dt>辅具</dt><dd>{{.AidName}}</dd>
<dt>租期</dt><dd>{{.Start}} 至 {{.End}}（{{.Days}} 天）</dd>
<dt>押金</dt><dd>{{.DepositText}}</dd>
<dt>预计租金</dt><dd>{{.FeeText}}</dd>
<dt>联系电话</dt><dd>{{.MaskedPhone}}</dd>
{{if .Note}}<dt>备注</dt><dd>{{.Note}}</dd>{{end}}
</dl>
{{if eq .Status "已通过"}}<p class="ok" id="approved">审核已通过。请于 {{.Start}} 起携带身份证件到{{$.P.Name}}办理租赁并缴纳押金{{if $.P.Address}}（{{$.P.Address}}{{if $.P.Hours}}，{{$.P.Hours}}{{end}}）{{end}}。</p>
{{else if eq .Status "已驳回"}}<p class="warn">申请未通过，如有疑问请致电服务点。</p>
{{else}}<p class="muted">服务点工作人员审核后，结果将在此显示。</p>{{end}}</section>
{{else}}<section><h1>申请进度查询</h1>
<form method="get" action="{{.Base}}/application"><label for="id">申请编号</label>
<input id="id" type="text" name="id" maxlength="64" required><button>查询</button></form></section>
<section><h2>我在本服务点的申请</h2>{{if .D.Mine}}<ul>{{range .D.Mine}}<li><a href="{{$.Base}}/application?id={{.ID}}">{{.Created}} {{.AidName}}</a>：{{.Status}}</li>{{end}}</ul>
{{else}}<p class="muted">暂无。</p>{{end}}</section>
{{end}}{{end}}`)
