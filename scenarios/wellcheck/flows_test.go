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

func TestLandingPage(t *testing.T) {
	b := newBench(t, "")
	resp, err := b.get("home", tourist, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>徐汇 1 号监测井</h1>", "<dt>编号</dt><dd>SW-310104-001</dd>", "<dt>经纬度</dt><dd>121.4365, 31.1882</dd>",
		"<dt>深度</dt><dd>30 米</dd>", "<dt>权属单位</dt><dd>徐汇区水务局</dd>", "<dt>监测项目</dt><dd>水位、水温</dd>", "<dt>状态</dt><dd>正常</dd>",
		`name="viewport"`, "http://city.test/c/tok-well-1/update", "登录城市码 App"} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(body(resp), "暂无") {
		t.Error("暂无 shown for a complete well")
	}
	// A bare code: every row says 暂无.
	b.token = "tok-well-2"
	resp, _ = b.get("home", citizen, nil)
	if got := strings.Count(body(resp), `<dd class="muted">暂无</dd>`); got != 6 || !strings.Contains(body(resp), "<dd>徐汇区水务局</dd>") || !strings.Contains(body(resp), "<h1>监测井 SW-310104-002</h1>") ||
		strings.Contains(body(resp), "登录城市码 App") {
		t.Fatalf("bare well (%d 暂无): %s", got, body(resp))
	}
	// Attribute values are escaped.
	bare, _ := b.host.Object("tok-well-2")
	bare.Attributes = json.RawMessage(`{"name":"<script>x</script>"}`)
	b.host.SetObject(bare)
	if resp, _ = b.get("home", tourist, nil); strings.Contains(body(resp), "<script>x") {
		t.Fatal("attribute not escaped")
	}
	// The form offers the configured fields only.
	b = newBench(t, `{"fields":["depth"]}`)
	if resp, _ = b.get("update-form", citizen, nil); !strings.Contains(body(resp), `name="f.depth"`) || strings.Contains(body(resp), `name="f.status"`) {
		t.Fatalf("form with one field: %s", body(resp))
	}
}

// apply submits an application as a multipart form and answers its id.
func apply(t *testing.T, b *bench, v plugin.Visitor, fields url.Values, photo []byte) string {
	t.Helper()
	ctype, data := multipartBody(fields, photo)
	resp, err := b.call("update", v, nil, ctype, data)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 {
		t.Fatalf("application answered %d", resp.Status)
	}
	s := body(resp)
	s = s[strings.Index(s, `<span id="request-id">`)+len(`<span id="request-id">`):]
	return s[:strings.Index(s, "<")]
}

