package main

import (
	"html/template"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The pages: small, server-rendered, for a phone that just scanned a code,
// in the plain blue-and-white of the city's one-stop service. No scripts
// and no assets from elsewhere (the host's CSP allows only the host
// itself); html/template escapes every value, and refuses URLs that are
// not http(s) in links.

const layout = `{{define "layout"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{template "title" .}} · 码上城管</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f5fa;color:#1f2d3d;font-size:16px}
header{background:#1e6fff;color:#fff;padding:.8rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}h3{font-size:1rem;margin:.8rem 0 .4rem}
dl{display:grid;grid-template-columns:7rem 1fr;gap:.4rem .6rem;margin:0}dt{color:#5e6d82}dd{margin:0}
ul.items{list-style:none;padding:0;margin:0}ul.items li{border-bottom:1px solid #eef1f6;padding:.5rem 0}
.muted{color:#8492a6;font-size:.9rem}.warn{color:#d4380d}.ok{color:#389e0d}.tag{display:inline-block;background:#e8f0ff;color:#1e6fff;border-radius:4px;padding:0 .3rem;font-size:.8rem}
.actions a,button{display:block;text-align:center;padding:.7rem;margin:.5rem 0;border-radius:6px;background:#1e6fff;color:#fff;text-decoration:none;border:0;width:100%;font-size:1rem}
.actions a.secondary,button.secondary{background:#eef1f6;color:#1f2d3d}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}.grid a{margin:0}
label{display:block;margin:.6rem 0 .3rem}input[type=text],input[type=date],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
textarea{min-height:5rem}.check label{display:inline-block;margin:.2rem .8rem .2rem 0}pre{white-space:pre-wrap;font-family:inherit;margin:0}
img{max-width:100%;border-radius:6px}
</style></head>
<body><header><a href="{{.Base}}">码上城管</a> · {{.S.Title}}</header>
<main>{{template "content" .}}</main></body></html>{{end}}`

var base = template.Must(template.New("base").Parse(layout))

// page builds a page from the layout and its "title" and "content".
func page(body string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(body))
}

// render answers a page; data is the page's own (D in the templates).
func render(status int, t *template.Template, c *call, data any) (*plugin.Response, error) {
	v := map[string]any{"Base": c.req.BaseURL, "S": c.shop, "D": data, "Visitor": c.req.Visitor}
	return plugin.RenderHTML(status, t.Lookup("layout"), v)
}

// noticeList is the notices block of several pages.
const noticeList = `{{define "notices"}}{{if .}}<ul class="items" id="notices">{{range .}}<li><span class="tag">{{.Kind}}</span>
<a href="{{.Link}}">{{.Title}}</a> <span class="muted">{{.Publisher}} {{.Published}}</span></li>{{end}}</ul>
{{else}}<p class="muted">暂无公告。</p>{{end}}{{end}}`

var homePage = page(noticeList + `{{define "title"}}{{.S.Title}}{{end}}{{define "content"}}
<section><h1>{{.S.Title}}</h1><dl id="shop">
{{range .S.Public}}<dt>{{.Label}}</dt><dd{{if .Missing}} class="muted"{{end}}>{{.Value}}</dd>{{end}}
</dl><p class="muted">信息与实际不符？可在“码上诉”中选择“信息不符”告诉我们。</p></section>
<section><h2>公示公告</h2>{{template "notices" .D.Notices}}
<p><a href="{{.Base}}/notices">全部公告</a></p></section>
<section class="actions"><h2>市民服务</h2><div class="grid">
<a href="{{.Base}}/complain">码上诉 · 投诉举报</a><a href="{{.Base}}/complain?kind=suggestion">码上诉 · 给商户提建议</a>
<a href="{{.Base}}/rectify">码上改 · 反馈整改</a><a href="{{.Base}}/rate">码上评 · 评价</a></div>
{{if .D.LoggedIn}}<a class="secondary" href="{{.Base}}/mine">我的投诉建议</a>
<form method="post" action="{{.Base}}/follow">{{if .D.Following}}<input type="hidden" name="on" value="0"><button class="secondary">取消关注本店公告</button>
{{else}}<input type="hidden" name="on" value="1"><button class="secondary">关注本店公告与整改信息</button>{{end}}</form>
{{else}}<p class="muted">投诉、建议、整改反馈与评价需在城市码 App 中扫码并登录。</p>{{end}}
</section>
{{if .D.LoggedIn}}<section class="actions"><h2>工作入口</h2>
{{if .D.Merchant}}<a href="{{.Base}}/merchant" id="merchant-link">商户服务（码上签、码上查、自查登记）</a>{{end}}
{{if .D.Inspector}}<a href="{{.Base}}/inspect" id="inspect-link">城管执法（巡查、核查、整改、投诉处理）</a>{{end}}
{{if .D.Supervisor}}<a href="{{.Base}}/supervise" id="supervise-link">码上督</a>{{end}}
<a class="secondary" href="{{.Base}}/join">身份绑定（商户、城管队员、督察队员）</a></section>{{end}}{{end}}`)

