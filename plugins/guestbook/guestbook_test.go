package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestInTheHost runs the plugin as WASM in a real host on a throwaway
// database (skipped without DATABASE_URL): bad messages refused with
// nothing stored, messages from a tourist and a logged-in citizen held
// for review, the staff's queue and decisions (once each), the published
// ones on the landing page newest first, likes refused to tourists and
// counted once per citizen, comments (refused on a message not published
// or through another code, held for review, shown once published), the
// admin search, and the exports. The steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"title":"社区留言板"}`})
	code := h.Code(0)
	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "guestbook", collection)), "\n") {
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
		// The output also carries the plugin's log lines: the answer is
		// its last line.
		lines := strings.Split(strings.TrimSpace(h.Admin(t, method, path, body)), "\n")
		var out map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, lines)
		}
		return out
	}
	form := func(content string) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(url.Values{"content": {content}}.Encode())
	}
	postAs := func(post func(testing.TB, string, string, string, *strings.Reader) (int, string, http.Header), content string) (int, string) {
		t.Helper()
		ct, body := form(content)
		status, page, _ := post(t, code, "/post", ct, body)
		return status, page
	}
	tourist := func(tb testing.TB, code, path, ct string, body *strings.Reader) (int, string, http.Header) {
		return h.Post(tb, code, path, ct, body)
	}

	status, page := h.Get(t, code, "/")
	for _, want := range []string{"社区留言板", "演示设施 1 号", `<textarea name="content" maxlength="500" required`, "暂无公开的留言", "width=device-width"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}

	// Bad messages: refused, nothing stored.
	if status, page := postAs(tourist, " "); status != http.StatusBadRequest || !strings.Contains(page, "请填写留言内容") {
		t.Errorf("empty: %d %s", status, page)
	}
	if status, page := postAs(tourist, strings.Repeat("长", 501)); status != http.StatusBadRequest || !strings.Contains(page, "不能超过 500 个字") {
		t.Errorf("too long: %d %s", status, page)
	}
	if n := len(records("messages")); n != 0 {
		t.Fatalf("%d messages after bad input", n)
	}

	// A tourist's message, a logged-in citizen's, and one to reject.
	status, page = postAs(tourist, "步道的路灯晚上不亮，请修理。")
	if status != http.StatusCreated || !strings.Contains(page, "审核通过后") {
		t.Fatalf("tourist message: %d %s", status, page)
	}
	first := between(page, `<span id="message-id">`, "<")
	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	status, page = postAs(func(tb testing.TB, code, path, ct string, body *strings.Reader) (int, string, http.Header) {
		return citizen.Post(tb, code, path, ct, body)
	}, "感谢保洁阿姨，步道很干净！")
	if status != http.StatusCreated {
		t.Fatalf("citizen message: %d %s", status, page)
	}
	second := between(page, `<span id="message-id">`, "<")
	_, page = postAs(tourist, "加微信领红包")
	spam := between(page, `<span id="message-id">`, "<")

	// Nothing is public before review.
	if _, page = h.Get(t, code, "/"); strings.Contains(page, "路灯") || !strings.Contains(page, "暂无公开的留言") {
		t.Fatalf("a pending message is public: %s", page)
	}

	// The staff's queue, oldest first, and the decisions, once each.
	list := admin("GET", "/messages?q=待审核", "")
	items, _ := list["items"].([]any)
	if list["total"] != 3.0 || len(items) != 3 || items[0].(map[string]any)["id"] != first || items[1].(map[string]any)["authorName"] != "张*" ||
		items[2].(map[string]any)["content"] != "加微信领红包" {
		t.Fatalf("queue: %v", list)
	}
	for _, id := range []string{first, second} {
		if out := admin("POST", "/messages/review", `{"id":"`+id+`","approve":true}`); out["status"] != statusPublished {
			t.Fatalf("publish %s: %v", id, out)
		}
	}
	if out, err := h.AdminErr("POST", "/messages/review", `{"id":"`+spam+`","approve":false}`); err == nil || !strings.Contains(err.Error()+out, "MissingParameter") {
		t.Fatalf("reject without a reason: %v %s", err, out)
	}
	if out := admin("POST", "/messages/review", `{"id":"`+spam+`","approve":false,"reason":"广告"}`); out["status"] != statusRejected {
		t.Fatalf("reject: %v", out)
	}
	if out, err := h.AdminErr("POST", "/messages/review", `{"id":"`+first+`","approve":false,"reason":"x"}`); err == nil ||
		!strings.Contains(err.Error()+out, "FailedOperation") || !strings.Contains(err.Error()+out, "不能重复审核") {
		t.Fatalf("second review: %v %s", err, out)
	}
	if list = admin("GET", "/messages?q=已发布", ""); list["total"] != 2.0 {
		t.Fatalf("published: %v", list)
	}
	if list = admin("GET", "/messages", ""); list["total"] != 0.0 {
		t.Fatalf("queue after review: %v", list)
	}

	// The landing page: the published messages, newest first.
	_, page = h.Get(t, code, "/")
	i, j := strings.Index(page, "感谢保洁阿姨"), strings.Index(page, "路灯晚上不亮")
	if i < 0 || j < 0 || i > j || strings.Contains(page, "红包") || !strings.Contains(page, "张* · ") || !strings.Contains(page, "留言（2）") {
		t.Fatalf("landing after review: %s", page)
	}
	if _, page = h.Get(t, h.Code(1), "/"); !strings.Contains(page, "暂无公开的留言") {
		t.Fatalf("another code shows this code's messages: %s", page)
	}

	// Likes: tourists are sent to log in; a citizen likes once.
	if status, page, _ := h.Post(t, code, "/like?id="+first, "application/x-www-form-urlencoded", strings.NewReader("")); status != http.StatusUnauthorized ||
		!strings.Contains(page, "登录") {
		t.Fatalf("tourist like: %d %s", status, page)
	}
	like := func(v *plugintest.Visitor, id string) (int, string, http.Header) {
		return v.Post(t, code, "/like?id="+id, "application/x-www-form-urlencoded", strings.NewReader(""))
	}
	if status, page, hdr := like(citizen, first); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+code+"#m-"+first) {
		t.Fatalf("like: %d %v %s", status, hdr, page)
	}
	if status, page, _ := like(citizen, first); status != http.StatusConflict || !strings.Contains(page, "您已经赞过这条留言") {
		t.Fatalf("second like: %d %s", status, page)
	}
	if status, _, _ := like(citizen, spam); status != http.StatusNotFound {
		t.Fatalf("like of a rejected message: %d", status)
	}
	neighbour := h.Login(t, plugintest.Person{Name: "李四", CertNo: residentID("31010419920202234"), Mobile: "13800000002"})
	if status, page, _ := like(neighbour, first); status != http.StatusSeeOther {
		t.Fatalf("neighbour's like: %d %s", status, page)
	}
	if _, page = h.Get(t, code, "/"); !strings.Contains(page, `<li id="m-`+first+`">`) || !strings.Contains(between(page, `id="m-`+first, "</li>"), `<span class="likes">2</span>`) {
		t.Fatalf("like count: %s", page)
	}
	if n := len(records("likes")); n != 2 {
		t.Fatalf("%d likes stored", n)
	}

	// Comments: refused with nothing stored on a message not published or
	// of another code, and on bad input; a tourist's and a citizen's held
	// for review.
	commentAs := func(v *plugintest.Visitor, code, id, content string) (int, string) {
		t.Helper()
		ct, body := form(content)
		if v == nil {
			status, page, _ := h.Post(t, code, "/comment?id="+id, ct, body)
			return status, page
		}
		status, page, _ := v.Post(t, code, "/comment?id="+id, ct, body)
		return status, page
	}
	if status, page := commentAs(nil, code, spam, "同意"); status != http.StatusNotFound || !strings.Contains(page, "没有找到该留言") {
		t.Fatalf("comment on a rejected message: %d %s", status, page)
	}
	if status, _ := commentAs(nil, h.Code(1), first, "同意"); status != http.StatusNotFound {
		t.Fatalf("comment through another code: %d", status)
	}
	if status, page := commentAs(nil, code, first, " "); status != http.StatusBadRequest || !strings.Contains(page, "请填写评论内容") {
		t.Fatalf("empty comment: %d %s", status, page)
	}
	if status, page := commentAs(nil, code, first, strings.Repeat("长", 201)); status != http.StatusBadRequest || !strings.Contains(page, "评论不能超过 200 个字") {
		t.Fatalf("long comment: %d %s", status, page)
	}
	if n := len(records("comments")); n != 0 {
		t.Fatalf("%d comments after refusals", n)
	}
	status, page = commentAs(nil, code, first, "同感，昨晚也是黑的。")
	if status != http.StatusCreated || !strings.Contains(page, "审核通过后") {
		t.Fatalf("tourist comment: %d %s", status, page)
	}
	comment1 := between(page, `<span id="comment-id">`, "<")
	status, page = commentAs(citizen, code, first, "我家电话 139xxxx")
	if status != http.StatusCreated {
		t.Fatalf("citizen comment: %d %s", status, page)
	}
	comment2 := between(page, `<span id="comment-id">`, "<")
	if _, page = h.Get(t, code, "/"); strings.Contains(page, "同感") || !strings.Contains(page, "/comment?id="+first) {
		t.Fatalf("a pending comment is public, or no comment form: %s", page)
	}

	// The staff review comments, once each.
	if list = admin("GET", "/comments", ""); list["total"] != 2.0 || list["items"].([]any)[0].(map[string]any)["id"] != comment1 {
		t.Fatalf("comment queue: %v", list)
	}
	if out := admin("POST", "/comments/review", `{"id":"`+comment1+`","approve":true}`); out["status"] != statusPublished {
		t.Fatalf("publish comment: %v", out)
	}
	if out := admin("POST", "/comments/review", `{"id":"`+comment2+`","approve":false,"reason":"含个人信息"}`); out["status"] != statusRejected {
		t.Fatalf("reject comment: %v", out)
	}
	if out, err := h.AdminErr("POST", "/comments/review", `{"id":"`+comment1+`","approve":false,"reason":"x"}`); err == nil ||
		!strings.Contains(err.Error()+out, "该评论已审核") {
		t.Fatalf("second comment review: %v %s", err, out)
	}
	_, page = h.Get(t, code, "/")
	if item := between(page, `<li id="m-`+first+`">`, "</li>"); !strings.Contains(item, "同感，昨晚也是黑的。") || strings.Contains(page, "139xxxx") ||
		!strings.Contains(item, `评论（<span class="comment-total">1</span>）`) {
		t.Fatalf("landing with comments: %s", page)
	}
	if list = admin("GET", "/comments?status=全部&message="+first, ""); list["total"] != 2.0 {
		t.Fatalf("comments of a message: %v", list)
	}

	// Search: q still takes the status; keyword, status, code and dates.
	if list = admin("GET", "/messages?status=全部&keyword=路灯&code="+code, ""); list["total"] != 1.0 ||
		list["items"].([]any)[0].(map[string]any)["id"] != first || list["items"].([]any)[0].(map[string]any)["comments"] != 1.0 {
		t.Fatalf("keyword search: %v", list)
	}
	if list = admin("GET", "/messages?q=已拒绝&keyword=红包", ""); list["total"] != 1.0 || list["truncated"] != false {
		t.Fatalf("keyword and q: %v", list)
	}
	if list = admin("GET", "/messages?status=全部&to=2020-01-01", ""); list["total"] != 0.0 {
		t.Fatalf("dates: %v", list)
	}
	if out, err := h.AdminErr("GET", "/messages?status=全部&from=2026-13-01", ""); err == nil || !strings.Contains(err.Error()+out, "YYYY-MM-DD") {
		t.Fatalf("bad date: %v %s", err, out)
	}

	// The exports: every message and comment, oldest first, authors masked.
	file := filepath.Join(t.TempDir(), "messages.xlsx")
	h.CLI(t, "plugin", "records", "guestbook", "messages", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("留言")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "留言对象", "留言内容", "状态", "留言人标识", "留言人", "点赞数", "评论数", "审核人", "审核时间", "审核意见"}
	if len(rows) != 4 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	if r := rows[1]; r[0] != first || r[1] != code || r[4] != "演示设施 1 号" || r[5] != "步道的路灯晚上不亮，请修理。" || r[6] != statusPublished ||
		r[7] != "" || r[9] != "2" || r[10] != "1" || r[11] != "cli" {
		t.Fatalf("export row: %q", r)
	}
	if r := rows[2]; r[0] != second || r[7] != "v********" || r[8] != "张*" || r[9] != "0" || r[10] != "0" {
		t.Fatalf("export second row: %q", r)
	}
	if r := rows[3]; r[0] != spam || r[6] != statusRejected || len(r) < 14 || r[13] != "广告" {
		t.Fatalf("export third row: %q", r)
	}
	file = filepath.Join(t.TempDir(), "comments.xlsx")
	h.CLI(t, "plugin", "records", "guestbook", "comments", "--export", file)
	if wb, err = excelize.OpenFile(file); err != nil {
		t.Fatal(err)
	}
	if rows, err = wb.GetRows("评论"); err != nil {
		t.Fatal(err)
	}
	wantHeader = []string{"编号", "码", "创建时间", "更新时间", "留言编号", "留言对象", "评论内容", "状态", "评论人标识", "评论人", "审核人", "审核时间", "审核意见"}
	if len(rows) != 3 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("comments export: %q", rows)
	}
	if r := rows[1]; r[0] != comment1 || r[1] != code || r[4] != first || r[6] != "同感，昨晚也是黑的。" || r[7] != statusPublished || r[8] != "" {
		t.Fatalf("comments export row: %q", r)
	}
	if r := rows[2]; r[0] != comment2 || r[7] != statusRejected || r[8] != "v********" || r[9] != "张*" || len(r) < 13 || r[12] != "含个人信息" {
		t.Fatalf("comments export second row: %q", r)
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
