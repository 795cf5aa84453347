package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// These tests call the handler with a fake host (fakehost_test.go): every
// flow, and the edges the real host does not easily provoke.

func body(r *plugin.Response) string { return string(r.Body) }

const documents = `{"documents":[{"title":"关于开展康复辅具社区租赁服务的通知","content":"在全市推广康复辅具社区租赁服务。","publishedAt":"2026-01-15","publisher":"市民政局"}],
	"catalogue":[{"id":"wheelchair","name":"手动轮椅","category":"移动辅具","deposit":500,"dailyFee":2},{"id":"cane","name":"手杖","available":false}]}`

func TestLandingPage(t *testing.T) {
	b := newBench(t, documents)
	resp, err := b.get("home", tourist, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>徐汇区康复辅具社区租赁服务点</h1>", "<dt>地址</dt><dd>漕溪北路 200 号 1 楼</dd>", "<dt>开放时间</dt><dd>周一至周六 09:00-17:00</dd>",
		"<dt>咨询电话</dt><dd>021-64000000</dd>", "<dt>运营服务商</dt><dd>上海某康复服务有限公司</dd>",
		"<h2>租赁政策</h2>", defaultEligibility, defaultDeposit, defaultFees, "1 至 90 天",
		"<h3>关于开展康复辅具社区租赁服务的通知</h3>", "发布单位：市民政局", "发布时间：2026-01-15",
		`<a href="http://city.test/c/tok-point-1/apply?aid=wheelchair">手动轮椅</a>`, "<td>500 元</td><td>2 元/天</td><td>90 天</td>",
		"手杖<br><span class=\"muted\">暂不可租</span>", `name="viewport"`, "申请租赁需登录"} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(body(resp), "apply?aid=cane") {
		t.Error("an unavailable aid is offered")
	}
	// Defaults: the standard catalogue; a bare code shows 暂无.
	b = newBench(t, "")
	b.code.Attributes = json.RawMessage(`{"name":"<b>x</b>"}`)
	resp, _ = b.get("home", citizen, nil)
	for _, want := range []string{"手摇护理床", "<td>60 天</td>", `<dd class="muted">暂无</dd>`, "&lt;b&gt;x&lt;/b&gt;"} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("default page lacks %q", want)
		}
	}
	if strings.Contains(body(resp), "申请租赁需登录") {
		t.Error("login hint for a logged-in citizen")
	}
}

func applyFor(t *testing.T, b *bench, v plugin.Visitor, form url.Values) string {
	t.Helper()
	resp, err := b.post("apply", v, form)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 {
		t.Fatalf("application answered %d", resp.Status)
	}
	s := body(resp)
	s = s[strings.Index(s, `<span id="application-id">`)+len(`<span id="application-id">`):]
	return s[:strings.Index(s, "<")]
}

var goodForm = url.Values{"aid": {"wheelchair"}, "start": {"2026-11-05"}, "days": {"14"}, "phone": {"13900000002"}}

