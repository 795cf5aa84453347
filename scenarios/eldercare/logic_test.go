package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry must agree: only the institution's
// pages are open to tourists, the operator routes are exactly the admin
// ones, only the staff save caregivers, and personal data is marked.
func TestManifestMatchesRoutes(t *testing.T) {
	m := plugintest.Manifest(t)
	seen := map[string]bool{}
	for _, r := range m.Routes {
		seen[r.Name] = true
		h, ok := routes[r.Name]
		if !ok {
			t.Errorf("route %s of plugin.json has no handler", r.Name)
			continue
		}
		if r.Tourist != (h.access == anyone) {
			t.Errorf("route %s: tourist %v, but access %d", r.Name, r.Tourist, h.access)
		}
		if (r.Kind == plugin.Admin) != (h.access == operator) {
			t.Errorf("route %s: kind %s, but access %d", r.Name, r.Kind, h.access)
		}
		if h.access == operator && len(h.roles) == 0 {
			t.Errorf("route %s admits no role", r.Name)
		}
		if h.access == operator && r.MethodOrGET() != "GET" && !slices.Equal(h.roles, []roleKind{staffRole}) {
			t.Errorf("route %s changes data but admits %v", r.Name, h.roles)
		}
		if h.access == operator && !slices.Contains(h.roles, unregistered) && h.refusal == "" {
			t.Errorf("route %s refuses without a message", r.Name)
		}
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	for _, c := range []plugin.Capability{plugin.ObjectRead, plugin.RecordsRead, plugin.RecordsWrite, plugin.FilesWrite,
		plugin.NotifySend, plugin.EventsWrite, plugin.AuditWrite} {
		if !m.Declares(c) {
			t.Errorf("plugin.json does not declare %s", c)
		}
	}
	if m.Declares(plugin.ObjectWrite) {
		t.Error("the plugin never changes a code")
	}
	personal := map[string]map[string]bool{}
	for _, c := range m.Collections {
		personal[c.Name] = map[string]bool{}
		for _, f := range c.Fields {
			personal[c.Name][f.Name] = f.Personal
			if f.Title == "" {
				t.Errorf("%s.%s has no title", c.Name, f.Name)
			}
		}
	}
	if p := personal["evaluations"]; !p["rater"] || !p["raterName"] || !p["caregiverName"] || p["rating"] || p["comment"] {
		t.Errorf("evaluations' personal fields %v", p)
	}
	if p := personal["caregivers"]; !p["name"] || p["skillLevel"] {
		t.Errorf("caregivers' personal fields %v", p)
	}
	if m.Runtime != plugin.WASM || m.Entry != "eldercare.wasm" {
		t.Errorf("runtime %s, entry %s", m.Runtime, m.Entry)
	}
	// The configuration's kinds are the seven.
	var schema struct {
		Properties struct {
			DefaultType struct {
				Enum []string `json:"enum"`
			} `json:"defaultType"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m.Config, &schema); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range kinds {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(schema.Properties.DefaultType.Enum, ids) {
		t.Errorf("defaultType enum %v, kinds %v", schema.Properties.DefaultType.Enum, ids)
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil || len(c.items()) != 5 || c.items()[0].Text != "服务态度" || len(c.SkillLevels) != 5 || c.DefaultType != "" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(json.RawMessage(`{"items":[],"skillLevels":["初级","高级"],"staff":[{"account":" fly ","ownerUnit":" 福利院 "}]}`))
	if err != nil || len(c.items()) != 0 || !slices.Equal(c.SkillLevels, []string{"初级", "高级"}) || c.Staff[0] != (staffEntry{"fly", "福利院"}) {
		t.Fatalf("configured: %+v %v", c, err)
	}
	if _, err := loadConfig(json.RawMessage(`{"items":[{"id":"a","text":"甲"},{"id":"a","text":"乙"}]}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("duplicate item: %v", err)
	}
	if _, err := loadConfig(json.RawMessage(`{"staff":3}`)); !plugin.IsCode(err, plugin.ErrInternal) {
		t.Fatalf("undecodable: %v", err)
	}
}

// Every name the requirements and the city use for the seven kinds.
func TestKindOf(t *testing.T) {
	for text, want := range map[string]string{
		"养老机构": "nursing-home", "徐汇区第一社会福利院": "nursing-home", "敬老院": "nursing-home", "nursing-home": "nursing-home",
		"长者照护之家": "care-home", "枫林街道长者照护之家": "care-home",
		"日间照护中心": "day-care", "日间照料中心": "day-care",
		"老年助餐服务场所": "meal", "社区长者食堂": "meal", "助餐点": "meal",
		"综合为老服务中心": "service-center", "社区综合为老服务中心": "service-center",
		"老年活动室": "activity-room", "睦邻点": "neighbourhood", "老年睦邻点": "neighbourhood",
		"": "", "公共厕所": "", "养老服务机构": "",
	} {
		k, ok := kindOf(text)
		if ok != (want != "") || k.ID != want {
			t.Errorf("kindOf(%q) = %q %v, want %q", text, k.ID, ok, want)
		}
	}
	if len(kinds) != 7 {
		t.Fatalf("%d kinds", len(kinds))
	}
}

// labels are a page's row labels.
func labels(in institution) []string {
	var out []string
	for _, r := range in.Rows {
		out = append(out, r.Label)
	}
	return out
}

func TestInstitutionOf(t *testing.T) {
	cfg, _ := loadConfig(nil)
	in := institutionOf(&plugin.Code{Token: "t", OwnerUnit: " " + homeUnit + " ", RegionCode: "310104", TypeName: "养老服务机构",
		Attributes: json.RawMessage(homeAttrs)}, cfg)
	want := []row{{"地址", "龙吴路 2000 号", false}, {"联系电话", "021-64000000", false}, {"机构等级", "四级", false},
		{"核定床位", "300 张", false}, {"收住对象", "失能、半失能老人", false}, {"收费标准", "床位费 2800–4500 元/月", false},
		{"医养结合", "是", false}, {"服务时间", "全天 24 小时", false}, {"探视时间", none, true}}
	if in.Name != "徐汇区第一社会福利院" || in.Kind.ID != "nursing-home" || !slices.Equal(in.Rows, want) ||
		in.Services != "生活照料、康复护理、认知症照护" || in.Intro != "区属公办养老机构。" || in.OwnerUnit != homeUnit || in.Region != "310104" {
		t.Fatalf("institution %+v", in)
	}
	// Each kind shows its own rows.
	for id, wantLabels := range map[string][]string{
		"care-home":      {"地址", "联系电话", "服务时间", "床位数", "服务对象", "收费标准", "运营机构"},
		"day-care":       {"地址", "联系电话", "服务时间", "托位数", "服务对象", "接送服务", "收费标准", "运营机构"},
		"meal":           {"地址", "联系电话", "供餐时间", "餐标", "助餐补贴", "送餐服务", "就餐座位", "运营机构"},
		"service-center": {"地址", "联系电话", "服务时间", "功能板块", "建筑面积", "运营机构"},
		"activity-room":  {"地址", "联系电话", "开放时间", "活动项目", "建筑面积", "管理单位"},
		"neighbourhood":  {"地址", "活动时间", "活动内容", "所在居委", "联系人", "联系电话"},
	} {
		k, _ := kindByID(id)
		in := institutionOf(&plugin.Code{Attributes: json.RawMessage(`{"机构类型":"` + k.Name + `"}`)}, cfg)
		if in.Kind.ID != id || !slices.Equal(labels(in), wantLabels) || in.Name != k.Name {
			t.Errorf("%s: %s %v", id, in.Name, labels(in))
		}
	}
	// The kind from the object type's name, then from the configuration;
	// units follow bare numbers only; a meal point's hours are its
	// service hours when it has no meal hours.
	in = institutionOf(&plugin.Code{TypeName: "社区长者食堂", Name: "枫林长者食堂",
		Attributes: json.RawMessage(`{"服务时间":"11:00-13:00","seats":"40","就餐座位":"x","送餐服务":false}`)}, cfg)
	if in.Kind.ID != "meal" || in.Name != "枫林长者食堂" || in.Rows[2].Value != "11:00-13:00" || in.Rows[5].Value != "否" || in.Rows[6].Value != "40 个" {
		t.Fatalf("meal point %+v", in)
	}
	cfg.DefaultType = "day-care"
	if in = institutionOf(&plugin.Code{}, cfg); in.Kind.ID != "day-care" || in.Name != "日间照护中心" || in.Rows[0].Value != none {
		t.Fatalf("default kind %+v", in)
	}
	cfg.DefaultType = ""
	if in = institutionOf(&plugin.Code{Attributes: json.RawMessage(`{"类型":"菜场"}`)}, cfg); in.Kind.Name != "养老服务机构" ||
		!slices.Equal(labels(in), []string{"地址", "联系电话", "服务时间", "运营机构"}) {
		t.Fatalf("generic %+v", in)
	}
}

func TestCheckEvaluation(t *testing.T) {
	items := defaultItems[:2]
	ok := url.Values{"caregiver": {"cg-0123456789abcdef01234567"}, "rating": {"5"}, "item.attitude": {"4"}, "item.skill": {"5"},
		"comment": {"  很耐心  "}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for name, vs := range ok {
			out[name] = vs
		}
		if v == "\x00" {
			delete(out, k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	f, err := checkEvaluation(ok, items)
	if err != nil {
		t.Fatal(err)
	}
	if f.Rating != 5 || f.Comment != "很耐心" || len(f.Scores) != 2 || f.Scores[0] != (score{"attitude", "服务态度", 4}) ||
		f.average() != 4.5 || scoreText(f.Scores) != "服务态度 4；专业技能 5" {
		t.Fatalf("form %+v", f)
	}
	if f, err := checkEvaluation(url.Values{"caregiver": {"cg-1"}, "rating": {"3"}}, nil); err != nil || f.average() != 3 {
		t.Fatalf("overall only: %+v %v", f, err)
	}
	if _, err := checkEvaluation(with("comment", strings.Repeat("好", maxComment)), items); err != nil {
		t.Fatalf("a comment of %d characters: %v", maxComment, err)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
		msg  string
	}{
		{"no caregiver", with("caregiver", "\x00"), "MissingParameter", "请选择要评价的护理员"},
		{"no rating", with("rating", "\x00"), "MissingParameter", "请为“总体评价”打分"},
		{"empty rating", with("rating", " "), "MissingParameter", "请为“总体评价”打分"},
		{"rating 0", with("rating", "0"), plugin.ErrInvalid, "“总体评价”的评分须为 1–5 星"},
		{"rating 6", with("rating", "6"), plugin.ErrInvalid, "1–5 星"},
		{"rating 4.5", with("rating", "4.5"), plugin.ErrInvalid, "1–5 星"},
		{"no item", with("item.skill", "\x00"), "MissingParameter", "请为“专业技能”打分"},
		{"item out of range", with("item.attitude", "9"), plugin.ErrInvalid, "“服务态度”的评分须为 1–5 星"},
		{"unknown item", with("item.food", "5"), plugin.ErrInvalid, "未知的评价项：food"},
		{"unknown field", with("phone", "1"), plugin.ErrInvalid, "未知的表单字段：phone"},
		{"twice", url.Values{"caregiver": {"a"}, "rating": {"5", "1"}}, plugin.ErrInvalid, "只能填写一次"},
		{"long comment", with("comment", strings.Repeat("好", maxComment+1)), plugin.ErrInvalid, "评价内容不能超过 300 个字（现为 301 个字）"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkEvaluation(tc.form, items)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestReadCaregiver(t *testing.T) {
	cfg, _ := loadConfig(nil)
	now := time.Date(2026, 11, 3, 9, 0, 0, 0, cst)
	png := base64.StdEncoding.EncodeToString(tinyPNG)
	in, ext, err := readCaregiver([]byte(`{"code":" tok ","name":" 王小梅 ","gender":"女","birthYear":1978,"skillLevel":"三级/高级工",
		"evaluationLevel":"二星","skills":["失智照护"," ","失智照护","康复护理"],"honours":["2025 年上海市养老护理职业技能竞赛二等奖"],
		"photo":{"data":"`+png+`"}}`), cfg, now)
	if err != nil || in.Code != "tok" || in.Name != "王小梅" || in.Status != statusActive || ext != ".png" ||
		!slices.Equal(in.Skills, []string{"失智照护", "康复护理"}) || len(in.Honours) != 1 {
		t.Fatalf("caregiver %+v %q %v", in, ext, err)
	}
	for _, tc := range []struct{ name, body, code, msg string }{
		{"not JSON", `name`, plugin.ErrInvalid, "请求体须为 JSON"},
		{"unknown field", `{"code":"t","name":"王梅","age":40}`, plugin.ErrInvalid, "请求体须为 JSON"},
		{"no code", `{"name":"王梅"}`, "MissingParameter", "code"},
		{"no name", `{"code":"t"}`, "MissingParameter", "姓名"},
		{"short name", `{"code":"t","name":"王"}`, plugin.ErrInvalid, "2–20"},
		{"bad id", `{"id":"r1","name":"王梅"}`, plugin.ErrInvalid, "id 格式"},
		{"bad gender", `{"code":"t","name":"王梅","gender":"M"}`, plugin.ErrInvalid, "男 或 女"},
		{"too young", `{"code":"t","name":"王梅","birthYear":2015}`, plugin.ErrInvalid, "1946–2010"},
		{"bad skill level", `{"code":"t","name":"王梅","skillLevel":"特级"}`, plugin.ErrInvalid, "五级/初级工、四级/中级工"},
		{"long evaluation level", `{"code":"t","name":"王梅","evaluationLevel":"` + strings.Repeat("星", 21) + `"}`, plugin.ErrInvalid, "20 个字"},
		{"long honour", `{"code":"t","name":"王梅","honours":["` + strings.Repeat("奖", 61) + `"]}`, plugin.ErrInvalid, "60 个字"},
		{"bad status", `{"code":"t","name":"王梅","status":"休假"}`, plugin.ErrInvalid, "在职 或 离职"},
		{"not an image", `{"code":"t","name":"王梅","photo":{"data":"` + base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 x")) + `"}}`, plugin.ErrInvalid, "JPG、PNG"},
		{"empty photo", `{"code":"t","name":"王梅","photo":{"data":""}}`, plugin.ErrInvalid, "512 KB"},
		{"photo and removal", `{"code":"t","name":"王梅","photo":{"data":"` + png + `"},"removePhoto":true}`, plugin.ErrInvalid, "不能同时"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readCaregiver([]byte(tc.body), cfg, now)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = "技能" + strconv.Itoa(i)
	}
	b, _ := json.Marshal(map[string]any{"code": "t", "name": "王梅", "skills": many})
	if _, _, err := readCaregiver(b, cfg, now); !plugin.IsCode(err, plugin.ErrInvalid) || !strings.Contains(err.Error(), "20 项") {
		t.Fatalf("21 skills: %v", err)
	}
}

// tinyPNG is a 1×1 PNG.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

func TestMaskName(t *testing.T) {
	for name, want := range map[string]string{"王小梅": "王*梅", "王梅": "王*", "欧阳小明": "欧**明", "王": "*", "": "", " 李四 ": "李*"} {
		if got := maskName(name); got != want {
			t.Errorf("maskName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRegions(t *testing.T) {
	for code, want := range map[string]string{"310000": "31", "310100": "3101", "310104": "310104", "310110": "310110",
		"310104001": "310104001", "310104001000": "310104001", "abc": "abc"} {
		if got := regionPrefix(code); got != want {
			t.Errorf("regionPrefix(%s) = %s, want %s", code, got, want)
		}
	}
	for code, want := range map[string][]string{"310104": {"31", "3101", "310104"}, "310104001002": {"31", "3101", "310104", "310104001", "310104001002"},
		"": {}, "31": {"31"}} {
		if got := regionsOf(code); !slices.Equal(got, want) {
			t.Errorf("regionsOf(%s) = %v, want %v", code, got, want)
		}
	}
}

func TestRoles(t *testing.T) {
	cfg, _ := loadConfig(json.RawMessage(roles))
	home := institution{OwnerUnit: homeUnit, Region: "310104"}
	care := institution{OwnerUnit: careUnit, Region: "310105"}
	for _, tc := range []struct {
		account        string
		kind           roleKind
		homeOK, careOK bool
	}{
		{"fly", staffRole, true, false},
		{"hq", staffRole, false, true},
		{"mz-xh", authorityRole, true, false},
		{"mz-cn", authorityRole, false, true},
		{"mz-city", authorityRole, true, true},
		{"nobody", unregistered, false, false},
		{"", unregistered, false, false},
	} {
		t.Run(tc.account, func(t *testing.T) {
			r, err := cfg.roleOf(tc.account)
			if err != nil || r.kind != tc.kind {
				t.Fatalf("role %+v %v", r, err)
			}
			if (r.covers(home) == nil) != tc.homeOK || (r.covers(care) == nil) != tc.careOK {
				t.Fatalf("covers home %v, care %v", r.covers(home), r.covers(care))
			}
		})
	}
	// An institution without owner unit or region is nobody's but the
	// whole platform's through the export.
	for _, account := range []string{"fly", "mz-city"} {
		r, _ := cfg.roleOf(account)
		if r.covers(institution{}) == nil {
			t.Errorf("%s covers an institution without owner unit and region", account)
		}
	}
	twice, _ := loadConfig(json.RawMessage(`{"staff":[{"account":"a","ownerUnit":"x"}],"authorities":[{"account":"a","regionCode":"310000"}]}`))
	if _, err := twice.roleOf("a"); !plugin.IsCode(err, "UnauthorizedOperation") || !strings.Contains(err.Error(), "不止一次") {
		t.Fatalf("an account with two roles: %v", err)
	}
}

func TestReadForm(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, code string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "rating=5&caregiver=x", ""},
		{"no content type", "", "rating=5", ""},
		{"json", "application/json", `{"rating":5}`, plugin.ErrInvalid},
		{"multipart without boundary", "multipart/form-data", "x", plugin.ErrInvalid},
		{"multipart", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"rating\"\r\n\r\n5\r\n--b--\r\n", ""},
		{"a file", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.png\"\r\n\r\nx\r\n--b--\r\n", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := readForm(&plugin.Request{Header: map[string]string{"Content-Type": tc.ctype}, Body: []byte(tc.body)})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil || v.Get("rating") != "5" {
				t.Fatalf("%v %v", v, err)
			}
		})
	}
}
