package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry agree: the citizen routes are open
// to tourists, the operator routes are the admin ones; the reporter's
// fields are personal data.
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
	if m.Runtime != plugin.WASM || m.Entry != "floorguide.wasm" {
		t.Errorf("runtime %s, entry %s", m.Runtime, m.Entry)
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
	if !personal["corrections.reporter"] || !personal["corrections.reporterName"] || !personal["corrections.reporterMobile"] ||
		personal["corrections.description"] {
		t.Errorf("personal fields %v", personal)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || c.Title != defaultTitle || c.Notice != defaultNotice {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if c, err = loadConfig(json.RawMessage(`{"title":"行政服务中心导览"}`)); err != nil || c.Title != "行政服务中心导览" {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if _, err := loadConfig(json.RawMessage(`{"title":3}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if !plugin.IsCode(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want %s with %q", err, code, msg)
	}
}

func TestLevelOf(t *testing.T) {
	for id, want := range map[string]int{"B1": -1, "B3": -3, "1F": 1, "12F": 12, "F3": 3, "L2": 2, "7": 7} {
		if got, ok := levelOf(id); !ok || got != want {
			t.Errorf("%s: %d %v, want %d", id, got, ok, want)
		}
	}
	for _, id := range []string{"RF", "M", "0F", "B0", "B10", "1FF"} {
		if _, ok := levelOf(id); ok {
			t.Errorf("%s has a level", id)
		}
	}
}

// hall is the guide of the tests, floors out of order.
const hall = `{"code":"tok-hall-1","version":0,"building":"徐汇区行政服务中心","floors":[
 {"id":"2F","name":"政务服务大厅","rooms":[{"number":"201","name":"社保窗口","department":"区人社局","hours":"周一至周五 09:00-17:00"},
   {"number":"202","name":"医保窗口","department":"区医保局"}],"areas":[{"name":"等候区","purpose":"取号后在此等候叫号"}]},
 {"id":"b1","name":"停车场","areas":[{"name":"非机动车停放区"}]},
 {"id":"1F","name":"综合受理","rooms":[{"number":"101","name":"综合受理窗口","department":"企业服务"},{"number":"A-102","name":"自助服务区"}]}]}`

func readGuide(t *testing.T, body string) guideInput {
	t.Helper()
	var in guideInput
	if err := readJSON([]byte(body), &in, guideShape); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestCheckGuide(t *testing.T) {
	token, g, err := checkGuide(readGuide(t, hall))
	if err != nil {
		t.Fatal(err)
	}
	if token != "tok-hall-1" || g.FloorCount != 3 || g.RoomCount != 4 || g.Floors[0].ID != "B1" || g.Floors[0].Level != -1 ||
		g.Floors[1].ID != "1F" || g.Floors[2].ID != "2F" || g.Floors[0].Rooms == nil {
		t.Fatalf("%s %+v", token, g)
	}
	with := func(change func(*guideInput)) guideInput {
		in := readGuide(t, hall)
		change(&in)
		return in
	}
	rooms := func(n int) []room {
		var out []room
		for i := range n {
			out = append(out, room{Number: "R" + strings.Repeat("9", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)), Name: "房间"})
		}
		return out
	}
	level := 300
	for _, tc := range []struct {
		name      string
		in        guideInput
		code, msg string
	}{
		{"no code", with(func(in *guideInput) { in.Code = "" }), "MissingParameter", "请用 code"},
		{"bad code", with(func(in *guideInput) { in.Code = "a b" }), plugin.ErrInvalid, "码的格式"},
		{"no floors", with(func(in *guideInput) { in.Floors = nil }), "MissingParameter", "至少设置一个楼层"},
		{"duplicate floor", with(func(in *guideInput) { in.Floors[1].ID = "2f" }), plugin.ErrInvalid, "楼层号 2F 重复"},
		{"duplicate room", with(func(in *guideInput) { in.Floors[0].Rooms[1].Number = "201" }), plugin.ErrInvalid, "楼层 2F的房间号 201 重复"},
		{"duplicate room, case aside", with(func(in *guideInput) { in.Floors[2].Rooms[0].Number = "a-102" }), plugin.ErrInvalid, "重复"},
		{"duplicate area", with(func(in *guideInput) { in.Floors[0].Areas = append(in.Floors[0].Areas, area{Name: "等候区"}) }), plugin.ErrInvalid, "等候区 重复"},
		{"room without number", with(func(in *guideInput) { in.Floors[0].Rooms[0].Number = " " }), "MissingParameter", "缺少房间号"},
		{"room without name", with(func(in *guideInput) { in.Floors[0].Rooms[0].Name = "" }), "MissingParameter", "缺少名称"},
		{"floor id", with(func(in *guideInput) { in.Floors[0].ID = "二楼" }), plugin.ErrInvalid, "楼层号须为"},
		{"no level for RF", with(func(in *guideInput) { in.Floors[0].ID = "RF" }), "MissingParameter", "请填写 level"},
		{"level range", with(func(in *guideInput) { in.Floors[0].Level = &level }), plugin.ErrInvalid, "level 须在"},
		{"long name", with(func(in *guideInput) { in.Floors[0].Rooms[0].Name = strings.Repeat("长", 31) }), plugin.ErrInvalid, "不能超过 30 个字"},
		{"NUL", with(func(in *guideInput) { in.Floors[0].Rooms[0].Department = "人社\x00局" }), plugin.ErrInvalid, "无效字符"},
		{"line break", with(func(in *guideInput) { in.Building = "中心\n大楼" }), plugin.ErrInvalid, "无效字符"},
		{"rooms on a floor", with(func(in *guideInput) { in.Floors[0].Rooms = rooms(maxRoomsPerFloor + 1) }), plugin.ErrInvalid, "房间不能超过 60 个"},
		{"rooms in all", with(func(in *guideInput) {
			for i := range in.Floors {
				in.Floors[i].Rooms = rooms(maxRoomsPerFloor)
			}
			for _, id := range []string{"3F", "4F", "5F"} {
				in.Floors = append(in.Floors, floorInput{ID: id, Rooms: rooms(maxRoomsPerFloor)})
			}
		}), plugin.ErrInvalid, "房间总数不能超过 300 个"},
		{"floors", with(func(in *guideInput) {
			for i := range maxFloors {
				in.Floors = append(in.Floors, floorInput{ID: "F" + string(rune('A'+i)), Level: &i})
			}
		}), plugin.ErrInvalid, "楼层不能超过 30 个"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkGuide(tc.in)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
}

func TestReadJSON(t *testing.T) {
	var in guideInput
	err := readJSON([]byte(`{"code":"tok-hall-1","floors":[{"id":"1F","plan":"http://evil.test/x.png"}]}`), &in, guideShape)
	wantCode(t, err, plugin.ErrInvalid, `未知的字段 "plan"`)
	wantCode(t, readJSON([]byte(`{"code":"a"} {"code":"b"}`), &in, guideShape), plugin.ErrInvalid, "只能是一个 JSON 对象")
	wantCode(t, readJSON([]byte(`floors`), &in, guideShape), plugin.ErrInvalid, "请求体须为 JSON")
}

func TestSearch(t *testing.T) {
	_, g, err := checkGuide(readGuide(t, hall))
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"医保": {"202"}, "区": {"A-102", "201", "202"}, "a-1": {"A-102"}, "20": {"201", "202"}, "人社局": {"201"}, "无此": nil} {
		floors, n := g.search(q)
		var got []string
		for _, f := range floors {
			if f.Areas != nil {
				t.Errorf("%q: areas shown in a search", q)
			}
			for _, r := range f.Rooms {
				got = append(got, r.Number)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || n != len(want) {
			t.Errorf("%q: %v (%d), want %v", q, got, n, want)
		}
	}
	if floors, n := g.search(""); len(floors) != 3 || n != 4 {
		t.Errorf("no search: %d floors, %d rooms", len(floors), n)
	}
}

func TestCheckCorrection(t *testing.T) {
	_, g, err := checkGuide(readGuide(t, hall))
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkCorrection(url.Values{"type": {typeHours}, "floor": {"2f"}, "room": {"201"}, "description": {"周六上午也开放"},
		"suggestion": {"周一至周六 09:00-17:00"}}, g)
	if err != nil || c.Floor != "2F" || c.FloorName != "政务服务大厅" || c.Room != "201" || c.RoomName != "社保窗口" || c.Status != statusPending {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err = checkCorrection(url.Values{"type": {typeOther}, "description": {"电梯故障没有提示"}}, g); err != nil || c.Floor != "" {
		t.Fatalf("other: %+v %v", c, err)
	}
	if c, err = checkCorrection(url.Values{"type": {typeArea}, "floor": {"2F"}, "area": {"等候区"}, "description": {"标识牌被遮挡"}}, g); err != nil || c.Area != "等候区" {
		t.Fatalf("area: %+v %v", c, err)
	}
	good := url.Values{"type": {typeName}, "floor": {"2F"}, "room": {"202"}, "description": {"医保窗口已搬到 3 楼"}}
	with := func(k string, v ...string) url.Values {
		out := url.Values{}
		for name, vs := range good {
			out[name] = vs
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		form      url.Values
		code, msg string
	}{
		{"no type", with("type"), "MissingParameter", "请选择纠错类型"},
		{"unknown type", with("type", "投诉"), plugin.ErrInvalid, "纠错类型须为"},
		{"no floor", with("floor"), "MissingParameter", "请选择纠错涉及的楼层"},
		{"unknown floor", with("floor", "9F"), plugin.ErrInvalid, "楼层导览中没有楼层 9F"},
		{"unknown room", with("room", "299"), plugin.ErrInvalid, "楼层 2F 没有房间号为 299 的房间"},
		{"room of another floor", with("room", "101"), plugin.ErrInvalid, "没有房间号为 101"},
		{"no room", with("room"), "MissingParameter", "请选择涉及的房间"},
		{"unknown area", with("area", "母婴室"), plugin.ErrInvalid, "没有名为「母婴室」的区域"},
		{"no description", with("description", "  "), "MissingParameter", "请描述发现的问题"},
		{"long description", with("description", strings.Repeat("长", 501)), plugin.ErrInvalid, "不能超过 500 个字"},
		{"long suggestion", with("suggestion", strings.Repeat("长", 201)), plugin.ErrInvalid, "不能超过 200 个字"},
		{"NUL", with("description", "a\x00b"), plugin.ErrInvalid, "无效字符"},
		{"forged reporter", with("reporterName", "王五"), plugin.ErrInvalid, "未知的表单字段：reporterName"},
		{"twice", with("room", "201", "202"), plugin.ErrInvalid, "只能填写一次"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkCorrection(tc.form, g)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
	// 其他 without a floor may not name a room.
	_, err = checkCorrection(url.Values{"type": {typeOther}, "room": {"201"}, "description": {"x"}}, g)
	wantCode(t, err, "MissingParameter", "请先选择")
}

func TestCorrectionQuery(t *testing.T) {
	q, err := correctionQuery("status:待处理 type:开放时间错误 code:http://city.test/c/tok-hall-1 from:2026-11-01 to:2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	if q.Where["status"] != statusPending || q.Where["type"] != typeHours || q.CodeToken != "tok-hall-1" || q.Newest ||
		!q.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, cst)) || !q.To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, cst)) {
		t.Fatalf("%+v", q)
	}
	if q, err = correctionQuery(""); err != nil || !q.Newest || q.Where != nil {
		t.Fatalf("all: %+v %v", q, err)
	}
	for q, msg := range map[string]string{"status:已删除": "status 须为", "type:投诉": "type 须为", "from:2026-13-01": "from 须为日期",
		"from:2026-11-02 to:2026-11-01": "不能晚于", "who:me": "未知的筛选条件", "status": "键:值", "code:a/b": "码的格式"} {
		_, err := correctionQuery(q)
		wantCode(t, err, plugin.ErrInvalid, msg)
	}
}

func TestReadHandling(t *testing.T) {
	for _, tc := range []struct{ name, body, code string }{
		{"adopt", `{"id":"r1","version":1,"adopt":true}`, ""},
		{"decline with a reason", `{"id":"r1","version":1,"adopt":false,"reason":"经核实信息无误"}`, ""},
		{"decline without a reason", `{"id":"r1","version":1,"adopt":false}`, "MissingParameter"},
		{"no version", `{"id":"r1","adopt":true}`, "MissingParameter"},
		{"no adopt", `{"id":"r1","version":1}`, "MissingParameter"},
		{"no id", `{"version":1,"adopt":true}`, "MissingParameter"},
		{"bad id", `{"id":"a b","version":1,"adopt":true}`, plugin.ErrInvalid},
		{"long reason", `{"id":"r1","version":1,"adopt":false,"reason":"` + strings.Repeat("长", 501) + `"}`, plugin.ErrInvalid},
		{"status given", `{"id":"r1","version":1,"adopt":true,"status":"已采纳"}`, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readHandling([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code, "")
		})
	}
}

// The flows below drive the handler with the sdk's fake host, as the host
// would: requests filled from the manifest's routes.

type bench struct {
	t      *testing.T
	host   *plugintest.FakeHost
	now    time.Time
	code   plugin.Code
	routes map[string]plugin.Route
}

var (
	tourist = plugin.Visitor{Tourist: true}
	citizen = plugin.Visitor{Pseudonym: "v0123456789abcdef01234567", Authorized: true, Name: "张*", Mobile: "139****0002"}
	guest   = plugin.Visitor{Pseudonym: "vfedcba9876543210fedcba98"} // logged in, not authorized
)

func newBench(t *testing.T) *bench {
	b := &bench{t: t, now: time.Date(2026, 11, 3, 9, 30, 0, 0, cst), routes: map[string]plugin.Route{}}
	b.host = plugintest.NewFakeHost().Declare(plugintest.Manifest(t))
	b.host.Clock = func() time.Time { return b.now }
	b.host.Visitor = plugin.VisitorDetails{Visitor: citizen}
	for _, r := range plugintest.Manifest(t).Routes {
		b.routes[r.Name] = r
	}
	b.code = plugin.Code{Token: "tok-hall-1", Kind: "object", Number: 100000001, Status: "active", Attributes: json.RawMessage(`{"name":"行政服务中心"}`)}
	b.host.SetObject(b.code)
	b.host.SetObject(plugin.Code{Token: "tok-other-2", Kind: "object", Status: "active"})
	return b
}

func (b *bench) handle(req *plugin.Request) (*plugin.Response, error) {
	return handler{now: func() time.Time { return b.now }}.Handle(context.Background(), b.host.Host(req.ID), req)
}

// page serves a citizen route of the bench's code.
func (b *bench) page(route string, v plugin.Visitor, query url.Values, form url.Values) (*plugin.Response, error) {
	b.t.Helper()
	r := b.routes[route]
	code := b.code
	req := &plugin.Request{ID: "q1", Route: r.Name, Kind: r.Kind, Method: r.MethodOrGET(), Path: r.Path, Query: query,
		Header: map[string]string{}, PlatformID: "P0001", Code: &code, Visitor: v, BaseURL: "http://city.test/c/" + code.Token}
	if form != nil {
		req.Header["Content-Type"], req.Body = "application/x-www-form-urlencoded", []byte(form.Encode())
	}
	return b.handle(req)
}

// admin calls an admin route as the console does, and decodes its JSON.
func (b *bench) admin(route, q, body string) (map[string]any, error) {
	b.t.Helper()
	r := b.routes[route]
	if r.Kind != plugin.Admin {
		b.t.Fatalf("%s is not an admin route", route)
	}
	query := url.Values{}
	if q != "" {
		query.Set("q", q)
	}
	resp, err := b.handle(&plugin.Request{ID: "q2", Route: r.Name, Kind: plugin.Admin, Method: r.MethodOrGET(), Path: r.Path,
		Query: query, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body), PlatformID: "P0001",
		Visitor: tourist, Operator: &plugin.Operator{Account: "staff1", PlatformID: "P0001"}})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		b.t.Fatalf("admin %s answered %s", route, resp.Body)
	}
	out["_status"] = float64(resp.Status)
	return out, nil
}

func (b *bench) mustAdmin(route, q, body string) map[string]any {
	b.t.Helper()
	out, err := b.admin(route, q, body)
	if err != nil {
		b.t.Fatalf("%s: %v", route, err)
	}
	return out
}

func body(r *plugin.Response) string { return string(r.Body) }

// png is the smallest PNG header http.DetectContentType recognises.
var png = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)

func planBody(code string, version int, floor string, image []byte) string {
	b, _ := json.Marshal(map[string]any{"code": code, "version": version, "floor": floor, "image": base64.StdEncoding.EncodeToString(image)})
	return string(b)
}

func TestGuideFlow(t *testing.T) {
	b := newBench(t)
	resp, err := b.page("home", tourist, nil, nil)
	if err != nil || !strings.Contains(body(resp), "尚未设置楼层导览") || !strings.Contains(body(resp), "<h1>行政服务中心</h1>") {
		t.Fatalf("no guide: %v %s", err, body(resp))
	}
	if _, err := b.page("correct-form", tourist, nil, nil); !plugin.IsCode(err, plugin.ErrNotFound) {
		t.Fatalf("corrections without a guide: %v", err)
	}

	out := b.mustAdmin("admin-save", "", hall)
	if out["_status"] != 201.0 || out["version"] != 1.0 || out["floorCount"] != 3.0 || out["editor"] != "staff1" {
		t.Fatalf("create: %v", out)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "guide.create" || b.host.Audits[0].Target != "guide:tok-hall-1" {
		t.Fatalf("audits: %+v", b.host.Audits)
	}
	// Creating again, or changing with a stale version, is refused.
	_, err = b.admin("admin-save", "", hall)
	wantCode(t, err, "FailedOperation.VersionConflict", "请读取当前版本")
	changed := strings.Replace(strings.Replace(hall, `"version":0`, `"version":1`, 1), "医保窗口", "医保服务窗口", 1)
	if out = b.mustAdmin("admin-save", "", changed); out["_status"] != 200.0 || out["version"] != 2.0 {
		t.Fatalf("update: %v", out)
	}
	_, err = b.admin("admin-save", "", changed) // the second operator read version 1 too
	wantCode(t, err, "FailedOperation.VersionConflict", "当前版本 2")
	// A guide for a code the platform does not have.
	_, err = b.admin("admin-save", "", strings.Replace(hall, "tok-hall-1", "tok-none-9", 1))
	wantCode(t, err, plugin.ErrNotFound, "没有找到码 tok-none-9")
	// A guide within the counts but too big for one record.
	var big strings.Builder
	big.WriteString(`{"code":"tok-other-2","floors":[`)
	for f := 1; f <= 5; f++ {
		if f > 1 {
			big.WriteString(",")
		}
		big.WriteString(`{"id":"` + string(rune('0'+f)) + `F","rooms":[`)
		for r := range maxRoomsPerFloor {
			if r > 0 {
				big.WriteString(",")
			}
			big.WriteString(`{"number":"` + string(rune('0'+f)) + string(rune('A'+r%26)) + string(rune('A'+r/26)) + `","name":"` + strings.Repeat("名", 30) +
				`","department":"` + strings.Repeat("科", 30) + `","hours":"` + strings.Repeat("时", 40) + `"}`)
		}
		big.WriteString("]}")
	}
	big.WriteString("]}")
	_, err = b.admin("admin-save", "", big.String())
	wantCode(t, err, plugin.ErrInvalid, "楼层导览内容过多")
	if len(b.host.Records("guides")) != 1 || len(b.host.Audits) != 2 {
		t.Fatalf("refusals stored: %d guides, %d audits", len(b.host.Records("guides")), len(b.host.Audits))
	}

	// The landing page: floors lowest first, rooms, areas, links to correct.
	resp, err = b.page("home", tourist, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	page := body(resp)
	i, j, k := strings.Index(page, `<section id="f-B1">`), strings.Index(page, `<section id="f-1F">`), strings.Index(page, `<section id="f-2F">`)
	if i < 0 || j < i || k < j {
		t.Fatalf("floor order %d %d %d: %s", i, j, k, page)
	}
	for _, want := range []string{"<h1>徐汇区行政服务中心</h1>", "<h2>2F · 政务服务大厅</h2>", `<span class="no">202</span> 医保服务窗口`,
		"科室/功能：区人社局", "开放时间：周一至周五 09:00-17:00", "<strong>等候区</strong>", "取号后在此等候叫号",
		`href="http://city.test/c/tok-hall-1/correct?floor=2F&room=201"`, `<a href="#f-B1">B1</a>`, `name="viewport"`} {
		if !strings.Contains(page, want) {
			t.Errorf("landing lacks %q", want)
		}
	}
	// The search.
	resp, _ = b.page("home", tourist, url.Values{"q": {"医保"}}, nil)
	if page = body(resp); !strings.Contains(page, "共找到 1 个房间") || !strings.Contains(page, "医保服务窗口") || strings.Contains(page, "社保窗口") ||
		strings.Contains(page, "等候区") {
		t.Fatalf("search: %s", page)
	}
	resp, _ = b.page("home", tourist, url.Values{"q": {"<script>"}}, nil)
	if page = body(resp); !strings.Contains(page, "共找到 0 个房间") || strings.Contains(page, "<script>") {
		t.Fatalf("empty search: %s", page)
	}
	_, err = b.page("home", tourist, url.Values{"q": {strings.Repeat("长", 31)}}, nil)
	wantCode(t, err, plugin.ErrInvalid, "搜索内容不能超过 30 个字")

	// Floor plans: refusals store nothing; an upload shows, survives a
	// change of the guide, and is deleted.
	for _, tc := range []struct {
		body, code, msg string
	}{
		{planBody("tok-hall-1", 2, "9F", png), plugin.ErrNotFound, "没有楼层 9F"},
		{planBody("tok-hall-1", 1, "2F", png), "FailedOperation.VersionConflict", "当前版本 2"},
		{planBody("tok-hall-1", 2, "2F", []byte("not an image")), plugin.ErrInvalid, "须为 JPG、PNG"},
		{planBody("tok-hall-1", 0, "2F", png), "MissingParameter", "version"},
		{planBody("tok-other-2", 1, "2F", png), plugin.ErrNotFound, "尚未设置楼层导览"},
		{`{"code":"tok-hall-1","version":2,"floor":"2F","image":"!!"}`, plugin.ErrInvalid, "请求体须为 JSON"},
	} {
		_, err := b.admin("admin-plan", "", tc.body)
		wantCode(t, err, tc.code, tc.msg)
	}
	if len(b.host.Files) != 0 || len(b.host.Audits) != 2 {
		t.Fatalf("refused plans stored: %d files, %d audits", len(b.host.Files), len(b.host.Audits))
	}
	if out = b.mustAdmin("admin-plan", "", planBody("tok-hall-1", 2, "2f", png)); out["version"] != 3.0 {
		t.Fatalf("plan: %v", out)
	}
	if b.host.Files[0].Name != "plan-2F.png" || b.host.Files[0].ContentType != "image/png" {
		t.Fatalf("file %+v", b.host.Files[0])
	}
	resp, _ = b.page("home", tourist, nil, nil)
	if !strings.Contains(body(resp), `<img class="plan" src="http://city.test/plugin-files/f1" alt="2F 平面图"`) {
		t.Fatalf("plan not shown: %s", body(resp))
	}
	b.mustAdmin("admin-save", "", strings.Replace(changed, `"version":1`, `"version":3`, 1))
	if out = b.mustAdmin("admin-guides", "tok-hall-1", ""); out["version"] != 4.0 ||
		out["floors"].([]any)[2].(map[string]any)["planId"] != "f1" {
		t.Fatalf("plan lost by a change: %v", out)
	}
	_, err = b.admin("admin-plan-delete", "", `{"code":"tok-hall-1","version":4,"floor":"1F"}`)
	wantCode(t, err, plugin.ErrNotFound, "楼层 1F 没有平面图")
	if out = b.mustAdmin("admin-plan-delete", "", `{"code":"tok-hall-1","version":4,"floor":"2F"}`); out["version"] != 5.0 {
		t.Fatalf("delete plan: %v", out)
	}
	resp, _ = b.page("home", tourist, nil, nil)
	if strings.Contains(body(resp), "<img") {
		t.Fatal("a deleted plan is shown")
	}
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, ",") != "guide.create,guide.update,guide.plan.upload,guide.update,guide.plan.delete" {
		t.Fatalf("audits: %v", actions)
	}
	if list := b.mustAdmin("admin-guides", "", ""); list["total"] != 1.0 || list["items"].([]any)[0].(map[string]any)["floors"] != nil {
		t.Fatalf("guides: %v", list)
	}
}

func TestCorrectionFlow(t *testing.T) {
	b := newBench(t)
	b.mustAdmin("admin-save", "", hall)

	// The form: the reporter read from the host, the room preselected.
	resp, err := b.page("correct-form", citizen, url.Values{"floor": {"2F"}, "room": {"201"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"纠错人：张*（139****0002）", `<option value="201" selected>2F · 201 社保窗口</option>`, `<option value="2F" selected>`,
		"<option>名称/科室错误</option>"} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if resp, _ = b.page("correct-form", tourist, nil, nil); !strings.Contains(body(resp), "纠错将匿名提交") {
		t.Error("tourist form")
	}
	if resp, _ = b.page("correct-form", guest, nil, nil); !strings.Contains(body(resp), "未授权") {
		t.Error("unauthorized citizen's form")
	}

	// Bad corrections: refused, nothing stored.
	for _, form := range []url.Values{
		{"type": {typeRoomNumber}, "floor": {"2F"}, "room": {"299"}, "description": {"x"}},
		{"type": {typeRoomNumber}, "floor": {"3F"}, "room": {"301"}, "description": {"x"}},
		{"type": {typeOther}, "description": {"x"}, "reporterName": {"王五"}},
	} {
		if _, err := b.page("correct", tourist, nil, form); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("%v: %v", form, err)
		}
	}
	if n := len(b.host.Records("corrections")); n != 0 || len(b.host.Events) != 0 {
		t.Fatalf("%d corrections after bad input", n)
	}

	submit := func(v plugin.Visitor, form url.Values) string {
		t.Helper()
		resp, err := b.page("correct", v, nil, form)
		if err != nil || resp.Status != 201 {
			t.Fatalf("correct: %v", err)
		}
		s := body(resp)
		s = s[strings.Index(s, `<span id="correction-id">`)+len(`<span id="correction-id">`):]
		return s[:strings.Index(s, "<")]
	}
	first := submit(citizen, url.Values{"type": {typeHours}, "floor": {"2F"}, "room": {"201"}, "description": {"周六上午也开放"}, "suggestion": {"周一至周六"}})
	b.now = b.now.Add(24 * time.Hour)
	second := submit(tourist, url.Values{"type": {typeArea}, "floor": {"2F"}, "area": {"等候区"}, "description": {"标识牌被遮挡"}})
	third := submit(guest, url.Values{"type": {typeOther}, "description": {"电梯没有楼层提示"}})
	rec, _ := b.host.Record("corrections", first)
	var c correction
	decode(rec, &c)
	if c.Reporter != citizen.Pseudonym || c.ReporterName != "张*" || c.ReporterMobile != "139****0002" || c.RoomName != "社保窗口" ||
		c.GuideVersion != 1 || c.Building != "徐汇区行政服务中心" || rec.CodeToken != "tok-hall-1" {
		t.Fatalf("stored %+v", c)
	}
	for id, who := range map[string]string{second: "", third: guest.Pseudonym} {
		rec, _ := b.host.Record("corrections", id)
		var c correction
		decode(rec, &c)
		if c.Reporter != who || c.ReporterName != "" || c.ReporterMobile != "" {
			t.Fatalf("%s reporter %+v", id, c)
		}
	}
	if len(b.host.Events) != 3 || b.host.Events[0].Name != "correction.submitted" {
		t.Fatalf("events %+v", b.host.Events)
	}

	// The staff's list: filters, the queue oldest first, no pseudonyms.
	list := b.mustAdmin("admin-corrections", "status:待处理", "")
	items := list["items"].([]any)
	if list["total"] != 3.0 || items[0].(map[string]any)["id"] != first || items[0].(map[string]any)["reporterName"] != "张*" ||
		strings.Contains(mustJSON(list), citizen.Pseudonym) {
		t.Fatalf("queue: %v", list)
	}
	if list = b.mustAdmin("admin-corrections", "type:开放时间错误", ""); list["total"] != 1.0 {
		t.Fatalf("by type: %v", list)
	}
	if list = b.mustAdmin("admin-corrections", "from:2026-11-04 to:2026-11-04", ""); list["total"] != 2.0 {
		t.Fatalf("by day: %v", list)
	}
	if list = b.mustAdmin("admin-corrections", "code:tok-other-2", ""); list["total"] != 0.0 {
		t.Fatalf("by code: %v", list)
	}

	// Handling: once, against the version read.
	_, err = b.admin("admin-handle", "", `{"id":"`+second+`","version":1,"adopt":false}`)
	wantCode(t, err, "MissingParameter", "不采纳须填写理由")
	_, err = b.admin("admin-handle", "", `{"id":"`+second+`","version":2,"adopt":true}`)
	wantCode(t, err, "FailedOperation.VersionConflict", "当前版本 1")
	_, err = b.admin("admin-handle", "", `{"id":"r-none","version":1,"adopt":true}`)
	wantCode(t, err, plugin.ErrNotFound, "没有找到纠错记录")
	if out := b.mustAdmin("admin-handle", "", `{"id":"`+first+`","version":1,"adopt":true,"reason":"已更正开放时间"}`); out["status"] != statusAdopted {
		t.Fatalf("adopt: %v", out)
	}
	_, err = b.admin("admin-handle", "", `{"id":"`+first+`","version":2,"adopt":false,"reason":"x"}`)
	wantCode(t, err, "FailedOperation.AlreadyHandled", "不能重复处理")
	// Another operator decides between the read and the write.
	b.host.BeforePut = func(p plugin.Record) {
		b.host.BeforePut = nil
		rec, _ := b.host.Record("corrections", p.ID)
		if _, err := b.host.Host("q3").PutRecord(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	_, err = b.admin("admin-handle", "", `{"id":"`+second+`","version":1,"adopt":false,"reason":"标识清楚"}`)
	wantCode(t, err, "FailedOperation.AlreadyHandled", "刚被其他工作人员处理")
	if out := b.mustAdmin("admin-handle", "", `{"id":"`+third+`","version":1,"adopt":false,"reason":"不属于楼层信息"}`); out["status"] != statusDeclined {
		t.Fatalf("decline: %v", out)
	}
	rec, _ = b.host.Record("corrections", third)
	decode(rec, &c)
	if c.Handler != "staff1" || c.HandleNote != "不属于楼层信息" || c.HandledAt != "2026-11-04T09:30:00+08:00" {
		t.Fatalf("handled %+v", c)
	}
	var actions []string
	for _, a := range b.host.Audits {
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, ",") != "guide.create,correction.adopt,correction.decline" {
		t.Fatalf("audits: %v", actions)
	}
	if list = b.mustAdmin("admin-corrections", "status:已采纳", ""); list["total"] != 1.0 {
		t.Fatalf("adopted: %v", list)
	}
}

// Admin routes answer only admin calls from an operator, and citizen
// routes need a scanned code.
func TestAccess(t *testing.T) {
	b := newBench(t)
	code := b.code
	_, err := b.handle(&plugin.Request{ID: "q1", Route: "admin-save", Kind: plugin.Action, Method: "PUT", Path: "/guides",
		Body: []byte(hall), Code: &code, Visitor: citizen})
	wantCode(t, err, "UnauthorizedOperation", "仅限平台工作人员")
	_, err = b.handle(&plugin.Request{ID: "q1", Route: "admin-save", Kind: plugin.Admin, Method: "PUT", Path: "/guides", Body: []byte(hall)})
	wantCode(t, err, "UnauthorizedOperation", "仅限平台工作人员")
	_, err = b.handle(&plugin.Request{ID: "q1", Route: "correct", Kind: plugin.Action, Method: "POST", Path: "/correct", Visitor: tourist})
	wantCode(t, err, plugin.ErrInvalid, "缺少扫码信息")
	_, err = b.handle(&plugin.Request{ID: "q1", Route: "nothing"})
	wantCode(t, err, plugin.ErrNotFound, "页面不存在")
	if len(b.host.Records("guides")) != 0 {
		t.Fatal("a refused call stored a guide")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