var noticePage = page(noticeList + `{{define "title"}}公示公告{{end}}{{define "content"}}
{{with .D.Notice}}<section><h1>{{.Title}}</h1><p class="muted"><span class="tag">{{.Kind}}</span> {{.Publisher}} {{.Published}}</p>
<pre id="notice-content">{{.Content}}</pre></section>
{{else}}<section><h1>公示公告</h1>{{template "notices" .D.Notices}}</section>{{end}}{{end}}`)

var complainFormPage = page(`{{define "title"}}码上诉{{end}}{{define "content"}}
<section><h1>码上诉</h1>
<form method="post" action="{{.Base}}/complain" enctype="multipart/form-data">
<div class="check"><label><input type="radio" name="kind" value="complaint"{{if eq .D.Kind "complaint"}} checked{{end}}> 投诉举报</label>
<label><input type="radio" name="kind" value="suggestion"{{if eq .D.Kind "suggestion"}} checked{{end}}> 给商户提建议</label></div>
<p class="muted">投诉举报由城管部门受理，处理结果会通知您；建议将以匿名形式转达商户，商户看不到您的身份。</p>
<label for="category">问题类别</label><select id="category" name="category" required><option value="">请选择</option>
{{range .D.Categories}}<option>{{.}}</option>{{end}}</select>
<label for="text">内容</label><textarea id="text" name="text" maxlength="{{.D.Max}}" required placeholder="请描述时间、地点和具体情况"></textarea>
<label for="photo">照片</label><input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p><button>提交</button></form></section>{{end}}`)

var submittedPage = page(`{{define "title"}}{{.D.Title}}{{end}}{{define "content"}}
<section><h1>{{.D.Title}}</h1>
<p>编号：<span id="record-id">{{.D.ID}}</span></p><p id="status">{{.D.Status}}</p>
<div class="actions"><a href="{{.Base}}{{.D.Next}}">{{.D.NextText}}</a></div></section>{{end}}`)

var minePage = page(`{{define "title"}}我的投诉建议{{end}}{{define "content"}}
<section><h1>我的投诉建议</h1>{{if .D.Items}}<ul class="items" id="mine">{{range .D.Items}}<li>
<span class="tag">{{.Kind}}</span> {{.Category}} <span class="muted">{{.Created}}</span><br>{{.Text}}<br>
状态：<b>{{.Status}}</b>{{if .HandledNote}}<br>处理结果：{{.HandledNote}} <span class="muted">{{.Handled}}</span>{{end}}</li>{{end}}</ul>
{{else}}<p class="muted">您还没有对该商户提交过投诉或建议。</p>{{end}}</section>{{end}}`)

var rectifyFormPage = page(`{{define "title"}}码上改{{end}}{{define "content"}}
<section><h1>码上改 · 登记整改情况</h1><p class="muted">您的身份：{{.D.Role}}</p>
<form method="post" action="{{.Base}}/rectify" enctype="multipart/form-data">
{{if .D.Options}}<label for="about">关联记录</label><select id="about" name="about"><option value="">（不关联）</option>
{{range .D.Options}}<option value="{{.Value}}"{{if eq .Value $.D.About}} selected{{end}}>{{.Text}}</option>{{end}}</select>{{end}}
{{if .D.Inspector}}<label for="status">整改状态</label><select id="status" name="status" required>
{{range .D.Statuses}}<option>{{.}}</option>{{end}}</select>
<label for="deadline">整改期限</label><input id="deadline" type="date" name="deadline">{{end}}
<label for="content">整改情况</label><textarea id="content" name="content" maxlength="500" required></textarea>
<label for="photo">照片</label><input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p><button>提交</button></form></section>{{end}}`)

