package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry agree: the spot, its check-ins and
// checking in are open to tourists, liking needs a login, the operator
// routes are the admin ones; authors and likers are personal data.
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
		if r.Tourist != (h.access == anyone) || (r.Kind == plugin.Admin) != (h.access == operator) {
			t.Errorf("route %s: kind %s, tourist %v, access %d", r.Name, r.Kind, r.Tourist, h.access)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	if routes["like"].access != login || m.Runtime != plugin.WASM || m.Entry != "scenic.wasm" {
		t.Errorf("like %d, runtime %s, entry %s", routes["like"].access, m.Runtime, m.Entry)
	}
	personal := map[string]bool{}
	for _, c := range m.Collections {
		for _, f := range c.Fields {
			personal[c.Name+"."+f.Name] = f.Personal
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
		}
	}
	if !personal["posts.author"] || !personal["posts.authorName"] || !personal["likes.visitor"] || personal["posts.text"] {
		t.Errorf("personal fields %v", personal)
	}
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if !plugin.IsCode(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want %s %q", err, code, msg)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != defaultTitle || strings.Join(c.Modes, ",") != "text,photo,video" || c.Review || !*c.TouristPosts {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if c, err = loadConfig(json.RawMessage(`{"modes":["video","text"],"review":true,"touristPosts":false}`)); err != nil ||
		strings.Join(c.Modes, ",") != "video,text" || !c.Review || *c.TouristPosts {
		t.Fatalf("configured: %+v %v", c, err)
	}
	for _, raw := range []string{`{"title":3}`, `{"modes":["audio"]}`} {
		if _, err := loadConfig(json.RawMessage(raw)); !plugin.IsCode(err, plugin.ErrInternal) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

var (
	photo = &plugin.Image{Name: "media.png", ContentType: "image/png", Data: pngBytes(10)}
	video = &plugin.Image{Name: "media.mp4", ContentType: "video/mp4", Data: mp4Bytes(10)}
)

func TestCheckPost(t *testing.T) {
	all := []string{modeText, modePhoto, modeVideo}
	for _, tc := range []struct {
		name      string
		form      url.Values
		media     *plugin.Image
		modes     []string
		mode, msg string // msg: the refusal, or "" when accepted
		code      string
	}{
		{"text", url.Values{"text": {"  湖光山色 \n"}}, nil, all, modeText, "", ""},
		{"photo without text", url.Values{}, photo, all, modePhoto, "", ""},
		{"video", url.Values{"text": {"好看"}}, video, all, modeVideo, "", ""},
		{"empty", url.Values{"text": {" "}}, nil, all, "", "请填写打卡描述", "MissingParameter"},
		{"video not allowed", url.Values{"text": {"x"}}, video, []string{modeText, modePhoto}, "", "本景点不支持视频打卡，仅支持文字、图片打卡", plugin.ErrInvalid},
		{"photo not allowed", url.Values{}, photo, []string{modeText}, "", "不支持图片打卡", plugin.ErrInvalid},
		{"photo required", url.Values{"text": {"只有文字"}}, nil, []string{modePhoto}, "", "本景点须上传图片打卡", "MissingParameter"},
		{"media required", url.Values{}, nil, []string{modePhoto, modeVideo}, "", "须上传图片或视频打卡", "MissingParameter"},
		{"too long", url.Values{"text": {strings.Repeat("景", 501)}}, nil, all, "", "不能超过 500 个字", plugin.ErrInvalid},
		{"NUL", url.Values{"text": {"a\x00b"}}, nil, all, "", "无效字符", plugin.ErrInvalid},
		{"hidden field", url.Values{"text": {"a"}, "author": {"v1"}}, nil, all, "", "未知的表单字段：author", plugin.ErrInvalid},
		{"twice", url.Values{"text": {"a", "b"}}, nil, all, "", "只能填写一次", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, mode, err := checkPost(tc.form, tc.media, tc.modes)
			if tc.msg == "" {
				if err != nil || mode != tc.mode {
					t.Fatalf("mode %q, %v", mode, err)
				}
				return
			}
			wantCode(t, err, tc.code, tc.msg)
		})
	}
}

func TestReadSpot(t *testing.T) {
	in, err := readSpot([]byte(`{"code":" http://city.test/c/tok1 ","name":" 豫园 ","modes":["photo","text","photo2"]}`))
	wantCode(t, err, plugin.ErrInvalid, "未知的打卡方式：photo2")
	in, err = readSpot([]byte(`{"code":"tok1","name":"豫园","intro":"江南园林\n明代","modes":["video","text"],"cover":"https://city.test/plugin-files/f1"}`))
	if err != nil || in.Name != "豫园" || strings.Join(in.Modes, ",") != "text,video" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, tc := range []struct{ body, code, msg string }{
		{`{"name":"x"}`, "MissingParameter", "请提供景点的码"},
		{`{"code":"t","modes":[]}`, "MissingParameter", "至少选择一种"},
		{`{"code":"t","modes":["text","text"]}`, plugin.ErrInvalid, "重复"},
		{`{"code":"t","name":"` + strings.Repeat("园", 41) + `"}`, plugin.ErrInvalid, "景点名称不能超过 40 个字"},
		{`{"code":"t","hours":"9:00\u0000"}`, plugin.ErrInvalid, "开放时间含有无效字符"},
		{`{"code":"t","name":"a\nb"}`, plugin.ErrInvalid, "景点名称含有无效字符"},
		{`{"code":"t","cover":"javascript:alert(1)"}`, plugin.ErrInvalid, "封面图片地址须为"},
		{`{"code":"t","updatedBy":"boss"}`, plugin.ErrInvalid, "请求体须为 JSON"},
		{`{"code":"t","owner":"x"}`, plugin.ErrInvalid, "请求体须为 JSON"},
	} {
		_, err := readSpot([]byte(tc.body))
		wantCode(t, err, tc.code, tc.msg)
	}
}

func TestSpotOf(t *testing.T) {
	cfg, _ := loadConfig(json.RawMessage(`{"hours":"全天开放","address":"默认地址","modes":["text"]}`))
	code := &plugin.Code{Token: "tok1", Name: "码名", Attributes: json.RawMessage(`{"名称":"城隍庙","address":"方浜中路 249 号","cover":"http://city.test/f/1.png"}`)}
	sp := spotOf(code, settings{}, cfg, "http://city.test/c/tok1")
	if sp.Name != "城隍庙" || sp.Address != "方浜中路 249 号" || sp.Hours != "全天开放" || !sp.CoverLocal || strings.Join(sp.Modes, ",") != "text" {
		t.Fatalf("attributes over config: %+v", sp)
	}
	sp = spotOf(code, settings{Name: "豫园", Cover: "https://elsewhere.example/a.jpg", Modes: []string{"photo"}}, cfg, "http://city.test/c/tok1")
	if sp.Name != "豫园" || sp.CoverLocal || strings.Join(sp.Modes, ",") != "photo" {
		t.Fatalf("settings over attributes: %+v", sp)
	}
	if sp = spotOf(&plugin.Code{}, settings{}, cfg, ""); sp.Name != "景点" {
		t.Fatalf("bare: %+v", sp)
	}
}

func TestParseSearch(t *testing.T) {
	s, err := parseSearch("湖景 code:http://city.test/c/tok1 status:已发布 mode:video from:2026-05-01 to:2026-05-31 Sunset")
	if err != nil || s.query.CodeToken != "tok1" || s.query.Where["status"] != statusPublished || s.query.Where["mode"] != "视频" ||
		!s.query.From.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, cst)) || !s.query.To.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, cst)) ||
		strings.Join(s.keywords, "|") != "湖景|sunset" {
		t.Fatalf("%+v %v", s, err)
	}
	if !s.matches("夕阳下的湖景 SUNSET") || s.matches("湖景") {
		t.Fatal("matches")
	}
	for _, tc := range []struct{ q, msg string }{
		{"status:审核中", "status 须为"}, {"mode:audio", "mode 须为"}, {"from:2026/05/01", "from 须为日期"},
		{"from:2026-05-02 to:2026-05-01", "from 不能晚于 to"}, {"owner:x", "未知的筛选条件：owner"}, {"code:", "键:值"},
	} {
		_, err := parseSearch(tc.q)
		wantCode(t, err, plugin.ErrInvalid, tc.msg)
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		from    string
		approve bool
		to      string
	}{
		{statusPending, true, statusPublished}, {statusPending, false, statusRejected}, {statusPublished, false, statusTakenDown},
		{statusPublished, true, ""}, {statusRejected, true, ""}, {statusTakenDown, true, ""}, {statusTakenDown, false, ""},
	} {
		got, err := decide(tc.from, tc.approve)
		if got != tc.to || (tc.to == "") != plugin.IsCode(err, "FailedOperation.AlreadyReviewed") {
			t.Errorf("%s %v: %q %v", tc.from, tc.approve, got, err)
		}
	}
}

