package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// These tests call the handler with the sdk's in-memory host
// (fakehost_test.go): every flow, and the edges the real host does not
// easily provoke.

func TestLandingPage(t *testing.T) {
	b := newBench(t, "")
	b.mustAdmin("admin-notice", nil, `{"code":"`+shop1+`","kind":"notice","title":"门前责任区检查通知","content":"本周开展门责检查。"}`)
	b.mustAdmin("admin-notice", nil, `{"kind":"education","title":"垃圾分类宣传","content":"干湿分开。","publisher":"市绿化市容局"}`)
	b.mustAdmin("admin-notice", nil, `{"code":"`+shop2+`","kind":"notice","title":"别家的公告","content":"x"}`)
	page := b.page("home", tourist, nil)
	for _, want := range []string{"<h1>老王面馆</h1>", "<dt>经营地址</dt><dd>漕溪北路 100 号</dd>", "<dt>统一社会信用代码</dt><dd>91310104MA1234567X</dd>",
		"<dt>监管单位</dt><dd>徐汇区城管执法局</dd>", "门前责任区检查通知", "垃圾分类宣传", "市绿化市容局", `name="viewport"`,
		"http://city.test/c/" + shop1 + "/complain", "需在城市码 App 中扫码并登录"} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	// What only the merchant and inspectors see, and another shop's notice,
	// stay off the public page.
	for _, not := range []string{"王大明", "021-64000000", "食品经营许可证", "别家的公告", "工作入口"} {
		if strings.Contains(page, not) {
			t.Errorf("landing page shows %q", not)
		}
	}
	// The platform-wide notice is on every shop's page; one notice opens.
	if page = b.on(shop2).page("home", tourist, nil); !strings.Contains(page, "垃圾分类宣传") || !strings.Contains(page, "<h1>小李便利店</h1>") {
		t.Fatalf("shop 2: %s", page)
	}
	id := b.host.Records("notices")[0].ID
	if page = b.on(shop1).page("notices", tourist, url.Values{"id": {id}}); !strings.Contains(page, `<pre id="notice-content">本周开展门责检查。</pre>`) {
		t.Fatalf("notice: %s", page)
	}
	_, err := b.on(shop2).get("notices", tourist, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
	_, err = b.get("notices", tourist, url.Values{"id": {"../x"}})
	wantCode(t, err, plugin.ErrInvalid)

	// Logged in: the follow button and the role entries the visitor has.
	b.on(shop1).bind(officer, roleInspector, "")
	if page = b.page("home", officer, nil); !strings.Contains(page, `id="inspect-link"`) || strings.Contains(page, `id="merchant-link"`) ||
		!strings.Contains(page, "关注本店公告") {
		t.Fatalf("inspector's landing: %s", page)
	}
	// An enterprise code lands too, named by the code.
	if page = b.on(ent1).page("home", tourist, nil); !strings.Contains(page, "<h1>某某餐饮有限公司</h1>") {
		t.Fatalf("enterprise landing: %s", page)
	}
	// Attribute values are escaped.
	c, _ := b.host.Object(shop2)
	c.Attributes = json.RawMessage(`{"name":"<script>x</script>"}`)
	b.host.SetObject(c)
	if page = b.on(shop2).page("home", tourist, nil); strings.Contains(page, "<script>x") {
		t.Fatal("attribute not escaped")
	}
}

func TestBinding(t *testing.T) {
	b := newBench(t, `{"grantHours":2}`)
	for _, tc := range []struct{ body, code string }{
		{`{"role":"boss","name":"x"}`, plugin.ErrInvalid},
		{`{"role":"merchant","name":"王大明"}`, "MissingParameter"},
		{`{"role":"merchant","code":"tok-nope","name":"王大明"}`, plugin.ErrNotFound},
		{`{"role":"inspector","code":"` + shop1 + `","name":"李队员"}`, plugin.ErrInvalid},
		{`{"role":"inspector"}`, "MissingParameter"},
		{`{"role":"inspector","name":"李","hours":1000}`, plugin.ErrInvalid},
		{`{"role":"inspector","name":"李","colour":"red"}`, plugin.ErrInvalid},
	} {
		_, err := b.admin("admin-grant", nil, tc.body)
		wantCode(t, err, tc.code)
	}
	if b.count("grants") != 0 {
		t.Fatal("a refused grant was stored")
	}
	out := b.mustAdmin("admin-grant", nil, `{"role":"merchant","code":"`+shop1+`","name":"王大明"}`)
	grantCode := out["grantCode"].(string)
	if out["shop"] != "老王面馆" || out["expiresAt"] != "2026-11-03T11:30:00+08:00" || len(grantCode) != 14 {
		t.Fatalf("grant: %v", out)
	}
	// Only the hash of the code is stored.
	for _, r := range b.host.Records("grants") {
		norm, _ := normalizeGrant(grantCode)
		if strings.Contains(string(r.Doc), norm) || strings.Contains(string(r.Doc), grantCode) || r.ID != grantID(norm) {
			t.Fatalf("grant stored as %s %s", r.ID, r.Doc)
		}
	}
	join := func(v plugin.Visitor, code string) error {
		_, err := b.post("join", v, url.Values{"code": {code}})
		return err
	}
	wantCode(t, join(merchantA, "ABCD-EFGH-JKMN"), "UnauthorizedOperation")
	wantCode(t, join(merchantA, "short"), plugin.ErrInvalid)
	wantCode(t, join(merchantA, ""), "MissingParameter")
	wantCode(t, b.on(shop2).call2("join", merchantA, url.Values{"code": {grantCode}}), "UnauthorizedOperation") // another shop's code
	_, err := b.on(shop1).post("join", tourist, url.Values{"code": {grantCode}})
	wantCode(t, err, "UnauthorizedOperation")
	if b.count("members") != 0 {
		t.Fatal("a refused join bound someone")
	}
	// Case and dashes do not matter; the merchant lands on their page.
	resp, err := b.post("join", merchantA, url.Values{"code": {strings.ToLower(strings.ReplaceAll(grantCode, "-", " "))}})
	if err != nil || resp.Status != 303 || resp.Header["Location"] != "http://city.test/c/"+shop1+"/merchant" {
		t.Fatalf("join: %v %v", resp, err)
	}
	if _, err := b.get("merchant", merchantA, nil); err != nil {
		t.Fatalf("merchant page after binding: %v", err)
	}
	if err := join(merchantA, grantCode); err != nil { // again, by the same person: harmless
		t.Fatal(err)
	}
	wantCode(t, join(merchantB, grantCode), "FailedOperation.GrantUsed")
	// Expired.
	out = b.mustAdmin("admin-grant", nil, `{"role":"inspector","name":"李队员","badge":"310104-021","hours":1}`)
	b.now = b.now.Add(61 * 60e9)
	wantCode(t, join(officer, out["grantCode"].(string)), "FailedOperation.GrantExpired")
	if n := b.count("members"); n != 1 {
		t.Fatalf("%d members", n)
	}
	var m member
	rec := b.host.Records("members")[0]
	b.doc("members", rec.ID, &m)
	if m.Role != roleMerchant || m.Pseudonym != merchantA.Pseudonym || rec.CodeToken != shop1 || m.Name != "王大明" || m.GrantedBy != "ops1" {
		t.Fatalf("member %+v on %s", m, rec.CodeToken)
	}
	// Revoked: the merchant page is closed again.
	if out := b.mustAdmin("admin-revoke", nil, `{"id":"`+rec.ID+`"}`); out["revoked"] != true {
		t.Fatalf("revoke: %v", out)
	}
	_, err = b.get("merchant", merchantA, nil)
	wantCode(t, err, "UnauthorizedOperation")
	_, err = b.admin("admin-revoke", nil, `{"id":"`+rec.ID+`"}`)
	wantCode(t, err, plugin.ErrNotFound)
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, ",") != "grant.issue,member.join,grant.issue,member.revoke" {
		t.Fatalf("audits %v", actions)
	}
}

