package main

import (
	"bytes"
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
// database (skipped without DATABASE_URL): a tourist's scan and text
// check-in, a video refused where the spot allows only text and photos,
// the staff's spot settings allowing video on another spot, a citizen's
// video check-in shown and served, bad and oversize input refused with
// nothing stored, likes (tourists refused, once per citizen), the staff's
// search and take-down, the admin routes refused outside the console,
// and the export. The steps run in order.
func TestInTheHost(t *testing.T) {
	t.Parallel()
	h := plugintest.Start(t, plugintest.Options{Config: `{"title":"城市景点打卡","hours":"全天开放","modes":["text","photo"]}`})
	spotA, spotB := h.Code(0), h.Code(1)
	records := func(collection string) []plugin.Record {
		t.Helper()
		var out []plugin.Record
		for _, line := range strings.Split(strings.TrimSpace(h.CLI(t, "plugin", "records", "scenic", collection)), "\n") {
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
	type poster func(testing.TB, string, string, string, *bytes.Reader) (int, string, http.Header)
	checkIn := func(post poster, code string, fields url.Values, media []byte) (int, string) {
		t.Helper()
		ct, body := multipartBody(fields, media)
		status, page, _ := post(t, code, "/checkin", ct, bytes.NewReader(body))
		return status, page
	}
	tourist := func(tb testing.TB, code, path, ct string, body *bytes.Reader) (int, string, http.Header) {
		return h.Post(tb, code, path, ct, body)
	}

	// The scan: the code's name, the platform's defaults, text and photo.
	status, page := h.Get(t, spotA, "/")
	for _, want := range []string{"城市景点打卡", "<h1>演示设施 1 号</h1>", "<dd>全天开放</dd>", `<dd id="modes">文字、图片</dd>`,
		`accept="image/jpeg,image/png,image/webp,image/gif"`, `id="empty"`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("landing lacks %q: %d %s", want, status, page)
		}
	}

	// A tourist's text check-ins, published at once; a video refused.
	status, page = checkIn(tourist, spotA, url.Values{"text": {"江景开阔，傍晚最美。"}}, nil)
	if status != http.StatusCreated || !strings.Contains(page, "您的打卡已在景点页面展示") {
		t.Fatalf("tourist check-in: %d %s", status, page)
	}
	first := between(page, `<span id="post-id">`, "<")
	_, page = checkIn(tourist, spotA, url.Values{"text": {"周末人有点多"}}, nil)
	second := between(page, `<span id="post-id">`, "<")
	if status, page = checkIn(tourist, spotA, url.Values{"text": {"录了一段"}}, mp4Bytes(4096)); status != http.StatusBadRequest ||
		!strings.Contains(page, "本景点不支持视频打卡，仅支持文字、图片打卡") {
		t.Fatalf("video where not allowed: %d %s", status, page)
	}

	// The staff allow photos and videos only on the second spot.
	out := admin("PUT", "/spots", `{"code":"`+h.URL+`/c/`+spotB+`","name":"滨江观景台","intro":"黄浦江畔的观景平台","address":"滨江大道 1 号","modes":["video","photo"]}`)
	if out["code"] != spotB || out["modeNames"] != "图片、视频" || out["updatedBy"] != "cli" {
		t.Fatalf("spot settings: %v", out)
	}
	if _, err := h.AdminErr("PUT", "/spots", `{"code":"`+spotB+`","modes":["audio"]}`); err == nil || !strings.Contains(err.Error(), "未知的打卡方式") {
		t.Fatalf("bad modes: %v", err)
	}
	citizen := h.Login(t, plugintest.Person{Name: "张三", CertNo: residentID("31010419800303345"), Mobile: "13900000002"})
	citizen.Authorize(t)
	asCitizen := func(tb testing.TB, code, path, ct string, body *bytes.Reader) (int, string, http.Header) {
		return citizen.Post(tb, code, path, ct, body)
	}
	if status, page = checkIn(asCitizen, spotB, url.Values{"text": {"只写几句"}}, nil); status != http.StatusBadRequest ||
		!strings.Contains(page, "本景点须上传图片或视频打卡") {
		t.Fatalf("text where media is required: %d %s", status, page)
	}
	// A phone's short video of 4 MB: the body reaches the WASM guest apart
	// from the request's JSON (ABI 1.1), well within the call deadline.
	status, page = checkIn(asCitizen, spotB, url.Values{"text": {"夜景灯光秀"}}, mp4Bytes(4<<20))
	if status != http.StatusCreated {
		t.Fatalf("video check-in: %d %s", status, page)
	}
	third := between(page, `<span id="post-id">`, "<")
	status, page = h.Get(t, spotB, "/")
	if status != 200 || !strings.Contains(page, "<h1>滨江观景台</h1>") || !strings.Contains(page, "<dd>滨江大道 1 号</dd>") ||
		!strings.Contains(page, "张* · ") || !strings.Contains(page, `<video src="`+h.URL+"/plugin-files/") || strings.Contains(page, "江景开阔") {
		t.Fatalf("second spot: %d %s", status, page)
	}
	if resp, err := http.Get(between(page, `<video src="`, `"`)); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("video file: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}

	// Bad input: refused with a Chinese message, nothing stored.
	for _, tc := range []struct {
		name    string
		fields  url.Values
		media   []byte
		status  int
		message string
	}{
		{"empty", url.Values{"text": {" "}}, nil, 400, "请填写打卡描述"},
		{"NUL", url.Values{"text": {"a\x00b"}}, nil, 400, "无效字符"},
		{"hidden field", url.Values{"text": {"x"}, "author": {"v123"}}, nil, 400, "未知的表单字段：author"},
		{"not an image", url.Values{"text": {"x"}}, []byte("%PDF-1.4 document"), 400, "照片须为"},
		// Over the plugin's 5 MB it refuses; past the host's 6 MB the
		// plugin is not even called.
		{"over 5 MB", url.Values{"text": {"x"}}, pngBytes(5<<20 + 1), 400, "不能超过 5 MB"},
		{"oversize", url.Values{"text": {"x"}}, pngBytes(6 << 20), 413, ""},
	} {
		if status, page := checkIn(tourist, spotA, tc.fields, tc.media); status != tc.status || !strings.Contains(page, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, page)
		}
	}
	if n := len(records("posts")); n != 3 {
		t.Fatalf("%d check-ins after bad input, want 3", n)
	}

	// The landing page: newest first.
	_, page = h.Get(t, spotA, "/")
	if i, j := strings.Index(page, "周末人有点多"), strings.Index(page, "江景开阔"); i < 0 || j < i || !strings.Contains(page, "大家的打卡（2）") {
		t.Fatalf("landing order: %s", page)
	}

	// Likes: tourists are sent to log in; a citizen likes once.
	like := func(post poster, id string) (int, string, http.Header) {
		return post(t, spotA, "/like?id="+id, "application/x-www-form-urlencoded", bytes.NewReader(nil))
	}
	if status, page, _ := like(tourist, first); status != http.StatusUnauthorized || !strings.Contains(page, "登录") {
		t.Fatalf("tourist like: %d %s", status, page)
	}
	if status, page, hdr := like(asCitizen, first); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+spotA+"/post?id="+first) {
		t.Fatalf("like: %d %v %s", status, hdr, page)
	}
	if status, page, _ := like(asCitizen, first); status != http.StatusConflict || !strings.Contains(page, "您已经赞过这条打卡") {
		t.Fatalf("second like: %d %s", status, page)
	}
	if status, _, _ := like(asCitizen, third); status != http.StatusNotFound {
		t.Fatalf("like of another spot's check-in through this spot: %d", status)
	}
	neighbour := h.Login(t, plugintest.Person{Name: "李四", CertNo: residentID("31010419920202234"), Mobile: "13800000002"})
	if status, page, _ := like(func(tb testing.TB, code, path, ct string, body *bytes.Reader) (int, string, http.Header) {
		return neighbour.Post(tb, code, path, ct, body)
	}, first); status != http.StatusSeeOther {
		t.Fatalf("neighbour's like: %d %s", status, page)
	}
	if _, page = h.Get(t, spotA, "/post?id="+first); !strings.Contains(page, `<span class="likes">2</span>`) || !strings.Contains(page, "江景开阔") {
		t.Fatalf("detail: %s", page)
	}

	// The staff's search, and a take-down.
	for q, want := range map[string]float64{"": 3, "status:已发布": 3, "江景": 1, "mode:视频": 1, "code:" + spotB: 1, "code:" + spotA + " 夜景": 0} {
		if list := admin("GET", "/posts?q="+url.QueryEscape(q), ""); list["total"] != want {
			t.Errorf("q %q: %v", q, list)
		}
	}
	if out := admin("POST", "/posts/review", `{"id":"`+second+`","approve":false,"reason":"与景点无关"}`); out["status"] != statusTakenDown {
		t.Fatalf("take down: %v", out)
	}
	if _, page = h.Get(t, spotA, "/"); strings.Contains(page, "周末人有点多") || !strings.Contains(page, "大家的打卡（1）") {
		t.Fatalf("landing after take-down: %s", page)
	}
	if _, err := h.AdminErr("POST", "/posts/review", `{"id":"`+second+`","approve":true}`); err == nil || !strings.Contains(err.Error(), "已下架") {
		t.Fatalf("publish after take-down: %v", err)
	}

	// The admin routes are the console's: not reachable without an
	// operator's session, nor as a landing page.
	resp, err := http.Get(h.URL + "/console/plugins/scenic/admin/posts")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("console without a session: %v %v", err, resp)
	}
	resp.Body.Close()
	if status, _, _ := asCitizen(t, spotA, "/posts/review", "application/json", bytes.NewReader([]byte(`{"id":"`+first+`","approve":false,"reason":"x"}`))); status != http.StatusNotFound {
		t.Fatalf("review through a landing path: %d", status)
	}

	// The export: every check-in, oldest first, authors masked.
	file := filepath.Join(t.TempDir(), "posts.xlsx")
	h.CLI(t, "plugin", "records", "scenic", "posts", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("打卡内容")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"编号", "码", "创建时间", "更新时间", "景点", "打卡描述", "打卡方式", "图片或视频", "文件类型", "状态", "打卡人标识", "打卡人",
		"点赞数", "审核人", "审核时间", "审核意见"}
	if len(rows) != 4 || strings.Join(rows[0], "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("export: %q", rows)
	}
	if r := rows[1]; r[0] != first || r[1] != spotA || r[4] != "演示设施 1 号" || r[5] != "江景开阔，傍晚最美。" || r[6] != "文字" ||
		r[9] != statusPublished || r[10] != "" || r[12] != "2" {
		t.Fatalf("export row: %q", r)
	}
	if r := rows[2]; r[0] != second || r[9] != statusTakenDown || r[13] != "cli" || len(r) < 16 || r[15] != "与景点无关" {
		t.Fatalf("export second row: %q", r)
	}
	if r := rows[3]; r[0] != third || r[4] != "滨江观景台" || r[6] != "视频" || !strings.HasPrefix(r[7], h.URL+"/plugin-files/") ||
		r[8] != "video/mp4" || r[10] != "v********" || r[11] != "张*" {
		t.Fatalf("export third row: %q", r)
	}
	if spots := records("spots"); len(spots) != 1 || spots[0].ID != spotB || !strings.Contains(string(spots[0].Doc), `"modes":["photo","video"]`) {
		t.Fatalf("spots: %+v", spots)
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