var rateFormPage = page(`{{define "title"}}码上评{{end}}{{define "content"}}
{{if not .D.Inspector}}<section><h1>满意度调查</h1><form method="post" action="{{.Base}}/rate">
<input type="hidden" name="kind" value="survey">
{{range .D.Questions}}<label>{{.Text}}</label><select name="q.{{.ID}}" required>{{range $.D.Scores}}<option>{{.}}</option>{{end}}</select>{{end}}
<label for="c1">意见</label><textarea id="c1" name="comment" maxlength="200"></textarea><button>提交</button></form></section>
<section><h2>执法评价</h2><p class="muted">对城管部门在本店的执法情况评分。</p><form method="post" action="{{.Base}}/rate">
<input type="hidden" name="kind" value="enforcement"><select name="rating">{{range .D.Scores}}<option>{{.}}</option>{{end}}</select>
<label for="c2">意见</label><textarea id="c2" name="comment" maxlength="200"></textarea><button>提交</button></form></section>{{end}}
<section><h2>整改评价</h2>{{if .D.Options}}<form method="post" action="{{.Base}}/rate">
<input type="hidden" name="kind" value="rectification">
<label for="about">整改记录</label><select id="about" name="about" required>{{range .D.Options}}<option value="{{.Value}}"{{if eq .Value $.D.About}} selected{{end}}>{{.Text}}</option>{{end}}</select>
<label for="rating">评分</label><select id="rating" name="rating">{{range .D.Scores}}<option>{{.}}</option>{{end}}</select>
<label for="c3">意见</label><textarea id="c3" name="comment" maxlength="200"></textarea><button>提交</button></form>
{{else}}<p class="muted">暂无可评价的整改记录。</p>{{end}}</section>{{end}}`)

var joinPage = page(`{{define "title"}}身份绑定{{end}}{{define "content"}}
<section><h1>身份绑定</h1>
{{if .D.Mine}}<ul class="items" id="roles">{{range .D.Mine}}<li>{{.Role}} {{.Name}} · <a href="{{$.Base}}{{.Portal}}">进入</a></li>{{end}}</ul>{{end}}
<p class="muted">商户、城管队员和督察队员请输入属地城管中队当面发放的绑定码；商户须扫描本店的码后绑定。绑定码仅可使用一次。</p>
<form method="post" action="{{.Base}}/join"><label for="code">绑定码</label>
<input id="code" type="text" name="code" maxlength="20" required placeholder="ABCD-EFGH-JKMN" autocomplete="off"><button>绑定</button></form></section>{{end}}`)

// infoTable is the shop's full information, for the merchant and
// inspectors.
const infoTable = `{{define "info"}}<dl id="shop">{{range .}}<dt>{{.Label}}</dt><dd{{if .Missing}} class="muted"{{end}}>{{.Value}}</dd>{{end}}</dl>{{end}}
{{define "correct"}}{{range .}}<label for="f-{{.Key}}">{{.Label}}</label><input id="f-{{.Key}}" type="text" name="f.{{.Key}}" maxlength="200" placeholder="{{if .Missing}}暂无{{else}}{{.Value}}{{end}}">{{end}}{{end}}`