// call2 is post answering only the error.
func (b *bench) call2(route string, v plugin.Visitor, form url.Values) error {
	_, err := b.post(route, v, form)
	return err
}

func TestComplaintsAndAnonymousSuggestions(t *testing.T) {
	b := newBench(t, `{"notifyTo":"徐汇城管一中队","dailyLimit":3}`)
	b.bind(merchantA, roleMerchant, shop1)
	b.bind(merchantB, roleMerchant, shop2)
	b.bind(officer, roleInspector, "")

	ctype, data := multipartBody(url.Values{"kind": {"complaint"}, "category": {"占道经营"}, "text": {"门口摆摊占用人行道"}}, pngBytes(64))
	resp, err := b.call("complain", citizen, nil, ctype, data)
	if err != nil || resp.Status != 201 {
		t.Fatalf("complaint: %v %v", resp, err)
	}
	complaintID := between(string(resp.Body), `<span id="record-id">`, "<")
	suggestionID := b.submit("complain", citizen, url.Values{"kind": {"suggestion"}, "category": {"门前环境卫生"}, "text": {"建议门口放个垃圾桶"}})

	var c complaint
	b.doc("complaints", complaintID, &c)
	if c.Kind != kindComplaint || c.Status != statusReceived || c.Author != citizen.Pseudonym || c.AuthorName != "张*" || c.Shop != "老王面馆" ||
		!strings.HasPrefix(c.Photo, "http://city.test/plugin-files/") {
		t.Fatalf("complaint %+v", c)
	}
	if n, ok := b.sent(tplComplaint)["徐汇城管一中队"]; !ok || n.Params["complaintId"] != complaintID {
		t.Fatalf("complaint notification %+v", b.host.Notifications)
	}
	var s complaint
	b.doc("complaints", suggestionID, &s)
	if s.Status != statusDelivered || s.Delivered != 1 {
		t.Fatalf("suggestion %+v", s)
	}
	// The merchant's message carries the suggestion and nothing of who
	// made it.
	n, ok := b.sent(tplSuggestion)[merchantA.Pseudonym]
	if !ok || len(b.sent(tplSuggestion)) != 1 || n.Params["text"] != "建议门口放个垃圾桶" {
		t.Fatalf("suggestion notifications %+v", b.host.Notifications)
	}
	raw, _ := json.Marshal(n)
	for _, who := range []string{citizen.Pseudonym, citizen.Name, citizen.Mobile} {
		if strings.Contains(string(raw), who) {
			t.Fatalf("the merchant's message names the citizen: %s", raw)
		}
	}
	// The merchant's page: the suggestion, anonymously; not the complaint.
	page := b.page("merchant", merchantA, nil)
	if !strings.Contains(page, "建议门口放个垃圾桶") || strings.Contains(page, "门口摆摊占用人行道") {
		t.Fatalf("merchant page: %s", page)
	}
	for _, who := range []string{citizen.Pseudonym, "张*", citizen.Mobile} {
		if strings.Contains(page, who) {
			t.Fatalf("the merchant page names the citizen (%s)", who)
		}
	}
	// Another shop's merchant sees none of it, here or there.
	if page = b.on(shop2).page("merchant", merchantB, nil); strings.Contains(page, "建议门口放个垃圾桶") {
		t.Fatal("another merchant sees the suggestion")
	}
	_, err = b.on(shop1).get("merchant", merchantB, nil)
	wantCode(t, err, "UnauthorizedOperation")

	// The inspector sees both and handles the complaint; the citizen is
	// told and sees the outcome.
	if page = b.page("inspect", officer, nil); !strings.Contains(page, "门口摆摊占用人行道") || strings.Contains(page, "张*") {
		t.Fatalf("inspector page: %s", page)
	}
	err = b.call2("handle-complaint", officer, url.Values{"id": {complaintID}, "note": {""}})
	wantCode(t, err, "MissingParameter")
	err = b.call2("handle-complaint", officer, url.Values{"id": {suggestionID}, "note": {"x"}})
	wantCode(t, err, plugin.ErrInvalid)
	err = b.on(shop2).call2("handle-complaint", officer, url.Values{"id": {complaintID}, "note": {"x"}}) // through another code
	wantCode(t, err, plugin.ErrNotFound)
	if resp, err = b.on(shop1).post("handle-complaint", officer, url.Values{"id": {complaintID}, "note": {"已责令撤除摊位"}}); err != nil || resp.Status != 303 {
		t.Fatalf("handle: %v %v", resp, err)
	}
	b.doc("complaints", complaintID, &c)
	if c.Status != statusHandled || c.Handler != "测试城管队员（310104-inspector）" || c.HandledNote != "已责令撤除摊位" {
		t.Fatalf("handled %+v", c)
	}
	if n := b.sent(tplComplaintResult)[citizen.Pseudonym]; n.Params["note"] != "已责令撤除摊位" {
		t.Fatalf("result notification %+v", b.host.Notifications)
	}
	_, err = b.admin("admin-complaint", nil, `{"id":"`+complaintID+`","note":"再办"}`)
	wantCode(t, err, "FailedOperation.AlreadyHandled")
	if page = b.page("mine", citizen, nil); !strings.Contains(page, "已责令撤除摊位") || !strings.Contains(page, "建议门口放个垃圾桶") {
		t.Fatalf("mine: %s", page)
	}
	if page = b.page("mine", citizen2, nil); strings.Contains(page, "门口摆摊") {
		t.Fatal("someone else's complaints listed")
	}

	// The daily limit (3), then bad input: refused, nothing stored.
	b.submit("complain", citizen, url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"第三条"}})
	err = b.call2("complain", citizen, url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"第四条"}})
	wantCode(t, err, "FailedOperation.TooMany")
	before, files := b.count("complaints"), len(b.host.Files)
	for _, tc := range []struct {
		name string
		form url.Values
		code string
	}{
		{"no kind", url.Values{"category": {"其他"}, "text": {"x"}}, "MissingParameter"},
		{"bad kind", url.Values{"kind": {"praise"}, "category": {"其他"}, "text": {"x"}}, plugin.ErrInvalid},
		{"no category", url.Values{"kind": {"complaint"}, "text": {"x"}}, "MissingParameter"},
		{"unknown category", url.Values{"kind": {"complaint"}, "category": {"外星人"}, "text": {"x"}}, plugin.ErrInvalid},
		{"no text", url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"  "}}, "MissingParameter"},
		{"oversize text", url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {strings.Repeat("长", 501)}}, plugin.ErrInvalid},
		{"unknown field", url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"x"}, "phone": {"1"}}, plugin.ErrInvalid},
		{"twice", url.Values{"kind": {"complaint", "suggestion"}, "category": {"其他"}, "text": {"x"}}, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, data := multipartBody(tc.form, pngBytes(16))
			_, err := b.call("complain", citizen2, nil, ctype, data)
			wantCode(t, err, tc.code)
		})
	}
	ctype, data = multipartBody(url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"x"}}, []byte("%PDF-1.4 not a photo"))
	_, err = b.call("complain", citizen2, nil, ctype, data)
	wantCode(t, err, plugin.ErrInvalid)
	if b.count("complaints") != before || len(b.host.Files) != files {
		t.Fatalf("bad input stored: %d complaints, %d files", b.count("complaints"), len(b.host.Files))
	}
}

