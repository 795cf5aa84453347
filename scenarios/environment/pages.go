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
<title>{{template "title" .}} · 码上环境</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f6f5;color:#263238;font-size:16px}
header{background:#2e7d32;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:7rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.warn{color:#c62828}.ok{color:#2e7d32}
.actions a,button{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#2e7d32;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
.actions a.secondary{background:#eceff1;color:#263238}
label{display:block;margin:.6rem 0 .3rem}input[type=text],input[type=month],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:6rem}fieldset{border:1px solid #e0e0e0;border-radius:6px;margin:.6rem 0}
.stars label{display:inline-block;margin:0 .6rem 0 0}table{width:100%;border-collapse:collapse}td,th{border-bottom:1px solid #eceff1;padding:.3rem;text-align:center}
img{max-width:100%;border-radius:6px}
</style></head>
<body><header><a href="{{.Base}}">码上环境</a> · {{.F.Name}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "F": c.facility, "D": data, "Visitor": c.req.Visitor}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

var homePage = page(`{{define "title"}}{{.F.Name}}{{end}}{{define "content"}}
<section><h1>{{.F.Name}}</h1><p class="muted">{{.F.KindName}}</p>
{{if .F.Rows}}<dl>{{range .F.Rows}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}</dl>
{{else}}<p class="muted" id="no-data">暂无设施信息。</p>{{end}}</section>
<section class="actions">
<a href="{{.Base}}/report">问题反映</a>
<a href="{{.Base}}/rate">满意度评价</a>
<a class="secondary" href="{{.Base}}/status">处置进度查询</a>
<a class="secondary" href="{{.Base}}/staff">保洁人员入口</a>
</section>{{end}}`)

var reportFormPage = page(`{{define "title"}}问题反映{{end}}{{define "content"}}
<section><h1>问题反映</h1>
<form method="post" action="{{.Base}}/report" enctype="multipart/form-data">
<label for="category">问题类型</label>
<select id="category" name="category" required>{{range .D.Categories}}<option>{{.}}</option>{{end}}</select>
<label for="text">问题描述</label>
<textarea id="text" name="text" maxlength="500" required placeholder="请描述您看到的问题"></textarea>
<label for="photo">现场照片</label>
<input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p>
<button>提交</button></form></section>{{end}}`)

var reportDonePage = page(`{{define "title"}}已受理{{end}}{{define "content"}}
<section><h1>已受理</h1>
<p>上报编号：<span id="report-id">{{.D.ID}}</span></p><p>状态：{{.D.Status}}</p>
<p class="muted">请保存上报编号，扫描本码后可查询处置进度。</p>
<div class="actions"><a href="{{.Base}}/status?id={{.D.ID}}">查看处置进度</a></div></section>{{end}}`)

var statusPage = page(`{{define "title"}}处置进度{{end}}{{define "content"}}
{{with .D.Report}}<section><h1>处置进度</h1><dl>
<dt>上报编号</dt><dd id="report-id">{{.ID}}</dd>
<dt>问题类型</dt><dd>{{.Category}}</dd>
<dt>问题描述</dt><dd>{{.Text}}</dd>
<dt>上报时间</dt><dd>{{.Created}}</dd>
<dt>状态</dt><dd id="report-status">{{.Status}}</dd>
{{if .HandledAt}}<dt>办结时间</dt><dd>{{.HandledAt}}</dd>{{end}}
{{if .HandledNote}}<dt>办结说明</dt><dd>{{.HandledNote}}</dd>{{end}}
</dl>{{if .Photo}}<p><img src="{{.Photo}}" alt="现场照片"></p>{{end}}</section>
{{else}}<section><h1>处置进度查询</h1>
<form method="get" action="{{.Base}}/status"><label for="id">上报编号</label>
<input id="id" type="text" name="id" maxlength="64" required><button>查询</button></form></section>
{{if .D.Mine}}<section><h2>我的上报</h2><ul>{{range .D.Mine}}<li><a href="{{$.Base}}/status?id={{.ID}}">{{.Created}} {{.Category}}</a>：{{.Status}}</li>{{end}}</ul></section>{{end}}
{{end}}{{end}}`)

var rateFormPage = page(`{{define "title"}}满意度评价{{end}}{{define "content"}}
<section><h1>满意度评价</h1>
{{if .D.Questions}}<form method="post" action="{{.Base}}/rate">
<p class="muted">1 分最差，5 分最好；每一项都需要评分。</p>
{{range .D.Questions}}<fieldset class="stars"><legend>{{.Text}}</legend>
{{$id := .ID}}{{range $.D.Scores}}<label><input type="radio" name="q.{{$id}}" value="{{.}}" required> {{.}}</label>{{end}}
</fieldset>{{end}}
<label for="comment">意见建议（可选）</label><textarea id="comment" name="comment" maxlength="200"></textarea>
<button>提交评价</button></form>
{{else}}<p class="muted">暂无评价项目。</p>{{end}}</section>{{end}}`)

var rateDonePage = page(`{{define "title"}}感谢评价{{end}}{{define "content"}}
<section><h1>感谢您的评价</h1><p>本次平均分：<span id="average">{{printf "%.1f" .D.Average}}</span></p>
<div class="actions"><a class="secondary" href="{{.Base}}">返回</a></div></section>{{end}}`)

var enrollPage = page(`{{define "title"}}保洁人员登记{{end}}{{define "content"}}
<section><h1>保洁人员登记</h1><p class="muted">请输入管理单位提供的登记码。登记后可使用每日打卡、保洁记录、月度自查报告和学习小助手。</p>
<form method="post" action="{{.Base}}/staff/enroll"><label for="code">登记码</label>
<input id="code" type="text" name="code" maxlength="64" required autocomplete="off"><button>登记</button></form></section>{{end}}`)

var staffPage = page(`{{define "title"}}保洁自助{{end}}{{define "content"}}
<section><h1>保洁自助</h1>
{{if .D.CheckedIn}}<p class="ok" id="checked-in">今日已于 {{.D.CheckedIn}} 打卡。</p>
{{else}}<form method="post" action="{{.Base}}/staff/checkin"><button>每日打卡</button></form>{{end}}
{{if .D.Hours}}<p class="muted">开放时间：{{.D.Hours}}</p>{{end}}</section>
<section><h2>保洁记录</h2>
<form method="post" action="{{.Base}}/staff/cleaning" enctype="multipart/form-data">
{{range .D.Items}}<label><input type="checkbox" name="items" value="{{.}}"> {{.}}</label>{{end}}
<label for="note">说明（可选）</label><textarea id="note" name="note" maxlength="200"></textarea>
<label for="photo">现场照片</label><input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p><button>提交保洁记录</button></form></section>
<section><h2>待处理的问题反映</h2>
{{range .D.Open}}<form method="post" action="{{$.Base}}/staff/resolve"><p>{{.Created}} {{.Category}}：{{.Text}}</p>
<input type="hidden" name="id" value="{{.ID}}"><input type="text" name="note" maxlength="200" placeholder="办结说明（可选）">
<button>已处理</button></form>{{else}}<p class="muted">暂无。</p>{{end}}</section>
<section class="actions"><a class="secondary" href="{{.Base}}/staff/monthly">月度自查报告</a>
<a class="secondary" href="{{.Base}}/staff/learn">学习小助手</a></section>{{end}}`)

var checkinDonePage = page(`{{define "title"}}打卡成功{{end}}{{define "content"}}
<section><h1>打卡成功</h1><p>打卡时间：{{.D.Time}}</p>
{{if .D.Abnormal}}<p class="warn" id="abnormal">{{.D.Reason}}，已通知管理单位。</p>{{end}}
<div class="actions"><a class="secondary" href="{{.Base}}/staff">返回保洁自助</a></div></section>{{end}}`)

var cleaningDonePage = page(`{{define "title"}}已记录{{end}}{{define "content"}}
<section><h1>保洁记录已提交</h1><p>{{.D.Time}}：{{.D.Items}}</p>
<div class="actions"><a class="secondary" href="{{.Base}}/staff">返回保洁自助</a></div></section>{{end}}`)

var monthlyPage = page(`{{define "title"}}月度自查报告{{end}}{{define "content"}}
<section><h1>{{.D.Month}} 月度自查报告</h1>
<form method="get" action="{{.Base}}/staff/monthly"><input type="month" name="month" value="{{.D.Month}}"><button>查看</button></form>
<p>打卡 <b id="total-checkins">{{.D.Total.Checkins}}</b> 次（异常 {{.D.Total.Abnormal}} 次），保洁 <b id="total-cleanings">{{.D.Total.Cleanings}}</b> 次，问题反映 <b id="total-reports">{{.D.Total.Reports}}</b> 件。</p>
<table><thead><tr><th>日期</th><th>打卡</th><th>异常</th><th>保洁</th><th>问题反映</th></tr></thead><tbody>
{{range .D.Days}}<tr id="day-{{.Day}}"><td>{{.Day}}</td><td>{{.Checkins}}</td><td>{{.Abnormal}}</td><td>{{.Cleanings}}</td><td>{{.Reports}}</td></tr>{{end}}
</tbody></table></section>{{end}}`)

var learnPage = page(`{{define "title"}}学习小助手{{end}}{{define "content"}}
<section><h1>学习小助手</h1>
{{range .D.Materials}}<fieldset><legend>{{.Kind}} · {{.Title}}</legend>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}{{if .URL}}<p><a href="{{.URL}}" rel="noopener">打开材料</a></p>{{end}}
{{if .Done}}<p class="ok">已学习</p>{{else}}<form method="post" action="{{$.Base}}/staff/learn"><input type="hidden" name="material" value="{{.ID}}"><button>我已学习</button></form>{{end}}
</fieldset>{{else}}<p class="muted">暂无学习材料。</p>{{end}}</section>{{end}}`)