var merchantPage = page(noticeList + infoTable + `{{define "title"}}商户服务{{end}}{{define "content"}}
<section><h1>商户服务</h1><p class="muted">{{.D.Member.Name}}，您好。</p>
{{if .D.Unsigned}}<p class="warn" id="unsigned">待签订：{{range $i, $t := .D.Unsigned}}{{if $i}}、{{end}}《{{$t}}》{{end}}</p>{{end}}
<div class="actions"><a href="{{.Base}}/merchant/pledge">码上签 · 承诺书在线签订</a><a class="secondary" href="{{.Base}}/rectify">码上改 · 填报本店整改情况</a></div></section>
<section><h2>本店信息</h2>{{template "info" .S.Rows}}
<h3>自查登记</h3>{{if .D.Pending}}{{range .D.Pending}}<p class="muted" id="pending">待核实（{{.Created}}）：{{.Summary}}</p>{{end}}
{{else}}<p class="muted">信息有误或缺失时，填写需要更正的项目（其余留空），由城管队员核实后生效。</p>
<form method="post" action="{{.Base}}/merchant/info">{{template "correct" .S.Rows}}
<label for="note">说明</label><input id="note" type="text" name="note" maxlength="200"><button>提交自查登记</button></form>{{end}}</section>
<section><h2>公示公告与宣传教育</h2>{{template "notices" .D.Notices}}</section>
<section id="suggestions"><h2>市民建议</h2><p class="muted">建议以匿名形式转达，不含提出人的任何信息。</p>
{{if .D.Suggestions}}<ul class="items">{{range .D.Suggestions}}<li><span class="tag">{{.Category}}</span> <span class="muted">{{.Created}}</span><br>{{.Text}}
{{if .Photo}}<br><img src="{{.Photo}}" alt="照片">{{end}}</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}</section>
<section id="patrols"><h2>检查信息</h2>{{if .D.Patrols}}<ul class="items">{{range .D.Patrols}}<li>{{.Created}} {{.Officer}}：<b>{{.Result}}</b>
{{if .Failed}}<br>不合格：{{range $i, $f := .Failed}}{{if $i}}、{{end}}{{$f}}{{end}}{{end}}{{if .Findings}}<br>{{.Findings}}{{end}}</li>{{end}}</ul>
{{else}}<p class="muted">暂无。</p>{{end}}</section>
<section id="penalties"><h2>处罚信息</h2>
<form method="get" action="{{.Base}}/merchant"><input type="text" name="q" value="{{.D.Q}}" maxlength="50" placeholder="按文号、违法行为等关键字搜索"><button class="secondary">搜索</button></form>
{{if .D.Penalties}}<ul class="items">{{range .D.Penalties}}<li><b>{{.DecisionNo}}</b> <span class="muted">{{.DecidedAt}}</span><br>违法行为：{{.Violation}}
{{if .Basis}}<br>处罚依据：{{.Basis}}{{end}}<br>处罚内容：{{.Penalty}}{{with .AmountText}}（罚款 {{.}}）{{end}}<br>执行情况：{{.Status}}</li>{{end}}</ul>
{{else}}<p class="muted">{{if .D.Q}}没有与“{{.D.Q}}”相关的处罚信息。{{else}}暂无。{{end}}</p>{{end}}</section>
<section id="rectifications"><h2>整改信息</h2>{{if .D.Rectifications}}<ul class="items">{{range .D.Rectifications}}<li><span class="tag">{{.Role}}</span> {{.Status}}
<span class="muted">{{.Created}}</span>{{if .Deadline}} 期限 {{.Deadline}}{{end}}<br>{{.Content}}</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}</section>{{end}}`)

var pledgePage = page(`{{define "title"}}码上签{{end}}{{define "content"}}
{{range .D.Pledges}}<section><h2>《{{.Title}}》<span class="muted">版本 {{.Version}}</span></h2><pre>{{.Content}}</pre>
{{if .Signed}}<p class="ok" id="signed-{{.ID}}">已由 {{.SignerName}} 于 {{.SignAt}} 签订。</p>
{{else}}<form method="post" action="{{$.Base}}/merchant/pledge"><input type="hidden" name="template" value="{{.ID}}">
<label for="n-{{.ID}}">签订人姓名</label><input id="n-{{.ID}}" type="text" name="signerName" maxlength="32" required>
<div class="check"><label><input type="checkbox" name="agree" value="1" required> 本人已阅读并同意</label></div><button>签订</button></form>{{end}}</section>{{end}}{{end}}`)

