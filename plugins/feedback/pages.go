package main

import (
	"html/template"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code,
// with no assets from elsewhere. The only script hides the questions a
// questionnaire's skip logic passes over; without it the server still
// refuses answers off the path.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f3f6f8;color:#263238;font-size:16px}
header{background:#1565c0;color:#fff;padding:.8rem 1rem;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section,fieldset{background:#fff;border-radius:8px;padding:1rem;margin:0 0 1rem;border:0}
h1,h2{font-size:1.2rem;margin:.2rem 0 .8rem}dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0;white-space:pre-wrap}
.muted{color:#78909c;font-size:.9rem}.req{color:#c62828}.stars label{display:inline;margin-right:.6rem}
label{display:block;margin:.6rem 0 .3rem}input[type=text],input[type=tel],textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{padding:.7rem 1.2rem;margin:1rem .5rem 0 0;border-radius:6px;background:#1565c0;color:#fff;border:0;font-size:1rem}
button.plain{background:#eceff1;color:#263238}
</style></head>
<body><header>{{.Title}} · {{.Place}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 },
	"stars": func(n int) string { return strings.Repeat("★", n) }}).Parse(layout))

func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Place": c.place, "Notice": c.cfg.Notice, "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.Place}}{{end}}{{define "content"}}
<section id="feedback"><h2>意见反馈</h2>
{{if .Notice}}<p>{{.Notice}}</p>{{end}}
<form method="post" action="{{.Base}}/feedback">
<label for="content">意见内容 <span class="req">*</span></label>
<textarea id="content" name="content" rows="6" maxlength="{{.D.Max}}">{{.D.Draft.Content}}</textarea>
<label for="contact">联系电话（选填，便于回复）</label>
<input id="contact" name="contact" type="tel" maxlength="20" value="{{.D.Draft.Contact}}">
{{if .D.Draft.SavedAt}}<p class="muted" id="draft-restored">已恢复您保存的草稿（{{.D.Draft.SavedAt}}）</p>{{end}}
<button>发布</button>{{if .D.LoggedIn}}<button class="plain" formaction="{{.Base}}/feedback/draft">保存草稿</button>
{{else}}<p class="muted">登录城市码 App 后可保存草稿、参与调查问卷。</p>{{end}}
<p class="muted">意见发布后不可修改。</p></form></section>
<section id="rating"><h2>服务评分</h2>
<form method="post" action="{{.Base}}/rate">
{{range .D.Items}}{{$id := .ID}}<label>{{.Label}}{{if .Required}} <span class="req">*</span>{{end}}</label>
<div class="stars">{{range $.D.Stars}}<label><input type="radio" name="star.{{$id}}" value="{{.}}">{{stars .}}</label>{{end}}</div>
<input type="text" name="text.{{$id}}" maxlength="{{$.D.MaxText}}" placeholder="文字评价（选填）">
{{end}}<button>提交评分</button></form></section>
{{if .D.Questionnaires}}<section id="questionnaires"><h2>调查问卷</h2><ul>
{{range .D.Questionnaires}}<li><a href="{{$.Base}}/survey?id={{.ID}}">{{.Title}}</a>{{if .Description}}<br><span class="muted">{{.Description}}</span>{{end}}</li>
{{end}}</ul></section>{{end}}{{end}}`)

var surveyForm = page(`{{define "title"}}{{.D.Q.Title}}{{end}}{{define "content"}}
<section><h1>{{.D.Q.Title}}</h1>{{if .D.Q.Description}}<p>{{.D.Q.Description}}</p>{{end}}</section>
<form method="post" action="{{.Base}}/survey" id="survey"><input type="hidden" name="questionnaire" value="{{.D.ID}}">
{{range $i, $q := .D.Q.Questions}}<fieldset data-q="{{.ID}}"><legend>{{inc $i}}. {{.Title}}{{if .Required}} <span class="req">*</span>{{end}}
{{if eq .Type "multiple"}}<span class="muted">（多选{{if gt .Min 0}}，至少 {{.Min}} 项{{end}}，至多 {{.Max}} 项）</span>{{end}}</legend>
{{if eq .Type "text"}}<textarea name="q.{{.ID}}" rows="3" maxlength="{{.MaxLength}}"{{if .Required}} required{{end}}></textarea>
{{else}}{{range .Options}}<label><input type="{{if eq $q.Type "single"}}radio{{else}}checkbox{{end}}" name="q.{{$q.ID}}" value="{{.ID}}"{{if .Jump}} data-jump="{{.Jump}}"{{end}}{{if and $q.Required (eq $q.Type "single")}} required{{end}}> {{.Label}}</label>
{{end}}{{end}}</fieldset>
{{end}}<button>提交问卷</button></form>
<script>
(function(){var qs=[].slice.call(document.querySelectorAll("fieldset[data-q]"));
function walk(){var on={},i=0;while(i<qs.length){var f=qs[i],next=i+1,c=f.querySelector("input[type=radio]:checked");on[f.dataset.q]=1;
if(c&&c.dataset.jump){next=qs.length;for(var k=i+1;k<qs.length;k++)if(qs[k].dataset.q==c.dataset.jump)next=k}i=next}
qs.forEach(function(f){f.hidden=f.disabled=!on[f.dataset.q]})}
document.getElementById("survey").addEventListener("change",walk);walk()})();
</script>{{end}}`)

var donePage = page(`{{define "title"}}{{.D.What}}{{end}}{{define "content"}}
<section><h1>{{.D.What}}</h1>{{if .D.ID}}<dl><dt>编号</dt><dd><span id="entry-id">{{.D.ID}}</span></dd>
{{range .D.Rows}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}
{{if .D.Note}}<p class="muted">{{.D.Note}}</p>{{end}}
<p><a href="{{.Base}}/">返回</a></p></section>{{end}}`)
