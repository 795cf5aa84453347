package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as a native process inside a real host on
// a throwaway database (skipped without DATABASE_URL). One host serves
// every step, and the steps run in order as subtests: operators publish
// notices and issue binding codes; a tourist scans a shop and sees it and
// its notices; merchants, an inspector and a supervisor bind themselves; a
// logged-in citizen complains and suggests; the inspector and the console
// see the complaint, the merchant sees the suggestion without the
// citizen's identity, another merchant sees nothing of it; citizens are
// kept off the inspectors' pages; bad input stores nothing; the
// supervision system pulls a signed hand-off list; the export opens with
// the right rows.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	const secret = "handoff-secret-for-the-test"
	h := plugintest.Start(t, plugintest.Options{Config: `{"notifyTo":"徐汇城管一中队","handoffSecret":"` + secret + `"}`})
	shopA, shopB := h.Code(0), h.Code(1)
	admin := func(t *testing.T, method, path, body string) map[string]any {
		t.Helper()
		// The command's output also carries the plugin's log lines
		// (stderr): the answer is its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	records := func(t *testing.T, collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "urbanmgmt", collection)), "\n") {
			if line == "" {
				continue
			}
			var r plugin.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("records: %v: %s", err, line)
			}
			out = append(out, r)
		}
		return out
	}
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	grant := func(t *testing.T, role, code string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"role": role, "code": code, "name": "测试" + roleNames[role]})
		out := admin(t, "POST", "/grants", string(body))
		g, _ := out["grantCode"].(string)
		if g == "" {
			t.Fatalf("grant %s: %v", role, out)
		}
		return g
	}

	const complaintText, suggestionText = "店门口摆摊占用人行道", "建议在门口放置垃圾桶"
	var (
		citizen, merchantA, merchantB, officer, supervisorV *plugintest.Visitor
		complaintID, suggestionID, supervisionID            string
	)

	// A step runs only when the ones before it passed: each builds on them.
	step := func(name string, f func(t *testing.T)) {
		if !t.Failed() {
			t.Run(name, f)
		}
	}

	step("notices and the landing page", func(t *testing.T) {
		admin(t, "POST", "/notices", `{"code":"`+shopA+`","kind":"notice","title":"门前责任区专项检查","content":"本周开展门责专项检查。"}`)
		admin(t, "POST", "/notices", `{"kind":"education","title":"垃圾分类宣传","content":"干湿分开。","publisher":"市绿化市容局"}`)
		status, page := h.Get(t, shopA, "/")
		for _, want := range []string{"<h1>演示设施 1 号</h1>", "<dt>监管单位</dt><dd>演示单位</dd>", "门前责任区专项检查", "垃圾分类宣传", "/c/" + shopA + "/complain"} {
			if status != 200 || !strings.Contains(page, want) {
				t.Fatalf("landing lacks %q: %d %s", want, status, page)
			}
		}
		if _, page = h.Get(t, shopB, "/"); strings.Contains(page, "门前责任区专项检查") || !strings.Contains(page, "垃圾分类宣传") {
			t.Fatalf("shop B's landing: %s", page)
		}
	})

	step("bindings", func(t *testing.T) {
		gA, gB, gI, gS := grant(t, roleMerchant, shopA), grant(t, roleMerchant, shopB), grant(t, roleInspector, ""), grant(t, roleSupervisor, "")
		merchantA = h.Login(t, plugintest.Person{Name: "王大明", CertNo: residentID("31010419800101123"), Mobile: "13800000011"})
		merchantB = h.Login(t, plugintest.Person{Name: "李小二", CertNo: residentID("31010419810202234"), Mobile: "13800000012"})
		officer = h.Login(t, plugintest.Person{Name: "赵队员", CertNo: residentID("31010419820303345"), Mobile: "13800000013"})
		supervisorV = h.Login(t, plugintest.Person{Name: "钱督察", CertNo: residentID("31010419830404456"), Mobile: "13800000014"})
		citizen = h.Login(t, plugintest.Person{Name: "张小三", CertNo: residentID("31010419900505567"), Mobile: "13800000015"})
		citizen.Authorize(t)
		// A merchant's code works only on its own shop.
		ct, body := form(url.Values{"code": {gA}})
		if status, page, _ := merchantB.Post(t, shopB, "/join", ct, body); status != http.StatusForbidden || !strings.Contains(page, "另一家商户") {
			t.Fatalf("join another shop: %d %s", status, page)
		}
		for _, j := range []struct {
			v          *plugintest.Visitor
			code, shop string
			portal     string
		}{{merchantA, gA, shopA, "/merchant"}, {merchantB, gB, shopB, "/merchant"}, {officer, gI, shopA, "/inspect"}, {supervisorV, gS, shopA, "/supervise"}} {
			ct, body := form(url.Values{"code": {j.code}})
			if status, page, hdr := j.v.Post(t, j.shop, "/join", ct, body); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), j.portal) {
				t.Fatalf("join %s: %d %s", j.portal, status, page)
			}
		}
		if n := len(records(t, "members")); n != 4 {
			t.Fatalf("%d members", n)
		}
	})

	step("a citizen complains and suggests", func(t *testing.T) {
		for kind, text := range map[string]string{"complaint": complaintText, "suggestion": suggestionText} {
			ct, body := form(url.Values{"kind": {kind}, "category": {"占道经营"}, "text": {text}})
			status, page, _ := citizen.Post(t, shopA, "/complain", ct, body)
			if status != http.StatusCreated {
				t.Fatalf("%s: %d %s", kind, status, page)
			}
			id := between(page, `<span id="record-id">`, "<")
			if kind == "complaint" {
				complaintID = id
			} else {
				suggestionID = id
			}
		}
		if _, page := citizen.Get(t, shopA, "/mine"); !strings.Contains(page, complaintText) || !strings.Contains(page, suggestionText) {
			t.Fatalf("mine: %s", page)
		}
	})

	step("the inspector and the console see the complaint", func(t *testing.T) {
		status, page := officer.Get(t, shopA, "/inspect")
		if status != 200 || !strings.Contains(page, complaintText) || !strings.Contains(page, `value="`+complaintID+`"`) {
			t.Fatalf("inspector: %d %s", status, page)
		}
		out := admin(t, "GET", "/records?q=complaints+kind:投诉举报", "")
		items, _ := out["items"].([]any)
		if out["total"] != 1.0 || len(items) != 1 {
			t.Fatalf("console list: %v", out)
		}
		item := items[0].(map[string]any)
		if item["id"] != complaintID || item["code"] != shopA || item["text"] != complaintText || item["authorName"] != "张*三" || item["author"] != nil {
			t.Fatalf("console item: %v", item)
		}
		ct, body := form(url.Values{"id": {complaintID}, "note": {"已责令撤除摊位"}})
		if status, page, _ := officer.Post(t, shopA, "/inspect/complaint", ct, body); status != http.StatusSeeOther {
			t.Fatalf("handle: %d %s", status, page)
		}
		if _, page = citizen.Get(t, shopA, "/mine"); !strings.Contains(page, "已责令撤除摊位") {
			t.Fatalf("mine after handling: %s", page)
		}
	})

	step("the merchant sees the suggestion, not who made it", func(t *testing.T) {
		status, page := merchantA.Get(t, shopA, "/merchant")
		if status != 200 || !strings.Contains(page, suggestionText) {
			t.Fatalf("merchant: %d %s", status, page)
		}
		for _, not := range []string{complaintText, "张*三", "张小三", "138****0015", "13800000015"} {
			if strings.Contains(page, not) {
				t.Fatalf("the merchant's page shows %q", not)
			}
		}
		var s complaint
		for _, r := range records(t, "complaints") {
			if r.ID == suggestionID {
				_ = json.Unmarshal(r.Doc, &s)
			}
		}
		if s.Status != statusDelivered || s.Delivered != 1 {
			t.Fatalf("suggestion %+v", s)
		}
		// 码上签 on the way.
		ct, body := form(url.Values{"template": {"conduct"}, "signerName": {"王大明"}, "agree": {"1"}})
		if status, page, _ := merchantA.Post(t, shopA, "/merchant/pledge", ct, body); status != http.StatusCreated {
			t.Fatalf("pledge: %d %s", status, page)
		}
	})

	step("a merchant cannot see another merchant's records", func(t *testing.T) {
		if status, _ := merchantA.Get(t, shopB, "/merchant"); status != http.StatusForbidden {
			t.Fatalf("merchant A on shop B: %d", status)
		}
		status, page := merchantB.Get(t, shopB, "/merchant")
		if status != 200 || strings.Contains(page, suggestionText) || strings.Contains(page, complaintText) {
			t.Fatalf("merchant B: %d %s", status, page)
		}
		if status, _ := merchantB.Get(t, shopA, "/merchant"); status != http.StatusForbidden {
			t.Fatalf("merchant B on shop A: %d", status)
		}
	})

	step("citizens cannot use the inspectors' routes", func(t *testing.T) {
		if status, page := citizen.Get(t, shopA, "/inspect"); status != http.StatusForbidden || !strings.Contains(page, "城管队员") {
			t.Fatalf("citizen on /inspect: %d %s", status, page)
		}
		for _, p := range []string{"/inspect/patrol", "/inspect/complaint", "/inspect/info", "/supervise"} {
			ct, body := form(url.Values{"id": {complaintID}, "note": {"x"}, "findings": {"x"}})
			if status, _, _ := citizen.Post(t, shopA, p, ct, body); status != http.StatusForbidden {
				t.Errorf("citizen POST %s: %d", p, status)
			}
		}
		// Admin routes are not landing pages at all.
		if status, _ := citizen.Get(t, shopA, "/records"); status != http.StatusNotFound {
			t.Errorf("citizen GET /records: %d", status)
		}
		if status, _, _ := h.Post(t, shopA, "/complain", "application/x-www-form-urlencoded", strings.NewReader("kind=complaint")); status != http.StatusUnauthorized {
			t.Errorf("tourist complaint: %d", status)
		}
	})

	step("bad input stores nothing", func(t *testing.T) {
		for _, tc := range []struct {
			path    string
			form    url.Values
			status  int
			message string
		}{
			{"/complain", url.Values{"kind": {"complaint"}, "category": {"占道经营"}}, 400, "请填写内容"},
			{"/complain", url.Values{"kind": {"complaint"}, "category": {"占道经营"}, "text": {strings.Repeat("长", 501)}}, 400, "内容不能超过 500 个字"},
			{"/complain", url.Values{"kind": {"complaint"}, "category": {"外星人"}, "text": {"x"}}, 400, "问题类别须为以下之一"},
			{"/rectify", url.Values{"content": {"已整改"}, "about": {"rectifications:r000000000000404"}}, 404, "没有找到该关联记录"},
		} {
			ct, body := form(tc.form)
			if status, page, _ := citizen.Post(t, shopA, tc.path, ct, body); status != tc.status || !strings.Contains(page, tc.message) {
				t.Errorf("%s %v: %d %s", tc.path, tc.form, status, page)
			}
		}
		if status, page := citizen.Get(t, shopA, "/notices?id=r000000000000404"); status != 404 || !strings.Contains(page, "没有找到该公告") {
			t.Errorf("unknown notice: %d %s", status, page)
		}
		if _, err := h.AdminErr("POST", "/complaints/handle", `{"id":"r000000000000404","note":"x"}`); err == nil || !strings.Contains(err.Error(), "没有找到该投诉") {
			t.Errorf("unknown complaint from the console: %v", err)
		}
		if n, m := len(records(t, "complaints")), len(records(t, "rectifications")); n != 2 || m != 0 {
			t.Fatalf("%d complaints, %d rectifications after bad input", n, m)
		}
	})

	step("supervision hand-off", func(t *testing.T) {
		admin(t, "POST", "/mappings", `{"code":"`+shopA+`","objectId":"XH-000123"}`)
		ct, body := form(url.Values{"findings": {"队员未按规定着装"}, "problem": {"1"}})
		status, page, _ := supervisorV.Post(t, shopA, "/supervise", ct, body)
		if status != http.StatusCreated {
			t.Fatalf("supervision: %d %s", status, page)
		}
		supervisionID = between(page, `<span id="record-id">`, "<")
		out := admin(t, "GET", "/handoffs", "")
		payload, nonce := out["payload"].(string), out["nonce"].(string)
		ts := int64(out["timestamp"].(float64))
		if want := apisign.SignHMAC([]byte(secret), apisign.StringToSign("GET", "/handoffs", "", ts, nonce, []byte(payload))); out["signature"] != want {
			t.Fatalf("signature does not verify: %v", out)
		}
		var p handoffPayload
		if err := json.Unmarshal([]byte(payload), &p); err != nil || len(p.Items) != 1 || p.Items[0].ID != supervisionID || p.Items[0].ObjectID != "XH-000123" {
			t.Fatalf("payload %v %s", err, payload)
		}
		if out = admin(t, "POST", "/handoffs/ack", `{"items":[{"id":"`+supervisionID+`","externalId":"DC-2026-001"}]}`); out["acknowledged"] != 1.0 {
			t.Fatalf("ack: %v", out)
		}
	})

	step("export", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "complaints.xlsx")
		h.CLI(t, "plugin", "records", "urbanmgmt", "complaints", "--export", file)
		wb, err := excelize.OpenFile(file)
		if err != nil {
			t.Fatal(err)
		}
		defer wb.Close()
		rows, err := wb.GetRows("投诉建议")
		if err != nil {
			t.Fatal(err)
		}
		wantHeader := []string{"编号", "码", "创建时间", "更新时间", "商户", "类型", "问题类别", "内容", "照片", "状态", "转达商户数",
			"处理人", "处理时间", "处理结果", "提交人标识", "提交人"}
		if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
			t.Fatalf("export: %q", rows)
		}
		cell := func(row []string, i int) string {
			if i < len(row) {
				return row[i]
			}
			return ""
		}
		byID := map[string][]string{rows[1][0]: rows[1], rows[2][0]: rows[2]}
		c, s := byID[complaintID], byID[suggestionID]
		if cell(c, 1) != shopA || cell(c, 4) != "演示设施 1 号" || cell(c, 5) != kindComplaint || cell(c, 7) != complaintText ||
			cell(c, 9) != statusHandled || cell(c, 11) != "测试城管队员" || cell(c, 13) != "已责令撤除摊位" || cell(c, 15) != "张**" {
			t.Fatalf("complaint row: %q", c)
		}
		if cell(s, 5) != kindSuggestion || cell(s, 7) != suggestionText || cell(s, 9) != statusDelivered || cell(s, 10) != "1" ||
			len([]rune(cell(s, 14))) < 2 || strings.Trim(cell(s, 14)[1:], "*") != "" {
			t.Fatalf("suggestion row: %q", s)
		}
	})
}

// residentID completes 17 digits of a resident ID number with its check
// digit (GB 11643).
func residentID(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}
