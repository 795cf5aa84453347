package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// The manifest and the route registry must agree, and no staff route may
// be open to tourists: the host's login check is the first line of the
// staff pages' defence.
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
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("handler %s is not a route of plugin.json", name)
		}
	}
	for _, c := range []plugin.Capability{plugin.RecordsRead, plugin.RecordsWrite, plugin.FilesWrite, plugin.NotifySend, plugin.EventsWrite, plugin.AuditWrite} {
		if !m.Declares(c) {
			t.Errorf("plugin.json does not declare %s", c)
		}
	}
}

func TestWindowStart(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		t     string
		hours int
		want  string
	}{
		{"day", "2026-11-03 09:30", 24, "2026-11-03 00:00"},
		{"day, just before midnight", "2026-11-03 23:59", 24, "2026-11-03 00:00"},
		{"day, at midnight", "2026-11-04 00:00", 24, "2026-11-04 00:00"},
		{"half day, afternoon", "2026-11-03 13:10", 12, "2026-11-03 12:00"},
		{"hour", "2026-11-03 13:59", 1, "2026-11-03 13:00"},
		{"six hours", "2026-11-03 05:59", 6, "2026-11-03 00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowStart(at(tc.t), tc.hours); !got.Equal(at(tc.want)) {
				t.Fatalf("windowStart(%s, %d) = %s, want %s", tc.t, tc.hours, got, tc.want)
			}
		})
	}
	// The same instant in UTC falls in the same window.
	if got := windowStart(at("2026-11-03 07:00").UTC(), 24); !got.Equal(at("2026-11-03 00:00")) {
		t.Fatalf("UTC input: %s", got)
	}
}

func TestParseHours(t *testing.T) {
	at := func(hm string) time.Time {
		v, _ := time.ParseInLocation("15:04", hm, cst)
		return time.Date(2026, 11, 3, v.Hour(), v.Minute(), 0, 0, cst)
	}
	for _, tc := range []struct {
		in         string
		ok         bool
		open, shut []string
	}{
		{"05:00-22:00", true, []string{"05:00", "12:00", "21:59"}, []string{"04:59", "22:00", "23:30"}},
		{"5:30～21:00", true, []string{"05:30"}, []string{"05:29", "21:00"}},
		{"06：00 至 20：00", true, []string{"06:00"}, []string{"20:00"}},
		{"22:00-06:00", true, []string{"23:00", "05:59"}, []string{"06:00", "21:59"}},
		{"全天", true, []string{"00:00", "23:59"}, nil},
		{"24小时开放", true, []string{"03:00"}, nil},
		{"00:00-24:00", true, []string{"03:00"}, nil},
		{"", false, nil, nil},
		{"看情况", false, nil, nil},
		{"25:00-26:00", false, nil, nil},
		{"08:00-08:00", false, nil, nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			h, ok := parseHours(tc.in)
			if ok != tc.ok {
				t.Fatalf("parseHours(%q) ok = %v", tc.in, ok)
			}
			for _, s := range tc.open {
				if !h.open(at(s)) {
					t.Errorf("%s: closed at %s", tc.in, s)
				}
			}
			for _, s := range tc.shut {
				if h.open(at(s)) {
					t.Errorf("%s: open at %s", tc.in, s)
				}
			}
		})
	}
}

