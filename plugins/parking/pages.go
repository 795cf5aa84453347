package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code
// at a car park's entrance. No scripts and no assets from elsewhere (the
// host's CSP allows only the host itself); html/template escapes every
// value.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · 停车指南</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f5f9;color:#263238;font-size:16px}
header{background:#1565c0;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.warn{color:#c62828}.ok{color:#2e7d32}
.big{font-size:2rem;font-weight:700}ul{margin:0;padding-left:1.2rem}li{margin:.2rem 0}
ol.mine{list-style:none;padding:0}ol.mine li{border-bottom:1px solid #eceff1;padding:.6rem 0}.content{white-space:pre-wrap;margin:.3rem 0}
.actions a,button{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#1565c0;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
label{display:block;margin:.6rem 0 .3rem}select,textarea,input[type=file]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:6rem}label.inline{display:inline}
</style></head>
<body><header><a href="{{.Base}}">停车指南</a> · {{.D.Name}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data map[string]any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "D": data, "Visitor": c.req.Visitor, "Notice": c.cfg.Notice}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.D.Name}}{{end}}{{define "content"}}
{{with .D.Lot}}<section><h1>{{.Name}}</h1><dl id="lot">
<dt>地址</dt><dd>{{.Address}}</dd>
{{if $.D.Coords}}<dt>经纬度</dt><dd id="coords">{{$.D.Coords}}</dd>{{end}}
<dt>开放时间</dt><dd{{if not .OpeningHours}} class="muted"{{end}}>{{or .OpeningHours "暂无"}}</dd>
<dt>停车时限</dt><dd{{if not .TimeLimit}} class="muted"{{end}}>{{or .TimeLimit "暂无"}}</dd>
<dt>出入口</dt><dd>{{if .Entrances}}<ul id="entrances">{{range .Entrances}}<li>{{.}}</li>{{end}}</ul>{{else}}<span class="muted">暂无</span>{{end}}</dd>
<dt>联系电话</dt><dd{{if not .Contact}} class="muted"{{end}}>{{or .Contact "暂无"}}</dd>
</dl></section>
{{with $.D.Spaces}}<section id="spaces"><h2>车位</h2>
{{if .Known}}<p>剩余车位 <span class="big{{if .Full}} warn{{end}}" id="remaining">{{.Remaining}}</span> / 共 {{.Total}} 个{{if .Full}} <span class="warn">（已满）</span>{{end}}</p>
<p class="muted" id="spaces-updated">更新于 {{.Updated}}{{if .Stale}} <span class="warn" id="stale">（超过 {{$.D.Stale}} 分钟未更新，仅供参考）</span>{{end}}</p>
{{else}}<p>共 {{.Total}} 个车位</p><p class="muted" id="no-spaces">暂无实时剩余车位信息</p>{{end}}</section>{{end}}
<section id="fees"><h2>收费标准</h2><ul>{{range $.D.Fees}}<li>{{.}}</li>{{end}}</ul>
{{if .FeeNote}}<p class="content">{{.FeeNote}}</p>{{end}}</section>
{{else}}<section><h1>{{.D.Name}}</h1><p class="muted" id="no-lot">暂无停车信息：管理方尚未发布本停车场的收费标准与车位信息，请以现场公示为准。</p></section>{{end}}
<section class="actions"><a href="{{.Base}}/feedback">意见反馈</a></section>
{{if .D.Mine}}<section id="mine"><h2>我的反馈</h2><ol class="mine">{{range .D.Mine}}<li id="f-{{.ID}}"><span class="muted">{{.Created}} · {{.Kind}} · </span><span class="status">{{.Status}}</span>
<p class="content">{{.Content}}</p>{{if .Reply}}<p class="reply ok">回复：{{.Reply}} <span class="muted">（{{.Replied}}）</span></p>{{end}}</li>{{end}}</ol></section>
{{else if .Visitor.Tourist}}<p class="muted">登录城市码 App 扫码反馈，可在本页查看处理回复。</p>{{end}}{{end}}`)

var feedbackPage = page(`{{define "title"}}意见反馈{{end}}{{define "content"}}
<section><h1>意见反馈</h1><p class="muted">{{.Notice}}</p>
<form method="post" action="{{.Base}}/feedback" enctype="multipart/form-data">
<label for="kind">反馈类型</label>
<select id="kind" name="kind" required>{{range .D.Kinds}}<option value="{{.}}">{{.}}</option>{{end}}</select>
<label for="content">反馈内容</label>
<textarea id="content" name="content" maxlength="{{.D.Max}}" required placeholder="如停车场环境、服务质量、设施、收费等方面的意见和建议，最多 {{.D.Max}} 字"></textarea>
<label for="photo">照片（可选）</label>
<input id="photo" type="file" name="photo" accept="image/*">
{{with .D.Who}}{{if .Authorized}}<p id="who">反馈人：<span id="who-name">{{.Name}}</span>（<span id="who-mobile">{{.Mobile}}</span>）<span class="muted">已从城市码账户自动获取</span></p>
<p><input id="anonymous" type="checkbox" name="anonymous" value="1"> <label class="inline" for="anonymous">不附姓名和联系方式</label></p>
{{else}}<p class="muted" id="who">您已登录；授权本服务获取姓名和联系方式后，反馈将自动附上，便于管理方联系您。</p>{{end}}
{{else}}<p class="muted" id="who">游客匿名反馈；登录后可查看处理回复。</p>{{end}}
<button>提交反馈</button></form></section>{{end}}`)

var submittedPage = page(`{{define "title"}}反馈已提交{{end}}{{define "content"}}
<section><h1>反馈已提交</h1><p>反馈编号：<span id="feedback-id">{{.D.ID}}</span></p>
<p class="muted">{{if .D.Known}}管理方处理后，回复将显示在停车指南页面的“我的反馈”中。{{else}}感谢您的反馈，管理方会尽快处理。{{end}}</p>
<div class="actions"><a href="{{.Base}}">返回停车指南</a></div></section>{{end}}`)