// A suggestion about a shop no merchant is bound to waits for one: it is
// listed when they bind.
func TestSuggestionBeforeTheMerchantBinds(t *testing.T) {
	b := newBench(t, "")
	id := b.submit("complain", citizen, url.Values{"kind": {"suggestion"}, "category": {"其他"}, "text": {"营业时间能否延长"}})
	var s complaint
	if b.doc("complaints", id, &s); s.Status != statusNoShop || len(b.host.Notifications) != 0 {
		t.Fatalf("%+v %+v", s, b.host.Notifications)
	}
	b.bind(merchantA, roleMerchant, shop1)
	if page := b.page("merchant", merchantA, nil); !strings.Contains(page, "营业时间能否延长") {
		t.Fatalf("merchant page: %s", page)
	}
}

// Every route beyond a role refuses those without it, and stores nothing.
func TestRoutesRefuseWhoMayNot(t *testing.T) {
	b := newBench(t, "")
	b.bind(merchantA, roleMerchant, shop1)
	b.bind(officer, roleInspector, "")
	b.bind(supervisorV, roleSupervisor, "")
	stored := func() int {
		n := 0
		for _, c := range collections {
			n += b.count(c)
		}
		return n
	}
	before := stored()
	who := map[access][]plugin.Visitor{
		login:      {tourist, {}},
		merchant:   {tourist, citizen, officer, merchantB},
		inspector:  {tourist, citizen, merchantA, supervisorV},
		supervisor: {tourist, citizen, merchantA, officer},
	}
	form := url.Values{"text": {"x"}, "findings": {"x"}, "content": {"x"}}
	for name, r := range routes {
		for _, v := range who[r.access] {
			t.Run(name+"/"+v.Pseudonym, func(t *testing.T) {
				var err error
				if b.routes[name].MethodOrGET() == "GET" {
					_, err = b.get(name, v, nil)
				} else {
					_, err = b.post(name, v, form)
				}
				wantCode(t, err, "UnauthorizedOperation")
			})
		}
	}
	// A merchant of shop 1 is no merchant on shop 2.
	_, err := b.on(shop2).get("merchant", merchantA, nil)
	wantCode(t, err, "UnauthorizedOperation")
	// An admin route reached as a landing page (a misrouted call) is refused.
	for name, r := range routes {
		if r.access == operator {
			_, err := b.on(shop1).call(name, officer, nil, "application/json", []byte(`{}`))
			wantCode(t, err, "UnauthorizedOperation")
		}
	}
	if stored() != before {
		t.Fatal("refused calls stored records")
	}
}