func TestScoreRating(t *testing.T) {
	qs := []question{{ID: "clean", Text: "清洁程度"}, {ID: "smell", Text: "异味控制"}}
	for _, tc := range []struct {
		name string
		form url.Values
		code string // empty: accepted
	}{
		{"all answered", url.Values{"q.clean": {"5"}, "q.smell": {"1"}, "comment": {"好"}}, ""},
		{"one missing", url.Values{"q.clean": {"5"}}, "MissingParameter"},
		{"empty answer", url.Values{"q.clean": {"5"}, "q.smell": {" "}}, "MissingParameter"},
		{"zero", url.Values{"q.clean": {"0"}, "q.smell": {"3"}}, plugin.ErrInvalid},
		{"six", url.Values{"q.clean": {"6"}, "q.smell": {"3"}}, plugin.ErrInvalid},
		{"not a number", url.Values{"q.clean": {"好"}, "q.smell": {"3"}}, plugin.ErrInvalid},
		{"fraction", url.Values{"q.clean": {"3.5"}, "q.smell": {"3"}}, plugin.ErrInvalid},
		{"unknown question", url.Values{"q.clean": {"5"}, "q.smell": {"3"}, "q.noise": {"3"}}, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scores, err := scoreRating(qs, tc.form)
			if tc.code == "" {
				if err != nil || len(scores) != 2 {
					t.Fatalf("scores %v, err %v", scores, err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
	if _, err := scoreRating(nil, url.Values{}); !plugin.IsCode(err, plugin.ErrInvalid) {
		t.Fatalf("empty questionnaire: %v", err)
	}
}

func TestQuestionnaire(t *testing.T) {
	cfg, _ := loadConfig(nil)
	if got := cfg.questionsFor(toilet); len(got) != 5 || got[0].Text != "导向标识设置" {
		t.Fatalf("toilet questions: %v", got)
	}
	if got := cfg.questionsFor(transfer); len(got) != 3 || got[1].Text != "环境污染" {
		t.Fatalf("transfer questions: %v", got)
	}
	cfg, _ = loadConfig(json.RawMessage(`{"questions":[{"id":"a","text":"通用"},{"id":"b","text":"中转站","facilities":["transfer"]}]}`))
	if got := cfg.questionsFor(toilet); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("composed toilet questionnaire: %v", got)
	}
	if got := cfg.questionsFor(transfer); len(got) != 2 {
		t.Fatalf("composed transfer questionnaire: %v", got)
	}
	if _, err := loadConfig(json.RawMessage(`{"questions":"x"}`)); err == nil {
		t.Fatal("undecodable config accepted")
	}
}

func TestCheckReport(t *testing.T) {
	cats := defaultCategories[toilet]
	for _, tc := range []struct {
		name string
		form url.Values
		code string
	}{
		{"ok", url.Values{"category": {"厕位不洁"}, "text": {"没有纸"}}, ""},
		{"no category", url.Values{"text": {"没有纸"}}, "MissingParameter"},
		{"unknown category", url.Values{"category": {"乱停车"}, "text": {"x"}}, plugin.ErrInvalid},
		{"no text", url.Values{"category": {"异味"}, "text": {"  "}}, "MissingParameter"},
		{"text too long", url.Values{"category": {"异味"}, "text": {strings.Repeat("臭", 501)}}, plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkReport(&form{values: tc.form}, cats)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestReadForm(t *testing.T) {
	fields := url.Values{"text": {"没有纸"}}
	for _, tc := range []struct {
		name  string
		ctype string
		body  []byte
		photo string // the stored content type; empty: no photo
		code  string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", []byte("text=%E6%B2%A1"), "", ""},
		{"png", "", nil, "image/png", ""},
		{"jpeg", "", append([]byte("\xff\xd8\xff\xe0"), make([]byte, 64)...), "image/jpeg", ""},
		{"no file chosen", "", []byte{}, "", ""},
		{"not an image", "", []byte("%PDF-1.4 not a photo"), "", plugin.ErrInvalid},
		{"text disguised as png", "", []byte("hello, this is text"), "", plugin.ErrInvalid},
		{"over 4 MB", "", pngBytes(maxPhoto), "", plugin.ErrInvalid},
		{"exactly 4 MB", "", pngBytes(maxPhoto - 8), "image/png", ""},
		{"json", "application/json", []byte(`{"text":"x"}`), "", plugin.ErrInvalid},
		{"multipart without boundary", "multipart/form-data", []byte("x"), "", plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := tc.ctype, tc.body
			if ctype == "" {
				photo := tc.body
				if tc.name == "png" {
					photo = pngBytes(32)
				}
				ctype, body = multipartBody(fields, photo)
			}
			f, err := readForm(&plugin.Request{Header: map[string]string{"Content-Type": ctype}, Body: body})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.photo == "" && f.photo != nil:
				t.Fatalf("unexpected photo %s", f.photo.ContentType)
			case tc.photo != "" && (f.photo == nil || f.photo.ContentType != tc.photo):
				t.Fatalf("photo %+v, want %s", f.photo, tc.photo)
			}
		})
	}
}

func TestFacilityOf(t *testing.T) {
	cfg, _ := loadConfig(nil)
	label := func(f facility, l string) string {
		for _, r := range f.Rows {
			if r.Label == l {
				return r.Value
			}
		}
		return ""
	}
	f := facilityOf(&plugin.Code{TypeName: "环卫公厕", Attributes: json.RawMessage(`{"name":"漕溪北路公厕","address":"漕溪北路 100 号",
		"capacity":12,"area":56.5,"operator":"徐汇环卫","openingHours":"05:00-22:00","thirdToilet":true,"accessible":false,
		"district":"徐汇区","lng":121.43,"lat":31.19,"photo":{"url":"x"}}`)}, cfg)
	if f.Kind != toilet || f.Name != "漕溪北路公厕" || f.OpeningHours != "05:00-22:00" {
		t.Fatalf("facility %+v", f)
	}
	for l, want := range map[string]string{"位置": "漕溪北路 100 号", "厕位数": "12 个", "面积": "56.5 平方米", "运营单位": "徐汇环卫",
		"第三卫生间": "有", "无障碍设施": "无", "所属区县": "徐汇区", "经纬度": "121.43, 31.19"} {
		if got := label(f, l); got != want {
			t.Errorf("%s = %q, want %q", l, got, want)
		}
	}
	st := facilityOf(&plugin.Code{TypeName: "设施", Attributes: json.RawMessage(`{"facilityType":"垃圾中转站","capacity":80,"transferCapacity":60}`)}, cfg)
	if st.Kind != transfer || st.Name != "垃圾中转站" || label(st, "处置能力（吨/日）") != "80" || label(st, "转运能力（吨/日）") != "60" {
		t.Fatalf("transfer station %+v", st)
	}
	bare := facilityOf(&plugin.Code{TypeName: "演示·公共设施", Name: ""}, config{DefaultFacility: transfer, OpeningHours: "全天"})
	if bare.Kind != transfer || len(bare.Rows) != 0 || bare.Name != "垃圾中转站" || bare.OpeningHours != "全天" {
		t.Fatalf("bare code %+v", bare)
	}
	if k := kindOf(&plugin.Code{TypeName: "生活垃圾中转站"}, nil, toilet); k != transfer {
		t.Fatalf("kind from type name: %s", k)
	}
}

func TestMonthRangeAndCounts(t *testing.T) {
	now := time.Date(2026, 2, 10, 8, 0, 0, 0, cst)
	from, to, err := monthRange("", now)
	if err != nil || from.Format("2006-01-02") != "2026-02-01" || to.Format("2006-01-02") != "2026-03-01" {
		t.Fatalf("current month: %s %s %v", from, to, err)
	}
	for _, bad := range []string{"2026-13", "2026/02", "abc", "1999-01"} {
		if _, _, err := monthRange(bad, now); !plugin.IsCode(err, plugin.ErrInvalid) {
			t.Errorf("month %q: %v", bad, err)
		}
	}
	rec := func(day int, doc string) plugin.Record {
		return plugin.Record{CreatedAt: time.Date(2026, 2, day, 7, 0, 0, 0, cst).UTC(), Doc: json.RawMessage(doc)}
	}
	days, total := countByDay(from, to,
		[]plugin.Record{rec(1, `{"abnormal":false}`), rec(1, `{"abnormal":true}`), rec(28, `{}`)},
		[]plugin.Record{rec(2, `{}`)},
		[]plugin.Record{rec(28, `{}`), rec(28, `{}`)})
	if len(days) != 28 || days[0].Checkins != 2 || days[0].Abnormal != 1 || days[1].Cleanings != 1 || days[27].Reports != 2 || days[27].Checkins != 1 {
		t.Fatalf("days %+v", days)
	}
	if total.Checkins != 3 || total.Abnormal != 1 || total.Cleanings != 1 || total.Reports != 2 {
		t.Fatalf("total %+v", total)
	}
}

func TestRecordIDs(t *testing.T) {
	day := time.Date(2026, 11, 3, 23, 59, 0, 0, cst)
	long := strings.Repeat("t", 64)
	for _, id := range []string{staffID(cleaner.Pseudonym), staffID(strings.Repeat("v", 80)), checkinID(long, cleaner.Pseudonym, day),
		learningID(cleaner.Pseudonym, "m1"), alertID("rep", long+"\x001700000000")} {
		if !reportIDRe.MatchString(id) {
			t.Errorf("id %q is not a valid record id", id)
		}
	}
	if checkinID("a", "b", day) == checkinID("a", "b", day.Add(2*time.Minute)) {
		t.Error("check-ins of two days share an id")
	}
	if checkinID("a", "b", day) != checkinID("a", "b", day.Add(-9*time.Hour)) {
		t.Error("check-ins of one day differ")
	}
}
