package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Report statuses. A report is received when stored; a cleaner (or, once
// the host serves admin routes, the bureau) marks it handled.
const (
	statusReceived = "已受理"
	statusHandled  = "已处理"
)

// Notification templates the platform must define.
const (
	tplReportCreated   = "environment.report_created"
	tplRepeatedReports = "environment.repeated_reports"
	tplAbnormalCheckin = "environment.abnormal_checkin"
)

// report is a problem report (问题反映), the document of the reports
// collection.
type report struct {
	Category     string `json:"category"`
	Text         string `json:"text"`
	Photo        string `json:"photo,omitempty"`
	Status       string `json:"status"`
	Facility     string `json:"facility"`
	FacilityName string `json:"facilityName"`
	Reporter     string `json:"reporter,omitempty"` // the logged-in reporter's pseudonym; tourists report anonymously
	HandledAt    string `json:"handledAt,omitempty"`
	HandledNote  string `json:"handledNote,omitempty"`
	Handler      string `json:"handler,omitempty"`
}

// reportView is a report on a page.
type reportView struct {
	report
	ID, Created string
}

func viewOf(rec plugin.Record) reportView {
	v := reportView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.report)
	return v
}

func reportForm(ctx context.Context, c *call) (*plugin.Response, error) {
	return render(200, reportFormPage, c, map[string]any{
		"Categories": c.cfg.categoriesFor(c.facility.Kind), "Hint": photoHint})
}

// checkReport validates a report form: a known category and a 1–500
// character description.
func checkReport(f *form, categories []string) (category, text string, err error) {
	category, text = f.get("category"), f.get("text")
	if category == "" {
		return "", "", missing("请选择问题类型")
	}
	if !contains(categories, category) {
		return "", "", invalid("未知的问题类型：" + category)
	}
	if text == "" {
		return "", "", missing("请填写问题描述")
	}
	if utf8.RuneCountInString(text) > 500 {
		return "", "", invalid("问题描述不能超过 500 个字")
	}
	return category, text, nil
}

// submitReport stores a report, hands it over as a work order (an event
// and a notification to the code's owner unit), and raises the
// repeated-reports alert when the report completes the threshold. Once
// stored, the report is answered as received whatever happens to the
// notifications: a citizen who saw an error would report again.
func submitReport(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	category, text, err := checkReport(f, c.cfg.categoriesFor(c.facility.Kind))
	if err != nil {
		return nil, err
	}
	photo, err := c.storePhoto(ctx, f)
	if err != nil {
		return nil, err
	}
	r := report{Category: category, Text: text, Photo: photo, Status: statusReceived,
		Facility: c.facility.KindName, FacilityName: c.facility.Name}
	if !c.req.Visitor.Tourist {
		r.Reporter = c.req.Visitor.Pseudonym
	}
	rec, err := c.put(ctx, "reports", "", r, 0)
	if err != nil {
		return nil, err
	}
	workOrder := c.link("/workorder?id=" + rec.ID)
	if err := c.host.Event(ctx, "report.created", map[string]string{"reportId": rec.ID, "category": category,
		"workOrder": workOrder}); err != nil {
		c.warn(ctx, "report.created event", err)
	}
	if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplReportCreated, To: c.recipient(), Params: map[string]string{
		"reportId": rec.ID, "code": c.req.Code.Token, "facility": c.facility.Name, "category": category, "workOrder": workOrder,
	}}); err != nil {
		c.warn(ctx, "report notification", err)
	}
	if err := c.alertRepeated(ctx, rec.ID); err != nil {
		c.warn(ctx, "repeated-reports alert", err)
	}
	return render(http.StatusCreated, reportDonePage, c, map[string]string{"ID": rec.ID, "Status": r.Status})
}

var reportIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// findReport reads a report of the request's code. A report of another
// code is not found: a code shows only its own reports, whatever number
// is typed.
func (c *call) findReport(ctx context.Context, id string) (*plugin.Record, error) {
	if id == "" {
		return nil, missing("请提供上报编号 id")
	}
	if !reportIDRe.MatchString(id) {
		return nil, invalid("上报编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "reports", id)
	if plugin.IsCode(err, plugin.ErrNotFound) || (err == nil && rec.CodeToken != c.req.Code.Token) {
		return nil, notFound("没有找到该上报，请核对上报编号")
	}
	return rec, err
}

// reportStatus shows one report by its number, or the look-up form and,
// for a logged-in visitor, their reports on this code.
func reportStatus(ctx context.Context, c *call) (*plugin.Response, error) {
	data := map[string]any{}
	if id := c.req.QueryValue("id"); id != "" {
		rec, err := c.findReport(ctx, id)
		if err != nil {
			return nil, err
		}
		data["Report"] = viewOf(*rec)
		return render(200, statusPage, c, data)
	}
	if v := c.req.Visitor; !v.Tourist && v.Pseudonym != "" {
		page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "reports", CodeToken: c.req.Code.Token,
			Where: map[string]any{"reporter": v.Pseudonym}, Newest: true, Limit: 20})
		if err != nil {
			return nil, err
		}
		var mine []reportView
		for _, rec := range page.Items {
			mine = append(mine, viewOf(rec))
		}
		data["Mine"] = mine
	}
	return render(200, statusPage, c, data)
}

// workOrderDoc is what a 12345-style system fetches for a report
// (GET {code URL}/workorder?id=…): the report without who made it.
type workOrderDoc struct {
	WorkOrderNo string            `json:"workOrderNo"`
	Source      string            `json:"source"`
	Code        string            `json:"code"`
	CodeNumber  int64             `json:"codeNumber,omitempty"`
	RegionCode  string            `json:"regionCode,omitempty"`
	OwnerUnit   string            `json:"ownerUnit,omitempty"`
	Facility    map[string]string `json:"facility"`
	Category    string            `json:"category"`
	Description string            `json:"description"`
	Photos      []string          `json:"photos"`
	Status      string            `json:"status"`
	ReportedAt  string            `json:"reportedAt"`
	HandledAt   string            `json:"handledAt,omitempty"`
	HandledNote string            `json:"handledNote,omitempty"`
	StatusURL   string            `json:"statusUrl"`
}

func workOrder(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, err := c.findReport(ctx, c.req.QueryValue("id"))
	if err != nil {
		return nil, err
	}
	v := viewOf(*rec)
	fac := map[string]string{"kind": c.facility.Kind, "kindName": c.facility.KindName, "name": c.facility.Name}
	for _, r := range c.facility.Rows {
		fac[r.Label] = r.Value
	}
	doc := workOrderDoc{WorkOrderNo: rec.ID, Source: "码上环境", Code: c.req.Code.Token, CodeNumber: c.req.Code.Number,
		RegionCode: c.req.Code.RegionCode, OwnerUnit: c.req.Code.OwnerUnit, Facility: fac, Category: v.Category,
		Description: v.Text, Photos: []string{}, Status: v.Status, ReportedAt: stamp(rec.CreatedAt),
		HandledAt: v.HandledAt, HandledNote: v.HandledNote, StatusURL: c.link("/status?id=" + rec.ID)}
	if v.Photo != "" {
		doc.Photos = append(doc.Photos, v.Photo)
	}
	return plugin.JSON(200, doc)
}

// recipient is who alerts and work orders go to.
func (c *call) recipient() string {
	switch {
	case c.cfg.AlertTo != "":
		return c.cfg.AlertTo
	case c.req.Code.OwnerUnit != "":
		return c.req.Code.OwnerUnit
	}
	return "operator"
}

// Alerts.