func TestApplicationAndFollowUp(t *testing.T) {
	b := newBench(t, documents)
	resp, err := b.get("apply-form", citizen, url.Values{"aid": {"wheelchair"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<option value="wheelchair" selected>`, `min="2026-11-03"`, `max="2026-12-03"`, `name="phone"`} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(body(resp), `value="cane"`) {
		t.Error("an unavailable aid is offered")
	}
	id := applyFor(t, b, citizen, goodForm)
	a := b.doc(t, id)
	if a.Status != statusPending || a.Applicant != citizen.Pseudonym || a.ApplicantName != "张*" || a.Point != "徐汇区康复辅具社区租赁服务点" ||
		a.End != "2026-11-18" || a.Fee != 28 || a.Deposit != 500 || a.Phone != "13900000002" {
		t.Fatalf("stored %+v", a)
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "application.submitted" {
		t.Fatalf("events %+v", b.host.Events)
	}
	if len(b.host.Notifications) != 1 || b.host.Notifications[0].Template != tplSubmitted || b.host.Notifications[0].To != "徐汇区民政局" || b.host.Notifications[0].Params["applicationId"] != id {
		t.Fatalf("notes %+v", b.host.Notifications)
	}
	resp, err = b.get("application", citizen, url.Values{"id": {id}})
	if err != nil || !strings.Contains(body(resp), `<dd id="application-status">待审核</dd>`) || !strings.Contains(body(resp), "<dd>139****0002</dd>") ||
		strings.Contains(body(resp), "13900000002") || !strings.Contains(body(resp), "2026-11-05 至 2026-11-18（14 天）") {
		t.Fatalf("status: %v %s", err, body(resp))
	}
	_, err = b.get("application", other, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
	b.code.Token = "tok-point-2"
	_, err = b.get("application", citizen, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
	b.code.Token = "tok-point-1"
	if resp, _ = b.get("application", citizen, nil); !strings.Contains(body(resp), "/application?id="+id) {
		t.Fatalf("my applications: %s", body(resp))
	}
	if resp, _ = b.get("application", other, nil); strings.Contains(body(resp), id) {
		t.Fatal("someone else's application listed")
	}
}

func TestBadApplicationsStoreNothing(t *testing.T) {
	b := newBench(t, documents)
	for _, form := range []url.Values{
		{"aid": {"rocket"}, "start": {"2026-11-05"}, "days": {"3"}, "phone": {"13900000002"}},
		{"aid": {"cane"}, "start": {"2026-11-05"}, "days": {"3"}, "phone": {"13900000002"}},
		{"aid": {"wheelchair"}, "start": {"2026-11-05"}, "days": {"91"}, "phone": {"13900000002"}},
		{"aid": {"wheelchair"}, "start": {"2026-11-05"}, "days": {"3"}},
		{"aid": {"wheelchair"}, "start": {"2026-10-05"}, "days": {"3"}, "phone": {"13900000002"}},
	} {
		if _, err := b.post("apply", citizen, form); err == nil {
			t.Errorf("%v accepted", form)
		}
	}
	_, err := b.call("apply", citizen, nil, "application/json", []byte(`{"aid":"wheelchair"}`))
	wantCode(t, err, plugin.ErrInvalid)
	if n := b.count("applications"); n != 0 || len(b.host.Notifications) != 0 || len(b.host.Events) != 0 {
		t.Fatalf("%d applications, %d notes after bad input", n, len(b.host.Notifications))
	}
	// At most three pending applications per citizen and point.
	for range maxPending {
		applyFor(t, b, citizen, goodForm)
	}
	_, err = b.post("apply", citizen, goodForm)
	wantCode(t, err, "FailedOperation.TooManyPending")
	applyFor(t, b, other, goodForm)
}

func TestLoginRoutesRefuseTourists(t *testing.T) {
	b := newBench(t, "")
	for name, r := range routes {
		if r.access != login {
			continue
		}
		t.Run(name, func(t *testing.T) {
			call := func(v plugin.Visitor) error {
				if b.routes[name].MethodOrGET() == "GET" {
					_, err := b.get(name, v, url.Values{"id": {"r000001"}})
					return err
				}
				_, err := b.post(name, v, goodForm)
				return err
			}
			wantCode(t, call(tourist), "UnauthorizedOperation")
			wantCode(t, call(plugin.Visitor{}), "UnauthorizedOperation")
		})
	}
	for _, name := range []string{"admin-applications", "admin-review"} {
		_, err := b.call(name, citizen, nil, "application/json", []byte(`{"id":"r000001","approve":true}`))
		wantCode(t, err, "UnauthorizedOperation")
	}
	if n := b.count("applications"); n != 0 {
		t.Fatalf("%d applications stored by refused visitors", n)
	}
}

func decideBody(id string, approve bool, reason string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "approve": approve, "reason": reason})
	return string(b)
}

func TestApproval(t *testing.T) {
	b := newBench(t, documents)
	id := applyFor(t, b, citizen, goodForm)
	list, err := b.admin("admin-applications", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	items := list["items"].([]any)
	item := items[0].(map[string]any)
	if list["total"] != 1.0 || item["id"] != id || item["phone"] != "13900000002" || item["aidName"] != "手动轮椅" || item["fee"] != 28.0 ||
		item["applicant"] != nil {
		t.Fatalf("pending list %v", list)
	}
	b.now = b.now.Add(3600e9)
	out, err := b.admin("admin-review", nil, decideBody(id, true, "请按时取用"))
	if err != nil || out["status"] != statusApproved {
		t.Fatalf("approve: %v %v", out, err)
	}
	a := b.doc(t, id)
	if a.Status != statusApproved || a.Reviewer != "staff1" || a.ReviewedAt != "2026-11-03T10:30:00+08:00" || a.ReviewNote != "请按时取用" {
		t.Fatalf("stored %+v", a)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "application.approve" || b.host.Audits[0].Target != "application:"+id {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	if n := b.host.Notifications[len(b.host.Notifications)-1]; n.Template != tplDecided || n.To != citizen.Pseudonym || n.Params["status"] != statusApproved {
		t.Fatalf("decision note %+v", n)
	}
	resp, _ := b.get("application", citizen, url.Values{"id": {id}})
	if !strings.Contains(body(resp), `<dd id="application-status">已通过</dd>`) || !strings.Contains(body(resp), `id="approved"`) ||
		!strings.Contains(body(resp), "（漕溪北路 200 号 1 楼，周一至周六 09:00-17:00）") {
		t.Fatalf("status page %s", body(resp))
	}
	// Approved once: not again, not rejected, not audited again.
	_, err = b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	_, err = b.admin("admin-review", nil, decideBody(id, false, "改主意"))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	if len(b.host.Audits) != 1 {
		t.Fatalf("%d audits", len(b.host.Audits))
	}
	if list, _ = b.admin("admin-applications", nil, ""); list["total"] != 0.0 {
		t.Fatalf("pending after approval %v", list)
	}
	if list, _ = b.admin("admin-applications", url.Values{"q": {"全部"}}, ""); list["total"] != 1.0 {
		t.Fatalf("all %v", list)
	}
}

func TestRejection(t *testing.T) {
	b := newBench(t, "")
	id := applyFor(t, b, citizen, goodForm)
	_, err := b.admin("admin-review", nil, decideBody(id, false, ""))
	wantCode(t, err, "MissingParameter")
	if a := b.doc(t, id); a.Status != statusPending || len(b.host.Audits) != 0 {
		t.Fatalf("a refused rejection changed %+v", a)
	}
	if out, err := b.admin("admin-review", nil, decideBody(id, false, "该型号暂无库存")); err != nil || out["status"] != statusRejected {
		t.Fatalf("reject: %v %v", out, err)
	}
	resp, _ := b.get("application", citizen, url.Values{"id": {id}})
	if !strings.Contains(body(resp), `<dd id="application-status">已驳回</dd>`) || !strings.Contains(body(resp), `<dd id="review-note">该型号暂无库存</dd>`) {
		t.Fatalf("status page %s", body(resp))
	}
	_, err = b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
}

// Two operators deciding at once: the one whose write lands second is told
// the application was just decided, and only one decision is audited.
func TestConcurrentDecision(t *testing.T) {
	b := newBench(t, "")
	id := applyFor(t, b, citizen, goodForm)
	b.raceOnPut(id, func(a *application) {
		a.Status, a.Reviewer = statusRejected, "staff2"
	})
	_, err := b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	if a := b.doc(t, id); a.Status != statusRejected || a.Reviewer != "staff2" || len(b.host.Audits) != 0 {
		t.Fatalf("stored %+v", a)
	}
}

func TestReviewBadInput(t *testing.T) {
	b := newBench(t, "")
	for _, tc := range []struct{ body, code string }{
		{`{"id":"r999999","approve":true}`, plugin.ErrNotFound},
		{`{"approve":true}`, "MissingParameter"},
		{`{"id":"r1","approve":1}`, plugin.ErrInvalid},
	} {
		_, err := b.admin("admin-review", nil, tc.body)
		wantCode(t, err, tc.code)
	}
	for _, q := range []url.Values{{"q": {"进行中"}}, {"pageSize": {"0"}}, {"pageNo": {"x"}}} {
		_, err := b.admin("admin-applications", q, "")
		wantCode(t, err, plugin.ErrInvalid)
	}
}
