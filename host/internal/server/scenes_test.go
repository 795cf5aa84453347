package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// ifNoneMatch sends If-None-Match with whatever tag the test sets.
type ifNoneMatch struct {
	mu  sync.Mutex
	tag string
}

func (t *ifNoneMatch) set(tag string) { t.mu.Lock(); t.tag = tag; t.mu.Unlock() }

func (t *ifNoneMatch) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	tag := t.tag
	t.mu.Unlock()
	if tag != "" {
		r = r.Clone(r.Context())
		r.Header.Set("If-None-Match", tag)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// page fetches a configuration page: its status, ETag and Data.
func clientPage(t *testing.T, c *client.Client, path string, q url.Values, v any) (int, string) {
	t.Helper()
	resp, body, err := c.Do(context.Background(), http.MethodGet, path, q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := decodeData(body, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	if resp.StatusCode == http.StatusNotModified && len(body) != 0 {
		t.Fatalf("%s: 304 with a body: %s", path, body)
	}
	return resp.StatusCode, resp.Header.Get("ETag")
}

type sceneOut struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Intro    string   `json:"intro"`
	Clients  []string `json:"clients"`
	Disabled bool     `json:"disabled"`
}

// TestSceneCatalogue: 场景与服务 — the type tree (typed parameters, move,
// reorder, no cycles), scenes checked against their type and kept safe,
// the service pool with https links only, exact and fuzzy keyword search
// over scenes and services, and a sub-platform's administrator confined
// to its own platform's scenes.
func TestSceneCatalogue(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()

	// The type tree.
	type typeOut struct {
		ID       int64     `json:"id"`
		ParentID int64     `json:"parentId"`
		Name     string    `json:"name"`
		Sort     int       `json:"sort"`
		Children []typeOut `json:"children"`
	}
	newType := func(parent int64, name string, params any) int64 {
		var x typeOut
		h.must(admin, "POST", "/console/scene-types", map[string]any{"parentId": parent, "name": name, "params": params}).decode(t, &x)
		return x.ID
	}
	medical := newType(0, "医疗健康", []map[string]any{{"key": "grade", "name": "医院等级", "type": "enum", "options": []string{"三甲", "二甲"}, "required": true}})
	hospital := newType(medical, "医院", []map[string]any{{"key": "beds", "name": "床位", "type": "number"},
		{"key": "open", "name": "开放", "type": "group", "params": []map[string]any{{"key": "since", "name": "开放日期", "type": "date", "required": true}}}})
	transit := newType(0, "交通出行", nil)
	metro := newType(medical, "地铁", nil) // misfiled, moved below
	if a := h.call(admin, "POST", "/console/scene-types", map[string]any{"name": "x", "params": []map[string]any{{"key": "a", "name": "a", "type": "blob"}}}); a.Status != 400 {
		t.Fatalf("an unknown parameter type: %d", a.Status)
	}
	if a := h.call(admin, "POST", fmt.Sprintf("/console/scene-types/%d/move", medical), map[string]any{"parentId": hospital}); a.Status != 400 {
		t.Fatalf("a move under a descendant: %d %s", a.Status, a.Code)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/scene-types/%d/move", metro), map[string]any{"parentId": transit})
	h.must(admin, "POST", "/console/scene-types/reorder", map[string]any{"parentId": 0, "ids": []int64{transit, medical}})
	if a := h.call(admin, "POST", "/console/scene-types/reorder", map[string]any{"parentId": 0, "ids": []int64{transit}}); a.Status != 400 {
		t.Fatalf("a reorder naming some children: %d", a.Status)
	}
	var tree struct {
		Items []typeOut `json:"items"`
	}
	h.must(admin, "GET", "/console/scene-types", nil).decode(t, &tree)
	if len(tree.Items) != 2 || tree.Items[0].ID != transit || tree.Items[0].Children[0].ID != metro || tree.Items[1].Children[0].ID != hospital {
		t.Fatalf("tree: %+v", tree)
	}
	if a := h.call(admin, "DELETE", fmt.Sprintf("/console/scene-types/%d", medical), nil); a.Status != 409 || a.Code != fault.CodeResourceInUse {
		t.Fatalf("deleting a type with children: %d %s", a.Status, a.Code)
	}

	// Scenes: parameters as their type (and its ancestors) define them,
	// https images, intro reduced to safe HTML.
	base := map[string]any{"name": "瑞金医院就医", "category": "医疗", "typeId": hospital, "authLevel": 1,
		"params":   map[string]any{"grade": "三甲", "beds": 2000, "open": map[string]any{"since": "1907-01-01"}},
		"intro":    `<p>挂号、缴费、取报告<script>steal()</script><img src="https://img.example.cn/rj.png" onerror="x()"></p>`,
		"images":   []string{"https://img.example.cn/rj.png"},
		"contact":  map[string]any{"name": "服务台", "phone": "021-64370045"},
		"keywords": []string{"医院", "挂号", "Ruijin"}, "orgIds": []string{"瑞金医院"}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for name, body := range map[string]map[string]any{
		"a missing required parameter": with("params", map[string]any{"beds": 1}),
		"a wrong enum value":           with("params", map[string]any{"grade": "一甲"}),
		"an undefined parameter":       with("params", map[string]any{"grade": "三甲", "color": "red"}),
		"an http image":                with("images", []string{"http://img.example.cn/a.png"}),
		"an unknown type":              with("typeId", 99999),
		"an authorization level":       with("authLevel", 7),
	} {
		if a := h.call(admin, "POST", "/console/scenes", body); a.Status != 400 {
			t.Fatalf("%s: %d %s", name, a.Status, a.Msg)
		}
	}
	var ruijin sceneOut
	h.must(admin, "POST", "/console/scenes", base).decode(t, &ruijin)
	if strings.Contains(ruijin.Intro, "script") || strings.Contains(ruijin.Intro, "onerror") || !strings.Contains(ruijin.Intro, `<img src="https://img.example.cn/rj.png">`) {
		t.Fatalf("intro kept unsafe: %s", ruijin.Intro)
	}
	var metroScene sceneOut
	h.must(admin, "POST", "/console/scenes", map[string]any{"name": "地铁乘车", "category": "交通", "typeId": metro,
		"intro": "刷码进站", "keywords": []string{"地铁", "乘车码"}, "orgIds": []string{"申通地铁"}}).decode(t, &metroScene)

	// The pool: https links only.
	if a := h.call(admin, "POST", "/console/scene-services", map[string]any{"name": "x", "link": "http://svc.example.cn"}); a.Status != 400 {
		t.Fatalf("an http link: %d", a.Status)
	}
	var svc struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/scene-services", map[string]any{"name": "预约挂号", "link": "https://svc.example.cn/book", "category": "医疗",
		"icon": "https://img.example.cn/book.png", "description": "三甲医院专家号预约", "keywords": []string{"挂号", "预约"}}).decode(t, &svc)

	// Search: exact keywords, then parts of names, keywords or intros.
	search := func(q string) ([]string, []string) {
		var out struct {
			Scenes   []sceneOut `json:"scenes"`
			Services []struct {
				Name string `json:"name"`
			} `json:"services"`
		}
		h.must(admin, "GET", "/console/scenes/search?"+q, nil).decode(t, &out)
		var sc, sv []string
		for _, x := range out.Scenes {
			sc = append(sc, x.Name)
		}
		for _, x := range out.Services {
			sv = append(sv, x.Name)
		}
		return sc, sv
	}
	for _, c := range []struct {
		q              string
		scenes, servic []string
	}{
		{"keyword=挂号&mode=exact", []string{"瑞金医院就医"}, []string{"预约挂号"}},
		{"keyword=ruijin&mode=exact", []string{"瑞金医院就医"}, nil},
		{"keyword=挂&mode=exact", nil, nil},
		{"keyword=挂&mode=fuzzy", []string{"瑞金医院就医"}, []string{"预约挂号"}},
		{"keyword=乘车", []string{"地铁乘车"}, nil},
		{"keyword=进站", []string{"地铁乘车"}, nil}, // in the intro
		{"keyword=专家", nil, []string{"预约挂号"}}, // in the description
		{"keyword=乘车码&mode=exact", []string{"地铁乘车"}, nil},
	} {
		sc, sv := search(c.q)
		if !slices.Equal(sc, c.scenes) || !slices.Equal(sv, c.servic) {
			t.Errorf("%s: scenes %v services %v", c.q, sc, sv)
		}
	}
	if a := h.call(admin, "GET", "/console/scenes/search?keyword=", nil); a.Status != 400 || a.Code != fault.CodeMissingParameter {
		t.Fatalf("an empty search: %d %s", a.Status, a.Code)
	}

	// A sub-platform's administrator sees and controls its own scenes only.
	_, pudong := h.subPlatform(admin, "浦东新区", "310115", "pudong_admin")
	_, items := h.list(pudong, "/console/scenes")
	if len(items) != 0 {
		t.Fatalf("a sub-platform sees the main platform's scenes: %v", items)
	}
	for p, body := range map[string]any{"disable": map[string]any{"note": "x"}, "enable": nil, "publish": map[string]any{"clients": []string{"app"}}} {
		if a := h.call(pudong, "POST", fmt.Sprintf("/console/scenes/%d/%s", ruijin.ID, p), body); a.Status != 404 {
			t.Fatalf("%s of another platform's scene: %d %s", p, a.Status, a.Code)
		}
	}
	if a := h.call(pudong, "PUT", fmt.Sprintf("/console/scene-types/%d", medical), map[string]any{"name": "x"}); a.Status != 404 {
		t.Fatalf("renaming the main platform's type: %d", a.Status)
	}
	var own sceneOut
	h.must(pudong, "POST", "/console/scenes", map[string]any{"name": "浦东图书馆", "typeId": transit, "orgIds": []string{"浦东图书馆"}}).decode(t, &own)
	_, items = h.list(pudong, "/console/scenes")
	if len(items) != 1 || items[0]["name"] != "浦东图书馆" {
		t.Fatalf("a sub-platform's own scenes: %v", items)
	}
	h.must(pudong, "POST", fmt.Sprintf("/console/scenes/%d/disable", own.ID), map[string]any{"note": "闭馆"})

	// A delegated account controls scenes only as far as its grant: it may
	// publish, not stop a scene or touch the counterparts.
	menus := permissionMenus(t, h, admin)
	var role struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/roles", map[string]any{"code": "scene_publisher", "name": "场景发布员",
		"menuIds": []int64{menus["scene.read"], menus["scene.publish"]}}).decode(t, &role)
	var op struct {
		Password string `json:"password"`
	}
	h.must(admin, "POST", "/console/operators", map[string]any{"account": "scene_pub", "name": "场景发布员", "roleIds": []int64{role.ID}}).decode(t, &op)
	publisher := h.firstLogin("scene_pub", op.Password)
	h.must(publisher, "POST", fmt.Sprintf("/console/scenes/%d/publish", ruijin.ID), map[string]any{"clients": []string{"mp-b"}})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", fmt.Sprintf("/console/scenes/%d/disable", ruijin.ID), map[string]any{}},
		{"PUT", fmt.Sprintf("/console/scenes/%d", ruijin.ID), base},
		{"GET", "/console/scene-counterparts", nil},
		{"POST", "/console/scene-services", map[string]any{"name": "x", "link": "https://svc.example.cn"}},
	} {
		if a := h.call(publisher, c.method, c.path, c.body); a.Status != http.StatusForbidden || a.Code != fault.CodeUnauthorizedOperation {
			t.Fatalf("%s %s beyond the grant: %d %s", c.method, c.path, a.Status, a.Code)
		}
	}
}

