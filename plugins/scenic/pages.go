package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code.
// No scripts and no assets from elsewhere (the host's content policy
// allows images and videos of the host only); html/template escapes every
// value, and refuses URLs that are not http(s) in links.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f1f6f4;color:#263238;font-size:16px}
header{background:#00796b;color:#fff;padding:.8rem 1rem;font-weight:600}header a{color:#fff;text-decoration:none}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:5rem 1fr;gap:.4rem .6rem;margin:.6rem 0 0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}ul{list-style:none;padding:0;margin:0}li{border-bottom:1px solid #eceff1;padding:.6rem 0}
.text{white-space:pre-wrap;margin:.3rem 0}img,video{max-width:100%;border-radius:6px}
label{display:block;margin:.6rem 0 .3rem}textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;min-height:6rem}
button{padding:.6rem 1rem;border-radius:6px;background:#00796b;color:#fff;border:0;font-size:1rem}
form.like{display:inline}form.like button{background:#e0f2f1;color:#004d40;padding:.2rem .6rem;font-size:.9rem}
</style></head>
<body><header><a href="{{.Base}}">{{.Title}}</a> · {{.S.Name}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}

{{define "media"}}{{if .Media}}{{if .Video}}<video src="{{.Media}}" controls preload="metadata"></video>{{else}}<img src="{{.Media}}" alt="打卡图片">{{end}}{{end}}{{end}}

{{define "like"}}<form class="like" method="post" action="{{.Base}}/like?id={{.ID}}"><button aria-label="点赞">👍 <span class="likes">{{.Likes}}</span></button></form>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Notice": c.cfg.Notice, "S": c.spot,
		"Modes": describeModes(c.spot.Modes), "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// likeData feeds the "like" template.
func likeData(base string, p postView) map[string]any {
	return map[string]any{"Base": base, "ID": p.ID, "Likes": p.Likes}
}

var funcs = template.FuncMap{"likeData": likeData}

var homePage = template.Must(template.Must(base.Clone()).Funcs(funcs).Parse(`{{define "title"}}{{.S.Name}}{{end}}{{define "content"}}
<section id="spot">{{if .S.Cover}}{{if .S.CoverLocal}}<img src="{{.S.Cover}}" alt="{{.S.Name}}">{{else}}<p><a href="{{.S.Cover}}" rel="noopener">查看景点图片</a></p>{{end}}{{end}}
<h1>{{.S.Name}}</h1>{{if .S.Intro}}<p class="text">{{.S.Intro}}</p>{{end}}
<dl>{{if .S.Hours}}<dt>开放时间</dt><dd>{{.S.Hours}}</dd>{{end}}{{if .S.Address}}<dt>地址</dt><dd>{{.S.Address}}</dd>{{end}}
<dt>打卡方式</dt><dd id="modes">{{.Modes}}</dd></dl></section>
<section id="checkin"><h2>我要打卡</h2>{{if .D.CanPost}}<p class="muted">{{.Notice}}</p>
<form method="post" action="{{.Base}}/checkin"{{if .D.Accept}} enctype="multipart/form-data"{{end}}>
<label for="text">描述与评价</label>
<textarea id="text" name="text" maxlength="{{.D.Max}}" placeholder="最多 {{.D.Max}} 字"></textarea>
{{if .D.Accept}}<label for="media">{{.D.MediaLabel}}{{if .D.MediaRequired}}（必选）{{else}}（可选）{{end}}</label>
<input id="media" type="file" name="media" accept="{{.D.Accept}}"{{if .D.MediaRequired}} required{{end}}>
<p class="muted">{{.D.MediaLabel}}不超过 5 MB{{if .D.VideoOK}}；视频须为 MP4 或 WebM{{end}}。</p>{{end}}
{{if .D.Review}}<p class="muted">打卡内容经工作人员审核后公开展示。</p>{{end}}
<button>提交打卡</button></form>{{else}}<p class="muted" id="login-to-post">打卡需登录：请在城市码 App 中扫码。</p>{{end}}</section>
<section id="posts"><h2>大家的打卡（{{.D.Total}}）</h2>
{{if .D.Posts}}<ul>{{range .D.Posts}}<li id="p-{{.ID}}"><span class="muted">{{.Who}} · {{.Time}} · {{.Mode}}</span>
{{if .Text}}<p class="text">{{.Text}}</p>{{end}}{{template "media" .}}
<p><a href="{{$.Base}}/post?id={{.ID}}">查看详情</a> {{template "like" (likeData $.Base .)}}</p></li>
{{end}}</ul>{{if $.D.Tourist}}<p class="muted">点赞需登录：请在城市码 App 中扫码。</p>{{end}}
<p>{{with .D.Prev}}<a href="{{$.Base}}?page={{.}}">上一页</a> {{end}}{{with .D.Next}}<a href="{{$.Base}}?page={{.}}" id="next">下一页</a>{{end}}</p>
{{else}}<p class="muted" id="empty">还没有人打卡，来做第一个吧。</p>{{end}}</section>{{end}}`))

var postPage = template.Must(template.Must(base.Clone()).Funcs(funcs).Parse(`{{define "title"}}打卡详情{{end}}{{define "content"}}
{{with .D.Post}}<section id="post"><h1>打卡详情</h1><p class="muted">{{.Who}} · {{.Time}} · {{.Mode}}</p>
{{if .Text}}<p class="text">{{.Text}}</p>{{end}}{{template "media" .}}
<p>{{template "like" (likeData $.Base .)}}</p>{{end}}
{{if .D.Tourist}}<p class="muted">点赞需登录：请在城市码 App 中扫码。</p>{{end}}
<p><a href="{{.Base}}">返回{{.S.Name}}</a></p></section>{{end}}`))

var postedPage = page(`{{define "title"}}打卡成功{{end}}{{define "content"}}
<section><h1>{{if eq .D.Status "待审核"}}打卡已提交{{else}}打卡成功{{end}}</h1><p>打卡编号：<span id="post-id">{{.D.ID}}</span></p>
<p id="post-status">{{if eq .D.Status "待审核"}}工作人员审核通过后，您的打卡将在景点页面公开展示。{{else}}您的打卡已在景点页面展示。{{end}}</p>
<p><a href="{{.Base}}">返回{{.S.Name}}</a></p></section>{{end}}`)