func TestPledges(t *testing.T) {
	b := newBench(t, "")
	b.bind(merchantA, roleMerchant, shop1)
	if page := b.page("merchant", merchantA, nil); !strings.Contains(page, "待签订：《监管承诺书》、《规范经营承诺书》、《监管事项告知书》") {
		t.Fatalf("merchant page: %s", page)
	}
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"signerName": {"王大明"}, "agree": {"1"}}, "MissingParameter"},
		{url.Values{"template": {"nope"}, "signerName": {"王大明"}, "agree": {"1"}}, plugin.ErrNotFound},
		{url.Values{"template": {"conduct"}, "signerName": {"王大明"}}, "MissingParameter"},
		{url.Values{"template": {"conduct"}, "agree": {"1"}}, "MissingParameter"},
		{url.Values{"template": {"conduct"}, "signerName": {"王"}, "agree": {"1"}}, plugin.ErrInvalid},
		{url.Values{"template": {"conduct"}, "signerName": {"王大明"}, "agree": {"1"}, "stamp": {"x"}}, plugin.ErrInvalid},
	} {
		wantCode(t, b.call2("pledge", merchantA, tc.form), tc.code)
	}
	if b.count("pledges") != 0 {
		t.Fatal("a refused signature was stored")
	}
	id := b.submit("pledge", merchantA, url.Values{"template": {"conduct"}, "signerName": {"王大明"}, "agree": {"1"}})
	var p pledge
	b.doc("pledges", id, &p)
	if p.Title != "规范经营承诺书" || p.Version != "1" || p.SignerName != "王大明" || p.Signer != merchantA.Pseudonym || len(p.SHA256) != 64 ||
		!strings.Contains(p.Content, "不占道经营") || p.SignedAt != "2026-11-03T09:30:00+08:00" {
		t.Fatalf("pledge %+v", p)
	}
	wantCode(t, b.call2("pledge", merchantA, url.Values{"template": {"conduct"}, "signerName": {"王大明"}, "agree": {"1"}}),
		"FailedOperation.AlreadySigned")
	if page := b.page("pledge-form", merchantA, nil); !strings.Contains(page, `id="signed-conduct"`) {
		t.Fatalf("pledge page: %s", page)
	}
	// A new version of the text is to be signed again.
	b.config = `{"pledges":[{"id":"conduct","title":"规范经营承诺书","content":"新文本","version":"2"}]}`
	if page := b.page("pledge-form", merchantA, nil); strings.Contains(page, `id="signed-conduct"`) {
		t.Fatal("a new version shows as signed")
	}
	b.submit("pledge", merchantA, url.Values{"template": {"conduct"}, "signerName": {"王大明"}, "agree": {"1"}})
	if len(b.host.Audits) < 2 || b.host.Audits[len(b.host.Audits)-1].Action != "pledge.sign" {
		t.Fatalf("audits %+v", b.host.Audits)
	}
}

func TestPatrolsAndCorrections(t *testing.T) {
	b := newBench(t, "")
	b.bind(officer, roleInspector, "")
	b.bind(merchantA, roleMerchant, shop1)
	ctype, data := multipartBody(url.Values{"failed": {"占道经营", "店招店牌"}, "findings": {"门口堆放货物"}, "licence": {"证照齐全"}}, pngBytes(32))
	resp, err := b.call("patrol", officer, nil, ctype, data)
	if err != nil || resp.Status != 201 {
		t.Fatalf("patrol: %v %v", resp, err)
	}
	var p patrol
	b.doc("patrols", between(string(resp.Body), `<span id="record-id">`, "<"), &p)
	if p.Result != resultProblem || strings.Join(p.Failed, ",") != "占道经营,店招店牌" || p.Officer != "测试城管队员（310104-inspector）" || p.Photo == "" {
		t.Fatalf("patrol %+v", p)
	}
	wantCode(t, b.call2("patrol", officer, url.Values{"failed": {"飞檐走壁"}}), plugin.ErrInvalid)
	wantCode(t, b.call2("patrol", officer, url.Values{"failed": {"占道经营"}}), "MissingParameter") // findings needed
	b.submit("patrol", officer, url.Values{})                                                   // all in order
	if page := b.page("merchant", merchantA, nil); !strings.Contains(page, "门口堆放货物") || !strings.Contains(page, "<b>正常</b>") {
		t.Fatalf("merchant's inspections: %s", page)
	}

	// An inspector's correction is written to the code at once, under the
	// key the code uses; a list stays a list.
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"f.colour": {"红"}}, plugin.ErrInvalid},
		{url.Values{"f.address": {""}}, "MissingParameter"},
		{url.Values{"f.address": {"漕溪北路 100 号"}}, plugin.ErrInvalid}, // unchanged
		{url.Values{"f.address": {strings.Repeat("路", 201)}}, plugin.ErrInvalid},
		{url.Values{"f.address": {"x"}, "reason": {"y"}}, plugin.ErrInvalid},
	} {
		wantCode(t, b.call2("correct", officer, tc.form), tc.code)
	}
	if b.count("corrections") != 0 {
		t.Fatal("a refused correction was stored")
	}
	b.submit("correct", officer, url.Values{"f.address": {"漕溪北路 102 号"}, "f.licences": {"食品经营许可证、营业执照、户外招牌设置许可"}, "note": {"现场核实"}})
	a := b.attrs(shop1)
	if a["地址"] != "漕溪北路 102 号" || a["address"] != nil || len(a["许可信息"].([]any)) != 3 {
		t.Fatalf("attributes %v", a)
	}
	// An enterprise code's correction is recorded, not written.
	id := b.on(ent1).submit("correct", officer, url.Values{"f.address": {"某路 1 号"}})
	var c correction
	if b.doc("corrections", id, &c); c.Status != statusRecorded || c.Applied {
		t.Fatalf("enterprise correction %+v", c)
	}

	// A merchant's self-check waits for an inspector; one at a time.
	id = b.on(shop1).submit("selfcheck", merchantA, url.Values{"f.phone": {"13900000000"}, "note": {"换了号码"}})
	wantCode(t, b.call2("selfcheck", merchantA, url.Values{"f.businessType": {"小吃"}}), "FailedOperation.PendingExists")
	if b.attrs(shop1)["联系电话"] != "021-64000000" {
		t.Fatal("a self-check changed the code before review")
	}
	if n, ok := b.sent(tplSelfCheck)["徐汇区城管执法局"]; !ok || n.Params["correctionId"] != id {
		t.Fatalf("self-check notification %+v", b.host.Notifications)
	}
	if page := b.page("inspect", officer, nil); !strings.Contains(page, "联系电话：021-64000000 → 13900000000") {
		t.Fatalf("inspector page: %s", page)
	}
	wantCode(t, b.call2("review-info", officer, url.Values{"id": {id}, "approve": {"0"}}), "MissingParameter") // rejecting needs a note
	// The host refusing the change keeps the report pending.
	b.host.Fail[plugin.ObjectWrite] = &plugin.Error{Code: "FailedOperation.CodeNotActive", Message: "cancelled"}
	wantCode(t, b.call2("review-info", officer, url.Values{"id": {id}, "approve": {"1"}}), "FailedOperation.CodeUnavailable")
	if b.doc("corrections", id, &c); c.Status != statusPendingCheck {
		t.Fatalf("after a refusal %+v", c)
	}
	delete(b.host.Fail, plugin.ObjectWrite)
	if resp, err := b.post("review-info", officer, url.Values{"id": {id}, "approve": {"1"}}); err != nil || resp.Status != 303 {
		t.Fatalf("approve: %v %v", resp, err)
	}
	if b.attrs(shop1)["联系电话"] != "13900000000" {
		t.Fatal("approved change not on the code")
	}
	if b.doc("corrections", id, &c); c.Status != statusChecked || !c.Applied || c.Reviewer != "测试城管队员（310104-inspector）" {
		t.Fatalf("approved %+v", c)
	}
	if n := b.sent(tplSelfCheckResult)[merchantA.Pseudonym]; n.Params["status"] != statusChecked {
		t.Fatalf("decision notification %+v", b.host.Notifications)
	}
	_, err = b.admin("admin-correction", nil, `{"id":"`+id+`","approve":false,"note":"x"}`)
	wantCode(t, err, "FailedOperation.AlreadyDecided")
	// The next one is rejected from the console.
	id = b.submit("selfcheck", merchantA, url.Values{"f.businessType": {"小吃"}})
	_, err = b.admin("admin-correction", nil, `{"id":"`+id+`"}`)
	wantCode(t, err, "MissingParameter")
	if out := b.mustAdmin("admin-correction", nil, `{"id":"`+id+`","approve":false,"note":"与营业执照不符"}`); out["status"] != statusRejected {
		t.Fatalf("reject: %v", out)
	}
	if b.attrs(shop1)["经营类别"] != "餐饮" {
		t.Fatal("a rejected change reached the code")
	}
}

