package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// These tests call the handler with the sdk's fake host (fakehost_test.go):
// every flow, and the edges the real host does not easily provoke.

func body(r *plugin.Response) string { return string(r.Body) }

const wang = `{"code":"tok-home-1","name":"王小梅","gender":"女","birthYear":1978,"skillLevel":"三级/高级工","evaluationLevel":"二星",
	"skills":["失智照护","康复护理"],"honours":["2025 年上海市养老护理职业技能竞赛二等奖","徐汇区优秀护理员"]}`

func TestLandingPage(t *testing.T) {
	b := newBench(t, roles)
	resp, err := b.get("home", tourist, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>徐汇区第一社会福利院</h1>", `<p class="muted" id="kind">养老机构</p>`,
		"<dt>地址</dt><dd>龙吴路 2000 号</dd>", "<dt>机构等级</dt><dd>四级</dd>", "<dt>核定床位</dt><dd>300 张</dd>",
		"<dt>医养结合</dt><dd>是</dd>", `<dt>探视时间</dt><dd class="muted">暂无</dd>`,
		`<p id="services">生活照料、康复护理、认知症照护</p>`, `<p id="intro">区属公办养老机构。</p>`,
		"暂无护理员信息", "评价护理员服务需登录", `name="viewport"`} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("landing page lacks %q", want)
		}
	}

	id := b.addCaregiver("fly", wang)
	left := b.addCaregiver("fly", `{"code":"tok-home-1","name":"李建国","status":"离职"}`)
	resp, _ = b.get("home", citizen, nil)
	page := body(resp)
	for _, want := range []string{`<a href="http://city.test/c/tok-home-1/caregiver?id=` + id + `">王*梅</a>`,
		"<dt>年龄</dt><dd>48 岁</dd>", `<dd class="skill-level">三级/高级工</dd>`, `<dd class="evaluation-level">二星</dd>`,
		`<span class="tag">失智照护</span>`, `<dd class="honours">2025 年上海市养老护理职业技能竞赛二等奖；徐汇区优秀护理员</dd>`,
		`/evaluate?caregiver=` + id} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	for _, not := range []string{"王小梅", left, "李", "评价护理员服务需登录"} {
		if strings.Contains(page, not) {
			t.Errorf("landing page shows %q", not)
		}
	}

	// The caregiver's own page; a caregiver who left, or of another
	// institution, is not found.
	resp, err = b.get("caregiver", tourist, url.Values{"id": {id}})
	if err != nil || !strings.Contains(body(resp), `<span id="caregiver-name">王*梅</span>`) ||
		!strings.Contains(body(resp), "<dt>当前工作机构</dt><dd>徐汇区第一社会福利院（养老机构）</dd>") {
		t.Fatalf("caregiver page: %v %s", err, body(resp))
	}
	for _, q := range []string{left, "cg-000000000000000000000000", "x"} {
		_, err = b.get("caregiver", tourist, url.Values{"id": {q}})
		wantCode(t, err, plugin.ErrNotFound)
	}
	b.code.Token = "tok-care-2"
	_, err = b.get("caregiver", tourist, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)

	// Attributes are escaped.
	b.code.Attributes = json.RawMessage(`{"name":"<b>x</b>","类型":"睦邻点"}`)
	resp, _ = b.get("home", tourist, nil)
	if !strings.Contains(body(resp), "&lt;b&gt;x&lt;/b&gt;") || strings.Contains(body(resp), "<b>x</b>") ||
		!strings.Contains(body(resp), "<dt>所在居委</dt>") {
		t.Fatalf("escaped page %s", body(resp))
	}
}

// Each of the seven kinds shows its own information on the landing page.
func TestSevenKinds(t *testing.T) {
	b := newBench(t, "")
	for _, k := range kinds {
		t.Run(k.ID, func(t *testing.T) {
			attrs := map[string]any{"机构类型": k.Name}
			for i, f := range k.Fields {
				attrs[f.keys[0]] = "值" + string(rune('A'+i))
			}
			b.code.Attributes, _ = json.Marshal(attrs)
			resp, err := b.get("home", tourist, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body(resp), `id="kind">`+k.Name+"<") {
				t.Errorf("kind %s not shown", k.Name)
			}
			for i, f := range k.Fields {
				if want := "<dt>" + f.label + "</dt><dd>值" + string(rune('A'+i)) + "</dd>"; !strings.Contains(body(resp), want) {
					t.Errorf("lacks %s", want)
				}
			}
		})
	}
}

