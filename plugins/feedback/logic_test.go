package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry agree, personal data is marked, and
// the schema's default rating items are the code's.
func TestManifest(t *testing.T) {
	m := plugintest.Manifest(t)
	seen := map[string]bool{}
	for _, r := range m.Routes {
		seen[r.Name] = true
		h, ok := routes[r.Name]
		if !ok {
			t.Errorf("route %s of plugin.json has no handler", r.Name)
			continue
		}
		if (r.Kind == plugin.Admin) != (h.access == operator) || r.Tourist != (h.access == anyone) {
			t.Errorf("route %s: kind %s, tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	personal := map[string]bool{}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
			if f.Personal {
				personal[c.Name+"."+f.Name] = true
			}
		}
	}
	for _, want := range []string{"feedback.contact", "feedback.author", "feedback.authorName", "drafts.contact", "drafts.author"} {
		if !personal[want] {
			t.Errorf("%s is not personal", want)
		}
	}
	if len(personal) != 5 || m.Runtime != plugin.Native || m.Entry != "feedback" {
		t.Errorf("personal %v, manifest %+v", personal, m)
	}
	var schema struct {
		Properties struct {
			RatingItems struct {
				Default []ratingItem `json:"default"`
			} `json:"ratingItems"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m.Config, &schema); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(schema.Properties.RatingItems.Default)
	b, _ := json.Marshal(defaultItems)
	if string(a) != string(b) {
		t.Errorf("schema default %s, code default %s", a, b)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != "意见反馈" || len(c.RatingItems) != 3 || !c.RatingItems[0].Required || c.RatingItems[2].Required {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, raw := range []string{`{"ratingItems":3}`, `{"ratingItems":[{"id":"a","label":"甲"},{"id":"a","label":"乙"}]}`,
		`{"ratingItems":[{"id":"a"}]}`} {
		if _, err := loadConfig(json.RawMessage(raw)); !plugin.IsCode(err, plugin.ErrInternal) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// skipDef: q1 is single (a jumps to q3, b goes on, c ends); q2 is a
// required text; q3 a required multiple of 1–2; q4 an optional text.
const skipDef = `{"title":"办事体验调查","questions":[
 {"id":"q1","type":"single","title":"您今天办理的是什么业务？","required":true,"options":[
   {"id":"a","label":"证照办理","jump":"q3"},{"id":"b","label":"咨询"},{"id":"c","label":"只是路过","jump":"end"}]},
 {"id":"q2","type":"text","title":"您咨询的问题是？","required":true,"maxLength":20},
 {"id":"q3","type":"multiple","title":"哪些方面需要改进？","required":true,"min":1,"max":2,"options":[
   {"id":"x","label":"等候时间"},{"id":"y","label":"指引标识"},{"id":"z","label":"窗口数量"}]},
 {"id":"q4","type":"text","title":"其他建议"}]}`

func skipQuestions(t *testing.T) []question {
	t.Helper()
	var d definition
	if err := json.Unmarshal([]byte(skipDef), &d); err != nil {
		t.Fatal(err)
	}
	if err := checkDefinition(&d); err != nil {
		t.Fatal(err)
	}
	return d.Questions
}

func TestCheckDefinition(t *testing.T) {
	qs := skipQuestions(t)
	if qs[3].MaxLength != defaultTextLimit || qs[2].Max != 2 {
		t.Fatalf("defaults not filled in: %+v", qs)
	}
	var d definition
	_ = json.Unmarshal([]byte(`{"title":"t","questions":[{"id":"m","type":"multiple","title":"多选","options":[{"id":"1","label":"一"},{"id":"2","label":"二"}]}]}`), &d)
	if err := checkDefinition(&d); err != nil || d.Questions[0].Max != 2 || d.Questions[0].Min != 0 {
		t.Fatalf("multiple without limits: %v %+v", err, d.Questions[0])
	}
	single := func(opts string) string {
		return `{"title":"t","questions":[{"id":"q1","type":"text","title":"一"},{"id":"q2","type":"single","title":"二","options":` + opts +
			`},{"id":"q3","type":"text","title":"三"}]}`
	}
	for _, tc := range []struct{ name, def, msg string }{
		{"backward jump", single(`[{"id":"a","label":"甲","jump":"q1"},{"id":"b","label":"乙"}]`), "只能向后跳转，不能跳到第 1 题（q1）"},
		{"jump to itself", single(`[{"id":"a","label":"甲","jump":"q2"},{"id":"b","label":"乙"}]`), "只能向后跳转"},
		{"unknown target", single(`[{"id":"a","label":"甲","jump":"q9"},{"id":"b","label":"乙"}]`), "跳转目标 q9 不存在"},
		{"one option", single(`[{"id":"a","label":"甲"}]`), "第 2 题（q2）：选择题须有 2–20 个选项"},
		{"no options", single(`[]`), "选择题须有 2–20 个选项"},
		{"repeated option", single(`[{"id":"a","label":"甲"},{"id":"a","label":"乙"}]`), "第 2 个选项的 id"},
		{"empty label", single(`[{"id":"a","label":" "},{"id":"b","label":"乙"}]`), "选项 a 缺少文字"},
		{"min on single", `{"title":"t","questions":[{"id":"q","type":"single","title":"x","min":1,"options":[{"id":"a","label":"甲"},{"id":"b","label":"乙"}]}]}`, "单选题不能设置 min/max"},
		{"repeated id", `{"title":"t","questions":[{"id":"q","type":"text","title":"x"},{"id":"q","type":"text","title":"y"}]}`, "第 2 题：id q 与前面的题目重复"},
		{"end as id", `{"title":"t","questions":[{"id":"end","type":"text","title":"x"}]}`, "不能用作题目 id"},
		{"bad type", `{"title":"t","questions":[{"id":"q","type":"date","title":"x"}]}`, "type 须为 single"},
		{"no title", `{"title":" ","questions":[]}`, "请填写问卷名称"},
		{"no question title", `{"title":"t","questions":[{"id":"q","type":"text"}]}`, "第 1 题（q）：请填写题目"},
		{"NUL in title", `{"title":"t\u0000","questions":[]}`, "控制字符"},
		{"long text limit", `{"title":"t","questions":[{"id":"q","type":"text","title":"x","maxLength":5000}]}`, "maxLength 须为 1–2000"},
		{"options on text", `{"title":"t","questions":[{"id":"q","type":"text","title":"x","options":[{"id":"a","label":"甲"}]}]}`, "文本题不能设置选项"},
		{"min over max", `{"title":"t","questions":[{"id":"q","type":"multiple","title":"x","min":3,"max":2,"options":[{"id":"a","label":"甲"},{"id":"b","label":"乙"},{"id":"c","label":"丙"}]}]}`, "min ≤ max"},
		{"max over options", `{"title":"t","questions":[{"id":"q","type":"multiple","title":"x","max":3,"options":[{"id":"a","label":"甲"},{"id":"b","label":"乙"}]}]}`, "max ≤ 选项数（2）"},
		{"jump on multiple", `{"title":"t","questions":[{"id":"q","type":"multiple","title":"x","options":[{"id":"a","label":"甲","jump":"end"},{"id":"b","label":"乙"}]}]}`, "只有单选题的选项可以设置跳转"},
	} {
		var d definition
		if err := json.Unmarshal([]byte(tc.def), &d); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err := checkDefinition(&d)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !(plugin.IsCode(err, plugin.ErrInvalid) || plugin.IsCode(err, "MissingParameter")) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.msg)
		}
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// The skip logic decides which questions must and may be answered.
func TestCheckAnswers(t *testing.T) {
	qs := skipQuestions(t)
	ok := []struct {
		name string
		v    url.Values
		want string
	}{
		{"a skips q2", form("q.q1", "a", "q.q3", "x", "q.q3", "z"), `{"q1":["a"],"q3":["x","z"]}`},
		{"b goes through q2", form("q.q1", "b", "q.q2", "取号规则", "q.q3", "y", "q.q4", " 多开窗口 "), `{"q1":["b"],"q2":["取号规则"],"q3":["y"],"q4":["多开窗口"]}`},
		{"c ends", form("q.q1", "c"), `{"q1":["c"]}`},
		{"empty text is no answer", form("q.q1", "a", "q.q3", "x", "q.q4", ""), `{"q1":["a"],"q3":["x"]}`},
	}
	for _, tc := range ok {
		got, err := checkAnswers(qs, tc.v)
		b, _ := json.Marshal(got)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.name, b, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		v    url.Values
		code string
		msg  string
	}{
		{"answer to a skipped question", form("q.q1", "a", "q.q2", "x", "q.q3", "x"), plugin.ErrInvalid, "第 2 题「您咨询的问题是？」应跳过"},
		{"answer after the end", form("q.q1", "c", "q.q4", "x"), plugin.ErrInvalid, "第 4 题「其他建议」应跳过"},
		{"q2 required on its path", form("q.q1", "b", "q.q3", "x"), "MissingParameter", "请回答第 2 题"},
		{"q1 required", form("q.q3", "x"), "MissingParameter", "请回答第 1 题"},
		{"q3 required after a jump", form("q.q1", "a"), "MissingParameter", "请回答第 3 题"},
		{"unknown question", form("q.q1", "c", "q.q9", "x"), plugin.ErrInvalid, "问卷中没有这道题：q.q9"},
		{"not a question field", form("q1", "c"), plugin.ErrInvalid, "问卷中没有这道题：q1"},
		{"option not in the list", form("q.q1", "d"), plugin.ErrInvalid, "第 1 题「您今天办理的是什么业务？」没有选项 d"},
		{"two choices on a single", form("q.q1", "a", "q.q1", "b"), plugin.ErrInvalid, "只能选一项"},
		{"too many choices", form("q.q1", "a", "q.q3", "x", "q.q3", "y", "q.q3", "z"), plugin.ErrInvalid, "须选择 1–2 项（已选 3 项）"},
		{"repeated choice", form("q.q1", "a", "q.q3", "x", "q.q3", "x"), plugin.ErrInvalid, "选项 x 重复"},
		{"choice not in the list", form("q.q1", "a", "q.q3", "w"), plugin.ErrInvalid, "没有选项 w"},
		{"over-long text", form("q.q1", "b", "q.q2", strings.Repeat("长", 21), "q.q3", "x"), plugin.ErrInvalid, "不能超过 20 个字"},
		{"NUL in text", form("q.q1", "b", "q.q2", "a\x00b", "q.q3", "x"), plugin.ErrInvalid, "控制字符"},
		{"text twice", form("q.q1", "b", "q.q2", "a", "q.q2", "b", "q.q3", "x"), plugin.ErrInvalid, "只能填写一次"},
	} {
		got, err := checkAnswers(qs, tc.v)
		if !plugin.IsCode(err, tc.code) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v %v, want %s %q", tc.name, got, err, tc.code, tc.msg)
		}
	}
	if s := describeAnswers(qs, map[string][]string{"q1": {"a"}, "q3": {"x", "z"}}); s != "1. 您今天办理的是什么业务？：证照办理；3. 哪些方面需要改进？：等候时间、窗口数量" {
		t.Errorf("described: %s", s)
	}
}

func TestCheckRating(t *testing.T) {
	scores, overall, err := checkRating(defaultItems, form("star.attitude", "5", "text.attitude", "热情", "star.hygiene", "4"))
	if err != nil || len(scores) != 2 || overall != 4.5 || scores[0].Text != "热情" || describeRating(scores) != "服务态度 5 星（热情）；环境卫生 4 星" {
		t.Fatalf("%+v %v %v", scores, overall, err)
	}
	if _, overall, _ = checkRating(defaultItems, form("star.attitude", "5", "star.hygiene", "4", "star.efficiency", "4")); overall != 4.3 {
		t.Errorf("overall %v, want 4.3", overall)
	}
	for _, tc := range []struct {
		v         url.Values
		code, msg string
	}{
		{form("star.hygiene", "4"), "MissingParameter", "请为「服务态度」评分"},
		{form("star.attitude", "6", "star.hygiene", "4"), plugin.ErrInvalid, "须为 1–5 星"},
		{form("star.attitude", "0", "star.hygiene", "4"), plugin.ErrInvalid, "须为 1–5 星"},
		{form("star.attitude", "4.5", "star.hygiene", "4"), plugin.ErrInvalid, "须为 1–5 星"},
		{form("star.attitude", "5", "star.hygiene", "4", "text.efficiency", "慢"), "MissingParameter", "请先为「办事效率」评分"},
		{form("star.attitude", "5", "star.hygiene", "4", "star.colour", "3"), plugin.ErrInvalid, "未知的评分项：star.colour"},
		{form("star.attitude", "5", "star.hygiene", "4", "text.hygiene", strings.Repeat("好", 201)), plugin.ErrInvalid, "不能超过 200 个字"},
	} {
		if _, _, err := checkRating(defaultItems, tc.v); !plugin.IsCode(err, tc.code) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: %v, want %q", tc.v, err, tc.msg)
		}
	}
	if _, _, err := checkRating([]ratingItem{{ID: "a", Label: "甲"}}, url.Values{}); !plugin.IsCode(err, "MissingParameter") {
		t.Errorf("nothing rated: %v", err)
	}
}

// bench drives the handler as the host would, over the sdk's fake host.
type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	routes map[string]plugin.Route
}

var (
	tourist = plugin.Visitor{Tourist: true}
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*", Mobile: "138****0001"}
	other   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

func newBench(t *testing.T, config string) *bench {
	b := &bench{t: t, config: config, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.host.SetObject(plugin.Code{Token: "tok1", Attributes: json.RawMessage(`{"name":"徐汇区行政服务中心"}`)})
	b.host.SetObject(plugin.Code{Token: "tok2", Attributes: json.RawMessage(`{"name":"漕河泾街道社区事务受理中心"}`)})
	return b
}

// call serves a citizen route of a code; a form is posted urlencoded.
func (b *bench) call(route string, v plugin.Visitor, token string, query, f url.Values) (*plugin.Response, error) {
	b.t.Helper()
	r, ok := b.routes[route]
	if !ok {
		b.t.Fatalf("no route %s", route)
	}
	code, _ := b.host.Object(token)
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{}, PlatformID: "P0001", Code: &code, Visitor: v, Config: json.RawMessage(b.config),
		BaseURL: "http://city.test/c/" + token}
	if f != nil {
		req.Header["Content-Type"], req.Body = "application/x-www-form-urlencoded", []byte(f.Encode())
	}
	return handler{now: func() time.Time { return b.now }}.Handle(context.Background(), b.host.Host("q1"), req)
}

// page serves a citizen route and answers its body, failing on an error.
func (b *bench) page(route string, v plugin.Visitor, token string, query, f url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.call(route, v, token, query, f)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	return resp.Status, string(resp.Body)
}

// admin calls an admin route as the console does.
func (b *bench) admin(route string, query url.Values, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	resp, err := handler{now: func() time.Time { return b.now }}.Handle(context.Background(), b.host.Host("q2"), &plugin.Request{
		ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: "ops1", PlatformID: "P0001"}, Config: json.RawMessage(b.config)})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	return out, nil
}

func (b *bench) mustAdmin(route string, query url.Values, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin(route, query, body)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	return out
}

func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if !plugin.IsCode(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want %s %q", err, code, msg)
	}
}

func (b *bench) docs(collection string) []entry {
	var out []entry
	for _, r := range b.host.Records(collection) {
		var e entry
		decode(r, &e)
		out = append(out, e)
	}
	return out
}

func TestFeedbackAndDrafts(t *testing.T) {
	b := newBench(t, "")
	_, page := b.page("home", tourist, "tok1", nil, nil)
	if !strings.Contains(page, "徐汇区行政服务中心") || strings.Contains(page, "formaction") || !strings.Contains(page, `name="star.attitude" value="5"`) {
		t.Fatalf("tourist landing: %s", page)
	}
	// Tourists keep no drafts.
	_, err := b.call("draft", tourist, "tok1", nil, form("content", "x"))
	wantErr(t, err, "UnauthorizedOperation", "登录")

	// A citizen's draft, restored on their page only.
	if status, page := b.page("draft", citizen, "tok1", nil, form("content", "取号机<坏了>", "contact", "139 0000 0002")); status != 200 || !strings.Contains(page, "草稿已保存") {
		t.Fatalf("draft: %d %s", status, page)
	}
	_, page = b.page("home", citizen, "tok1", nil, nil)
	if !strings.Contains(page, "取号机&lt;坏了&gt;</textarea>") || !strings.Contains(page, `value="13900000002"`) || !strings.Contains(page, "draft-restored") ||
		!strings.Contains(page, `formaction="http://city.test/c/tok1/feedback/draft"`) {
		t.Fatalf("restored: %s", page)
	}
	for _, tc := range []struct {
		v     plugin.Visitor
		token string
	}{{other, "tok1"}, {citizen, "tok2"}, {tourist, "tok1"}} {
		if _, page := b.page("home", tc.v, tc.token, nil, nil); strings.Contains(page, "取号机") {
			t.Fatalf("draft shown to %+v on %s", tc.v, tc.token)
		}
	}
	// Saving again replaces it: still one draft.
	b.page("draft", citizen, "tok1", nil, form("content", "取号机坏了，请尽快修理"))
	if n := len(b.host.Records(colDrafts)); n != 1 {
		t.Fatalf("%d drafts", n)
	}

	// Bad feedback stores nothing.
	for _, tc := range []struct {
		f         url.Values
		code, msg string
	}{
		{form("content", "  "), "MissingParameter", "请填写意见内容"},
		{form("content", strings.Repeat("长", 1001)), plugin.ErrInvalid, "不能超过 1000 个字"},
		{form("content", "a\x00b"), plugin.ErrInvalid, "控制字符"},
		{form("content", "x", "id", "r1"), plugin.ErrInvalid, "未知的表单字段：id"},
		{form("content", "x", "contact", "12345"), plugin.ErrInvalid, "联系电话格式不正确"},
		{form("content", "x", "content", "y"), plugin.ErrInvalid, "只能填写一次"},
	} {
		_, err := b.call("publish", citizen, "tok1", nil, tc.f)
		wantErr(t, err, tc.code, tc.msg)
	}
	if len(b.host.Records(colFeedback)) != 0 || len(b.host.Records(colDrafts)) != 1 || len(b.host.Events) != 0 {
		t.Fatal("bad feedback stored something or dropped the draft")
	}

	// Publishing removes the draft; the feedback names its author.
	status, page := b.page("publish", citizen, "tok1", nil, form("content", "取号机坏了，请尽快修理", "contact", "021-64870000"))
	if status != 201 || !strings.Contains(page, "意见已发布") || !strings.Contains(page, "不可修改") {
		t.Fatalf("publish: %d %s", status, page)
	}
	docs := b.docs(colFeedback)
	if len(docs) != 1 || docs[0].Kind != kindFeedback || docs[0].Place != "徐汇区行政服务中心" || docs[0].Author != citizen.Pseudonym ||
		docs[0].AuthorName != "张*" || docs[0].Contact != "021-64870000" || len(b.host.Records(colDrafts)) != 0 {
		t.Fatalf("stored %+v, drafts %d", docs, len(b.host.Records(colDrafts)))
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "feedback.published" {
		t.Fatalf("events %+v", b.host.Events)
	}
	if _, page = b.page("home", citizen, "tok1", nil, nil); strings.Contains(page, "draft-restored") {
		t.Fatal("draft still restored after publishing")
	}
	// A tourist publishes directly, anonymously; an empty draft form
	// discards a draft.
	if status, _ := b.page("publish", tourist, "tok2", nil, form("content", "环境很好")); status != 201 {
		t.Fatal(status)
	}
	if docs = b.docs(colFeedback); docs[1].Author != "" || docs[1].Place != "漕河泾街道社区事务受理中心" {
		t.Fatalf("tourist feedback %+v", docs[1])
	}
	b.page("draft", other, "tok1", nil, form("content", "x"))
	if _, page := b.page("draft", other, "tok1", nil, form("content", "")); !strings.Contains(page, "草稿已清空") || len(b.host.Records(colDrafts)) != 0 {
		t.Fatalf("discard: %s", page)
	}
}

func TestRatingFlow(t *testing.T) {
	b := newBench(t, `{"ratingItems":[{"id":"speed","label":"办事效率","required":true},{"id":"guide","label":"引导服务"}]}`)
	_, page := b.page("home", tourist, "tok1", nil, nil)
	if !strings.Contains(page, `name="star.speed"`) || strings.Contains(page, "star.attitude") {
		t.Fatalf("configured items: %s", page)
	}
	_, err := b.call("rate", tourist, "tok1", nil, form("star.guide", "5"))
	wantErr(t, err, "MissingParameter", "请为「办事效率」评分")
	_, err = b.call("rate", tourist, "tok1", nil, form("star.speed", "5", "star.speed", "1"))
	wantErr(t, err, plugin.ErrInvalid, "只能填写一次")
	if len(b.host.Records(colFeedback)) != 0 {
		t.Fatal("a bad rating was stored")
	}
	status, page := b.page("rate", tourist, "tok1", nil, form("star.speed", "4", "text.speed", "很快", "star.guide", "3"))
	if status != 201 || !strings.Contains(page, "3.5 星") {
		t.Fatalf("rate: %d %s", status, page)
	}
	docs := b.docs(colFeedback)
	if len(docs) != 1 || docs[0].Kind != kindRating || docs[0].Overall != 3.5 || docs[0].Content != "办事效率 4 星（很快）；引导服务 3 星" ||
		len(docs[0].Ratings) != 2 || docs[0].Ratings[0].Text != "很快" {
		t.Fatalf("stored %+v", docs)
	}
	if b.host.Events[0].Name != "rating.submitted" {
		t.Fatalf("events %+v", b.host.Events)
	}
}

// create makes a questionnaire and answers its id.
func (b *bench) create(def string) string {
	b.t.Helper()
	return b.mustAdmin("admin-create", nil, def)["id"].(string)
}

func idBody(id string) string { return `{"id":"` + id + `"}` }

func TestQuestionnaireLifecycle(t *testing.T) {
	b := newBench(t, "")
	// Bad definitions store nothing and audit nothing.
	for _, tc := range []struct{ body, code, msg string }{
		{`{"title":"x","questions":[{"id":"q1","type":"single","title":"a","options":[{"id":"a","label":"甲","jump":"q1"},{"id":"b","label":"乙"}]}]}`, plugin.ErrInvalid, "只能向后跳转"},
		{`{"title":"x","colour":"red"}`, plugin.ErrInvalid, "请求体须为 JSON"},
		{`{"id":"r1","title":"x"}`, plugin.ErrInvalid, "新建问卷不能指定 id"},
		{`not json`, plugin.ErrInvalid, "请求体须为 JSON"},
	} {
		_, err := b.admin("admin-create", nil, tc.body)
		wantErr(t, err, tc.code, tc.msg)
	}
	if len(b.host.Records(colQuestionnaires)) != 0 || len(b.host.Audits) != 0 {
		t.Fatal("a bad definition was stored")
	}

	id := b.create(`{"title":"草稿问卷","questions":[]}`)
	_, err := b.admin("admin-publish", nil, idBody(id))
	wantErr(t, err, plugin.ErrInvalid, "至少需要一道题")
	out := b.mustAdmin("admin-update", nil, `{"id":"`+id+`",`+skipDef[1:])
	if out["status"] != statusDraft || out["questionCount"] != 4.0 || out["title"] != "办事体验调查" || out["editor"] != "ops1" {
		t.Fatalf("updated: %v", out)
	}
	_, err = b.admin("admin-close", nil, idBody(id))
	wantErr(t, err, "FailedOperation.NotPublished", "只有已发布的问卷可以结束")
	if out = b.mustAdmin("admin-publish", nil, idBody(id)); out["status"] != statusPublished || out["publishedAt"] != "2026-11-03T09:30:00+08:00" {
		t.Fatalf("published: %v", out)
	}
	// Published: never edited again, nor published twice.
	_, err = b.admin("admin-update", nil, `{"id":"`+id+`",`+skipDef[1:])
	wantErr(t, err, "FailedOperation.NotDraft", "复制为新版本")
	_, err = b.admin("admin-publish", nil, idBody(id))
	wantErr(t, err, "FailedOperation.NotDraft", "不能再次发布")
	// A copy is the next version, a draft bound to nothing.
	cp := b.mustAdmin("admin-copy", nil, idBody(id))
	if cp["version"] != 2.0 || cp["basedOn"] != id || cp["status"] != statusDraft || len(cp["codes"].([]any)) != 0 || cp["questionCount"] != 4.0 {
		t.Fatalf("copy: %v", cp)
	}
	// Binding resolves the codes.
	_, err = b.admin("admin-bind", nil, `{"id":"`+id+`","codes":["tok1","nope"]}`)
	wantErr(t, err, plugin.ErrNotFound, "本平台没有码 nope")
	_, err = b.admin("admin-bind", nil, `{"id":"`+id+`"}`)
	wantErr(t, err, "MissingParameter", "codes")
	if out = b.mustAdmin("admin-bind", nil, `{"id":"`+id+`","codes":["tok1","tok1"]}`); len(out["codes"].([]any)) != 1 {
		t.Fatalf("bound: %v", out)
	}
	_, err = b.admin("admin-bind", nil, `{"id":"r404","codes":[]}`)
	wantErr(t, err, plugin.ErrNotFound, "没有找到问卷 r404")
	_, err = b.admin("admin-update", nil, `{"id":"../x","title":"t"}`)
	wantErr(t, err, plugin.ErrInvalid, "问卷编号格式不正确")

	list := b.mustAdmin("admin-questionnaires", nil, "")
	if list["total"] != 2.0 || list["items"].([]any)[0].(map[string]any)["questions"] != nil {
		t.Fatalf("list: %v", list)
	}
	if one := b.mustAdmin("admin-questionnaires", url.Values{"q": {id}}, ""); len(one["questions"].([]any)) != 4 {
		t.Fatalf("one: %v", one)
	}
	if out = b.mustAdmin("admin-close", nil, idBody(id)); out["status"] != statusClosed {
		t.Fatalf("closed: %v", out)
	}
	_, err = b.admin("admin-bind", nil, `{"id":"`+id+`","codes":[]}`)
	wantErr(t, err, "FailedOperation.Closed", "已结束")
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action+" "+a.Target)
	}
	want := "questionnaire.create questionnaire:" + id + ",questionnaire.update questionnaire:" + id + ",questionnaire.publish questionnaire:" + id +
		",questionnaire.copy questionnaire:" + cp["id"].(string) + ",questionnaire.bind questionnaire:" + id + ",questionnaire.close questionnaire:" + id
	if strings.Join(actions, ",") != want {
		t.Fatalf("audits %v", actions)
	}
	// Admin routes are for operators only.
	r := b.routes["admin-create"]
	code, _ := b.host.Object("tok1")
	_, err = handler{now: time.Now}.Handle(context.Background(), b.host.Host("q3"), &plugin.Request{Route: r.Name, Kind: plugin.Action,
		Method: "POST", Path: r.Path, Code: &code, Visitor: citizen, Body: []byte(skipDef)})
	wantErr(t, err, "UnauthorizedOperation", "仅限平台工作人员")
}

func TestAnswerFlow(t *testing.T) {
	b := newBench(t, "")
	id := b.create(skipDef)
	draftID := b.create(`{"title":"未发布","questions":[]}`)
	b.mustAdmin("admin-publish", nil, idBody(id))
	b.mustAdmin("admin-bind", nil, `{"id":"`+id+`","codes":["tok1"]}`)

	if _, page := b.page("home", citizen, "tok1", nil, nil); !strings.Contains(page, "/survey?id="+id) || !strings.Contains(page, "办事体验调查") {
		t.Fatalf("landing lacks the questionnaire: %s", page)
	}
	if _, page := b.page("home", citizen, "tok2", nil, nil); strings.Contains(page, "办事体验调查") {
		t.Fatal("questionnaire shown on an unbound code")
	}
	_, page := b.page("survey", citizen, "tok1", url.Values{"id": {id}}, nil)
	for _, want := range []string{`data-jump="q3"`, `data-jump="end"`, `name="q.q3" value="z"`, `maxlength="20"`, `name="questionnaire" value="` + id} {
		if !strings.Contains(page, want) {
			t.Fatalf("survey lacks %q: %s", want, page)
		}
	}
	// Refusals, with nothing stored.
	for _, tc := range []struct {
		token string
		v     plugin.Visitor
		f     url.Values
		code  string
		msg   string
	}{
		{"tok1", citizen, form("questionnaire", id, "q.q1", "a", "q.q2", "x", "q.q3", "x"), plugin.ErrInvalid, "第 2 题「您咨询的问题是？」应跳过"},
		{"tok1", citizen, form("questionnaire", id, "q.q1", "b", "q.q3", "x"), "MissingParameter", "请回答第 2 题"},
		{"tok1", citizen, form("questionnaire", id, "q.q1", "a", "q.q3", "x", "note", "x"), plugin.ErrInvalid, "未知的表单字段：note"},
		{"tok2", citizen, form("questionnaire", id, "q.q1", "c"), plugin.ErrNotFound, "没有找到该问卷"},
		{"tok1", citizen, form("questionnaire", draftID, "q.q1", "c"), plugin.ErrNotFound, "没有找到该问卷"},
		{"tok1", citizen, form("q.q1", "c"), "MissingParameter", "缺少问卷编号"},
		{"tok1", tourist, form("questionnaire", id, "q.q1", "c"), "UnauthorizedOperation", "登录"},
	} {
		_, err := b.call("answer", tc.v, tc.token, nil, tc.f)
		wantErr(t, err, tc.code, tc.msg)
	}
	if len(b.host.Records(colFeedback)) != 0 {
		t.Fatal("a refused answer was stored")
	}
	status, page := b.page("answer", citizen, "tok1", nil, form("questionnaire", id, "q.q1", "a", "q.q3", "x", "q.q3", "y", "q.q4", "多开窗口"))
	if status != 201 || !strings.Contains(page, "问卷已提交") {
		t.Fatalf("answer: %d %s", status, page)
	}
	docs := b.docs(colFeedback)
	if len(docs) != 1 || docs[0].Kind != kindAnswer || docs[0].Questionnaire != id || docs[0].QuestionnaireVersion != 1 ||
		strings.Join(docs[0].Answers["q3"], ",") != "x,y" || docs[0].Answers["q2"] != nil || docs[0].Author != citizen.Pseudonym {
		t.Fatalf("stored %+v", docs)
	}
	// Once per citizen.
	_, err := b.call("answer", citizen, "tok1", nil, form("questionnaire", id, "q.q1", "c"))
	wantErr(t, err, "FailedOperation.AlreadyAnswered", "每人限答一次")
	if _, page = b.page("survey", citizen, "tok1", url.Values{"id": {id}}, nil); !strings.Contains(page, "您已提交过本问卷") {
		t.Fatalf("second visit: %s", page)
	}
	b.page("answer", other, "tok1", nil, form("questionnaire", id, "q.q1", "c"))

	// The platform's questionnaire shows on every code.
	b.config = `{"questionnaire":"` + id + `"}`
	if _, page = b.page("home", other, "tok2", nil, nil); !strings.Contains(page, "/survey?id="+id) {
		t.Fatalf("platform questionnaire not on tok2: %s", page)
	}
	// Closed: no more answers.
	b.mustAdmin("admin-close", nil, idBody(id))
	_, err = b.call("survey", other, "tok1", url.Values{"id": {id}}, nil)
	wantErr(t, err, "FailedOperation.Closed", "已结束")
	if len(b.host.Records(colFeedback)) != 2 || len(b.host.Events) != 2 || b.host.Events[0].Name != "answer.submitted" {
		t.Fatalf("records %d, events %+v", len(b.host.Records(colFeedback)), b.host.Events)
	}
}

func TestAdminListAndSummaries(t *testing.T) {
	b := newBench(t, "")
	id := b.create(skipDef)
	b.mustAdmin("admin-publish", nil, idBody(id))
	b.mustAdmin("admin-bind", nil, `{"id":"`+id+`","codes":["tok1","tok2"]}`)
	b.page("publish", tourist, "tok1", nil, form("content", "取号机坏了"))
	b.now = b.now.AddDate(0, 0, 1)
	b.page("rate", tourist, "tok1", nil, form("star.attitude", "5", "star.hygiene", "4"))
	b.page("rate", citizen, "tok2", nil, form("star.attitude", "3", "star.hygiene", "2", "star.efficiency", "1"))
	b.now = b.now.AddDate(0, 0, 1)
	b.page("answer", citizen, "tok1", nil, form("questionnaire", id, "q.q1", "a", "q.q3", "x", "q.q3", "y"))
	b.now = b.now.Add(time.Minute)
	b.page("answer", other, "tok2", nil, form("questionnaire", id, "q.q1", "b", "q.q2", "取号规则", "q.q3", "x"))

	count := func(q url.Values) float64 {
		t.Helper()
		return b.mustAdmin("admin-feedback", q, "")["total"].(float64)
	}
	for _, tc := range []struct {
		q    url.Values
		want float64
	}{
		{nil, 5},
		{url.Values{"kind": {"rating"}}, 2},
		{url.Values{"q": {"kind:问卷"}}, 2},
		{url.Values{"code": {"tok2"}}, 2},
		{url.Values{"q": {"code:tok1 kind:意见"}}, 1},
		{url.Values{"from": {"2026-11-04"}, "to": {"2026-11-04"}}, 2},
		{url.Values{"q": {"from:2026-11-05"}}, 2},
		{url.Values{"q": {"取号"}}, 2},
		{url.Values{"keyword": {"取号"}, "kind": {"answer"}}, 1},
		{url.Values{"q": {"等候时间 code:tok1"}}, 1},
		{url.Values{"questionnaire": {id}}, 2},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.q, got, tc.want)
		}
	}
	list := b.mustAdmin("admin-feedback", url.Values{"pageSize": {"2"}, "pageNo": {"2"}, "q": {"星"}}, "")
	if items := list["items"].([]any); len(items) != 0 || list["total"] != 2.0 {
		t.Fatalf("keyword page 2: %v", list)
	}
	items := b.mustAdmin("admin-feedback", nil, "")["items"].([]any)
	newest := items[0].(map[string]any)
	if newest["kind"] != kindAnswer || newest["code"] != "tok2" || newest["author"] != nil || newest["createdAt"] != "2026-11-05T09:31:00+08:00" {
		t.Fatalf("newest: %v", newest)
	}
	for _, q := range []url.Values{{"kind": {"bug"}}, {"from": {"yesterday"}}, {"from": {"2026-11-05"}, "to": {"2026-11-04"}}, {"code": {"a b"}},
		{"pageSize": {"1000"}}, {"q": {strings.Repeat("长", 51)}}} {
		if _, err := b.admin("admin-feedback", q, ""); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%v: %v", q, err)
		}
	}

	sum := b.mustAdmin("admin-summary", url.Values{"q": {id}}, "")
	qs := sum["questions"].([]any)
	q1, q2, q3 := qs[0].(map[string]any), qs[1].(map[string]any), qs[2].(map[string]any)
	opt := func(q map[string]any, i int) float64 {
		return q["options"].([]any)[i].(map[string]any)["count"].(float64)
	}
	if sum["answers"] != 2.0 || q1["answered"] != 2.0 || opt(q1, 0) != 1 || opt(q1, 1) != 1 || opt(q1, 2) != 0 ||
		q2["answered"] != 1.0 || q2["texts"].([]any)[0] != "取号规则" || opt(q3, 0) != 2 || opt(q3, 1) != 1 || opt(q3, 2) != 0 {
		t.Fatalf("summary: %v", sum)
	}
	_, err := b.admin("admin-summary", nil, "")
	wantErr(t, err, "MissingParameter", "问卷编号")

	rs := b.mustAdmin("admin-ratings", nil, "")
	its := rs["items"].([]any)
	avg := func(i int) (float64, float64) {
		m := its[i].(map[string]any)
		return m["count"].(float64), m["average"].(float64)
	}
	if n, a := avg(0); n != 2 || a != 4 || rs["ratings"] != 2.0 || rs["overall"] != 3.25 {
		t.Fatalf("ratings: %v", rs)
	}
	if n, a := avg(2); n != 1 || a != 1 {
		t.Fatalf("efficiency: %v", rs)
	}
	if rs = b.mustAdmin("admin-ratings", url.Values{"q": {"tok1"}}, ""); rs["ratings"] != 1.0 || rs["overall"] != 4.5 {
		t.Fatalf("ratings of tok1: %v", rs)
	}
}