func TestRectifications(t *testing.T) {
	b := newBench(t, `{"notifyTo":"一中队"}`)
	b.bind(officer, roleInspector, "")
	b.bind(merchantA, roleMerchant, shop1)
	if resp, err := b.post("follow", citizen, url.Values{"on": {"1"}}); err != nil || resp.Status != 303 {
		t.Fatalf("follow: %v %v", resp, err)
	}
	patrolID := b.submit("patrol", officer, url.Values{"failed": {"占道经营"}, "findings": {"门口堆放货物"}})
	if page := b.page("rectify-form", officer, nil); !strings.Contains(page, `value="patrols:`+patrolID+`"`) || !strings.Contains(page, `name="deadline"`) {
		t.Fatalf("inspector's form: %s", page)
	}
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"content": {"限期清理"}}, "MissingParameter"}, // no status
		{url.Values{"content": {"限期清理"}, "status": {"差不多"}}, plugin.ErrInvalid},
		{url.Values{"content": {"限期清理"}, "status": {"待整改"}, "deadline": {"2026-10-01"}}, plugin.ErrInvalid},
		{url.Values{"content": {"限期清理"}, "status": {"待整改"}, "deadline": {"下周"}}, plugin.ErrInvalid},
		{url.Values{"content": {"限期清理"}, "status": {"待整改"}, "about": {"patrols:r404"}}, plugin.ErrNotFound},
		{url.Values{"content": {"限期清理"}, "status": {"待整改"}, "about": {"members:x"}}, plugin.ErrInvalid},
		{url.Values{"status": {"待整改"}}, "MissingParameter"},
	} {
		wantCode(t, b.call2("rectify", officer, tc.form), tc.code)
	}
	if b.count("rectifications") != 0 {
		t.Fatal("a refused entry was stored")
	}
	id := b.submit("rectify", officer, url.Values{"content": {"限期清理门口货物"}, "status": {"待整改"}, "deadline": {"2026-11-10"},
		"about": {"patrols:" + patrolID}})
	var r rectification
	b.doc("rectifications", id, &r)
	if r.Role != "城管队员" || r.Officer == "" || r.Deadline != "2026-11-10" || !strings.HasPrefix(r.AboutText, "巡查 2026-11-03") || r.Pushed != 2 {
		t.Fatalf("inspector's entry %+v", r)
	}
	sent := b.sent(tplRectification)
	if _, ok := sent[merchantA.Pseudonym]; !ok || len(sent) != 2 || sent[citizen.Pseudonym].Params["status"] != "待整改" {
		t.Fatalf("pushes %+v", sent)
	}
	// The merchant reports back: the inspectors and followers hear.
	b.host.Notifications = nil
	mid := b.submit("rectify", merchantA, url.Values{"content": {"货物已清理"}, "about": {"rectifications:" + id}})
	if sent = b.sent(tplRectification); len(sent) != 2 || sent["一中队"].Params["role"] != "商户" {
		t.Fatalf("merchant's pushes %+v", sent)
	}
	// A merchant's form takes no status.
	wantCode(t, b.call2("rectify", merchantA, url.Values{"content": {"x"}, "status": {"已整改"}}), plugin.ErrInvalid)
	// A citizen's feedback may refer to an inspector's entry only.
	wantCode(t, b.call2("rectify", citizen, url.Values{"content": {"x"}, "about": {"patrols:" + patrolID}}), plugin.ErrInvalid)
	b.host.Notifications = nil
	b.submit("rectify", citizen, url.Values{"content": {"门口确实清爽了"}, "about": {"rectifications:" + id}})
	if sent = b.sent(tplRectification); len(sent) != 2 || sent["一中队"].Params["role"] != "市民" {
		t.Fatalf("citizen's pushes %+v", sent) // the merchant and the squad, not the followers
	}
	var m rectification
	if b.doc("rectifications", mid, &m); m.Status != statusMerchantReport || m.Role != "商户" {
		t.Fatalf("merchant's entry %+v", m)
	}
	// Unfollowed: no more pushes.
	b.post("follow", citizen, url.Values{"on": {"0"}})
	wantCode(t, b.call2("follow", citizen, url.Values{"on": {"yes"}}), plugin.ErrInvalid)
	if b.count("follows") != 0 {
		t.Fatal("still following")
	}
}