// A like's id fits the host's record ids for the host's post ids and
// pseudonyms, and post ids cannot forge one: they hold no ':'.
func TestLikeID(t *testing.T) {
	if id := likeID("r0193a1b2c3d4e5f60718293a4b5c6d7e", "v0123456789abcdef01234567"); len(id) > 64 || strings.Count(id, ":") != 1 {
		t.Fatalf("like id %q", id)
	}
	if postIDRe.MatchString("r1:v2") || !postIDRe.MatchString("r0193a1b2c3d4e5f60718293a4b5c6d7e") {
		t.Fatal("post ids")
	}
}

// The flows, through the handler over the sdk's fake host.

type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	config string
	code   plugin.Code
	routes map[string]plugin.Route
}

var (
	tourist = plugin.Visitor{Tourist: true}
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*"}
	other   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"}
)

func newBench(t *testing.T, config string) *bench {
	m := plugintest.Manifest(t)
	b := &bench{t: t, config: config, now: time.Date(2026, 5, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(m)
	b.host.Clock = func() time.Time { return b.now }
	for _, r := range m.Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-yuyuan", Kind: "object", Status: "active", Name: "豫园",
		Attributes: json.RawMessage(`{"name":"豫园","openingHours":"09:00-16:30","address":"安仁街 218 号"}`)}
	b.host.SetObject(b.code)
	return b
}

func (b *bench) call(route string, v plugin.Visitor, query url.Values, ctype string, body []byte) (*plugin.Response, error) {
	b.t.Helper()
	r := b.routes[route]
	code := b.code
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{"Content-Type": ctype}, Body: body, PlatformID: "P0001", Code: &code, Visitor: v,
		Config: json.RawMessage(b.config), BaseURL: "http://city.test/c/" + code.Token}
	if r.Kind == plugin.Admin {
		req.Code, req.Visitor, req.Operator = nil, tourist, &plugin.Operator{Account: "staff1", PlatformID: "P0001"}
	}
	h := handler{now: func() time.Time { return b.now }}
	return h.Handle(context.Background(), b.host.Host(req.ID), req)
}