var inspectPage = page(infoTable + `{{define "title"}}城管执法{{end}}{{define "content"}}
<section><h1>城管执法</h1><p class="muted">{{.D.Member.Officer}}</p>
<p>监管对象：{{with .D.Mapping}}<b id="object-id">{{.ObjectID}}</b> <span class="muted">{{.System}}</span>{{else}}<span class="muted">未映射</span>{{end}}</p>
<div class="actions"><a href="{{.Base}}/rectify">码上改 · 登记整改情况</a><a class="secondary" href="{{.Base}}/rate">码上评 · 评价整改情况</a></div></section>
<section><h2>核查基本信息</h2>{{template "info" .S.Rows}}
<h3>更正信息</h3><form method="post" action="{{.Base}}/inspect/info">{{template "correct" .S.Rows}}
<label for="note">说明</label><input id="note" type="text" name="note" maxlength="200"><button>更正</button></form>
{{range .D.Pending}}<h3>商户自查登记（{{.Created}}）</h3><p id="pending">{{.Summary}}{{if .Note}}（{{.Note}}）{{end}}</p>
<form method="post" action="{{$.Base}}/inspect/info/review"><input type="hidden" name="id" value="{{.ID}}">
<input type="text" name="note" maxlength="200" placeholder="审核意见（驳回时必填）">
<div class="grid"><button name="approve" value="1">核实通过</button><button class="secondary" name="approve" value="0">驳回</button></div></form>{{end}}</section>
<section><h2>日常巡查</h2><form method="post" action="{{.Base}}/inspect/patrol" enctype="multipart/form-data">
<p class="muted">勾选不合格的项目：</p><div class="check">{{range .D.Items}}<label><input type="checkbox" name="failed" value="{{.}}"> {{.}}</label>{{end}}</div>
<label for="findings">发现问题</label><textarea id="findings" name="findings" maxlength="500"></textarea>
<label for="licence">许可信息核查</label><input id="licence" type="text" name="licence" maxlength="200">
<label for="premises">业主房屋信息</label><input id="premises" type="text" name="premises" maxlength="200">
<label for="photo">照片</label><input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p><button>登记巡查</button></form></section>
<section id="complaints"><h2>投诉建议</h2>{{if .D.Complaints}}<ul class="items">{{range .D.Complaints}}<li><span class="tag">{{.Kind}}</span> {{.Category}}
<span class="muted">{{.Created}}</span><br>{{.Text}}<br>状态：<b>{{.Status}}</b>{{if .HandledNote}}（{{.HandledNote}}）{{end}}
{{if eq .Status "已受理"}}<form method="post" action="{{$.Base}}/inspect/complaint"><input type="hidden" name="id" value="{{.ID}}">
<input type="text" name="note" maxlength="500" required placeholder="处理结果"><button class="secondary">办结</button></form>{{end}}</li>{{end}}</ul>
{{else}}<p class="muted">暂无。</p>{{end}}</section>
<section id="enforcement"><h2>执法信息</h2><h3>处罚</h3>{{if .D.Penalties}}<ul class="items">{{range .D.Penalties}}<li><b>{{.DecisionNo}}</b> {{.DecidedAt}} {{.Violation}}：{{.Penalty}}（{{.Status}}）</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}
<h3>巡查</h3>{{if .D.Patrols}}<ul class="items">{{range .D.Patrols}}<li>{{.Created}} {{.Officer}}：{{.Result}}{{if .Findings}}，{{.Findings}}{{end}}</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}
<h3>整改</h3>{{if .D.Rectifications}}<ul class="items">{{range .D.Rectifications}}<li><span class="tag">{{.Role}}</span> {{.Created}} {{.Status}}：{{.Content}}</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}</section>{{end}}`)

var supervisePage = page(`{{define "title"}}码上督{{end}}{{define "content"}}
<section><h1>码上督</h1><p class="muted">{{.D.Member.Officer}}</p>
<form method="post" action="{{.Base}}/supervise" enctype="multipart/form-data">
<label for="findings">督察情况</label><textarea id="findings" name="findings" maxlength="500" required></textarea>
<div class="check"><label><input type="checkbox" name="problem" value="1"> 存在问题，一键转入网上督察系统</label></div>
<label for="photo">照片</label><input id="photo" type="file" name="photo" accept="image/jpeg,image/png,image/webp,image/gif">
<p class="muted">{{.D.Hint}}</p><button>登记</button></form></section>
<section><h2>督察记录</h2>{{if .D.Items}}<ul class="items">{{range .D.Items}}<li>{{.Created}} {{.Officer}}：{{.Findings}}<br>
<span class="tag">{{.Handoff}}</span>{{if .ExternalID}} 督察系统编号 {{.ExternalID}}{{end}}</li>{{end}}</ul>{{else}}<p class="muted">暂无。</p>{{end}}</section>{{end}}`)