func TestApplicationAndFollowUp(t *testing.T) {
	b := newBench(t, "")
	resp, err := b.get("update-form", inspector, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name="f.depth"`, `name="f.status"`, "<option>已封井</option>", "现值：30 米", `enctype="multipart/form-data"`} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(body(resp), `name="f.wellNo"`) {
		t.Error("the well number is open by default")
	}
	id := apply(t, b, inspector, url.Values{"f.depth": {"35"}, "f.status": {"损坏"}, "reason": {"井口破损，复测井深"}}, pngBytes(256))
	r := b.doc(t, id)
	if r.Status != statusPending || r.Applicant != inspector.Pseudonym || r.ApplicantName != "王*" || r.WellNo != "SW-310104-001" ||
		r.Summary != "深度：30 米 → 35 米；状态：正常 → 损坏" || !strings.HasPrefix(r.Photo, "http://city.test/plugin-files/") || r.Applied || r.PendingApply {
		t.Fatalf("stored %+v", r)
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "request.submitted" {
		t.Fatalf("events %+v", b.host.Events)
	}
	if len(b.host.Notifications) != 1 || b.host.Notifications[0].Template != tplSubmitted || b.host.Notifications[0].To != "徐汇区水务局" || b.host.Notifications[0].Params["requestId"] != id {
		t.Fatalf("notes %+v", b.host.Notifications)
	}
	// Nothing changes on the code before review.
	if b.objectCalls() != 0 || b.attrs(b.token)["depth"] != 30.0 {
		t.Fatal("the code changed before review")
	}

	// The applicant follows it; nobody else sees it, not even by number.
	resp, err = b.get("request", inspector, url.Values{"id": {id}})
	if err != nil || !strings.Contains(body(resp), `<dd id="request-status">待审核</dd>`) || !strings.Contains(body(resp), "<td>深度</td><td>30 米</td><td>35 米</td>") {
		t.Fatalf("status: %v %s", err, body(resp))
	}
	_, err = b.get("request", citizen, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
	b.token = "tok-well-2"
	_, err = b.get("request", inspector, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
	b.token = "tok-well-1"
	_, err = b.get("request", inspector, url.Values{"id": {"nope"}})
	wantCode(t, err, plugin.ErrNotFound)
	_, err = b.get("request", inspector, url.Values{"id": {"../x"}})
	wantCode(t, err, plugin.ErrInvalid)
	resp, _ = b.get("request", inspector, nil)
	if !strings.Contains(body(resp), "/request?id="+id) {
		t.Fatalf("my applications: %s", body(resp))
	}
	resp, _ = b.get("request", citizen, nil)
	if strings.Contains(body(resp), id) {
		t.Fatal("someone else's application listed")
	}
}

func TestBadApplicationsStoreNothing(t *testing.T) {
	b := newBench(t, `{"maxPending":1}`)
	for _, tc := range []struct {
		name   string
		fields url.Values
		photo  []byte
		code   string
	}{
		{"unknown field", url.Values{"f.colour": {"红"}, "reason": {"x"}}, nil, plugin.ErrInvalid},
		{"closed field", url.Values{"f.wellNo": {"X"}, "reason": {"x"}}, nil, plugin.ErrInvalid},
		{"empty change set", url.Values{"f.depth": {""}, "reason": {"x"}}, nil, "MissingParameter"},
		{"no reason", url.Values{"f.depth": {"35"}}, nil, "MissingParameter"},
		{"long reason", url.Values{"f.depth": {"35"}, "reason": {strings.Repeat("长", 501)}}, nil, plugin.ErrInvalid},
		{"bad depth", url.Values{"f.depth": {"-3"}, "reason": {"x"}}, nil, plugin.ErrInvalid},
		{"not a status", url.Values{"f.status": {"坏了"}, "reason": {"x"}}, nil, plugin.ErrInvalid},
		{"not an image", url.Values{"f.depth": {"35"}, "reason": {"x"}}, []byte("%PDF-1.4"), plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, data := multipartBody(tc.fields, tc.photo)
			_, err := b.call("update", inspector, nil, ctype, data)
			wantCode(t, err, tc.code)
		})
	}
	_, err := b.call("update", inspector, nil, "application/json", []byte(`{"f.depth":"35"}`))
	wantCode(t, err, plugin.ErrInvalid)
	if n := b.count("requests"); n != 0 || len(b.host.Files) != 0 || len(b.host.Notifications) != 0 {
		t.Fatalf("%d requests, %d files, %d notes after bad input", n, len(b.host.Files), len(b.host.Notifications))
	}
	// One pending application each (maxPending 1); someone else may still
	// apply.
	apply(t, b, inspector, url.Values{"f.depth": {"35"}, "reason": {"复测"}}, nil)
	ctype, data := multipartBody(url.Values{"f.depth": {"36"}, "reason": {"再测"}}, nil)
	_, err = b.call("update", inspector, nil, ctype, data)
	wantCode(t, err, "FailedOperation.TooManyPending")
	apply(t, b, citizen, url.Values{"f.depth": {"36"}, "reason": {"再测"}}, nil)
	if n := b.count("requests"); n != 2 {
		t.Fatalf("%d requests", n)
	}
}

func TestLoginRoutesRefuseTourists(t *testing.T) {
	b := newBench(t, "")
	form := url.Values{"f.depth": {"35"}, "reason": {"x"}}
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
				_, err := b.post(name, v, form)
				return err
			}
			wantCode(t, call(tourist), "UnauthorizedOperation")
			wantCode(t, call(plugin.Visitor{}), "UnauthorizedOperation") // not a tourist, yet no pseudonym
		})
	}
	// An admin route reached as a landing page (a misrouted call) is refused.
	for _, name := range []string{"admin-requests", "admin-review"} {
		_, err := b.call(name, inspector, nil, "application/json", []byte(`{"id":"r000001","approve":true}`))
		wantCode(t, err, "UnauthorizedOperation")
	}
	if n := b.count("requests"); n != 0 {
		t.Fatalf("%d requests stored by refused visitors", n)
	}
}

func decideBody(id string, approve bool, reason string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "approve": approve, "reason": reason})
	return string(b)
}

func TestApproval(t *testing.T) {
	b := newBench(t, "")
	id := apply(t, b, inspector, url.Values{"f.depth": {"35"}, "f.items": {"水位、水质"}, "reason": {"复测"}}, nil)
	list, err := b.admin("admin-requests", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	items := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 || items[0].(map[string]any)["id"] != id || items[0].(map[string]any)["code"] != b.token ||
		items[0].(map[string]any)["applicantName"] != "王*" || items[0].(map[string]any)["applicant"] != nil {
		t.Fatalf("pending list %v", list)
	}
	b.now = b.now.Add(3600e9)
	out, err := b.admin("admin-review", nil, decideBody(id, true, "现场核实无误"))
	if err != nil || out["status"] != statusApproved || out["applied"] != true {
		t.Fatalf("approve: %v %v", out, err)
	}
	// The change is on the code, each value under the key the code uses.
	attrs := b.attrs(b.token)
	if attrs["depth"] != 35.0 || attrs["监测项目"].([]any)[1] != "水质" || attrs["编号"] != "SW-310104-001" {
		t.Fatalf("attributes %v", attrs)
	}
	r := b.doc(t, id)
	if r.Status != statusApproved || !r.Applied || r.PendingApply || r.Reviewer != "reviewer1" || r.ReviewNote != "现场核实无误" ||
		r.ReviewedAt != "2026-11-03T10:30:00+08:00" || r.AppliedAt != r.ReviewedAt {
		t.Fatalf("stored %+v", r)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "request.approve" || b.host.Audits[0].Target != "request:"+id ||
		!strings.Contains(string(b.host.Audits[0].Detail), `"operator":"reviewer1"`) || !strings.Contains(string(b.host.Audits[0].Detail), `"applied":true`) {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	if n := b.host.Notifications[len(b.host.Notifications)-1]; n.Template != tplDecided || n.To != inspector.Pseudonym || n.Params["status"] != statusApproved {
		t.Fatalf("decision note %+v", n)
	}
	// The applicant and the well's page see it.
	resp, _ := b.get("request", inspector, url.Values{"id": {id}})
	if !strings.Contains(body(resp), `<dd id="request-status">已通过</dd>`) || !strings.Contains(body(resp), "现场核实无误") || !strings.Contains(body(resp), `id="applied"`) {
		t.Fatalf("status page %s", body(resp))
	}
	resp, _ = b.get("home", tourist, nil)
	if !strings.Contains(body(resp), "<dd>35 米</dd>") || !strings.Contains(body(resp), "<dd>水位、水质</dd>") {
		t.Fatalf("landing after approval %s", body(resp))
	}
	// Decided once: neither approved again nor rejected, and not audited
	// again; the pending list is empty.
	_, err = b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	_, err = b.admin("admin-review", nil, decideBody(id, false, "重复"))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	if len(b.host.Audits) != 1 || b.objectCalls() != 1 {
		t.Fatalf("%d audits, %d object writes", len(b.host.Audits), b.objectCalls())
	}
	if list, _ = b.admin("admin-requests", nil, ""); list["total"] != 0.0 {
		t.Fatalf("pending after approval %v", list)
	}
	if list, _ = b.admin("admin-requests", url.Values{"q": {"已通过"}}, ""); list["total"] != 1.0 {
		t.Fatalf("approved list %v", list)
	}
}

func TestRejection(t *testing.T) {
	b := newBench(t, "")
	id := apply(t, b, inspector, url.Values{"f.address": {"漕溪北路 300 号"}, "reason": {"位置有误"}}, nil)
	_, err := b.admin("admin-review", nil, decideBody(id, false, ""))
	wantCode(t, err, "MissingParameter")
	if r := b.doc(t, id); r.Status != statusPending || len(b.host.Audits) != 0 {
		t.Fatalf("a refused rejection changed %+v", r)
	}
	out, err := b.admin("admin-review", nil, decideBody(id, false, "经核实，位置无误"))
	if err != nil || out["status"] != statusRejected || out["applied"] != false {
		t.Fatalf("reject: %v %v", out, err)
	}
	if b.objectCalls() != 0 || b.attrs(b.token)["address"] != "漕溪北路 100 号东侧绿地" {
		t.Fatal("a rejected change reached the code")
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "request.reject" || !strings.Contains(string(b.host.Audits[0].Detail), "经核实，位置无误") {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	resp, _ := b.get("request", inspector, url.Values{"id": {id}})
	if !strings.Contains(body(resp), `<dd id="request-status">已驳回</dd>`) || !strings.Contains(body(resp), `<dd id="review-note">经核实，位置无误</dd>`) {
		t.Fatalf("status page %s", body(resp))
	}
	_, err = b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
}

func TestReviewBadInput(t *testing.T) {
	b := newBench(t, "")
	for _, tc := range []struct{ body, code string }{
		{`{"id":"r999999","approve":true}`, plugin.ErrNotFound},
		{`{"approve":true}`, "MissingParameter"},
		{`{"id":"r1"}`, "MissingParameter"},
		{`{"id":"r1","approve":"yes"}`, plugin.ErrInvalid},
		{`not json`, plugin.ErrInvalid},
	} {
		_, err := b.admin("admin-review", nil, tc.body)
		wantCode(t, err, tc.code)
	}
	for _, q := range []url.Values{{"q": {"全都要"}}, {"pageSize": {"1000"}}, {"pageNo": {"0"}}} {
		_, err := b.admin("admin-requests", q, "")
		wantCode(t, err, plugin.ErrInvalid)
	}
	if len(b.host.Audits) != 0 {
		t.Fatal("audited a refused decision")
	}
}

// When the host cannot write the code at approval, the approval stands
// and the well's next scan writes it, once.
func TestApprovalWrittenAtNextScan(t *testing.T) {
	b := newBench(t, "")
	id := apply(t, b, inspector, url.Values{"f.status": {"停用"}, "reason": {"已停测"}}, nil)
	b.host.Fail[plugin.ObjectWrite] = &plugin.Error{Code: plugin.ErrInternal, Message: "the host could not complete the call"}
	out, err := b.admin("admin-review", nil, decideBody(id, true, ""))
	if err != nil || out["status"] != statusApproved || out["applied"] != false || !strings.Contains(out["message"].(string), "下次被扫描") {
		t.Fatalf("approve: %v %v", out, err)
	}
	if r := b.doc(t, id); !r.PendingApply || r.Applied || len(b.host.Audits) != 1 {
		t.Fatalf("stored %+v", r)
	}
	resp, _ := b.get("request", inspector, url.Values{"id": {id}})
	if !strings.Contains(body(resp), "变更即将生效") {
		t.Fatalf("status page %s", body(resp))
	}
	// Still down at the next scan: the page shows the old value, and
	// tries again later.
	if resp, _ = b.get("home", tourist, nil); !strings.Contains(body(resp), "<dd>正常</dd>") {
		t.Fatalf("landing %s", body(resp))
	}
	delete(b.host.Fail, plugin.ObjectWrite)
	if resp, _ = b.get("home", tourist, nil); !strings.Contains(body(resp), "<dd>停用</dd>") {
		t.Fatalf("landing after the host recovered %s", body(resp))
	}
	if r := b.doc(t, id); !r.Applied || r.PendingApply {
		t.Fatalf("stored %+v", r)
	}
	calls := b.objectCalls()
	b.get("home", tourist, nil)
	if b.objectCalls() != calls {
		t.Fatal("an applied change written again")
	}
}

// When the host refuses the change, the application stays pending and the
// reviewer is told why.
func TestApprovalRefusedByTheHost(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *plugin.Error
		want string
	}{
		{"cancelled code", &plugin.Error{Code: "FailedOperation.CodeNotActive", Message: "object code 100000001 is cancelled"}, "FailedOperation.CodeUnavailable"},
		{"type rules", &plugin.Error{Code: plugin.ErrInvalid, Message: "attribute depth is required"}, plugin.ErrInvalid},
		{"no object.write", &plugin.Error{Code: plugin.ErrDenied, Message: "capability not granted"}, "UnauthorizedOperation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, "")
			id := apply(t, b, inspector, url.Values{"f.depth": {"31"}, "reason": {"复测"}}, nil)
			b.host.Fail[plugin.ObjectWrite] = tc.err
			_, err := b.admin("admin-review", nil, decideBody(id, true, ""))
			wantCode(t, err, tc.want)
			if !strings.Contains(err.Error(), "申请保持待审核") {
				t.Fatalf("message %v", err)
			}
			if r := b.doc(t, id); r.Status != statusPending || r.Reviewer != "" || r.PendingApply || len(b.host.Audits) != 0 {
				t.Fatalf("stored %+v, %d audits", r, len(b.host.Audits))
			}
			// It can still be rejected.
			if out, err := b.admin("admin-review", nil, decideBody(id, false, "码已注销")); err != nil || out["status"] != statusRejected {
				t.Fatalf("reject after a refusal: %v %v", out, err)
			}
		})
	}
}

// A change approved while the host was down, and refused when the page
// writes it, is marked and not tried again.
func TestRefusedAtScanIsMarked(t *testing.T) {
	b := newBench(t, "")
	id := apply(t, b, inspector, url.Values{"f.depth": {"31"}, "reason": {"复测"}}, nil)
	b.host.Fail[plugin.ObjectWrite] = &plugin.Error{Code: plugin.ErrUnavailable, Message: "down"}
	if _, err := b.admin("admin-review", nil, decideBody(id, true, "")); err != nil {
		t.Fatal(err)
	}
	b.host.Fail[plugin.ObjectWrite] = &plugin.Error{Code: "FailedOperation.CodeNotActive", Message: "cancelled"}
	b.get("home", tourist, nil)
	calls := b.objectCalls()
	b.get("home", tourist, nil)
	r := b.doc(t, id)
	if b.objectCalls() != calls || r.PendingApply || r.Applied || !strings.Contains(r.ApplyError, "cancelled") {
		t.Fatalf("stored %+v after %d calls", r, b.objectCalls())
	}
	resp, _ := b.get("request", inspector, url.Values{"id": {id}})
	if !strings.Contains(body(resp), "码属性未能更新") {
		t.Fatalf("status page %s", body(resp))
	}
}

// Two reviewers deciding at once: the one whose write lands second is told
// the application was just decided, and its change never reaches the
// code.
func TestConcurrentDecision(t *testing.T) {
	b := newBench(t, "")
	id := apply(t, b, inspector, url.Values{"f.depth": {"31"}, "reason": {"复测"}}, nil)
	b.raceOnPut(id, func(r *request) {
		r.Status, r.Reviewer, r.ReviewNote = statusRejected, "reviewer2", "与台账不符"
	})
	_, err := b.admin("admin-review", nil, decideBody(id, true, ""))
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	if r := b.doc(t, id); r.Status != statusRejected || r.Reviewer != "reviewer2" || b.objectCalls() != 0 || len(b.host.Audits) != 0 {
		t.Fatalf("stored %+v, %d object writes, %d audits", r, b.objectCalls(), len(b.host.Audits))
	}
}