func TestEvaluations(t *testing.T) {
	b := newBench(t, "")
	b.bind(officer, roleInspector, "")
	b.bind(merchantA, roleMerchant, shop1)
	rid := b.submit("rectify", officer, url.Values{"content": {"限期清理"}, "status": {"整改中"}})
	if page := b.page("rate-form", citizen, nil); !strings.Contains(page, `name="q.order"`) || !strings.Contains(page, `value="rectifications:`+rid+`"`) {
		t.Fatalf("rate form: %s", page)
	}
	survey := url.Values{"kind": {"survey"}, "q.order": {"5"}, "q.hygiene": {"4"}, "q.honesty": {"3"}, "comment": {"不错"}}
	id := b.submit("rate", citizen, survey)
	var e evaluation
	if b.doc("evaluations", id, &e); e.Rating != 4 || e.Role != roleCitizen || e.Scores["hygiene"] != 4 {
		t.Fatalf("survey %+v", e)
	}
	wantCode(t, b.call2("rate", citizen, survey), "FailedOperation.AlreadyRated")
	b.now = b.now.AddDate(0, 1, 0) // a month later: again
	b.submit("rate", citizen, survey)
	b.submit("rate", citizen, url.Values{"kind": {"enforcement"}, "rating": {"5"}})
	wantCode(t, b.call2("rate", citizen, url.Values{"kind": {"enforcement"}, "rating": {"4"}}), "FailedOperation.AlreadyRated")
	b.submit("rate", officer, url.Values{"kind": {"rectification"}, "rating": {"3"}, "about": {"rectifications:" + rid}})
	wantCode(t, b.call2("rate", officer, url.Values{"kind": {"rectification"}, "rating": {"3"}, "about": {"rectifications:" + rid}}),
		"FailedOperation.AlreadyRated")
	before := b.count("evaluations")
	for _, tc := range []struct {
		v    plugin.Visitor
		form url.Values
		code string
	}{
		{merchantA, url.Values{"kind": {"enforcement"}, "rating": {"5"}}, "UnauthorizedOperation"},
		{officer, url.Values{"kind": {"enforcement"}, "rating": {"5"}}, "UnauthorizedOperation"},
		{citizen2, url.Values{"kind": {"love"}}, plugin.ErrInvalid},
		{citizen2, url.Values{"kind": {"survey"}, "q.order": {"5"}, "q.hygiene": {"4"}}, "MissingParameter"},
		{citizen2, url.Values{"kind": {"survey"}, "q.order": {"6"}, "q.hygiene": {"4"}, "q.honesty": {"3"}}, plugin.ErrInvalid},
		{citizen2, url.Values{"kind": {"survey"}, "q.order": {"5"}, "q.hygiene": {"4"}, "q.honesty": {"3"}, "q.taste": {"5"}}, plugin.ErrInvalid},
		{citizen2, url.Values{"kind": {"enforcement"}, "rating": {"0"}}, plugin.ErrInvalid},
		{citizen2, url.Values{"kind": {"rectification"}, "rating": {"5"}}, "MissingParameter"},
		{citizen2, url.Values{"kind": {"rectification"}, "rating": {"5"}, "about": {"rectifications:r404"}}, plugin.ErrNotFound},
		{citizen2, url.Values{"kind": {"enforcement"}, "rating": {"5"}, "comment": {strings.Repeat("好", 201)}}, plugin.ErrInvalid},
	} {
		wantCode(t, b.call2("rate", tc.v, tc.form), tc.code)
	}
	if b.count("evaluations") != before {
		t.Fatal("a refused evaluation was stored")
	}
}

