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
<title>{{template "title" .}} · 部件报修</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f7;color:#263238;font-size:16px}
header{background:#ef6c00;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.warn{color:#c62828}.req{color:#c62828}
button,.actions a{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#ef6c00;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
label{display:block;margin:.6rem 0 .3rem}label.inline{display:inline}
input[type=text],input[type=datetime-local],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:6rem}img,video{max-width:100%;border-radius:6px}code{font-size:1.1rem;font-weight:600}
</style></head>
<body><header><a href="{{.Base}}">部件报修</a> · {{.Title}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page about a component; data is the page's own (D in
// the templates).
func render(status int, t *template.Template, c *call, cp component, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": cp.title(), "Rows": cp.rows(), "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

const componentSection = `{{define "component"}}<section><h1>{{.Title}}</h1><dl id="component">
{{range .Rows}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}
</dl></section>{{end}}`

const mineSection = `{{define "mine"}}{{if .D.Mine}}<section><h2>我的报修</h2><ul id="mine">
{{range .D.Mine}}<li><a href="{{$.Base}}/ticket?no={{.ID}}">{{.ID}}</a> {{.Created}} {{.Category}}：{{.Status}}</li>{{end}}
</ul></section>{{end}}{{end}}`

var homePage = page(componentSection + `{{define "title"}}{{.Title}}{{end}}{{define "content"}}{{template "component" .}}
<section><h2>故障报修</h2>
{{with .D.Notice}}<p class="muted">{{.}}</p>{{end}}
{{if .D.CanReport}}<form method="post" action="{{.Base}}/report" enctype="multipart/form-data">
<label for="category">故障类型 <span class="req">*</span></label>
<select id="category" name="category" required>{{range .D.Categories}}<option>{{.}}</option>{{end}}</select>
<label for="description">故障描述 <span class="req">*</span></label>
<textarea id="description" name="description" maxlength="500" required placeholder="请描述故障现象，如：灯不亮、外壳破损"></textarea>
<label for="occurredAt">发生时间</label>
<input id="occurredAt" type="datetime-local" name="occurredAt" max="{{.D.Max}}">
<label for="attachment">照片或视频</label>
<input id="attachment" type="file" name="attachment" accept="image/jpeg,image/png,image/webp,image/gif,video/mp4,video/webm">
<p class="muted">{{.D.Hint}}</p>
{{if eq .D.Mode "anonymous"}}<p class="muted" id="mode">本服务为匿名报修，不记录报修人身份。</p>
{{else if not .D.LoggedIn}}<p class="muted" id="mode">您未登录，将匿名报修。如需实名报修，请在城市码 App 中扫码登录。</p>
{{else}}{{if eq .D.Mode "either"}}<p><input id="anonymous" type="checkbox" name="anonymous" value="1"> <label class="inline" for="anonymous">匿名报修（不记录我的身份，填写的姓名与电话不会保存）</label></p>{{end}}
{{if .D.Name}}<p id="reporter">报修人：{{.D.Name}}　联系电话：{{.D.Mobile}}<br><span class="muted">已从您授权的城市码账户信息自动获取</span></p>
{{else}}<label for="reporterName">报修人姓名 <span class="req">*</span></label><input id="reporterName" type="text" name="reporterName" maxlength="20">
<label for="reporterMobile">联系电话 <span class="req">*</span></label><input id="reporterMobile" type="text" name="reporterMobile" maxlength="11" inputmode="tel">
<p class="muted">在城市码 App 中授权本服务后，姓名与联系电话将自动填写。</p>{{end}}{{end}}
<button>提交报修</button></form>
{{else}}<p class="warn" id="login">本服务为实名报修，请在城市码 App 中扫码并登录后报修。</p>{{end}}
<div class="actions"><a href="{{.Base}}/ticket">查询报修进度</a></div></section>
{{template "mine" .}}{{end}}` + mineSection)

var donePage = page(componentSection + `{{define "title"}}报修已提交{{end}}{{define "content"}}
<section><h1>报修已提交</h1>
<p>报修单号：<code id="ticket">{{.D.Ticket}}</code></p>
<p>查询码：<code id="key">{{.D.Key}}</code></p>
<p>状态：{{.D.Status}}</p>
<p class="warn">请截图或保存报修单号与查询码：凭二者扫描本码即可查询处理进度{{if .D.Anonymous}}；匿名报修无法找回{{end}}。</p>
<div class="actions"><a href="{{.D.Link}}">查看处理进度</a></div></section>{{template "component" .}}{{end}}`)

var ticketPage = page(componentSection + `{{define "title"}}报修进度{{end}}{{define "content"}}
{{with .D.Report}}<section><h1>报修进度</h1><dl>
<dt>报修单号</dt><dd id="ticket">{{.ID}}</dd>
<dt>状态</dt><dd id="status">{{.Status}}</dd>
<dt>报修时间</dt><dd>{{.Created}}</dd>
{{if .Occurred}}<dt>发生时间</dt><dd>{{.Occurred}}</dd>{{end}}
<dt>部件</dt><dd>{{.Component}}</dd>
<dt>故障类型</dt><dd>{{.Category}}</dd>
<dt>故障描述</dt><dd>{{.Description}}</dd>
{{if .Accepted}}<dt>受理时间</dt><dd>{{.Accepted}}</dd>{{end}}
{{if .Closed}}<dt>办结时间</dt><dd>{{.Closed}}</dd>{{end}}
{{if .Note}}<dt>处理说明</dt><dd id="note">{{.Note}}</dd>{{end}}
{{if .RejectReason}}<dt>驳回理由</dt><dd id="reason">{{.RejectReason}}</dd>{{end}}
</dl>
{{if .Attachment}}<p>{{if .Video}}<video controls src="{{.Attachment}}"></video>{{else}}<img src="{{.Attachment}}" alt="故障照片">{{end}}</p>{{end}}
</section>
{{else}}<section><h1>报修进度查询</h1>
<form method="get" action="{{.Base}}/ticket">
<label for="no">报修单号</label><input id="no" type="text" name="no" maxlength="19" required placeholder="BX20261103-ABCD2345">
<label for="key">查询码</label><input id="key" type="text" name="key" maxlength="19" placeholder="登录后查询本人的实名报修可不填">
<button>查询</button></form></section>
{{template "mine" .}}{{end}}{{end}}` + mineSection)