func TestCaregiverMaintenance(t *testing.T) {
	b := newBench(t, roles)
	png := base64.StdEncoding.EncodeToString(tinyPNG)
	status, out, err := b.admin("fly", "admin-caregiver-save", nil, strings.Replace(wang, `"code"`, `"photo":{"data":"`+png+`"},"code"`, 1))
	if err != nil || status != 201 || out["name"] != "王小梅" || out["status"] != statusActive || out["photo"] == "" || out["updatedBy"] != "fly" {
		t.Fatalf("create: %d %v %v", status, out, err)
	}
	id := out["id"].(string)
	if len(b.host.Files) != 1 || b.host.Files[0].ContentType != "image/png" || b.host.Files[0].Name != id+".png" {
		t.Fatalf("files %+v", b.host.Files)
	}
	var cg caregiver
	b.doc(t, "caregivers", id, &cg)
	if cg.Institution != "徐汇区第一社会福利院" || cg.InstitutionType != "养老机构" || cg.OwnerUnit != homeUnit || cg.SkillsText != "失智照护、康复护理" ||
		cg.Photo != b.host.Files[0].URL || cg.UpdatedAt != "2026-11-03T09:30:00+08:00" {
		t.Fatalf("stored %+v", cg)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "caregiver.create" || b.host.Audits[0].Target != "caregiver:"+id {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	resp, _ := b.get("home", tourist, nil)
	if !strings.Contains(body(resp), `<img src="`+cg.Photo+`" alt="护理员照片">`) {
		t.Fatalf("no photo on the page: %s", body(resp))
	}

	// A change keeps the photo unless removed, and needs no code.
	status, out, err = b.admin("fly", "admin-caregiver-save", nil, `{"id":"`+id+`","name":"王小梅","skillLevel":"二级/技师","honours":["全国技术能手"]}`)
	if err != nil || status != 200 || out["skillLevel"] != "二级/技师" || out["photo"] != cg.Photo || out["version"] != 2.0 {
		t.Fatalf("update: %d %v %v", status, out, err)
	}
	_, out, _ = b.admin("fly", "admin-caregiver-save", nil, `{"id":"`+id+`","name":"王小梅","removePhoto":true}`)
	if out["photo"] != nil || b.host.Audits[len(b.host.Audits)-1].Action != "caregiver.update" {
		t.Fatalf("photo removed: %v", out)
	}

	// The list: the staff and the authority of the region; not the
	// others.
	for _, account := range []string{"fly", "mz-xh", "mz-city"} {
		status, out, err := b.admin(account, "admin-caregivers", url.Values{"q": {"tok-home-1"}}, "")
		items, _ := out["items"].([]any)
		if err != nil || status != 200 || out["total"] != 1.0 || len(items) != 1 || items[0].(map[string]any)["name"] != "王小梅" ||
			out["institution"].(map[string]any)["type"] != "养老机构" {
			t.Errorf("%s lists %d %v %v", account, status, out, err)
		}
	}
	for _, account := range []string{"hq", "mz-cn", "nobody"} {
		_, _, err := b.admin(account, "admin-caregivers", url.Values{"q": {"tok-home-1"}}, "")
		wantCode(t, err, "UnauthorizedOperation")
	}
	_, _, err = b.admin("fly", "admin-caregivers", nil, "")
	wantCode(t, err, "MissingParameter")
	_, _, err = b.admin("fly", "admin-caregivers", url.Values{"q": {"tok-none"}}, "")
	wantCode(t, err, plugin.ErrNotFound)

	// Saving is the institution's own: not the authority's, not another
	// institution's staff, not an unregistered account's.
	before, audits := b.count("caregivers"), len(b.host.Audits)
	for _, tc := range []struct{ account, body, msg string }{
		{"mz-xh", wang, "民政部门及未登记的账号只能查看"},
		{"mz-city", wang, "只能查看"},
		{"hq", wang, "无权查看或维护其他养老机构"},
		{"hq", `{"id":"` + id + `","name":"王小梅"}`, "无权查看或维护其他养老机构"},
		{"hq", `{"id":"` + id + `","code":"tok-care-2","name":"王小梅"}`, "不属于该机构"},
		{"nobody", wang, "未在码上养老中登记"},
	} {
		_, _, err := b.admin(tc.account, "admin-caregiver-save", nil, tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s saving %s: %v", tc.account, tc.body, err)
		}
	}
	_, _, err = b.admin("fly", "admin-caregiver-save", nil, `{"id":"cg-000000000000000000000000","name":"王小梅"}`)
	wantCode(t, err, plugin.ErrNotFound)
	_, _, err = b.admin("fly", "admin-caregiver-save", nil, `{"code":"tok-home-1","name":"王","photo":{"data":"`+png+`"}}`)
	wantCode(t, err, plugin.ErrInvalid)
	if b.count("caregivers") != before || len(b.host.Audits) != audits || len(b.host.Files) != 1 {
		t.Fatalf("refused saves changed something: %d caregivers, %d audits, %d files", b.count("caregivers"), len(b.host.Audits), len(b.host.Files))
	}
	// Two staff saving at once: the second is told to reload.
	b.host.BeforePut = func(p plugin.Record) {
		b.host.BeforePut = nil
		rec, _ := b.host.Record("caregivers", id)
		if _, err := b.host.Host("q3").PutRecord(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = b.admin("fly", "admin-caregiver-save", nil, `{"id":"`+id+`","name":"王小梅"}`)
	wantCode(t, err, "FailedOperation.Changed")
}

func goodForm(caregiverID string) url.Values {
	return url.Values{"caregiver": {caregiverID}, "rating": {"5"}, "item.attitude": {"5"}, "item.skill": {"4"},
		"item.communication": {"5"}, "item.punctuality": {"4"}, "item.safety": {"5"}, "comment": {"王阿姨照顾我父亲很细心。"}}
}

func evaluate(t *testing.T, b *bench, v plugin.Visitor, form url.Values) string {
	t.Helper()
	resp, err := b.post("evaluate", v, form)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 {
		t.Fatalf("evaluation answered %d", resp.Status)
	}
	s := body(resp)
	s = s[strings.Index(s, `<span id="evaluation-id">`)+len(`<span id="evaluation-id">`):]
	return s[:strings.Index(s, "<")]
}

func TestEvaluation(t *testing.T) {
	b := newBench(t, roles)
	id := b.addCaregiver("fly", wang)
	resp, err := b.get("evaluate-form", citizen, url.Values{"caregiver": {id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>评价护理员 王*梅</h1>", `<input type="hidden" name="caregiver" value="` + id + `">`,
		`name="rating" value="5" required`, "<legend>服务态度</legend>", `name="item.safety" value="1" required`, `maxlength="300"`} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("form lacks %q", want)
		}
	}
	ev := evaluate(t, b, citizen, goodForm(id))
	var e evaluation
	b.doc(t, "evaluations", ev, &e)
	if e.Institution != "徐汇区第一社会福利院" || e.InstitutionType != "养老机构" || e.OwnerUnit != homeUnit || e.RegionCode != "310104" ||
		strings.Join(e.Regions, ",") != "31,3101,310104" || e.Caregiver != id || e.CaregiverName != "王小梅" || e.Rating != 5 ||
		e.Average != 4.6 || e.ScoreText != "服务态度 5；专业技能 4；沟通耐心 5；守时守约 4；安全卫生 5" || e.Comment != "王阿姨照顾我父亲很细心。" ||
		e.Day != "2026-11-03" || e.Rater != citizen.Pseudonym || e.RaterName != "张*" {
		t.Fatalf("stored %+v", e)
	}
	if n := b.host.Notifications; len(n) != 1 || n[0].Template != tplEvaluated || n[0].To != homeUnit || n[0].Params["evaluationId"] != ev ||
		n[0].Params["rating"] != "5" {
		t.Fatalf("notifications %+v", n)
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "evaluation.created" {
		t.Fatalf("events %+v", b.host.Events)
	}
	// Once a day per citizen and caregiver.
	_, err = b.post("evaluate", citizen, goodForm(id))
	wantCode(t, err, "FailedOperation.AlreadyEvaluated")
	evaluate(t, b, other, goodForm(id))
	b.now = b.now.AddDate(0, 0, 1)
	evaluate(t, b, citizen, goodForm(id))
	if n := b.count("evaluations"); n != 3 {
		t.Fatalf("%d evaluations", n)
	}

	// Who sees them: the institution's staff and the authorities over
	// its region; the other institution's staff and the other district's
	// authority see none, and are refused the institution by name.
	for account, want := range map[string]float64{"fly": 3, "mz-xh": 3, "mz-city": 3, "hq": 0, "mz-cn": 0} {
		status, out, err := b.admin(account, "admin-evaluations", nil, "")
		if err != nil || status != 200 || out["total"] != want {
			t.Errorf("%s sees %v (%v)", account, out, err)
		}
	}
	_, out, _ := b.admin("fly", "admin-evaluations", url.Values{"pageSize": {"1"}}, "")
	item := out["items"].([]any)[0].(map[string]any)
	if out["role"] != "staff" || out["scope"] != homeUnit || item["caregiverName"] != "王小梅" || item["rating"] != 5.0 ||
		item["raterName"] != "张*" || item["rater"] != nil || item["createdAt"] != "2026-11-04T09:30:00+08:00" || len(out["items"].([]any)) != 1 {
		t.Fatalf("newest first, no pseudonym: %v", out)
	}
	_, out, _ = b.admin("mz-xh", "admin-evaluations", url.Values{"q": {"tok-home-1"}, "pageNo": {"3"}, "pageSize": {"1"}}, "")
	if item := out["items"].([]any)[0].(map[string]any); item["id"] != ev || item["raterName"] != "张*" || item["comment"] != "王阿姨照顾我父亲很细心。" ||
		out["institution"].(map[string]any)["name"] != "徐汇区第一社会福利院" {
		t.Fatalf("authority, by institution: %v", out)
	}
	if _, out, _ = b.admin("fly", "admin-evaluations", url.Values{"q": {id}}, ""); out["total"] != 3.0 || out["caregiver"] != id {
		t.Fatalf("by caregiver: %v", out)
	}
	for _, tc := range []struct{ account, q, code string }{
		{"hq", "tok-home-1", "UnauthorizedOperation"},
		{"hq", id, "UnauthorizedOperation"},
		{"mz-cn", "tok-home-1", "UnauthorizedOperation"},
		{"nobody", "", "UnauthorizedOperation"},
		{"fly", "tok-care-2", "UnauthorizedOperation"},
		{"fly", "cg-000000000000000000000000", plugin.ErrNotFound},
		{"fly", "cg-x", plugin.ErrInvalid},
	} {
		_, _, err := b.admin(tc.account, "admin-evaluations", url.Values{"q": {tc.q}}, "")
		if tc.q == "" {
			_, _, err = b.admin(tc.account, "admin-evaluations", nil, "")
		}
		if !plugin.IsCode(err, tc.code) {
			t.Errorf("%s q=%s: %v, want %s", tc.account, tc.q, err, tc.code)
		}
	}
	for _, q := range []url.Values{{"pageSize": {"0"}}, {"pageNo": {"x"}}} {
		_, _, err := b.admin("fly", "admin-evaluations", q, "")
		wantCode(t, err, plugin.ErrInvalid)
	}
	// whoami, registered or not.
	for account, want := range map[string]string{"fly": "staff", "mz-city": "authority", "nobody": "none"} {
		if _, out, err := b.admin(account, "admin-me", nil, ""); err != nil || out["role"] != want {
			t.Errorf("me as %s: %v %v", account, out, err)
		}
	}
}

func TestBadEvaluationsStoreNothing(t *testing.T) {
	b := newBench(t, roles)
	id := b.addCaregiver("fly", wang)
	left := b.addCaregiver("fly", `{"code":"tok-home-1","name":"李建国","status":"离职"}`)
	elsewhere := b.addCaregiver("hq", `{"code":"tok-care-2","name":"赵敏"}`)
	with := func(k, v string) url.Values {
		f := goodForm(id)
		if v == "\x00" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"missing rating", with("rating", "\x00"), "MissingParameter", "请为“总体评价”打分"},
		{"rating out of range", with("rating", "6"), plugin.ErrInvalid, "“总体评价”的评分须为 1–5 星"},
		{"sub-item out of range", with("item.skill", "0"), plugin.ErrInvalid, "“专业技能”的评分须为 1–5 星"},
		{"oversize comment", with("comment", strings.Repeat("好", 301)), plugin.ErrInvalid, "评价内容不能超过 300 个字"},
		{"unknown caregiver", with("caregiver", "cg-000000000000000000000000"), plugin.ErrInvalid, "未找到该护理员"},
		{"malformed caregiver", with("caregiver", "../x"), plugin.ErrInvalid, "未找到该护理员"},
		{"another institution's caregiver", with("caregiver", elsewhere), plugin.ErrInvalid, "未找到该护理员"},
		{"caregiver who left", with("caregiver", left), "FailedOperation.CaregiverLeft", "已不在本机构服务"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.post("evaluate", citizen, tc.form)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	_, err := b.call("evaluate", citizen, nil, "application/json", []byte(`{"rating":5}`))
	wantCode(t, err, plugin.ErrInvalid)
	// The fake host failing to store: the citizen sees the host's error,
	// nothing is announced.
	b.host.Fail[plugin.RecordsWrite] = &plugin.Error{Code: plugin.ErrUnavailable, Message: "down"}
	_, err = b.post("evaluate", citizen, goodForm(id))
	wantCode(t, err, plugin.ErrUnavailable)
	if n := b.count("evaluations"); n != 0 || len(b.host.Notifications) != 0 || len(b.host.Events) != 0 {
		t.Fatalf("%d evaluations, %d notes after bad input", n, len(b.host.Notifications))
	}
	// A notification that cannot be queued does not lose the evaluation.
	delete(b.host.Fail, plugin.RecordsWrite)
	b.host.Fail[plugin.NotifySend] = &plugin.Error{Code: plugin.ErrUnavailable, Message: "outbox down"}
	evaluate(t, b, citizen, goodForm(id))
	if len(b.host.Logs) == 0 || !strings.Contains(b.host.Logs[0].Message, "evaluation notification") {
		t.Fatalf("logs %+v", b.host.Logs)
	}
}

func TestLoginRoutesRefuseTourists(t *testing.T) {
	b := newBench(t, roles)
	id := b.addCaregiver("fly", wang)
	for name, r := range routes {
		if r.access != login {
			continue
		}
		t.Run(name, func(t *testing.T) {
			call := func(v plugin.Visitor) error {
				if b.routes[name].MethodOrGET() == "GET" {
					_, err := b.get(name, v, url.Values{"caregiver": {id}})
					return err
				}
				_, err := b.post(name, v, goodForm(id))
				return err
			}
			wantCode(t, call(tourist), "UnauthorizedOperation")
			wantCode(t, call(plugin.Visitor{}), "UnauthorizedOperation")
		})
	}
	// Admin routes reached as anything but an admin call.
	for name, r := range routes {
		if r.access != operator {
			continue
		}
		_, err := b.call(name, citizen, url.Values{"q": {"tok-home-1"}}, "application/json", []byte(wang))
		wantCode(t, err, "UnauthorizedOperation")
	}
	if n := b.count("evaluations"); n != 0 || b.count("caregivers") != 1 {
		t.Fatalf("%d evaluations stored by refused visitors", n)
	}
	_, err := b.get("evaluate-form", citizen, nil)
	wantCode(t, err, "MissingParameter")
}