func TestNoticesAndPenalties(t *testing.T) {
	b := newBench(t, `{"notifyTo":"一中队"}`)
	b.bind(merchantA, roleMerchant, shop1)
	b.post("follow", citizen, url.Values{"on": {"1"}})
	out := b.mustAdmin("admin-notice", nil, `{"code":"`+shop1+`","kind":"notice","title":"门责检查","content":"本周检查"}`)
	if out["pushed"] != 3.0 || len(b.sent(tplNotice)) != 3 {
		t.Fatalf("notice pushes %v %+v", out, b.host.Notifications)
	}
	var n notice
	if b.doc("notices", out["id"].(string), &n); n.Pushed != 3 || n.Publisher != "徐汇区城管执法局" || n.Shop != "老王面馆" {
		t.Fatalf("notice %+v", n)
	}
	out = b.mustAdmin("admin-notice", nil, `{"code":"`+shop1+`","kind":"education","title":"油烟治理","content":"安装净化器"}`)
	if sent := b.sent(tplEducation); out["pushed"] != 1.0 || len(sent) != 1 || sent[merchantA.Pseudonym].Params["title"] != "油烟治理" {
		t.Fatalf("education pushes %v %+v", out, sent)
	}
	if out = b.mustAdmin("admin-notice", nil, `{"kind":"notice","title":"全市通告","content":"x"}`); out["pushed"] != 0.0 || out["scope"] != "all" {
		t.Fatalf("platform notice %v", out)
	}
	for _, body := range []string{`{"kind":"ad","title":"x","content":"x"}`, `{"kind":"notice","content":"x"}`,
		`{"kind":"notice","title":"` + strings.Repeat("长", 61) + `","content":"x"}`, `{"kind":"notice","title":"x","content":"x","code":"tok-404"}`, `[]`} {
		if _, err := b.admin("admin-notice", nil, body); err == nil {
			t.Errorf("notice %s accepted", body)
		}
	}
	if b.count("notices") != 3 {
		t.Fatalf("%d notices", b.count("notices"))
	}

	pen := func(no, violation string) string {
		return `{"code":"` + shop1 + `","decisionNo":"` + no + `","violation":"` + violation + `","basis":"《上海市市容环境卫生管理条例》",
			"penalty":"罚款","amount":200,"decidedAt":"2026-11-01"}`
	}
	out = b.mustAdmin("admin-penalty", nil, pen("沪徐城管罚字〔2026〕第 001 号", "跨门营业"))
	if out["pushed"] != 1.0 || b.sent(tplPenalty)[merchantA.Pseudonym].Params["decisionNo"] != "沪徐城管罚字〔2026〕第 001 号" {
		t.Fatalf("penalty %v %+v", out, b.host.Notifications)
	}
	b.mustAdmin("admin-penalty", nil, pen("沪徐城管罚字〔2026〕第 002 号", "占道堆物"))
	_, err := b.admin("admin-penalty", nil, pen("沪徐城管罚字〔2026〕第 001 号", "重复"))
	wantCode(t, err, "FailedOperation.DuplicateDecision")
	for _, body := range []string{
		`{"code":"` + shop1 + `","violation":"x","penalty":"x","decidedAt":"2026-11-01"}`,
		`{"code":"` + shop1 + `","decisionNo":"x","violation":"x","penalty":"x","decidedAt":"2026-12-01"}`,
		`{"code":"` + shop1 + `","decisionNo":"x","violation":"x","penalty":"x","decidedAt":"昨天"}`,
		`{"code":"` + shop1 + `","decisionNo":"x","violation":"x","penalty":"x","decidedAt":"2026-11-01","amount":-1}`,
		`{"code":"` + shop1 + `","decisionNo":"x","violation":"x","penalty":"x","decidedAt":"2026-11-01","amount":1.005}`,
		`{"decisionNo":"x","violation":"x","penalty":"x","decidedAt":"2026-11-01"}`,
	} {
		if _, err := b.admin("admin-penalty", nil, body); err == nil {
			t.Errorf("penalty %s accepted", body)
		}
	}
	if b.count("penalties") != 2 {
		t.Fatalf("%d penalties", b.count("penalties"))
	}
	// The merchant searches their penalties by keyword.
	page := b.page("merchant", merchantA, url.Values{"q": {"跨门"}})
	if !strings.Contains(page, "第 001 号") || strings.Contains(page, "第 002 号") || !strings.Contains(page, "罚款 200 元") {
		t.Fatalf("search: %s", page)
	}
	if page = b.page("merchant", merchantA, url.Values{"q": {"无此事"}}); !strings.Contains(page, "没有与“无此事”相关的处罚信息") {
		t.Fatalf("empty search: %s", page)
	}
	_, err = b.get("merchant", merchantA, url.Values{"q": {strings.Repeat("长", 51)}})
	wantCode(t, err, plugin.ErrInvalid)
	// Citizens do not see penalties.
	if page = b.page("home", citizen, nil); strings.Contains(page, "跨门营业") {
		t.Fatal("penalty on the public page")
	}
}

func TestSupervisionHandoff(t *testing.T) {
	const secret = "handoff-secret-0123456789"
	b := newBench(t, `{"handoffSecret":"`+secret+`","supervisionTo":"督察支队"}`)
	b.bind(supervisorV, roleSupervisor, "")
	b.mustAdmin("admin-map", nil, `{"code":"`+shop1+`","objectId":"XH-000123"}`)
	wantCode(t, b.call2("supervision", supervisorV, url.Values{"problem": {"1"}}), "MissingParameter")
	wantCode(t, b.call2("supervision", supervisorV, url.Values{"findings": {"x"}, "problem": {"maybe"}}), plugin.ErrInvalid)
	okID := b.submit("supervision", supervisorV, url.Values{"findings": {"门责落实到位"}})
	probID := b.submit("supervision", supervisorV, url.Values{"findings": {"队员未按规定着装"}, "problem": {"1"}})
	if n, ok := b.sent(tplSupervision)["督察支队"]; !ok || n.Params["supervisionId"] != probID || len(b.sent(tplSupervision)) != 1 {
		t.Fatalf("supervision notifications %+v", b.host.Notifications)
	}
	out := b.mustAdmin("admin-handoffs", nil, "")
	ts := int64(out["timestamp"].(float64))
	payload, nonce := out["payload"].(string), out["nonce"].(string)
	want := apisign.SignHMAC([]byte(secret), apisign.StringToSign("GET", "/handoffs", "", ts, nonce, []byte(payload)))
	if out["signature"] != want || out["signMethod"] != "HMAC-SM3" || !apisign.ValidNonce(nonce) {
		t.Fatalf("signature %v, want %s", out, want)
	}
	var p handoffPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != probID ||
		p.Items[0].ObjectID != "XH-000123" || p.Items[0].Code != shop1 || p.PlatformID != "P0001" {
		t.Fatalf("payload %v %+v", err, p)
	}
	// A bad acknowledgement stores nothing.
	for _, body := range []string{`{"items":[]}`, `{"items":[{"id":"` + probID + `"}]}`, `{"items":[{"id":"` + probID + `","externalId":"DC-1"},{"id":"r404","externalId":"DC-2"}]}`,
		`{"items":[{"id":"` + okID + `","externalId":"DC-1"}]}`} {
		if _, err := b.admin("admin-handoff-ack", nil, body); err == nil {
			t.Errorf("ack %s accepted", body)
		}
	}
	var s supervision
	if b.doc("supervisions", probID, &s); s.Handoff != handoffPending {
		t.Fatalf("after bad acks %+v", s)
	}
	if out = b.mustAdmin("admin-handoff-ack", nil, `{"items":[{"id":"`+probID+`","externalId":"DC-2026-001"}]}`); out["acknowledged"] != 1.0 {
		t.Fatalf("ack %v", out)
	}
	if b.doc("supervisions", probID, &s); s.Handoff != handoffDone || s.ExternalID != "DC-2026-001" || s.HandedAt == "" {
		t.Fatalf("handed off %+v", s)
	}
	b.mustAdmin("admin-handoff-ack", nil, `{"items":[{"id":"`+probID+`","externalId":"DC-2026-001"}]}`) // again: harmless
	_, err := b.admin("admin-handoff-ack", nil, `{"items":[{"id":"`+probID+`","externalId":"DC-9"}]}`)
	wantCode(t, err, "FailedOperation.AlreadyHandedOff")
	out = b.mustAdmin("admin-handoffs", nil, "")
	if json.Unmarshal([]byte(out["payload"].(string)), &p); p.Total != 0 {
		t.Fatalf("pending after ack %+v", p)
	}
	if page := b.page("supervise", supervisorV, nil); !strings.Contains(page, "DC-2026-001") {
		t.Fatalf("supervise page %s", page)
	}
	// Without a secret there is no list.
	b.config = ""
	_, err = b.admin("admin-handoffs", nil, "")
	wantCode(t, err, "FailedOperation.HandoffDisabled")
}