func (b *bench) admin(route, q, body string) (map[string]any, error) {
	b.t.Helper()
	resp, err := b.call(route, tourist, url.Values{"q": {q}}, "application/json", []byte(body))
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("%s answered %s", route, resp.Body)
	}
	return out, nil
}

func multipartBody(fields url.Values, media []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if media != nil {
		w, _ := mw.CreateFormFile("media", "clip")
		_, _ = w.Write(media)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func pngBytes(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...) }

// mp4Bytes starts an ISO media file (an ftyp box of brand mp42) as
// browsers sniff it.
func mp4Bytes(n int) []byte {
	return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, n)...)
}

// checkIn posts a check-in and answers its id, or the refusal.
func (b *bench) checkIn(v plugin.Visitor, text string, media []byte) (string, error) {
	b.t.Helper()
	ct, body := multipartBody(url.Values{"text": {text}}, media)
	resp, err := b.call("checkin", v, nil, ct, body)
	if err != nil {
		return "", err
	}
	if resp.Status != 201 {
		b.t.Fatalf("check-in answered %d", resp.Status)
	}
	return between(string(resp.Body), `<span id="post-id">`, "<"), nil
}

func (b *bench) doc(id string) post {
	rec, ok := b.host.Record("posts", id)
	if !ok {
		b.t.Fatalf("no post %s", id)
	}
	var p post
	_ = json.Unmarshal(rec.Doc, &p)
	return p
}

