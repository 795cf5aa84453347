package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/client"
	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as WASM inside a real host on a throwaway
// database (skipped without DATABASE_URL): two institutions pushed with
// 修改码属性 through the signed open API, a tourist's scan showing each
// with its kind's information, the staff adding caregivers (one with a
// photo) through the admin routes, the caregivers on the page with masked
// names, evaluations refused to tourists, a logged-in citizen's bad and
// good evaluations, the evaluation seen by the institution's staff and by
// the authority over its region and refused to the others, and the xlsx
// export. One host serves every step; the steps run in order. The console
// operator of `citycode plugin admin` is always "cli": the steps give it
// one role after another through the plugin's configuration.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	configure := func(h *plugintest.Harness, cfg string) { h.CLI(t, "plugin", "config", "eldercare", "--json", cfg) }
	asStaff := func(unit string) string { return `{"staff":[{"account":"cli","ownerUnit":"` + unit + `"}]}` }
	asAuthority := func(region string) string {
		return `{"authorities":[{"account":"cli","regionCode":"` + region + `","name":"民政局"}]}`
	}
	h := plugintest.Start(t, plugintest.Options{Config: asStaff(homeUnit)})
	home, care := h.Code(0), h.Code(1)

	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "eldercare", collection)), "\n") {
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
	admin := func(method, path, body string) map[string]any {
		t.Helper()
		// The command's output may also carry the plugin's log lines:
		// the answer is its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	refused := func(method, path, body, message string) {
		t.Helper()
		out, err := h.AdminErr(method, path, body)
		if err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") || !strings.Contains(err.Error(), message) {
			t.Errorf("%s %s: %v %s, want a refusal saying %q", method, path, err, out, message)
		}
	}

	// The civil-affairs system pushes the institutions' information with
	// 修改码属性 (the demo's codes are placeholders): a nursing home in
	// Xuhui and an elder care home in Changning.
	var demo struct {
		AppID  string `json:"cityCodeAppId"`
		Secret string `json:"appSecret"`
	}
	if err := json.Unmarshal([]byte(h.CLI(t, "demo", "--json")), &demo); err != nil {
		t.Fatal(err)
	}
	secret, err := hex.DecodeString(demo.Secret)
	if err != nil {
		t.Fatal(err)
	}
	app := client.New(h.URL, demo.AppID, secret)
	for code, in := range map[string]map[string]any{
		home: {"ownerUnit": homeUnit, "regionCode": "310104", "attributes": json.RawMessage(homeAttrs)},
		care: {"ownerUnit": careUnit, "regionCode": "310105", "attributes": map[string]any{"name": "虹桥长者照护之家", "机构类型": "长者照护之家",
			"床位数": 49, "服务时间": "08:00-20:00", "服务对象": "失能失智老人", "机构简介": "提供短期住养和喘息服务。"}},
	} {
		if err := app.Call(t.Context(), "/openapi/v1/object-codes/"+code+"/modify", in, nil); err != nil {
			t.Fatalf("modify %s: %v", code, err)
		}
	}

	// The scans: each institution with its kind's information.
	status, page := h.Get(t, home, "/")
	for _, want := range []string{"<h1>徐汇区第一社会福利院</h1>", `id="kind">养老机构<`, "<dt>地址</dt><dd>龙吴路 2000 号</dd>",
		"<dt>机构等级</dt><dd>四级</dd>", "<dt>核定床位</dt><dd>300 张</dd>", "<dt>收住对象</dt><dd>失能、半失能老人</dd>",
		"<dt>医养结合</dt><dd>是</dd>", `<p id="services">生活照料、康复护理、认知症照护</p>`, "暂无护理员信息", "评价护理员服务需登录"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("home landing lacks %q: %d %s", want, status, page)
		}
	}
	status, page = h.Get(t, care, "/")
	for _, want := range []string{"<h1>虹桥长者照护之家</h1>", `id="kind">长者照护之家<`, "<dt>床位数</dt><dd>49 张</dd>",
		"<dt>服务时间</dt><dd>08:00-20:00</dd>", "<dt>服务对象</dt><dd>失能失智老人</dd>", `<dt>运营机构</dt><dd class="muted">暂无</dd>`,
		`<p id="intro">提供短期住养和喘息服务。</p>`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("care landing lacks %q: %d %s", want, status, page)
		}
	}
	if strings.Contains(page, "机构等级") {
		t.Error("an elder care home shows a nursing home's rows")
	}

	// The staff of the nursing home add its caregivers, one with a
	// photo; the elder care home is not theirs.
	photo := base64.StdEncoding.EncodeToString(tinyPNG)
	wangOut := admin("POST", "/caregivers", strings.Replace(wang, `"code":"tok-home-1"`, `"code":"`+home+`","photo":{"data":"`+photo+`"}`, 1))
	wangID, _ := wangOut["id"].(string)
	photoURL, _ := wangOut["photo"].(string)
	if !caregiverIDRe.MatchString(wangID) || wangOut["updatedBy"] != "cli" || !strings.Contains(photoURL, "/plugin-files/") {
		t.Fatalf("caregiver: %v", wangOut)
	}
	liID, _ := admin("POST", "/caregivers", `{"code":"`+home+`","name":"李建国","gender":"男","birthYear":1970,"skillLevel":"四级/中级工"}`)["id"].(string)
	refused("POST", "/caregivers", `{"code":"`+care+`","name":"赵敏"}`, "无权查看或维护其他养老机构")
	if n := len(records("caregivers")); n != 2 {
		t.Fatalf("%d caregivers", n)
	}
	status, page = h.Get(t, home, "/")
	for _, want := range []string{`/caregiver?id=` + wangID + `">王*梅</a>`, `/caregiver?id=` + liID + `">李*国</a>`,
		`<dd class="skill-level">三级/高级工</dd>`, "2025 年上海市养老护理职业技能竞赛二等奖", `<img src="` + photoURL + `"`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing with caregivers lacks %q: %d %s", want, status, page)
		}
	}
	if strings.Contains(page, "王小梅") || strings.Contains(page, "李建国") {
		t.Fatal("a caregiver's full name on the citizens' page")
	}
	// The host serves the photo (its URL is relative to the host).
	if !strings.HasPrefix(photoURL, "http") {
		photoURL = h.URL + photoURL
	}
	if resp, err := http.Get(photoURL); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("the photo: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Tourists may look, not evaluate; nothing is stored.
	if status, page = h.Get(t, home, "/caregiver?id="+wangID); status != 200 || !strings.Contains(page, `<span id="caregiver-name">王*梅</span>`) {
		t.Fatalf("caregiver page: %d %s", status, page)
	}
	if status, page = h.Get(t, home, "/evaluate?caregiver="+wangID); status != http.StatusUnauthorized || !strings.Contains(page, "登录") {
		t.Errorf("evaluation form as a tourist: %d %s", status, page)
	}
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	ct, b := form(goodForm(wangID))
	if status, page, _ := h.Post(t, home, "/evaluate", ct, b); status != http.StatusUnauthorized || !strings.Contains(page, "登录") {
		t.Errorf("evaluation as a tourist: %d %s", status, page)
	}

	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	if status, page = citizen.Get(t, home, "/evaluate?caregiver="+wangID); status != 200 || !strings.Contains(page, "<legend>服务态度</legend>") {
		t.Fatalf("evaluation form: %d %s", status, page)
	}

	// Bad input: refused with a clear message, nothing stored.
	with := func(k, v string) url.Values {
		f := goodForm(wangID)
		if v == "\x00" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"missing rating", with("rating", "\x00"), 400, "请为“总体评价”打分（1–5 星）"},
		{"rating out of range", with("rating", "6"), 400, "“总体评价”的评分须为 1–5 星"},
		{"sub-item missing", with("item.safety", "\x00"), 400, "请为“安全卫生”打分"},
		{"oversize comment", with("comment", strings.Repeat("好", 301)), 400, "评价内容不能超过 300 个字"},
		{"unknown caregiver", with("caregiver", "cg-000000000000000000000000"), 400, "未找到该护理员"},
	} {
		ct, b := form(tc.form)
		if status, page, _ := citizen.Post(t, home, "/evaluate", ct, b); status != tc.status || !strings.Contains(page, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	// Wang does not work at the elder care home.
	ct, b = form(goodForm(wangID))
	if status, page, _ := citizen.Post(t, care, "/evaluate", ct, b); status != 400 || !strings.Contains(page, "未找到该护理员") {
		t.Errorf("another institution's caregiver: %d %s", status, page)
	}
	if n := len(records("evaluations")); n != 0 {
		t.Fatalf("%d evaluations after bad input", n)
	}

	// The evaluation, once a day.
	ct, b = form(goodForm(wangID))
	status, page, _ = citizen.Post(t, home, "/evaluate", ct, b)
	if status != http.StatusCreated || !strings.Contains(page, `<span id="rating">5</span>`) {
		t.Fatalf("evaluation: %d %s", status, page)
	}
	evID := between(page, `<span id="evaluation-id">`, "<")
	ct, b = form(goodForm(wangID))
	if status, page, _ := citizen.Post(t, home, "/evaluate", ct, b); status != http.StatusConflict || !strings.Contains(page, "今天已评价过") {
		t.Errorf("second evaluation the same day: %d %s", status, page)
	}

	// The nursing home's staff see it, in full; the elder care home is
	// refused them.
	list := admin("GET", "/evaluations", "")
	items, _ := list["items"].([]any)
	if list["total"] != 1.0 || len(items) != 1 || list["role"] != "staff" {
		t.Fatalf("staff's list: %v", list)
	}
	if item := items[0].(map[string]any); item["id"] != evID || item["code"] != home || item["caregiverName"] != "王小梅" ||
		item["rating"] != 5.0 || item["average"] != 4.6 || item["comment"] != "王阿姨照顾我父亲很细心。" || item["raterName"] != "张*" ||
		item["institutionType"] != "养老机构" {
		t.Fatalf("staff's item: %v", item)
	}
	if list = admin("GET", "/evaluations?q="+wangID, ""); list["total"] != 1.0 {
		t.Fatalf("by caregiver: %v", list)
	}
	refused("GET", "/evaluations?q="+care, "", "无权查看或维护其他养老机构")

	// The elder care home's staff see nothing of it.
	configure(h, asStaff(careUnit))
	if list = admin("GET", "/evaluations", ""); list["total"] != 0.0 {
		t.Fatalf("the other institution's staff: %v", list)
	}
	refused("GET", "/evaluations?q="+home, "", "无权查看或维护其他养老机构")
	refused("GET", "/caregivers?q="+home, "", "无权查看或维护其他养老机构")

	// Changning's authority: not its region. The authority never edits.
	configure(h, asAuthority("310105"))
	if list = admin("GET", "/evaluations", ""); list["total"] != 0.0 || list["role"] != "authority" || list["scope"] != "310105" {
		t.Fatalf("another district's authority: %v", list)
	}
	refused("GET", "/evaluations?q="+home, "", "该机构不在您管辖的区划（310105）内")
	refused("POST", "/caregivers", `{"id":"`+wangID+`","name":"王小梅"}`, "民政部门及未登记的账号只能查看")

	// The city's authority sees it, and the caregivers.
	configure(h, asAuthority("310000"))
	if list = admin("GET", "/evaluations?q="+home, ""); list["total"] != 1.0 {
		t.Fatalf("the city's authority: %v", list)
	}
	if cgs := admin("GET", "/caregivers?q="+home, ""); cgs["total"] != 2.0 {
		t.Fatalf("caregivers for the authority: %v", cgs)
	}

	// An account the configuration does not name sees nothing.
	configure(h, `{}`)
	refused("GET", "/evaluations", "", "未在码上养老中登记")
	if me := admin("GET", "/me", ""); me["role"] != "none" {
		t.Fatalf("me: %v", me)
	}

	// The records' export (the console's /console/plugins/eldercare/
	// records/evaluations/export writes the same workbook): personal
	// columns masked.
	file := filepath.Join(t.TempDir(), "evaluations.xlsx")
	h.CLI(t, "plugin", "records", "eldercare", "evaluations", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("护理员服务评价")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "机构名称", "机构类型", "权属单位", "行政区划", "护理员编号", "护理员",
		"总体评价（星）", "分项评分", "分项平均分", "评价内容", "评价日期", "评价人标识", "评价人"}
	if len(rows) != 2 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	row := rows[1]
	today := time.Now().In(cst).Format(time.DateOnly)
	if len(row) != len(wantHeader) || row[0] != evID || row[1] != home || row[4] != "徐汇区第一社会福利院" || row[5] != "养老机构" ||
		row[6] != homeUnit || row[7] != "310104" || row[8] != wangID || row[9] != "王**" || row[10] != "5" ||
		row[11] != "服务态度 5；专业技能 4；沟通耐心 5；守时守约 4；安全卫生 5" || row[12] != "4.6" || row[13] != "王阿姨照顾我父亲很细心。" ||
		row[14] != today || !strings.Contains(row[15], "*") || row[16] != "张*" {
		t.Fatalf("export row: %q", row)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
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
