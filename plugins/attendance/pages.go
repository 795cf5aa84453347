package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code,
// with no assets from elsewhere; html/template escapes every value. The
// only script fills in the position when the point has a fence.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · {{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f1f4f9;color:#263238;font-size:16px}
header{background:#1565c0;color:#fff;padding:.8rem 1rem;font-weight:600}header a{color:#fff;text-decoration:none}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#607d8b}dd{margin:0}
.muted{color:#78909c;font-size:.9rem}.bad{color:#c62828}.ok{color:#2e7d32}
label{display:block;margin:.6rem 0 .3rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{display:block;padding:.9rem;margin:1rem 0 0;border-radius:6px;background:#1565c0;color:#fff;border:0;width:100%;font-size:1.2rem}
button.out{background:#ef6c00}
table{width:100%;border-collapse:collapse;text-align:center}td,th{padding:.3rem;border-bottom:1px solid #eceff1}
</style></head>
<body><header><a href="{{.Base}}">{{.Title}}</a> · {{.Site}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "Title": c.cfg.Title, "Site": c.site, "D": data}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// geo is the script that fills the position fields of the page's forms.
const geo = `{{define "geo"}}{{if .D.Fence}}<p class="muted" id="geo">本考勤点仅限现场签到（{{.D.Fence.Radius}} 米范围内），正在获取您的位置…</p>
<script>
(function(){var s=document.getElementById("geo");
if(!navigator.geolocation){s.textContent="无法获取位置：请在支持定位的浏览器中打开。";return}
navigator.geolocation.getCurrentPosition(function(p){
document.querySelectorAll("input[name=lat]").forEach(function(i){i.value=p.coords.latitude});
document.querySelectorAll("input[name=lng]").forEach(function(i){i.value=p.coords.longitude});s.textContent="已获取位置。"},
function(){s.textContent="无法获取位置：请允许定位后刷新本页。"},{enableHighAccuracy:true,timeout:10000})})();
</script>{{end}}{{end}}`

var homePage = page(geo + `{{define "title"}}今日考勤{{end}}{{define "content"}}
<section><h1>{{.D.Staff.Name}}</h1><dl>
<dt>工号</dt><dd id="staff-no">{{.D.Staff.StaffNo}}</dd>
<dt>班组</dt><dd>{{or .D.Staff.Team "未分组"}}</dd>
<dt>日期</dt><dd>{{.D.Date}} {{.D.Weekday}}{{if not .D.Workday}}（休息日）{{end}}</dd>
<dt>班次</dt><dd>{{.D.Shift}}</dd>
</dl></section>
<section id="state">{{with .D.Today}}
<p>签到：<strong id="checkin-time">{{.CheckIn}}</strong> <span class="{{if eq .CheckInResult "迟到"}}bad{{else}}ok{{end}}">{{.CheckInResult}}{{if .LateMinutes}} {{.LateMinutes}} 分钟{{end}}</span></p>
{{if .CheckOut}}<p>签退：<strong id="checkout-time">{{.CheckOut}}</strong> <span class="{{if eq .CheckOutResult "早退"}}bad{{else}}ok{{end}}">{{.CheckOutResult}}{{if .EarlyMinutes}} {{.EarlyMinutes}} 分钟{{end}}</span></p>
<p id="done">今日考勤已完成。</p>{{else}}
<form method="post" action="{{$.Base}}/checkout" id="checkout-form"><input type="hidden" name="lat"><input type="hidden" name="lng">
<button class="out">签退</button></form>{{end}}
{{else}}<p id="not-yet">今日尚未签到。</p>
<form method="post" action="{{.Base}}/checkin" id="checkin-form"><input type="hidden" name="lat"><input type="hidden" name="lng">
<button>签到</button></form>{{end}}
{{template "geo" .}}</section>
<section><h2>本月考勤（截至今日）</h2>
<table id="month"><tr><th>出勤</th><th>迟到</th><th>早退</th><th>缺卡</th></tr>
<tr><td>{{.D.Month.Present}}</td><td>{{.D.Month.Late}}</td><td>{{.D.Month.Early}}</td><td>{{.D.Month.Absent}}</td></tr></table></section>{{end}}`)

var bindPage = page(`{{define "title"}}绑定工号{{end}}{{define "content"}}
<section><h1>不在考勤名单中</h1><p class="bad" id="refusal">{{.D.Message}}</p>
<form method="post" action="{{.Base}}/bind" id="bind-form">
<label for="staffNo">工号</label><input id="staffNo" name="staffNo" maxlength="32" required autocomplete="off">
<label for="code">绑定码</label><input id="code" name="code" maxlength="20" required autocomplete="off" placeholder="XXXX-XXXX-XXXX">
<button>绑定</button></form>
<p class="muted">绑定码由考勤管理员发放，只能使用一次；绑定后本账号即可在各考勤点签到。</p></section>{{end}}`)

var refusedPage = page(`{{define "title"}}无法签到{{end}}{{define "content"}}
<section><h1>无法签到</h1><p class="bad" id="refusal">{{.D.Message}}</p></section>{{end}}`)

var donePage = page(`{{define "title"}}{{.D.What}}成功{{end}}{{define "content"}}
<section><h1 id="done-title">{{.D.What}}成功</h1><dl>
<dt>姓名</dt><dd>{{.D.Doc.Name}}（{{.D.Doc.StaffNo}}）</dd>
<dt>时间</dt><dd>{{.D.Doc.Date}} <span id="done-time">{{.D.Time}}</span></dd>
<dt>地点</dt><dd>{{.Site}}</dd>
<dt>班次</dt><dd>{{.D.Doc.Shift}}</dd>
<dt>结果</dt><dd id="result" class="{{if or (eq .D.Result "迟到") (eq .D.Result "早退")}}bad{{else}}ok{{end}}">{{.D.Result}}{{if .D.Minutes}} {{.D.Minutes}} 分钟{{end}}</dd>
</dl><p><a href="{{.Base}}">返回今日考勤</a></p></section>{{end}}`)