func TestMappings(t *testing.T) {
	b := newBench(t, "")
	b.bind(officer, roleInspector, "")
	out := b.mustAdmin("admin-map", nil, `{"code":"http://city.test/c/`+shop1+`","objectId":"XH-000123","objectType":"沿街商户"}`)
	if out["created"] != true || out["code"] != shop1 || out["system"] != defaultSystem {
		t.Fatalf("map %v", out)
	}
	if out = b.mustAdmin("admin-map", nil, `{"code":"`+shop1+`","objectId":"XH-000123"}`); out["created"] != false {
		t.Fatalf("map again %v", out)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"code":"` + shop1 + `","objectId":"XH-999"}`, "FailedOperation.CodeMapped"},
		{`{"code":"` + shop2 + `","objectId":"XH-000123"}`, "FailedOperation.ObjectMapped"},
		{`{"code":"` + shop2 + `"}`, "MissingParameter"},
		{`{"code":"` + shop2 + `","objectId":"有 空格"}`, plugin.ErrInvalid},
		{`{"code":"tok-404","objectId":"XH-1"}`, plugin.ErrNotFound},
	} {
		_, err := b.admin("admin-map", nil, tc.body)
		wantCode(t, err, tc.code)
	}
	if b.count("mappings") != 1 {
		t.Fatalf("%d mappings", b.count("mappings"))
	}
	for _, q := range []string{"XH-000123", shop1, "http://city.test/c/" + shop1} {
		out = b.mustAdmin("admin-mappings", url.Values{"q": {q}}, "")
		items := out["items"].([]any)
		if out["total"] != 1.0 || items[0].(map[string]any)["objectId"] != "XH-000123" || items[0].(map[string]any)["code"] != shop1 {
			t.Fatalf("look-up %s: %v", q, out)
		}
	}
	if out = b.mustAdmin("admin-mappings", url.Values{"q": {shop2}}, ""); out["total"] != 0.0 {
		t.Fatalf("unmapped code: %v", out)
	}
	if page := b.page("inspect", officer, nil); !strings.Contains(page, `<b id="object-id">XH-000123</b>`) {
		t.Fatalf("inspector page: %s", page)
	}
	if out = b.mustAdmin("admin-unmap", nil, `{"objectId":"XH-000123"}`); out["removed"] != true {
		t.Fatalf("unmap %v", out)
	}
	_, err := b.admin("admin-unmap", nil, `{"code":"`+shop1+`"}`)
	wantCode(t, err, plugin.ErrNotFound)
	b.mustAdmin("admin-map", nil, `{"code":"`+shop2+`","objectId":"XH-000123"}`) // free again
}

func TestAdminRecords(t *testing.T) {
	b := newBench(t, "")
	b.submit("complain", citizen, url.Values{"kind": {"complaint"}, "category": {"其他"}, "text": {"一"}})
	b.on(shop2).submit("complain", citizen, url.Values{"kind": {"suggestion"}, "category": {"其他"}, "text": {"二"}})
	out := b.mustAdmin("admin-records", url.Values{"q": {"complaints"}}, "")
	items := out["items"].([]any)
	if out["total"] != 2.0 || len(items) != 2 || items[0].(map[string]any)["text"] != "二" {
		t.Fatalf("list %v", out)
	}
	for _, it := range items {
		m := it.(map[string]any)
		if m["author"] != nil || m["authorName"] != "张*" || m["id"] == "" || m["code"] == "" {
			t.Fatalf("item %v", m)
		}
	}
	if out = b.mustAdmin("admin-records", url.Values{"q": {"complaints code:" + shop1 + " kind:投诉举报"}}, ""); out["total"] != 1.0 {
		t.Fatalf("filtered %v", out)
	}
	for _, q := range []string{"", "secrets", "complaints colour:red", "complaints status", "complaints status:x"} {
		_, err := b.admin("admin-records", url.Values{"q": {q}}, "")
		if q == "complaints status:x" {
			if err != nil {
				t.Errorf("q %q: %v", q, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("q %q accepted", q)
		}
	}
	_, err := b.admin("admin-records", url.Values{"q": {"complaints"}, "pageSize": {"1000"}}, "")
	wantCode(t, err, plugin.ErrInvalid)
}