// TestSceneClientPages: 三端同源 — a scene published to one client is on
// that client's configuration page and not the others', its recommended
// services on each client as published; every page has a strong ETag that
// answers 304 until something published changes, and unpublishing or an
// emergency stop changes it at once.
func TestSceneClientPages(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	app := h.app(admin, map[string]any{"name": "随申办"})
	secret, _ := hex.DecodeString(app.AppSecret)
	inm := &ifNoneMatch{}
	c := client.New(h.URL, app.AppID, secret, client.WithHTTPClient(&http.Client{Transport: inm}))

	var scene sceneOut
	h.must(admin, "POST", "/console/scenes", map[string]any{"name": "市图书馆", "category": "文化", "intro": "<p>借阅</p>",
		"applications": []map[string]any{{"name": "借书", "link": "https://lib.example.cn/borrow"}},
		"activities": []map[string]any{{"slot": "banner", "title": "读书节", "link": "https://lib.example.cn/fest"},
			{"slot": "banner", "title": "已结束", "endAt": "2001-01-01T00:00:00Z"}}}).decode(t, &scene)
	var svcA, svcB struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/scene-services", map[string]any{"name": "借阅查询", "link": "https://lib.example.cn/q", "category": "文化"}).decode(t, &svcA)
	h.must(admin, "POST", "/console/scene-services", map[string]any{"name": "座位预约", "link": "https://lib.example.cn/seat", "category": "文化"}).decode(t, &svcB)
	h.must(admin, "PUT", fmt.Sprintf("/console/scenes/%d/services", scene.ID), map[string]any{"items": []map[string]any{
		{"serviceId": svcA.ID, "clients": []string{"app", "mp-a"}}, {"serviceId": svcB.ID, "clients": []string{"mp-a"}}}})
	if a := h.call(admin, "POST", fmt.Sprintf("/console/scenes/%d/publish", scene.ID), map[string]any{"clients": []string{"web"}}); a.Status != 400 {
		t.Fatalf("an unknown client: %d", a.Status)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/publish", scene.ID), map[string]any{"clients": []string{"app"}})

	type configPage struct {
		Scenes []struct {
			ID int64 `json:"id"`
			On bool  `json:"on"`
		} `json:"scenes"`
	}
	config := func(client string) (configPage, int, string) {
		var p configPage
		st, tag := clientPage(t, c, "/openapi/v1/scenes/config", url.Values{"client": {client}, "userId": {"u1"}}, &p)
		return p, st, tag
	}
	p, _, tag := config("app")
	if len(p.Scenes) != 1 || p.Scenes[0].ID != scene.ID || !p.Scenes[0].On || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("app page: %+v %q", p, tag)
	}
	for _, other := range []string{"mp-a", "mp-b"} {
		if p, _, _ := config(other); len(p.Scenes) != 0 {
			t.Fatalf("%s shows a scene published to the app only: %+v", other, p)
		}
	}
	inm.set(tag)
	if _, st, again := config("app"); st != http.StatusNotModified || again != tag {
		t.Fatalf("unchanged page: %d %q", st, again)
	}

	// The intro page: the services published to this client, the current
	// activities; not published to mp-a yet.
	var intro struct {
		Name     string `json:"name"`
		Services []struct {
			Name string `json:"name"`
		} `json:"services"`
		Applications []struct {
			Name string `json:"name"`
		} `json:"applications"`
		Activities []struct {
			Title string `json:"title"`
		} `json:"activities"`
	}
	inm.set("")
	introPath := fmt.Sprintf("/openapi/v1/scenes/%d/intro", scene.ID)
	_, introTag := clientPage(t, c, introPath, url.Values{"client": {"app"}}, &intro)
	if intro.Name != "市图书馆" || len(intro.Services) != 1 || intro.Services[0].Name != "借阅查询" || len(intro.Applications) != 1 ||
		len(intro.Activities) != 1 || intro.Activities[0].Title != "读书节" {
		t.Fatalf("intro: %+v", intro)
	}
	err := c.Get(context.Background(), introPath, url.Values{"client": {"mp-a"}}, nil)
	wantAPIError(t, err, http.StatusNotFound, fault.CodeResourceNotFound)
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/publish", scene.ID), map[string]any{"clients": []string{"mp-a"}})
	clientPage(t, c, introPath, url.Values{"client": {"mp-a"}}, &intro)
	if len(intro.Services) != 2 {
		t.Fatalf("mp-a intro: %+v", intro)
	}
	// Changing a recommendation changes the app's intro tag.
	h.must(admin, "PUT", fmt.Sprintf("/console/scenes/%d/services", scene.ID), map[string]any{"items": []map[string]any{
		{"serviceId": svcA.ID, "clients": []string{"mp-a"}}, {"serviceId": svcB.ID, "clients": []string{"mp-a", "app"}}}})
	inm.set(introTag)
	if st, tag2 := clientPage(t, c, introPath, url.Values{"client": {"app"}}, &intro); st != http.StatusOK || tag2 == introTag || intro.Services[0].Name != "座位预约" {
		t.Fatalf("after a recommendation changed: %d %+v", st, intro)
	}

	// Unpublishing from the app takes effect at once: a new tag, no scene.
	inm.set(tag)
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/unpublish", scene.ID), map[string]any{"clients": []string{"app"}})
	p, st, tag3 := config("app")
	if st != http.StatusOK || tag3 == tag || len(p.Scenes) != 0 {
		t.Fatalf("after unpublishing: %d %q %+v", st, tag3, p)
	}
	if p, _, _ := config("mp-a"); len(p.Scenes) != 1 {
		t.Fatalf("unpublishing from the app withdrew it from mp-a: %+v", p)
	}
	// An emergency stop withdraws it everywhere.
	inm.set("")
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/disable", scene.ID), map[string]any{"note": "系统故障"})
	if p, _, _ := config("mp-a"); len(p.Scenes) != 0 {
		t.Fatalf("a stopped scene is shown: %+v", p)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/enable", scene.ID), nil)
	if p, _, _ := config("mp-a"); len(p.Scenes) != 1 {
		t.Fatalf("a restored scene is not shown: %+v", p)
	}

	// More services: the pool's services published to the client.
	h.must(admin, "PUT", fmt.Sprintf("/console/scene-services/%d/publication", svcB.ID), map[string]any{"clients": []string{"mp-b"}})
	var more struct {
		Categories []struct {
			Category string `json:"category"`
			Services []struct {
				Name string `json:"name"`
			} `json:"services"`
		} `json:"categories"`
	}
	_, moreTag := clientPage(t, c, "/openapi/v1/scenes/more-services", url.Values{"client": {"mp-b"}}, &more)
	if len(more.Categories) != 1 || more.Categories[0].Services[0].Name != "座位预约" {
		t.Fatalf("more services: %+v", more)
	}
	h.must(admin, "PUT", fmt.Sprintf("/console/scene-services/%d", svcB.ID), map[string]any{"name": "座位预约(新)", "link": "https://lib.example.cn/seat", "category": "文化"})
	inm.set(moreTag)
	if st, _ := clientPage(t, c, "/openapi/v1/scenes/more-services", url.Values{"client": {"mp-b"}}, &more); st != http.StatusOK || more.Categories[0].Services[0].Name != "座位预约(新)" {
		t.Fatalf("after renaming a service: %d %+v", st, more)
	}
	inm.set("")
	// Bad input is a 400, never a 500.
	err = c.Get(context.Background(), "/openapi/v1/scenes/config", url.Values{"client": {"tv"}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, fault.CodeInvalidParameter)
}

// TestSceneTimeSync: a client whose clock is 7 s ahead computes its offset
// from the time-sync answer NTP-style, within 50 ms on loopback.
func TestSceneTimeSync(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	const skew = 7 * time.Second
	clientNow := func() time.Time { return time.Now().Add(skew) }
	ms := func(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }
	for range 3 {
		t0 := clientNow()
		a := h.call("", "GET", "/openapi/v1/time?originateTime="+strconv.FormatInt(t0.UnixMilli(), 10), nil)
		t3 := clientNow()
		var out struct {
			OriginateTime int64   `json:"originateTime"`
			ReceiveTime   float64 `json:"receiveTime"`
			TransmitTime  float64 `json:"transmitTime"`
			ServerTime    string  `json:"serverTime"`
		}
		if a.Status != 200 {
			t.Fatalf("time: %d %s", a.Status, a.Msg)
		}
		a.decode(t, &out)
		if out.OriginateTime != t0.UnixMilli() || out.TransmitTime < out.ReceiveTime {
			t.Fatalf("answer: %+v", out)
		}
		orig := float64(out.OriginateTime)
		offset := ((out.ReceiveTime - orig) + (out.TransmitTime - ms(t3))) / 2
		uncertainty := ((ms(t3) - orig) - (out.TransmitTime - out.ReceiveTime)) / 2
		if got := offset + float64(skew.Milliseconds()); got < -50 || got > 50 || uncertainty < 0 || uncertainty > 50 {
			t.Fatalf("offset %.3f ms (want −7000 ± 50), uncertainty %.3f ms", offset, uncertainty)
		}
	}
	if a := h.call("", "GET", "/openapi/v1/time?originateTime=yesterday", nil); a.Status != 400 {
		t.Fatalf("a malformed originateTime: %d", a.Status)
	}
}

// TestSceneDecodeGate: a person who switched a scene off cannot have their
// code decoded at its organizations (other organizations still decode);
// switching on restores it; an emergency stop refuses decodes at the
// scene's organizations; a disabled counterpart's apps cannot decode and
// its scenes stop, until it is enabled again.
func TestSceneDecodeGate(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 600, "refreshSeconds": 60, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "随申办"})
	gateApp := h.app(admin, map[string]any{"name": "华山医院闸机"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	pc, gc := signedClient(t, h, phone), signedClient(t, h, gateApp)
	ctx := context.Background()
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("王五", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &shown); err != nil {
		t.Fatal(err)
	}
	decode := func(c *client.Client, appID, org string) error {
		return c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": appID, "codeContent": shown.CodeContent, "acceptOrgId": org}, nil)
	}
	var scene sceneOut
	h.must(admin, "POST", "/console/scenes", map[string]any{"name": "瑞金医院就医", "orgIds": []string{"瑞金医院", "瑞金医院北院"}}).decode(t, &scene)
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/publish", scene.ID), map[string]any{"clients": []string{"app"}})
	if err := decode(pc, phone.AppID, "瑞金医院"); err != nil {
		t.Fatalf("a scene switched on: %v", err)
	}
	toggle := func(on bool) {
		t.Helper()
		var out struct {
			On bool `json:"on"`
		}
		if err := pc.Call(ctx, "/openapi/v1/scenes/switches", map[string]any{"userId": opened.UserID, "sceneId": scene.ID, "on": on}, &out); err != nil || out.On != on {
			t.Fatalf("switch %v: %v", on, err)
		}
	}
	toggle(false)
	for _, org := range []string{"瑞金医院", "瑞金医院北院"} {
		wantAPIError(t, decode(pc, phone.AppID, org), http.StatusForbidden, fault.CodeSceneSwitchedOff)
	}
	if err := decode(pc, phone.AppID, "仁济医院"); err != nil {
		t.Fatalf("an organization of no scene: %v", err)
	}
	var cfg struct {
		Scenes []struct {
			On bool `json:"on"`
		} `json:"scenes"`
	}
	clientPage(t, pc, "/openapi/v1/scenes/config", url.Values{"client": {"app"}, "userId": {opened.UserID}}, &cfg)
	if len(cfg.Scenes) != 1 || cfg.Scenes[0].On {
		t.Fatalf("the configuration page does not show the switch: %+v", cfg)
	}
	toggle(true)
	if err := decode(pc, phone.AppID, "瑞金医院"); err != nil {
		t.Fatalf("switched on again: %v", err)
	}
	err := pc.Call(ctx, "/openapi/v1/scenes/switches", map[string]any{"userId": opened.UserID, "sceneId": 999999, "on": false}, nil)
	wantAPIError(t, err, http.StatusNotFound, fault.CodeResourceNotFound)
	err = pc.Call(ctx, "/openapi/v1/scenes/switches", map[string]any{"userId": opened.UserID, "sceneId": scene.ID}, nil)
	wantAPIError(t, err, http.StatusBadRequest, fault.CodeMissingParameter)

	// An emergency stop.
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/disable", scene.ID), map[string]any{"note": "演练"})
	wantAPIError(t, decode(pc, phone.AppID, "瑞金医院"), http.StatusForbidden, fault.CodeSceneDisabled)
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/enable", scene.ID), nil)
	if err := decode(pc, phone.AppID, "瑞金医院"); err != nil {
		t.Fatalf("after the stop was lifted: %v", err)
	}

	// Counterparts (场景对接方).
	cp := map[string]any{"name": "上海交通大学医学院附属华山医院",
		"contacts": []map[string]any{{"name": "李四", "phone": "13912345678", "role": "业务联系人"}},
		"appIds":   []string{gateApp.AppID}, "orgIds": []string{"华山医院"}}
	good := validCreditCode("12310000425006117")
	wrong := good[:17] + "0"
	if good[17] == '0' {
		wrong = good[:17] + "1"
	}
	for _, bad := range []string{wrong, good[:16], "I" + good[1:]} {
		body := map[string]any{}
		for k, v := range cp {
			body[k] = v
		}
		body["creditCode"] = bad
		if a := h.call(admin, "POST", "/console/scene-counterparts", body); a.Status != 400 || !strings.Contains(a.Msg, "credit code") {
			t.Fatalf("credit code %s: %d %s", bad, a.Status, a.Msg)
		}
	}
	cp["creditCode"] = good
	var counterpart struct {
		ID         int64  `json:"id"`
		CreditCode string `json:"creditCode"`
		Enabled    bool   `json:"enabled"`
	}
	h.must(admin, "POST", "/console/scene-counterparts", cp).decode(t, &counterpart)
	if a := h.call(admin, "POST", "/console/scene-counterparts", cp); a.Status != 409 {
		t.Fatalf("the same credit code twice: %d", a.Status)
	}
	_, list := h.list(admin, "/console/scene-counterparts?keyword=华山")
	contacts, _ := json.Marshal(list[0]["contacts"])
	if len(list) != 1 || !strings.Contains(string(contacts), "139****5678") {
		t.Fatalf("the list (phones masked): %v", list)
	}
	if a := h.call(admin, "PUT", fmt.Sprintf("/console/scene-counterparts/%d", counterpart.ID), map[string]any{"name": "改名",
		"contacts": cp["contacts"]}); a.Status != 400 {
		t.Fatalf("renaming a counterpart: %d", a.Status)
	}
	h.must(admin, "PUT", fmt.Sprintf("/console/scene-counterparts/%d", counterpart.ID), map[string]any{"address": "乌鲁木齐中路12号",
		"contacts": cp["contacts"], "appIds": []string{gateApp.AppID}, "orgIds": []string{"华山医院"}})
	var huashan sceneOut
	h.must(admin, "POST", "/console/scenes", map[string]any{"name": "华山医院就医", "counterpartId": counterpart.ID}).decode(t, &huashan)
	h.must(admin, "POST", fmt.Sprintf("/console/scenes/%d/publish", huashan.ID), map[string]any{"clients": []string{"app"}})
	if err := decode(gc, gateApp.AppID, "华山医院"); err != nil {
		t.Fatalf("the counterpart's gate: %v", err)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/scene-counterparts/%d/disable", counterpart.ID), nil)
	wantAPIError(t, decode(gc, gateApp.AppID, "仁济医院"), http.StatusForbidden, fault.CodeCounterpartDisabled)
	wantAPIError(t, decode(pc, phone.AppID, "华山医院"), http.StatusForbidden, fault.CodeSceneDisabled)
	clientPage(t, pc, "/openapi/v1/scenes/config", url.Values{"client": {"app"}}, &cfg)
	if len(cfg.Scenes) != 1 {
		t.Fatalf("a disabled counterpart's scene is still shown: %+v", cfg)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/scene-counterparts/%d/enable", counterpart.ID), nil)
	if err := decode(gc, gateApp.AppID, "华山医院"); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
	clientPage(t, pc, "/openapi/v1/scenes/config", url.Values{"client": {"app"}}, &cfg)
	if len(cfg.Scenes) != 2 {
		t.Fatalf("a re-enabled counterpart's scene: %+v", cfg)
	}

	// The stops are in the audit trail.
	_, entries := h.list(admin, "/console/audit/logs?type=operation&pageSize=500")
	seen := map[string]bool{}
	for _, e := range entries {
		if e["account"] == "admin" && e["result"] == "success" {
			seen[fmt.Sprint(e["action"])] = true
		}
	}
	for _, action := range []string{"scene.disable", "scene.enable", "counterpart.create", "counterpart.disable", "counterpart.update"} {
		if !seen[action] {
			t.Errorf("no audit entry of %s", action)
		}
	}
}

// validCreditCode completes 17 characters of a unified social credit code
// with their check character (GB 32100-2015).
func validCreditCode(first17 string) string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	weights := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := range 17 {
		sum += strings.IndexByte(chars, first17[i]) * weights[i]
	}
	return first17 + string(chars[(31-sum%31)%31])
}

// TestExcellentScenes: 优秀场景 — images are uploaded and checked by their
// bytes; the list filters by keyword and time; a disabled one disappears
// for everyone but platform administrators.
func TestExcellentScenes(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	if a := h.call(admin, "POST", "/console/excellent-scenes/images", map[string]any{"name": "a.png", "data": base64.StdEncoding.EncodeToString([]byte("<svg onload=x>"))}); a.Status != 400 {
		t.Fatalf("a script named a.png: %d", a.Status)
	}
	var img struct {
		ID          int64  `json:"id"`
		ContentType string `json:"contentType"`
	}
	h.must(admin, "POST", "/console/excellent-scenes/images", map[string]any{"name": "封面.png", "data": base64.StdEncoding.EncodeToString(png)}).decode(t, &img)
	if got := h.call(admin, "GET", fmt.Sprintf("/console/excellent-scenes/images/%d", img.ID), nil); got.Status != 200 || got.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Raw, png) {
		t.Fatalf("image: %d %q", got.Status, got.Header.Get("Content-Type"))
	}
	if a := h.call(admin, "POST", "/console/excellent-scenes", map[string]any{"title": "x", "imageIds": []int64{img.ID + 100}}); a.Status != 400 {
		t.Fatalf("an image never uploaded: %d", a.Status)
	}
	type ex struct {
		ID      int64  `json:"id"`
		Title   string `json:"title"`
		Content string `json:"content"`
		Enabled bool   `json:"enabled"`
	}
	var a1, a2 ex
	h.must(admin, "POST", "/console/excellent-scenes", map[string]any{"title": "地铁刷码进站", "summary": "日均百万人次",
		"content": `<p>案例<script>x()</script></p>`, "imageIds": []int64{img.ID}}).decode(t, &a1)
	h.must(admin, "POST", "/console/excellent-scenes", map[string]any{"title": "医院一码就医", "summary": "挂号缴费"}).decode(t, &a2)
	if a1.Content != "<p>案例</p>" {
		t.Fatalf("content: %q", a1.Content)
	}
	titles := func(token, q string) []string {
		_, items := h.list(token, "/console/excellent-scenes?"+q)
		return ids(items, "title")
	}
	if got := titles(admin, "keyword=刷码"); !slices.Equal(got, []string{"地铁刷码进站"}) {
		t.Fatalf("keyword: %v", got)
	}
	if got := titles(admin, "keyword=缴费"); !slices.Equal(got, []string{"医院一码就医"}) {
		t.Fatalf("keyword in the summary: %v", got)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	if got := titles(admin, "from="+future); len(got) != 0 {
		t.Fatalf("created after an hour from now: %v", got)
	}
	if a := h.call(admin, "GET", "/console/excellent-scenes?from="+future+"&to="+future, nil); a.Status != 400 {
		t.Fatalf("an empty time range: %d", a.Status)
	}

	// A staff account with the page's permissions.
	menus := permissionMenus(t, h, admin)
	var role struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/roles", map[string]any{"code": "showcase", "name": "优秀场景维护",
		"menuIds": []int64{menus["excellent.read"], menus["excellent.disable"], menus["excellent.update"]}}).decode(t, &role)
	var op struct {
		Password string `json:"password"`
	}
	h.must(admin, "POST", "/console/operators", map[string]any{"account": "showcase", "name": "运营专员", "roleIds": []int64{role.ID}}).decode(t, &op)
	staff := h.firstLogin("showcase", op.Password)
	var off ex
	h.must(staff, "POST", fmt.Sprintf("/console/excellent-scenes/%d/disable", a2.ID), nil).decode(t, &off)
	if off.Enabled {
		t.Fatalf("disabled: %+v", off)
	}
	if got := titles(staff, ""); !slices.Equal(got, []string{"地铁刷码进站"}) {
		t.Fatalf("staff sees: %v", got)
	}
	if a := h.call(staff, "GET", fmt.Sprintf("/console/excellent-scenes/%d", a2.ID), nil); a.Status != 404 {
		t.Fatalf("staff reads a disabled one: %d", a.Status)
	}
	if got := titles(admin, "state=disabled"); !slices.Equal(got, []string{"医院一码就医"}) {
		t.Fatalf("the administrator sees: %v", got)
	}
	h.must(admin, "POST", fmt.Sprintf("/console/excellent-scenes/%d/enable", a2.ID), nil)
	if got := titles(staff, ""); len(got) != 2 {
		t.Fatalf("re-enabled: %v", got)
	}
}

// TestServiceLists: 服务清单 — the services serving person, enterprise or
// object codes for the caller's department and the code's attributes, and
// their xlsx export.
func TestServiceLists(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	for _, s := range []map[string]any{
		{"name": "社保查询", "codeKinds": []string{"person"}},
		{"name": "企业年报", "codeKinds": []string{"enterprise"}, "industries": []string{"C13"}},
		{"name": "公厕报修", "codeKinds": []string{"object"}, "objectTypes": []string{"toilet"}, "departments": []string{"D-city"}},
		{"name": "医保结算", "codeKinds": []string{"person", "enterprise"}, "departments": []string{"D-health"}},
	} {
		s["link"] = "https://svc.example.cn/x"
		h.must(admin, "POST", "/console/scene-services", s)
	}
	if a := h.call(admin, "POST", "/console/scene-services", map[string]any{"name": "x", "link": "https://svc.example.cn", "codeKinds": []string{"virtual"}}); a.Status != 400 {
		t.Fatalf("an unknown code kind: %d", a.Status)
	}
	names := func(token, q string) []string {
		var out struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
		}
		h.must(token, "GET", "/console/service-lists?"+q, nil).decode(t, &out)
		var ns []string
		for _, it := range out.Items {
			ns = append(ns, it.Name)
		}
		slices.Sort(ns)
		return ns
	}
	// The administrator has no department: every department's services.
	if got := names(admin, "kind=person"); !slices.Equal(got, []string{"医保结算", "社保查询"}) {
		t.Fatalf("person: %v", got)
	}
	if got := names(admin, "kind=enterprise&industry=C13"); !slices.Equal(got, []string{"企业年报", "医保结算"}) {
		t.Fatalf("enterprise of C13: %v", got)
	}
	if got := names(admin, "kind=enterprise&industry=F51"); !slices.Equal(got, []string{"医保结算"}) {
		t.Fatalf("enterprise of F51: %v", got)
	}
	if a := h.call(admin, "GET", "/console/service-lists?kind=virtual", nil); a.Status != 400 {
		t.Fatalf("an unknown kind: %d", a.Status)
	}

	// An operator of the city department sees its department's services.
	menus := permissionMenus(t, h, admin)
	var role struct {
		ID int64 `json:"id"`
	}
	h.must(admin, "POST", "/console/roles", map[string]any{"code": "lists", "name": "服务清单",
		"menuIds": []int64{menus["servicelist.read"], menus["servicelist.export"]}}).decode(t, &role)
	var op struct {
		Password string `json:"password"`
	}
	h.must(admin, "POST", "/console/operators", map[string]any{"account": "city_ops", "name": "城管专员", "departmentId": "D-city",
		"roleIds": []int64{role.ID}}).decode(t, &op)
	city := h.firstLogin("city_ops", op.Password)
	if got := names(city, "kind=person"); !slices.Equal(got, []string{"社保查询"}) {
		t.Fatalf("the city department's person services: %v", got)
	}
	if got := names(city, "kind=object&objectType=toilet"); !slices.Equal(got, []string{"公厕报修"}) {
		t.Fatalf("toilets: %v", got)
	}
	if got := names(city, "kind=object&objectType=well"); len(got) != 0 {
		t.Fatalf("wells: %v", got)
	}
	x := h.call(city, "GET", "/console/service-lists/export?kind=object", nil)
	wb, err := excelize.OpenReader(bytes.NewReader(x.Raw))
	if x.Status != 200 || err != nil {
		t.Fatalf("export: %d %v", x.Status, err)
	}
	rows, _ := wb.GetRows("一物一码服务清单")
	if len(rows) != 2 || rows[1][1] != "公厕报修" || rows[1][5] != "一物一码" || rows[1][8] != "toilet" {
		t.Fatalf("export rows: %v", rows)
	}
}