// alert is the document of the alerts collection: one per alert sent, so
// that the bureau can list and export them, and so that an alert is sent
// once (its id is derived from what it is about).
type alert struct {
	Kind        string `json:"kind"`
	Count       int64  `json:"count,omitempty"`
	Threshold   int    `json:"threshold,omitempty"`
	WindowStart string `json:"windowStart,omitempty"`
	WindowHours int    `json:"windowHours,omitempty"`
	Reason      string `json:"reason"`
	Subject     string `json:"subject"` // the report or check-in that raised it
	Recipient   string `json:"recipient"`
	Status      string `json:"status"` // pending while the notification is being queued, then sent
	MessageID   string `json:"messageId,omitempty"`
}

// windowStart is the start of the fixed window holding t: windows of the
// given hours, aligned on Beijing midnight of 1970-01-01 (so 24-hour
// windows are calendar days, 12-hour ones half days).
func windowStart(t time.Time, hours int) time.Time {
	const offset = 8 * 3600
	w := int64(hours) * 3600
	local := t.Unix() + offset
	start := local - ((local%w)+w)%w
	return time.Unix(start-offset, 0).In(cst)
}

// alertID names the alert of a kind about a subject: the same subject
// always gives the same id, which is what makes an alert once-only.
// Record ids hold at most 64 characters; code tokens may be as long.
func alertID(kind, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "al-" + kind + "-" + hex.EncodeToString(sum[:12])
}

// alertRepeated raises the repeated-reports alert when the code's reports
// in the current window reach the threshold, once per code and window.
//
// The alert record is created (create-only, keyed by code and window)
// before the notification is queued, so of two reports completing the
// threshold at once on two instances or nodes only one alerts; it is
// removed again when queueing fails, so that a later report retries.
func (c *call) alertRepeated(ctx context.Context, reportID string) error {
	ws := windowStart(c.now, c.cfg.AlertWindowHours)
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "reports", CodeToken: c.req.Code.Token, From: ws, Limit: 1})
	if err != nil {
		return err
	}
	if page.Total < int64(c.cfg.AlertThreshold) {
		return nil
	}
	id := alertID("rep", c.req.Code.Token+"\x00"+strconv.FormatInt(ws.Unix(), 10))
	a := alert{Kind: "多次反映预警", Count: page.Total, Threshold: c.cfg.AlertThreshold, WindowStart: stamp(ws),
		WindowHours: c.cfg.AlertWindowHours, Subject: reportID, Recipient: c.recipient(),
		Reason: c.facility.Name + " 自 " + ws.Format("01-02 15:04") + " 起已收到 " + strconv.FormatInt(page.Total, 10) + " 次问题反映"}
	return c.raise(ctx, id, a, tplRepeatedReports, "alert.repeated_reports", map[string]string{
		"code": c.req.Code.Token, "facility": c.facility.Name, "count": strconv.FormatInt(page.Total, 10),
		"threshold": strconv.Itoa(c.cfg.AlertThreshold), "windowStart": stamp(ws), "reportId": reportID,
	})
}

// raise sends an alert unless the alert of that id was sent already.
func (c *call) raise(ctx context.Context, id string, a alert, template, event string, params map[string]string) error {
	a.Status = "pending"
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	rec, err := c.host.PutRecord(ctx, plugin.Record{Collection: "alerts", ID: id, CodeToken: c.req.Code.Token, Doc: b, IfAbsent: true})
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil // raised already
	}
	if err != nil {
		return err
	}
	msg, err := c.host.Notify(ctx, plugin.Notification{Template: template, To: a.Recipient, Params: params})
	if err != nil {
		if derr := c.host.DeleteRecord(ctx, "alerts", id); derr != nil {
			c.warn(ctx, "alert record not removed after a failed notification", derr)
		}
		return err
	}
	a.Status, a.MessageID = "sent", msg
	if _, err := c.put(ctx, "alerts", id, a, rec.Version); err != nil {
		return err
	}
	return c.host.Event(ctx, event, map[string]string{"alertId": id, "messageId": msg})
}
