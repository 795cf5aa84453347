package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code,
// in a large type for older readers. No scripts and no assets from
// elsewhere (the host's CSP allows only the host itself: photos are the
// host's stored files); html/template escapes every value, and refuses
// URLs that are not http(s) in links and images.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · 码上养老</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#fbf6f0;color:#3e2723;font-size:17px}
header{background:#bf360c;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.35rem;margin:.2rem 0 .6rem}h2{font-size:1.15rem;margin:.4rem 0 .6rem}h3{font-size:1.05rem;margin:0 0 .3rem}
dl{display:grid;grid-template-columns:7rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#795548}dd{margin:0}
.muted{color:#8d6e63;font-size:.92rem}.tag{display:inline-block;background:#fbe9e7;color:#bf360c;border-radius:4px;padding:0 .4rem;margin:0 .3rem .3rem 0;font-size:.9rem}
.cg{display:flex;gap:.8rem;border-top:1px solid #efebe9;padding:.8rem 0}.cg:first-of-type{border-top:0}
.cg img,.portrait{width:4.5rem;height:6rem;object-fit:cover;border-radius:6px;background:#efebe9}
.actions a,button{display:block;text-align:center;padding:.75rem;margin:.5rem 0;border-radius:6px;background:#bf360c;color:#fff;text-decoration:none;border:0;width:100%;font-size:1.05rem}
.actions a.secondary{background:#efebe9;color:#3e2723}
fieldset{border:1px solid #efebe9;border-radius:6px;margin:.6rem 0;padding:.4rem .6rem}legend{font-weight:600}
.stars label{display:inline-block;margin:.2rem .8rem .2rem 0;color:#e65100}
label{display:block;margin:.6rem 0 .3rem}textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;min-height:5rem}
</style></head>
<body><header><a href="{{.Base}}">码上养老</a> · {{.I.Name}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "I": c.inst, "D": data, "Visitor": c.req.Visitor}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// caregiverCard is a caregiver's information, on the institution's page
// and on their own.
const caregiverCard = `{{define "card"}}<dl>
<dt>性别</dt><dd>{{or .Gender "暂无"}}</dd>
<dt>年龄</dt><dd>{{or .Age "暂无"}}</dd>
<dt>职业技能等级</dt><dd class="skill-level">{{or .SkillLevel "暂无"}}</dd>
<dt>综合水平评价</dt><dd class="evaluation-level">{{or .EvaluationLevel "暂无"}}</dd>
{{if .Skills}}<dt>专业技能</dt><dd>{{range .Skills}}<span class="tag">{{.}}</span>{{end}}</dd>{{end}}
{{if .Honours}}<dt>荣誉与奖项</dt><dd class="honours">{{range $i, $h := .Honours}}{{if $i}}；{{end}}{{$h}}{{end}}</dd>{{end}}
</dl>{{end}}`

var homePage = page(caregiverCard + `{{define "title"}}{{.I.Name}}{{end}}{{define "content"}}
<section><h1>{{.I.Name}}</h1><p class="muted" id="kind">{{.I.Kind.Name}}</p><dl id="institution">
{{range .I.Rows}}<dt>{{.Label}}</dt><dd{{if .Missing}} class="muted"{{end}}>{{.Value}}</dd>{{end}}
</dl>
<h2>服务内容</h2>{{if .I.Services}}<p id="services">{{.I.Services}}</p>{{else}}<p class="muted">暂无</p>{{end}}
<h2>机构简介</h2>{{if .I.Intro}}<p id="intro">{{.I.Intro}}</p>{{else}}<p class="muted">暂无</p>{{end}}
</section>
<section id="caregivers"><h2>养老护理员</h2>
{{range .D.Caregivers}}<div class="cg" id="{{.ID}}">{{if .Photo}}<img src="{{.Photo}}" alt="护理员照片">{{end}}<div>
<h3><a href="{{$.Base}}/caregiver?id={{.ID}}">{{.Name}}</a></h3>{{template "card" .}}
<p><a href="{{$.Base}}/evaluate?caregiver={{.ID}}">评价服务</a></p></div></div>
{{else}}<p class="muted">暂无护理员信息。</p>{{end}}
{{if .Visitor.Tourist}}<p class="muted">评价护理员服务需登录：请在城市码 App 中扫码。</p>{{end}}
</section>{{end}}`)

var caregiverPageT = page(caregiverCard + `{{define "title"}}养老护理员{{end}}{{define "content"}}
<section><h1>养老护理员 <span id="caregiver-name">{{.D.Name}}</span></h1>
{{if .D.Photo}}<p><img class="portrait" src="{{.D.Photo}}" alt="护理员照片"></p>{{end}}
<dl><dt>当前工作机构</dt><dd>{{.I.Name}}（{{.I.Kind.Name}}）</dd></dl>
{{template "card" .D}}
<div class="actions"><a href="{{.Base}}/evaluate?caregiver={{.D.ID}}">评价服务</a><a class="secondary" href="{{.Base}}">返回机构</a></div>
{{if .Visitor.Tourist}}<p class="muted">评价护理员服务需登录：请在城市码 App 中扫码。</p>{{end}}
</section>{{end}}`)

var evaluatePage = page(`{{define "title"}}服务评价{{end}}{{define "content"}}
<section><h1>评价护理员 {{.D.Caregiver.Name}}</h1><p class="muted">{{.I.Name}} · {{or .D.Caregiver.SkillLevel ""}}</p>
<form method="post" action="{{.Base}}/evaluate">
<input type="hidden" name="caregiver" value="{{.D.Caregiver.ID}}">
<fieldset class="stars"><legend>总体评价</legend>
{{range .D.Stars}}<label><input type="radio" name="rating" value="{{.}}" required> {{.}} 星</label>{{end}}</fieldset>
{{range .D.Items}}<fieldset class="stars"><legend>{{.Text}}</legend>
{{$id := .ID}}{{range $.D.Stars}}<label><input type="radio" name="item.{{$id}}" value="{{.}}" required> {{.}} 星</label>{{end}}
</fieldset>{{end}}
<p class="muted">5 星最好，1 星最差；每一项都需要评分。</p>
<label for="comment">评价内容（可选，不超过 {{.D.MaxComment}} 字）</label>
<textarea id="comment" name="comment" maxlength="{{.D.MaxComment}}" placeholder="说说护理员的服务，如态度、技能、沟通"></textarea>
<p class="muted">评价仅所属养老机构和民政部门可见。</p>
<button>提交评价</button></form></section>{{end}}`)

var evaluatedPage = page(`{{define "title"}}感谢评价{{end}}{{define "content"}}
<section><h1>感谢您的评价</h1>
<p>评价编号：<span id="evaluation-id">{{.D.ID}}</span></p>
<p>您为护理员 {{.D.Caregiver}} 评了 <span id="rating">{{.D.Rating}}</span> 星，分项平均 {{printf "%.1f" .D.Average}} 星。</p>
<p class="muted">评价已转交{{.I.Name}}，并由民政部门监督。</p>
<div class="actions"><a class="secondary" href="{{.Base}}">返回机构</a></div></section>{{end}}`)
