package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code.
// No scripts and no assets from elsewhere; html/template escapes every
// value.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f0;color:#263238;font-size:16px}
header{background:#ef6c00;color:#fff;padding:.8rem 1rem;font-weight:600}header a{color:#fff;text-decoration:none}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
.muted{color:#78909c;font-size:.9rem}ul{list-style:none;padding:0;margin:0}li{border-bottom:1px solid #eceff1;padding:.6rem 0}
.content{white-space:pre-wrap;margin:.3rem 0}
textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;min-height:6rem}
button{padding:.6rem 1rem;border-radius:6px;background:#ef6c00;color:#fff;border:0;font-size:1rem}
form.like{display:inline}form.like button,summary{background:#fff3e0;color:#e65100;padding:.2rem .6rem;font-size:.9rem;border-radius:6px}
details.comment{display:inline}summary{display:inline-block;cursor:pointer;list-style:none}
details.comment[open]{display:block;margin-top:.5rem}details.comment textarea{min-height:3.5rem}
.comments{border-left:3px solid #ffe0b2;margin:.5rem 0 .3rem;padding-left:.6rem}.comments .content{margin:.1rem 0 .4rem}
</style></head>
<body><header><a href="{{.Base}}">{{.Title}}</a> · {{.Point}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Point": c.point, "Notice": c.cfg.Notice, "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// homePage: each message has its published comments below it and a
// comment box behind the 评论 icon (a details element: it opens without a
// script).
var homePage = page(`{{define "title"}}{{.Point}}{{end}}{{define "content"}}
<section><h1>我要留言</h1><p class="muted">{{.Notice}}</p>
<form method="post" action="{{.Base}}/post"><textarea name="content" maxlength="{{.D.Max}}" required placeholder="最多 {{.D.Max}} 字"></textarea>
<button>提交留言</button></form></section>
<section id="messages"><h2>留言（{{.D.Total}}）</h2>
{{if .D.Messages}}<ul>{{range .D.Messages}}<li id="m-{{.ID}}"><span class="muted">{{.Author}} · {{.Time}}</span>
<p class="content">{{.Content}}</p>
<form class="like" method="post" action="{{$.Base}}/like?id={{.ID}}"><button aria-label="点赞">👍 <span class="likes">{{.Likes}}</span></button></form>
<details class="comment"><summary aria-label="评论">💬 评论</summary>
<form method="post" action="{{$.Base}}/comment?id={{.ID}}"><textarea name="content" maxlength="{{$.D.MaxComment}}" required placeholder="最多 {{$.D.MaxComment}} 字，审核后公开"></textarea>
<button>提交评论</button></form></details>
{{if .Comments}}<div class="comments"><p class="muted">评论（<span class="comment-total">{{.CommentTotal}}</span>）{{if gt .CommentTotal (len .Comments)}}，显示最新 {{len .Comments}} 条{{end}}</p>
{{range .Comments}}<div id="c-{{.ID}}"><span class="muted">{{.Author}} · {{.Time}}</span><p class="content">{{.Content}}</p></div>
{{end}}</div>{{end}}</li>
{{end}}</ul>{{if $.D.Tourist}}<p class="muted">点赞需登录：请在城市码 App 中扫码。</p>{{end}}
{{else}}<p class="muted" id="empty">暂无公开的留言。</p>{{end}}</section>{{end}}`)

var postedPage = page(`{{define "title"}}留言已提交{{end}}{{define "content"}}
<section><h1>留言已提交</h1><p>留言编号：<span id="message-id">{{.D.ID}}</span></p>
<p class="muted">工作人员审核通过后，您的留言将在本页公开展示。</p>
<p><a href="{{.Base}}">返回留言板</a></p></section>{{end}}`)

var commentedPage = page(`{{define "title"}}评论已提交{{end}}{{define "content"}}
<section><h1>评论已提交</h1><p>评论编号：<span id="comment-id">{{.D.ID}}</span></p>
<p class="muted">工作人员审核通过后，您的评论将在该留言下方公开展示。</p>
<p><a href="{{.Base}}#m-{{.D.Message}}">返回留言</a></p></section>{{end}}`)
