package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as a native process in a real host on a
// throwaway database (skipped without DATABASE_URL): a tourist's feedback
// and rating, bad input refused with nothing stored, a questionnaire with
// skip logic built, published and bound by an operator, a logged-in
// citizen's draft, feedback and answers, the operators' list and
// summary, and the export. One host serves every step, in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{})
	code := h.Code(0)
	form := "application/x-www-form-urlencoded"
	count := func() int {
		t.Helper()
		out := strings.TrimSpace(h.CLI(t, "plugin", "records", "feedback", colFeedback))
		if out == "" {
			return 0
		}
		return len(strings.Split(out, "\n"))
	}
	admin := func(method, path, body string) map[string]any {
		t.Helper()
		// The plugin's log lines come before the answer.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}

	// The tourist's page: feedback and rating, no drafts.
	status, page := h.Get(t, code, "/")
	for _, want := range []string{"演示设施 1 号", `action="` + h.URL + "/c/" + code + `/feedback"`, `name="star.attitude"`, "登录城市码 App 后可保存草稿"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}
	// Bad input: refused with a Chinese message, nothing stored.
	for _, tc := range []struct {
		path, body, msg string
		status          int
	}{
		{"/feedback", "content=+", "请填写意见内容", 400},
		{"/feedback", "content=x&id=r1", "未知的表单字段：id", 400},
		{"/feedback", "content=a%00b", "控制字符", 400},
		{"/feedback", "content=" + strings.Repeat("%E9%95%BF", 1001), "不能超过 1000 个字", 400},
		{"/rate", "star.attitude=6&star.hygiene=4", "须为 1–5 星", 400},
		{"/rate", "star.hygiene=4", "请为「服务态度」评分", 400},
		{"/feedback/draft", "content=x", "", http.StatusUnauthorized},
		{"/survey", "questionnaire=r1&q.q1=a", "", http.StatusUnauthorized},
	} {
		status, page, _ := h.Post(t, code, tc.path, form, strings.NewReader(tc.body))
		if status != tc.status || !strings.Contains(page, tc.msg) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, status, page)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("%d records after bad input", n)
	}
	if status, page, _ := h.Post(t, code, "/feedback", form, strings.NewReader("content="+url.QueryEscape("大厅空调太冷"))); status != 201 || !strings.Contains(page, "意见已发布") {
		t.Fatalf("tourist feedback: %d %s", status, page)
	}
	if status, page, _ := h.Post(t, code, "/rate", form, strings.NewReader("star.attitude=5&text.attitude="+url.QueryEscape("耐心")+"&star.hygiene=4")); status != 201 ||
		!strings.Contains(page, "4.5 星") {
		t.Fatalf("tourist rating: %d %s", status, page)
	}

	// The operator builds a questionnaire: a backward jump is refused.
	if out, err := h.AdminErr("POST", "/questionnaires", `{"title":"x","questions":[{"id":"q1","type":"text","title":"a"},
		{"id":"q2","type":"single","title":"b","options":[{"id":"a","label":"甲","jump":"q1"},{"id":"b","label":"乙"}]}]}`); err == nil ||
		!strings.Contains(err.Error()+out, "只能向后跳转") {
		t.Fatalf("backward jump: %v %s", err, out)
	}
	id := admin("POST", "/questionnaires", skipDef)["id"].(string)
	if out := admin("POST", "/questionnaires/publish", idBody(id)); out["status"] != statusPublished {
		t.Fatalf("publish: %v", out)
	}
	if out, err := h.AdminErr("PUT", "/questionnaires", `{"id":"`+id+`",`+skipDef[1:]); err == nil || !strings.Contains(err.Error()+out, "复制为新版本") {
		t.Fatalf("edit after publishing: %v %s", err, out)
	}
	if out := admin("POST", "/questionnaires/bind", `{"id":"`+id+`","codes":["`+h.URL+"/c/"+code+`"]}`); len(out["codes"].([]any)) != 1 || out["codes"].([]any)[0] != code {
		t.Fatalf("bind: %v", out)
	}

	// A logged-in citizen: a draft restored, then published.
	citizen := h.Login(t, plugintest.Person{Name: "王小明", CertNo: residentID("31010419900101123"), Mobile: "13800000001"})
	citizen.Authorize(t)
	if status, page, _ := citizen.Post(t, code, "/feedback/draft", form, strings.NewReader("content="+url.QueryEscape("希望增加<自助>取号机"))); status != 200 ||
		!strings.Contains(page, "草稿已保存") {
		t.Fatalf("draft: %d %s", status, page)
	}
	if status, page = citizen.Get(t, code, "/"); !strings.Contains(page, "希望增加&lt;自助&gt;取号机</textarea>") || !strings.Contains(page, "/survey?id="+id) {
		t.Fatalf("restored draft: %d %s", status, page)
	}
	if status, page, _ := citizen.Post(t, code, "/feedback", form, strings.NewReader("content="+url.QueryEscape("希望增加自助取号机"))); status != 201 {
		t.Fatalf("publish: %d %s", status, page)
	}
	if _, page = citizen.Get(t, code, "/"); strings.Contains(page, "draft-restored") {
		t.Fatal("draft kept after publishing")
	}
	if n := len(strings.TrimSpace(h.CLI(t, "plugin", "records", "feedback", colDrafts))); n != 0 {
		t.Fatal("draft record kept after publishing")
	}

	// The questionnaire, along its skip logic, once.
	if status, page = citizen.Get(t, code, "/survey?id="+id); status != 200 || !strings.Contains(page, `data-jump="q3"`) {
		t.Fatalf("survey: %d %s", status, page)
	}
	if status, _ = citizen.Get(t, h.Code(1), "/survey?id="+id); status != http.StatusNotFound {
		t.Fatalf("survey on an unbound code: %d", status)
	}
	skipped := "questionnaire=" + id + "&q.q1=a&q.q2=x&q.q3=x"
	if status, page, _ := citizen.Post(t, code, "/survey", form, strings.NewReader(skipped)); status != 400 || !strings.Contains(page, "第 2 题「您咨询的问题是？」应跳过") {
		t.Fatalf("answer to a skipped question: %d %s", status, page)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d records after a refused answer", n)
	}
	good := "questionnaire=" + id + "&q.q1=a&q.q3=x&q.q3=z"
	if status, page, _ := citizen.Post(t, code, "/survey", form, strings.NewReader(good)); status != 201 {
		t.Fatalf("answer: %d %s", status, page)
	}
	if status, page, _ := citizen.Post(t, code, "/survey", form, strings.NewReader(good)); status != http.StatusConflict || !strings.Contains(page, "每人限答一次") {
		t.Fatalf("second answer: %d %s", status, page)
	}

	// The operators' view.
	list := admin("GET", "/feedback", "")
	if list["total"] != 4.0 {
		t.Fatalf("list: %v", list)
	}
	if l := admin("GET", "/feedback?q="+url.QueryEscape("kind:问卷"), ""); l["total"] != 1.0 {
		t.Fatalf("answers: %v", l)
	}
	if l := admin("GET", "/feedback?q="+url.QueryEscape("code:"+h.Code(1)), ""); l["total"] != 0.0 {
		t.Fatalf("another code: %v", l)
	}
	if l := admin("GET", "/feedback?code="+code+"&kind=rating", ""); l["total"] != 1.0 {
		t.Fatalf("ratings of the code: %v", l)
	}
	if l := admin("GET", "/feedback?q="+url.QueryEscape("取号机"), ""); l["total"] != 1.0 ||
		l["items"].([]any)[0].(map[string]any)["authorName"] != "王*明" {
		t.Fatalf("keyword: %v", l)
	}
	sum := admin("GET", "/questionnaires/summary?q="+id, "")
	q3 := sum["questions"].([]any)[2].(map[string]any)["options"].([]any)
	if sum["answers"] != 1.0 || q3[0].(map[string]any)["count"] != 1.0 || q3[1].(map[string]any)["count"] != 0.0 || q3[2].(map[string]any)["count"] != 1.0 {
		t.Fatalf("summary: %v", sum)
	}
	if rs := admin("GET", "/ratings/summary", ""); rs["ratings"] != 1.0 || rs["overall"] != 4.5 {
		t.Fatalf("ratings: %v", rs)
	}

	// The export: oldest first, personal data masked.
	file := filepath.Join(t.TempDir(), "feedback.xlsx")
	h.CLI(t, "plugin", "records", "feedback", colFeedback, "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("反馈内容")
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"编号", "码", "创建时间", "更新时间", "类型", "地点", "内容", "综合评分", "问卷编号", "问卷名称", "问卷版本", "联系电话", "提交人标识", "提交人"}
	if len(rows) != 5 || strings.Join(rows[0], "|") != strings.Join(header, "|") {
		t.Fatalf("export: %q", rows)
	}
	cell := func(r, c int) string {
		if c < len(rows[r]) {
			return rows[r][c]
		}
		return ""
	}
	if cell(1, 1) != code || cell(1, 4) != kindFeedback || cell(1, 5) != "演示设施 1 号" || cell(1, 6) != "大厅空调太冷" || cell(1, 12) != "" {
		t.Fatalf("row 1: %q", rows[1])
	}
	if cell(2, 4) != kindRating || cell(2, 6) != "服务态度 5 星（耐心）；环境卫生 4 星" || cell(2, 7) != "4.5" {
		t.Fatalf("row 2: %q", rows[2])
	}
	if cell(3, 6) != "希望增加自助取号机" || cell(3, 13) != "王**" || len(cell(3, 12)) < 2 || strings.Trim(cell(3, 12)[1:], "*") != "" {
		t.Fatalf("row 3: %q", rows[3])
	}
	if cell(4, 4) != kindAnswer || cell(4, 8) != id || cell(4, 9) != "办事体验调查" || cell(4, 10) != "1" ||
		cell(4, 6) != "1. 您今天办理的是什么业务？：证照办理；3. 哪些方面需要改进？：等候时间、窗口数量" {
		t.Fatalf("row 4: %q", rows[4])
	}
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