func TestCheckInFlow(t *testing.T) {
	b := newBench(t, "")
	resp, err := b.call("home", tourist, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>豫园</h1>", "<dt>开放时间</dt><dd>09:00-16:30</dd>", `<dd id="modes">文字、图片、视频</dd>`,
		`enctype="multipart/form-data"`, `accept="image/jpeg,image/png,image/webp,image/gif,video/mp4,video/webm"`, `id="empty"`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("landing lacks %q", want)
		}
	}
	first, err := b.checkIn(tourist, "九曲桥人很多", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(time.Minute)
	second, err := b.checkIn(citizen, "湖心亭的茶不错", pngBytes(100))
	if err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(time.Minute)
	third, err := b.checkIn(other, "", mp4Bytes(100))
	if err != nil {
		t.Fatal(err)
	}
	if p := b.doc(first); p.Status != statusPublished || p.Author != "" || p.Mode != "文字" || p.Spot != "豫园" {
		t.Fatalf("tourist's %+v", p)
	}
	if p := b.doc(second); p.Author != citizen.Pseudonym || p.AuthorName != "张*" || p.Mode != "图片" || p.MediaType != "image/png" ||
		!strings.HasPrefix(p.Media, "http://city.test/plugin-files/") {
		t.Fatalf("citizen's %+v", p)
	}
	if p := b.doc(third); p.Mode != "视频" || p.MediaType != "video/mp4" || len(b.host.Files) != 2 || b.host.Files[1].ContentType != "video/mp4" {
		t.Fatalf("video %+v, files %d", p, len(b.host.Files))
	}
	if len(b.host.Events) != 3 || b.host.Events[0].Name != "checkin.posted" {
		t.Fatalf("events %+v", b.host.Events)
	}
	resp, _ = b.call("home", tourist, nil, "", nil)
	page := string(resp.Body)
	i, j, k := strings.Index(page, `id="p-`+third), strings.Index(page, "湖心亭"), strings.Index(page, "九曲桥")
	if i < 0 || i > j || j > k || !strings.Contains(page, "大家的打卡（3）") || !strings.Contains(page, `<video src="http://city.test/plugin-files/f2"`) ||
		!strings.Contains(page, "张* · 2026-05-03 09:31 · 图片") || !strings.Contains(page, "游客 · ") {
		t.Fatalf("landing after check-ins: %s", page)
	}

	// Likes: a tourist is refused, a citizen likes once.
	_, err = b.call("like", tourist, url.Values{"id": {first}}, "", nil)
	wantCode(t, err, "UnauthorizedOperation", "点赞需登录")
	resp, err = b.call("like", citizen, url.Values{"id": {first}}, "", nil)
	if err != nil || resp.Status != 303 || resp.Header["Location"] != "http://city.test/c/tok-yuyuan/post?id="+first {
		t.Fatalf("like: %v %+v", err, resp)
	}
	_, err = b.call("like", citizen, url.Values{"id": {first}}, "", nil)
	wantCode(t, err, "FailedOperation.AlreadyLiked", "您已经赞过")
	if _, err = b.call("like", other, url.Values{"id": {first}}, "", nil); err != nil {
		t.Fatal(err)
	}
	if p := b.doc(first); p.Likes != 2 || len(b.host.Records("likes")) != 2 {
		t.Fatalf("likes %d", p.Likes)
	}
	resp, err = b.call("post", tourist, url.Values{"id": {first}}, "", nil)
	if err != nil || !strings.Contains(string(resp.Body), `<span class="likes">2</span>`) {
		t.Fatalf("detail: %v %s", err, resp.Body)
	}
	// Another code's check-in is not found through this code.
	b.code.Token = "tok-other"
	_, err = b.call("like", other, url.Values{"id": {second}}, "", nil)
	wantCode(t, err, plugin.ErrNotFound, "没有找到")
	_, err = b.call("post", tourist, url.Values{"id": {second}}, "", nil)
	wantCode(t, err, plugin.ErrNotFound, "没有找到")
}

