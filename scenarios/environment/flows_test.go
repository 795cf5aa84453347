package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// These tests call the handler with a fake host (fakehost_test.go): the
// flows of logged-in visitors, which sdk/plugintest cannot log in yet, and
// the edges of the citizen flows.

const staffConfig = `{"enrollmentCode":"HJ-2026","alertThreshold":3,"alertWindowHours":24,
	"materials":[{"id":"m1","title":"公厕保洁作业规范","url":"https://example.org/m1.pdf"},{"id":"m2","title":"服务礼仪","kind":"视频"}]}`

func body(r *plugin.Response) string { return string(r.Body) }

func TestLandingPage(t *testing.T) {
	b := newBench(t, "")
	resp, err := b.get("home", tourist, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"漕溪北路公厕", "公共厕所", "漕溪北路 100 号", "05:00-22:00", "56.5 平方米", "徐汇环卫",
		"<dt>第三卫生间</dt><dd>有</dd>", "<dt>无障碍设施</dt><dd>无</dd>", `name="viewport"`, "http://city.test/c/tok-toilet-1/report"} {
		if !strings.Contains(body(resp), want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(body(resp), "no-data") {
		t.Error("no-data shown with attributes")
	}
	b.code.Attributes = nil
	b.code.TypeName = "垃圾中转站"
	resp, err = b.get("home", tourist, nil)
	if err != nil || !strings.Contains(body(resp), `id="no-data"`) || !strings.Contains(body(resp), "<h1>垃圾中转站</h1>") {
		t.Fatalf("no attributes: %v %s", err, body(resp))
	}
	// Attribute values are escaped.
	b.code.Attributes = json.RawMessage(`{"name":"<script>x</script>"}`)
	if resp, _ = b.get("home", tourist, nil); strings.Contains(body(resp), "<script>x") {
		t.Fatal("attribute not escaped")
	}
}

func submit(t *testing.T, b *bench, v plugin.Visitor, category, text string, photo []byte) (string, error) {
	t.Helper()
	ctype, data := multipartBody(url.Values{"category": {category}, "text": {text}}, photo)
	resp, err := b.call("report", v, nil, ctype, data)
	if err != nil {
		return "", err
	}
	if resp.Status != 201 {
		t.Fatalf("report answered %d", resp.Status)
	}
	s := body(resp)
	i := strings.Index(s, `<span id="report-id">`)
	s = s[i+len(`<span id="report-id">`):]
	return s[:strings.Index(s, "<")], nil
}

func TestReportFlow(t *testing.T) {
	b := newBench(t, "")
	id, err := submit(t, b, citizen, "缺少手纸或洗手液", "二楼男厕没有手纸", pngBytes(100))
	if err != nil {
		t.Fatal(err)
	}
	docs := b.docs("reports")
	if len(docs) != 1 || docs[0]["status"] != statusReceived || docs[0]["reporter"] != citizen.Pseudonym ||
		!strings.HasPrefix(docs[0]["photo"].(string), "http://city.test/plugin-files/") || docs[0]["facilityName"] != "漕溪北路公厕" {
		t.Fatalf("stored %v", docs)
	}
	if len(b.host.Events) != 1 || b.host.Events[0].Name != "report.created" || !strings.Contains(string(b.host.Events[0].Detail), "/workorder?id="+id) {
		t.Fatalf("events %+v", b.host.Events)
	}
	if len(b.host.Notifications) != 1 || b.host.Notifications[0].Template != tplReportCreated || b.host.Notifications[0].To != "徐汇区绿化市容局" {
		t.Fatalf("notifications %+v", b.host.Notifications)
	}
	resp, err := b.get("status", tourist, url.Values{"id": {id}})
	if err != nil || !strings.Contains(body(resp), "二楼男厕没有手纸") || !strings.Contains(body(resp), statusReceived) || !strings.Contains(body(resp), "<img src=") {
		t.Fatalf("status: %v %s", err, body(resp))
	}
	// The logged-in reporter finds it without the number.
	if resp, _ = b.get("status", citizen, nil); !strings.Contains(body(resp), "我的上报") || !strings.Contains(body(resp), id) {
		t.Fatalf("my reports: %s", body(resp))
	}
	// The work order, for the 12345 system.
	resp, err = b.get("workorder", tourist, url.Values{"id": {id}})
	if err != nil || resp.Header["Content-Type"] != "application/json" {
		t.Fatalf("workorder: %v %+v", err, resp)
	}
	var wo workOrderDoc
	if err := json.Unmarshal(resp.Body, &wo); err != nil || wo.WorkOrderNo != id || wo.Code != "tok-toilet-1" || wo.Category != "缺少手纸或洗手液" ||
		len(wo.Photos) != 1 || wo.Facility["name"] != "漕溪北路公厕" || wo.StatusURL != "http://city.test/c/tok-toilet-1/status?id="+id {
		t.Fatalf("work order %+v (%v)", wo, err)
	}
	if strings.Contains(string(resp.Body), citizen.Pseudonym) {
		t.Fatal("the work order names the reporter")
	}
	// Another code does not see it, by page or by work order.
	b.code.Token = "tok-other"
	for _, route := range []string{"status", "workorder"} {
		_, err := b.get(route, tourist, url.Values{"id": {id}})
		wantCode(t, err, plugin.ErrNotFound)
	}
	_, err = b.get("workorder", tourist, nil)
	wantCode(t, err, "MissingParameter")
	_, err = b.get("status", tourist, url.Values{"id": {"../etc"}})
	wantCode(t, err, plugin.ErrInvalid)
}

func TestReportBadInputStoresNothing(t *testing.T) {
	b := newBench(t, "")
	for _, tc := range []struct {
		name          string
		category, txt string
		photo         []byte
		code          string
	}{
		{"no text", "异味", "", nil, "MissingParameter"},
		{"no category", "", "很臭", nil, "MissingParameter"},
		{"unknown category", "乱停车", "很臭", nil, plugin.ErrInvalid},
		{"not an image", "异味", "很臭", []byte("just text"), plugin.ErrInvalid},
		{"oversize photo", "异味", "很臭", pngBytes(maxPhoto), plugin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := submit(t, b, tourist, tc.category, tc.txt, tc.photo)
			wantCode(t, err, tc.code)
		})
	}
	if n := b.count("reports"); n != 0 || len(b.host.Files) != 0 || len(b.host.Notifications) != 0 || len(b.host.Events) != 0 {
		t.Fatalf("bad input left %d reports, %d files, %d notifications, %d events", n, len(b.host.Files), len(b.host.Notifications), len(b.host.Events))
	}
}

func alertsOf(b *bench, kind string) []map[string]any {
	var out []map[string]any
	for _, d := range b.docs("alerts") {
		if d["kind"] == kind {
			out = append(out, d)
		}
	}
	return out
}

func notesOf(b *bench, template string) int {
	n := 0
	for _, x := range b.host.Notifications {
		if x.Template == template {
			n++
		}
	}
	return n
}

func TestRepeatedReportsAlertOncePerWindow(t *testing.T) {
	b := newBench(t, `{"alertThreshold":3,"alertWindowHours":24,"alertTo":"12345"}`)
	report := func() {
		t.Helper()
		if _, err := submit(t, b, tourist, "异味", "很臭", nil); err != nil {
			t.Fatal(err)
		}
	}
	report()
	report()
	if len(alertsOf(b, "多次反映预警")) != 0 {
		t.Fatal("alert below the threshold")
	}
	report()
	report()
	report()
	alerts := alertsOf(b, "多次反映预警")
	if len(alerts) != 1 || notesOf(b, tplRepeatedReports) != 1 || alerts[0]["status"] != "sent" || alerts[0]["count"] != 3.0 ||
		alerts[0]["recipient"] != "12345" || alerts[0]["_code"] != "tok-toilet-1" {
		t.Fatalf("alerts %v, %d notifications", alerts, notesOf(b, tplRepeatedReports))
	}
	// Another code has its own count.
	b.code.Token = "tok-toilet-2"
	report()
	if len(alertsOf(b, "多次反映预警")) != 1 {
		t.Fatal("another code's report raised an alert")
	}
	// The next day is a new window: a new alert at its third report.
	b.code.Token = "tok-toilet-1"
	b.now = b.now.Add(24 * time.Hour)
	report()
	report()
	if len(alertsOf(b, "多次反映预警")) != 1 {
		t.Fatal("alert before the threshold of the new window")
	}
	// The outbox is down: the report is still received, and the alert is
	// retried with the next report.
	b.host.Fail[plugin.NotifySend] = &plugin.Error{Code: plugin.ErrUnavailable, Message: "outbox down"}
	report()
	if len(alertsOf(b, "多次反映预警")) != 1 {
		t.Fatal("alert kept although its notification failed")
	}
	delete(b.host.Fail, plugin.NotifySend)
	report()
	if len(alertsOf(b, "多次反映预警")) != 2 || notesOf(b, tplRepeatedReports) != 2 {
		t.Fatalf("second window: %v", alertsOf(b, "多次反映预警"))
	}
	if b.count("reports") != 10 {
		t.Fatalf("%d reports stored, want 10", b.count("reports"))
	}
}

func TestRating(t *testing.T) {
	b := newBench(t, "")
	resp, err := b.get("rate-form", tourist, nil)
	if err != nil || !strings.Contains(body(resp), "导向标识设置") || strings.Contains(body(resp), "扰民") {
		t.Fatalf("toilet questionnaire: %v %s", err, body(resp))
	}
	form := url.Values{"comment": {"很干净"}}
	for i, q := range defaultQuestions[:5] {
		form.Set("q."+q.ID, []string{"5", "4", "5", "4", "2"}[i])
	}
	resp, err = b.post("rate", tourist, form)
	if err != nil || resp.Status != 201 || !strings.Contains(body(resp), `<span id="average">4.0</span>`) {
		t.Fatalf("rate: %v %+v", err, resp)
	}
	docs := b.docs("ratings")
	if len(docs) != 1 || docs[0]["average"] != 4.0 || docs[0]["comment"] != "很干净" || docs[0]["rater"] != nil {
		t.Fatalf("stored %v", docs)
	}
	form.Set("q.signage", "9")
	_, err = b.post("rate", tourist, form)
	wantCode(t, err, plugin.ErrInvalid)
	form.Set("q.signage", "3")
	form.Set("q.pollution", "3") // a transfer-station question, not on a toilet's questionnaire
	_, err = b.post("rate", tourist, form)
	wantCode(t, err, plugin.ErrInvalid)
	form.Del("q.pollution")
	form.Del("q.service")
	_, err = b.post("rate", tourist, form)
	wantCode(t, err, "MissingParameter")
	if b.count("ratings") != 1 {
		t.Fatal("a refused rating was stored")
	}
}

func TestStaffRefusesTouristsAndStrangers(t *testing.T) {
	b := newBench(t, staffConfig)
	form := url.Values{"code": {"HJ-2026"}, "items": {"地面清洁"}, "id": {"x"}, "material": {"m1"}}
	for name, r := range routes {
		if r.access == anyone {
			continue
		}
		t.Run(name, func(t *testing.T) {
			method := b.routes[name].MethodOrGET()
			call := func(v plugin.Visitor) error {
				if method == "GET" {
					_, err := b.get(name, v, nil)
					return err
				}
				_, err := b.post(name, v, form)
				return err
			}
			wantCode(t, call(tourist), "UnauthorizedOperation")
			wantCode(t, call(plugin.Visitor{}), "UnauthorizedOperation") // not a tourist, yet no pseudonym
			if r.access == staff {
				wantCode(t, call(citizen), "UnauthorizedOperation")
			}
		})
	}
	for _, c := range []string{"staff", "checkins", "cleanings", "learnings"} {
		if n := b.count(c); n != 0 {
			t.Errorf("%d %s stored by refused visitors", n, c)
		}
	}
	// A logged-in visitor who is not staff sees the enrollment form.
	resp, err := b.get("staff", citizen, nil)
	if err != nil || !strings.Contains(body(resp), "保洁人员登记") {
		t.Fatalf("staff portal for a stranger: %v %s", err, body(resp))
	}
}

func enrollCleaner(t *testing.T, b *bench) {
	t.Helper()
	resp, err := b.post("enroll", cleaner, url.Values{"code": {"HJ-2026"}})
	if err != nil || resp.Status != 303 || resp.Header["Location"] != "http://city.test/c/tok-toilet-1/staff" {
		t.Fatalf("enroll: %v %+v", err, resp)
	}
}

func TestEnrollment(t *testing.T) {
	b := newBench(t, staffConfig)
	_, err := b.post("enroll", cleaner, url.Values{})
	wantCode(t, err, "MissingParameter")
	_, err = b.post("enroll", cleaner, url.Values{"code": {"HJ-2025"}})
	wantCode(t, err, "UnauthorizedOperation")
	enrollCleaner(t, b)
	enrollCleaner(t, b) // twice is harmless
	docs := b.docs("staff")
	if len(docs) != 1 || docs[0]["pseudonym"] != cleaner.Pseudonym || docs[0]["name"] != "王*" || docs[0]["_id"] != "st-"+cleaner.Pseudonym {
		t.Fatalf("staff %v", docs)
	}
	if len(b.host.Audits) != 1 || b.host.Audits[0].Action != "staff.enroll" {
		t.Fatalf("audits %+v", b.host.Audits)
	}
	resp, err := b.get("staff", cleaner, nil)
	if err != nil || !strings.Contains(body(resp), "每日打卡") || !strings.Contains(body(resp), "地面清洁") {
		t.Fatalf("staff portal: %v %s", err, body(resp))
	}
	// Without an enrollment code configured nobody enrolls.
	b.config = ""
	_, err = b.post("enroll", citizen, url.Values{"code": {"HJ-2026"}})
	wantCode(t, err, "UnauthorizedOperation")
}

func TestCheckinOncePerDay(t *testing.T) {
	b := newBench(t, staffConfig) // 09:30, the toilet opens 05:00-22:00
	enrollCleaner(t, b)
	resp, err := b.post("checkin", cleaner, nil)
	if err != nil || resp.Status != 201 || strings.Contains(body(resp), "abnormal") {
		t.Fatalf("check-in: %v %+v", err, resp)
	}
	b.now = b.now.Add(3 * time.Hour)
	_, err = b.post("checkin", cleaner, nil)
	wantCode(t, err, "FailedOperation")
	if !strings.Contains(err.Error(), "09:30") {
		t.Fatalf("second check-in: %v", err)
	}
	if resp, _ = b.get("staff", cleaner, nil); !strings.Contains(body(resp), `id="checked-in"`) {
		t.Fatalf("portal after check-in: %s", body(resp))
	}
	// Another code, the same day: its own check-in.
	b.code.Token = "tok-toilet-2"
	if _, err := b.post("checkin", cleaner, nil); err != nil {
		t.Fatal(err)
	}
	// The next day at 04:10, before opening: accepted, marked abnormal,
	// and the owner unit alerted once.
	b.code.Token = "tok-toilet-1"
	b.now = time.Date(2026, 11, 4, 4, 10, 0, 0, cst)
	resp, err = b.post("checkin", cleaner, nil)
	if err != nil || !strings.Contains(body(resp), `id="abnormal"`) {
		t.Fatalf("abnormal check-in: %v %s", err, body(resp))
	}
	if n := b.count("checkins"); n != 3 {
		t.Fatalf("%d check-ins, want 3", n)
	}
	alerts := alertsOf(b, "打卡异常预警")
	if len(alerts) != 1 || notesOf(b, tplAbnormalCheckin) != 1 || !strings.Contains(alerts[0]["reason"].(string), "04:10") ||
		b.host.Notifications[len(b.host.Notifications)-1].To != "徐汇区绿化市容局" {
		t.Fatalf("abnormal alerts %v; notes %+v", alerts, b.host.Notifications)
	}
	var abnormal int
	for _, d := range b.docs("checkins") {
		if d["abnormal"] == true {
			abnormal++
		}
	}
	if abnormal != 1 {
		t.Fatalf("%d abnormal check-ins", abnormal)
	}
}

func TestCleaningAndMonthlyReport(t *testing.T) {
	b := newBench(t, staffConfig)
	enrollCleaner(t, b)
	clean := func(items ...string) error {
		ctype, data := multipartBody(url.Values{"items": items, "note": {"已完成"}}, pngBytes(10))
		_, err := b.call("cleaning", cleaner, nil, ctype, data)
		return err
	}
	wantCode(t, clean(), "MissingParameter")
	wantCode(t, clean("擦玻璃"), plugin.ErrInvalid)
	if b.count("cleanings") != 0 || len(b.host.Files) != 0 {
		t.Fatal("a refused cleaning record was stored")
	}
	// 3 November: a check-in, two cleanings, one report; 5 November: a
	// check-in and a cleaning; 1 December: a check-in (another month).
	if _, err := b.post("checkin", cleaner, nil); err != nil {
		t.Fatal(err)
	}
	if err := clean("地面清洁", "便器清洗", "地面清洁"); err != nil {
		t.Fatal(err)
	}
	if err := clean("除臭消杀"); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(t, b, tourist, "异味", "很臭", nil); err != nil {
		t.Fatal(err)
	}
	b.now = b.now.AddDate(0, 0, 2)
	if _, err := b.post("checkin", cleaner, nil); err != nil {
		t.Fatal(err)
	}
	if err := clean("垃圾清运"); err != nil {
		t.Fatal(err)
	}
	b.now = time.Date(2026, 12, 1, 8, 0, 0, 0, cst)
	if _, err := b.post("checkin", cleaner, nil); err != nil {
		t.Fatal(err)
	}
	docs := b.docs("cleanings")
	if len(docs) != 3 || len(b.host.Files) != 3 {
		t.Fatalf("cleanings %v", docs)
	}
	resp, err := b.get("monthly", cleaner, url.Values{"month": {"2026-11"}})
	if err != nil {
		t.Fatal(err)
	}
	s := body(resp)
	for _, want := range []string{`<b id="total-checkins">2</b>`, `<b id="total-cleanings">3</b>`, `<b id="total-reports">1</b>`,
		`<tr id="day-2026-11-03"><td>2026-11-03</td><td>1</td><td>0</td><td>2</td><td>1</td></tr>`,
		`<tr id="day-2026-11-05"><td>2026-11-05</td><td>1</td><td>0</td><td>1</td><td>0</td></tr>`, `id="day-2026-11-30"`} {
		if !strings.Contains(s, want) {
			t.Errorf("monthly report lacks %s", want)
		}
	}
	if resp, _ = b.get("monthly", cleaner, nil); !strings.Contains(body(resp), `<b id="total-checkins">1</b>`) || !strings.Contains(body(resp), "2026-12") {
		t.Fatalf("current month: %s", body(resp))
	}
	_, err = b.get("monthly", cleaner, url.Values{"month": {"11/2026"}})
	wantCode(t, err, plugin.ErrInvalid)
}

func TestResolveReport(t *testing.T) {
	b := newBench(t, staffConfig)
	enrollCleaner(t, b)
	id, err := submit(t, b, tourist, "厕位不洁", "3 号厕位脏", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.get("staff", cleaner, nil); !strings.Contains(body(resp), "3 号厕位脏") {
		t.Fatalf("open report not on the portal: %s", body(resp))
	}
	resp, err := b.post("resolve", cleaner, url.Values{"id": {id}, "note": {"已清洁"}})
	if err != nil || resp.Status != 303 {
		t.Fatalf("resolve: %v %+v", err, resp)
	}
	resp, _ = b.get("status", tourist, url.Values{"id": {id}})
	if !strings.Contains(body(resp), `<dd id="report-status">已处理</dd>`) || !strings.Contains(body(resp), "已清洁") {
		t.Fatalf("status after resolve: %s", body(resp))
	}
	_, err = b.post("resolve", cleaner, url.Values{"id": {id}})
	wantCode(t, err, "FailedOperation")
	b.code.Token = "tok-other"
	_, err = b.post("resolve", cleaner, url.Values{"id": {id}})
	wantCode(t, err, plugin.ErrNotFound)
}

func TestLearning(t *testing.T) {
	b := newBench(t, staffConfig)
	enrollCleaner(t, b)
	resp, err := b.get("learn", cleaner, nil)
	if err != nil || !strings.Contains(body(resp), "公厕保洁作业规范") || !strings.Contains(body(resp), "视频 · 服务礼仪") ||
		!strings.Contains(body(resp), `href="https://example.org/m1.pdf"`) {
		t.Fatalf("learn: %v %s", err, body(resp))
	}
	for range 2 {
		if resp, err := b.post("learned", cleaner, url.Values{"material": {"m1"}}); err != nil || resp.Status != 303 {
			t.Fatalf("learned: %v %+v", err, resp)
		}
	}
	if n := b.count("learnings"); n != 1 {
		t.Fatalf("%d learning records, want 1", n)
	}
	if resp, _ = b.get("learn", cleaner, nil); strings.Count(body(resp), `class="ok">已学习`) != 1 {
		t.Fatalf("learned marks: %s", body(resp))
	}
	_, err = b.post("learned", cleaner, url.Values{"material": {"m9"}})
	wantCode(t, err, plugin.ErrInvalid)
}
