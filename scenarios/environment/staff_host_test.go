package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestStaffInTheHost plays cleaners logged in through the city's app (a
// landing ticket) in a real host: enrollment, one check-in a day, the
// abnormal check-in alert, a cleaning record, a report handled, the
// monthly report; and a logged-in visitor who is not enrolled refused.
func TestStaffInTheHost(t *testing.T) {
	t.Parallel()
	// Opening hours that exclude the present, so the check-in is
	// abnormal: from two to three hours from now.
	now := time.Now().In(cst)
	open, shut := now.Add(2*time.Hour), now.Add(3*time.Hour)
	hours := fmt.Sprintf("%02d:%02d-%02d:%02d", open.Hour(), open.Minute(), shut.Hour(), shut.Minute())
	h := plugintest.Start(t, plugintest.Options{Config: `{"enrollmentCode":"HJ-2026","openingHours":"` + hours + `",
		"materials":[{"id":"m1","title":"公厕保洁作业规范"}]}`})
	code := h.Code(0)
	form := func(v url.Values) (string, *strings.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	count := func(collection string) int {
		out := strings.TrimSpace(h.CLI(t, "plugin", "records", "environment", collection))
		if out == "" {
			return 0
		}
		return len(strings.Split(out, "\n"))
	}

	cleanerV := h.Login(t, plugintest.Person{Name: "王小明", CertNo: residentID("31010419900101123"), Mobile: "13800000001"})
	cleanerV.Authorize(t)
	if status, page := cleanerV.Get(t, code, "/staff"); status != 200 || !strings.Contains(page, "保洁人员登记") {
		t.Fatalf("portal before enrollment: %d %s", status, page)
	}
	if status, page := cleanerV.Get(t, code, "/staff/monthly"); status != http.StatusForbidden || !strings.Contains(page, "尚未登记") {
		t.Fatalf("monthly before enrollment: %d %s", status, page)
	}
	ct, body := form(url.Values{"code": {"wrong"}})
	if status, page, _ := cleanerV.Post(t, code, "/staff/enroll", ct, body); status != http.StatusForbidden || !strings.Contains(page, "登记码不正确") {
		t.Fatalf("wrong enrollment code: %d %s", status, page)
	}
	ct, body = form(url.Values{"code": {"HJ-2026"}})
	if status, _, hdr := cleanerV.Post(t, code, "/staff/enroll", ct, body); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+code+"/staff") {
		t.Fatalf("enroll: %d %v", status, hdr)
	}
	out := h.CLI(t, "plugin", "records", "environment", "staff")
	var member plugin.Record
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &member); err != nil || !strings.Contains(string(member.Doc), `"name":"王*`) {
		t.Fatalf("staff record: %v %s", err, out)
	}

	// One check-in a day; outside opening hours it is abnormal and alerts.
	status, page, _ := cleanerV.Post(t, code, "/staff/checkin", "application/x-www-form-urlencoded", strings.NewReader(""))
	if status != http.StatusCreated || !strings.Contains(page, `id="abnormal"`) {
		t.Fatalf("check-in: %d %s", status, page)
	}
	status, page, _ = cleanerV.Post(t, code, "/staff/checkin", "application/x-www-form-urlencoded", strings.NewReader(""))
	if status != http.StatusConflict || !strings.Contains(page, "每天只需打卡一次") {
		t.Fatalf("second check-in: %d %s", status, page)
	}
	if n := count("checkins"); n != 1 {
		t.Fatalf("%d check-ins, want 1", n)
	}
	out = h.CLI(t, "plugin", "records", "environment", "alerts")
	var a plugin.Record
	var doc alert
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil || json.Unmarshal(a.Doc, &doc) != nil ||
		doc.Kind != "打卡异常预警" || doc.Status != "sent" || !strings.Contains(doc.Reason, hours) {
		t.Fatalf("abnormal check-in alert: %v %s", err, out)
	}

	// A cleaning record with a photo, and a citizen's report handled.
	ct2, data := multipartBody(url.Values{"items": {"地面清洁", "除臭消杀"}, "note": {"已完成"}}, pngBytes(512))
	if status, page, _ := cleanerV.Post(t, code, "/staff/cleaning", ct2, bytes.NewReader(data)); status != http.StatusCreated || !strings.Contains(page, "地面清洁、除臭消杀") {
		t.Fatalf("cleaning: %d %s", status, page)
	}
	ct2, data = multipartBody(url.Values{"category": {"异味"}, "text": {"很臭"}}, nil)
	_, page, _ = h.Post(t, code, "/report", ct2, bytes.NewReader(data))
	id := between(page, `<span id="report-id">`, "<")
	ct, body = form(url.Values{"id": {id}, "note": {"已除臭"}})
	if status, _, _ := cleanerV.Post(t, code, "/staff/resolve", ct, body); status != http.StatusSeeOther {
		t.Fatalf("resolve: %d", status)
	}
	if _, page := h.Get(t, code, "/status?id="+id); !strings.Contains(page, `<dd id="report-status">已处理</dd>`) {
		t.Fatalf("status after resolve: %s", page)
	}

	// The monthly report counts today's check-in, cleaning and report.
	status, page = cleanerV.Get(t, code, "/staff/monthly")
	today := time.Now().In(cst).Format(time.DateOnly)
	if status != 200 || !strings.Contains(page, `<tr id="day-`+today+`"><td>`+today+`</td><td>1</td><td>1</td><td>1</td><td>1</td></tr>`) {
		t.Fatalf("monthly: %d %s", status, page)
	}

	// Another logged-in citizen, not enrolled: refused on every staff
	// route (403), nothing stored.
	other := h.Login(t, plugintest.Person{Name: "李四", CertNo: residentID("31010419920202234"), Mobile: "13800000002"})
	for _, p := range []string{"/staff/monthly", "/staff/learn"} {
		if status, page := other.Get(t, code, p); status != http.StatusForbidden {
			t.Errorf("GET %s as a stranger: %d %s", p, status, page)
		}
	}
	for _, p := range []string{"/staff/checkin", "/staff/cleaning", "/staff/resolve", "/staff/learn"} {
		ct, body := form(url.Values{"items": {"地面清洁"}, "id": {id}, "material": {"m1"}})
		if status, page, _ := other.Post(t, code, p, ct, body); status != http.StatusForbidden || !strings.Contains(page, "尚未登记") {
			t.Errorf("POST %s as a stranger: %d %s", p, status, page)
		}
	}
	if n, m := count("checkins"), count("cleanings"); n != 1 || m != 1 {
		t.Fatalf("%d check-ins and %d cleanings after the stranger, want 1 and 1", n, m)
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