func TestRefusalsStoreNothing(t *testing.T) {
	b := newBench(t, `{"modes":["text","photo"]}`)
	for _, tc := range []struct {
		name, text string
		media      []byte
		code, msg  string
	}{
		{"video not allowed", "看视频", mp4Bytes(100), plugin.ErrInvalid, "本景点不支持视频打卡，仅支持文字、图片打卡"},
		{"oversize photo", "大图", pngBytes(maxMedia), plugin.ErrInvalid, "不能超过 5 MB"},
		{"not an image", "文档", []byte("%PDF-1.4 a document"), plugin.ErrInvalid, "照片须为"},
		{"empty", "", nil, "MissingParameter", "请填写打卡描述"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.checkIn(citizen, tc.text, tc.media)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
	_, err := b.call("checkin", citizen, nil, "application/json", []byte(`{"text":"x"}`))
	wantCode(t, err, plugin.ErrInvalid, "请以表单")
	if n := len(b.host.Records("posts")); n != 0 || len(b.host.Files) != 0 || len(b.host.Events) != 0 {
		t.Fatalf("%d posts, %d files, %d events after refusals", n, len(b.host.Files), len(b.host.Events))
	}
	// Admin routes refuse a call that is not the console's.
	for _, name := range []string{"admin-posts", "admin-review", "admin-spot"} {
		r := b.routes[name]
		code := b.code
		_, err := handler{now: time.Now}.Handle(context.Background(), b.host.Host("q9"), &plugin.Request{ID: "q9", Route: name,
			Kind: plugin.Action, Method: r.MethodOrGET(), Code: &code, Visitor: citizen, Body: []byte(`{"code":"tok-yuyuan","modes":["video"]}`)})
		wantCode(t, err, "UnauthorizedOperation", "仅限平台工作人员")
	}
	if len(b.host.Records("spots")) != 0 {
		t.Fatal("spot settings stored by a citizen")
	}
	// Tourists may be kept from posting.
	b.config = `{"touristPosts":false}`
	_, err = b.checkIn(tourist, "游客打卡", nil)
	wantCode(t, err, "UnauthorizedOperation", "打卡需登录")
	if resp, _ := b.call("home", tourist, nil, "", nil); !strings.Contains(string(resp.Body), `id="login-to-post"`) {
		t.Fatal("the form is offered to tourists")
	}
}

func TestSpotSettings(t *testing.T) {
	b := newBench(t, "")
	out, err := b.admin("admin-spot", "", `{"code":"http://city.test/c/tok-yuyuan","name":"豫园（东门）","intro":"明代江南园林","modes":["photo"]}`)
	if err != nil || out["code"] != "tok-yuyuan" || out["modeNames"] != "图片" {
		t.Fatalf("set: %v %v", out, err)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "spot.update" || b.host.Audits[0].Target != "spot:tok-yuyuan" {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	resp, _ := b.call("home", tourist, nil, "", nil)
	for _, want := range []string{"<h1>豫园（东门）</h1>", "明代江南园林", "<dt>地址</dt><dd>安仁街 218 号</dd>", `<dd id="modes">图片</dd>`,
		`accept="image/jpeg,image/png,image/webp,image/gif"`, "图片（必选）"} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("landing lacks %q", want)
		}
	}
	_, err = b.checkIn(citizen, "只写字", nil)
	wantCode(t, err, "MissingParameter", "本景点须上传图片打卡")
	_, err = b.checkIn(citizen, "", mp4Bytes(10))
	wantCode(t, err, plugin.ErrInvalid, "不支持视频打卡")
	if _, err = b.checkIn(citizen, "", pngBytes(10)); err != nil {
		t.Fatal(err)
	}
	// Unknown codes, and another operator's save in between.
	_, err = b.admin("admin-spot", "", `{"code":"tok-nowhere","name":"x"}`)
	wantCode(t, err, plugin.ErrNotFound, "本平台没有这个码")
	b.host.BeforePut = func(r plugin.Record) {
		b.host.BeforePut = nil
		rec, _ := b.host.Record("spots", "tok-yuyuan")
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	_, err = b.admin("admin-spot", "", `{"code":"tok-yuyuan","modes":["text"]}`)
	wantCode(t, err, "FailedOperation.Changed", "刚被其他工作人员修改")
}

func TestReviewAndSearch(t *testing.T) {
	b := newBench(t, `{"review":true}`)
	first, _ := b.checkIn(citizen, "荷花池 Lotus 很美", pngBytes(10))
	b.now = b.now.AddDate(0, 0, 2)
	second, _ := b.checkIn(tourist, "人太多了", nil)
	if resp, _ := b.call("home", tourist, nil, "", nil); !strings.Contains(string(resp.Body), `id="empty"`) {
		t.Fatal("a pending check-in is public")
	}
	_, err := b.call("like", citizen, url.Values{"id": {first}}, "", nil)
	wantCode(t, err, plugin.ErrNotFound, "没有找到")
	for _, tc := range []struct {
		q     string
		total float64
	}{
		{"", 2}, {"status:待审核", 2}, {"lotus", 1}, {"荷花池 很美", 1}, {"荷花池 人太多", 0}, {"mode:图片", 1},
		{"from:2026-05-05", 1}, {"to:2026-05-03", 1}, {"code:tok-other", 0}, {"code:tok-yuyuan 人太多", 1},
	} {
		out, err := b.admin("admin-posts", tc.q, "")
		if err != nil || out["total"] != tc.total {
			t.Errorf("q %q: %v %v", tc.q, out, err)
		}
	}
	out, _ := b.admin("admin-posts", "", "")
	if item := out["items"].([]any)[1].(map[string]any); item["id"] != first || item["authorName"] != "张*" || item["author"] != nil {
		t.Fatalf("item %v", item)
	}
	// Decisions: publish, reject (with a reason), once each; take down.
	_, err = b.admin("admin-review", "", `{"id":"`+second+`","approve":false}`)
	wantCode(t, err, "MissingParameter", "须填写理由")
	if out, err = b.admin("admin-review", "", `{"id":"`+first+`","approve":true}`); err != nil || out["status"] != statusPublished {
		t.Fatalf("publish: %v %v", out, err)
	}
	if out, err = b.admin("admin-review", "", `{"id":"`+second+`","approve":false,"reason":"无实质内容"}`); err != nil || out["status"] != statusRejected {
		t.Fatalf("reject: %v %v", out, err)
	}
	_, err = b.admin("admin-review", "", `{"id":"`+second+`","approve":true}`)
	wantCode(t, err, "FailedOperation.AlreadyReviewed", "已拒绝")
	if p := b.doc(first); p.Reviewer != "staff1" || p.ReviewedAt != "2026-05-05T09:30:00+08:00" {
		t.Fatalf("stored %+v", p)
	}
	if resp, _ := b.call("home", tourist, nil, "", nil); !strings.Contains(string(resp.Body), "荷花池") || strings.Contains(string(resp.Body), "人太多") {
		t.Fatalf("landing after review: %s", resp.Body)
	}
	if out, err = b.admin("admin-review", "", `{"id":"`+first+`","approve":false,"reason":"含广告"}`); err != nil || out["status"] != statusTakenDown {
		t.Fatalf("take down: %v %v", out, err)
	}
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, ",") != "post.publish,post.reject,post.takedown" {
		t.Fatalf("audits %v", actions)
	}
	_, err = b.admin("admin-review", "", `{"id":"r404","approve":true}`)
	wantCode(t, err, plugin.ErrNotFound, "没有找到")
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
