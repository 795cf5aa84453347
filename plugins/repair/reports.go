package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Report statuses: a report is 待受理 when stored; staff accept it
// (处理中) and complete it (已完成), or reject it with a reason (已驳回)
// before it is completed.
const (
	statusPending  = "待受理"
	statusHandling = "处理中"
	statusDone     = "已完成"
	statusRejected = "已驳回"
)

// report is a repair report (报修单), the document of the reports
// collection. Its id is the ticket number. The component's information
// is copied as it was when reported: a later change of the settings does
// not rewrite history.
type report struct {
	Component         string `json:"component"`
	Model             string `json:"model,omitempty"`
	SerialNo          string `json:"serialNo,omitempty"`
	Location          string `json:"location,omitempty"`
	ComponentCategory string `json:"componentCategory,omitempty"`
	Unit              string `json:"unit,omitempty"`
	Category          string `json:"category"`
	Description       string `json:"description"`
	OccurredAt        string `json:"occurredAt,omitempty"`
	Attachment        string `json:"attachment,omitempty"`
	AttachmentType    string `json:"attachmentType,omitempty"` // 图片 or 视频
	Status            string `json:"status"`
	Mode              string `json:"mode"` // 匿名 or 实名
	// Reporter is the logged-in reporter's pseudonym in this plugin;
	// ReporterName and ReporterMobile who they are, from their authorized
	// information (masked by the host) or as they typed it, says
	// ReporterSource. All empty for an anonymous report.
	Reporter       string `json:"reporter,omitempty"`
	ReporterName   string `json:"reporterName,omitempty"`
	ReporterMobile string `json:"reporterMobile,omitempty"`
	ReporterSource string `json:"reporterSource,omitempty"`
	// KeyHash is the SHA-256 of the ticket's query key (查询码), which
	// only the reporter was shown.
	KeyHash      string `json:"keyHash"`
	Handler      string `json:"handler,omitempty"`
	AcceptedAt   string `json:"acceptedAt,omitempty"`
	ClosedAt     string `json:"closedAt,omitempty"`
	Note         string `json:"note,omitempty"`
	RejectReason string `json:"rejectReason,omitempty"`
}

// Form limits. The host stores files of at most 5 MB; its landing pages
// take bodies of at most 6 MB.
const (
	maxAttachment  = 5 << 20
	maxField       = 4 << 10
	maxDescription = 500
	attachmentHint = "可选；照片（JPG、PNG、WebP、GIF）或短视频（MP4、WebM），不超过 5 MB"
)

// formFields are the fields a report form may carry; anything else is
// refused, so that a hidden field cannot smuggle data in.
var formFields = map[string]bool{"description": true, "occurredAt": true, "category": true, "anonymous": true,
	"reporterName": true, "reporterMobile": true}

// reportInput is a checked report form.
type reportInput struct {
	Category, Description, OccurredAt string
}

// occurredLayouts are the forms of 发生时间: the browser's datetime-local
// and what people type.
var occurredLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", time.RFC3339}

// checkReport validates a report form's content: a known category, a
// 1–500 character description and an optional time it happened, not in
// the future (a few minutes of a phone's clock drift allowed) nor more
// than a year ago.
func checkReport(f url.Values, categories []string, now time.Time) (reportInput, error) {
	for name, vs := range f {
		switch {
		case !formFields[name]:
			return reportInput{}, invalid("未知的表单字段：" + name)
		case len(vs) > 1:
			return reportInput{}, invalid("表单字段 " + name + " 只能填写一次")
		case hasControl(vs[0]):
			return reportInput{}, invalid("表单内容含有不可见的控制字符")
		}
	}
	in := reportInput{Category: strings.TrimSpace(f.Get("category")), Description: strings.TrimSpace(f.Get("description"))}
	switch {
	case in.Description == "":
		return in, missing("请填写故障描述")
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return in, invalid("故障描述不能超过 500 个字")
	case in.Category == "":
		return in, missing("请选择故障类型")
	case !contains(categories, in.Category):
		return in, invalid("故障类型须为以下之一：" + strings.Join(categories, "、"))
	}
	if s := strings.TrimSpace(f.Get("occurredAt")); s != "" {
		var t time.Time
		var err error
		for _, layout := range occurredLayouts {
			if t, err = time.ParseInLocation(layout, s, cst); err == nil {
				break
			}
		}
		switch {
		case err != nil:
			return in, invalid("发生时间格式不正确，应如 2026-11-03 08:30")
		case t.After(now.Add(5 * time.Minute)):
			return in, invalid("发生时间不能晚于当前时间")
		case t.Before(now.AddDate(-1, 0, 0)):
			return in, invalid("发生时间不能早于一年前")
		}
		in.OccurredAt = stamp(t)
	}
	return in, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// identity is who a report names.
type identity struct {
	Anonymous                      bool
	Reporter, Name, Mobile, Source string
}

// wantsAnonymous decides whether a report is anonymous, from the
// platform's mode, the visitor and the form (anonymous=1 when the
// citizen chooses it). Tourists cannot be named: the host knows nothing
// of them, so a name they type would be a claim nobody checked.
func wantsAnonymous(mode string, v plugin.Visitor, f url.Values) (bool, error) {
	flag := f.Get("anonymous")
	if flag != "" && flag != "0" && flag != "1" && flag != "on" {
		return false, invalid("anonymous 须为 1（匿名）或 0（实名）")
	}
	anon := flag == "1" || flag == "on"
	named := strings.TrimSpace(f.Get("reporterName")) != "" || strings.TrimSpace(f.Get("reporterMobile")) != ""
	tourist := v.Tourist || v.Pseudonym == ""
	switch mode {
	case modeAnonymous:
		if named {
			return false, invalid("本服务为匿名报修，不收集报修人的姓名和联系电话，请勿填写")
		}
		return true, nil
	case modeRealname:
		if tourist {
			return false, denied("本服务为实名报修，请在城市码 App 中扫码并登录后报修")
		}
		if anon {
			return false, invalid("本服务为实名报修，不能匿名提交")
		}
		return false, nil
	}
	switch {
	case tourist && (named || flag == "0"):
		return false, denied("实名报修请先在城市码 App 中扫码并登录；未登录时只能匿名报修")
	case tourist:
		return true, nil
	}
	// A citizen who typed a name and then ticked 匿名 (the page has no
	// script to clear the fields) reports anonymously: what they typed is
	// dropped, not stored.
	return anon, nil
}

var mobileRe = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// namedIdentity is a logged-in reporter's identity: their authorized
// information from the host (visitor.read) when they authorized this
// service, which the form may repeat but not change; else the name and
// mobile they type.
func namedIdentity(pseudonym string, d *plugin.VisitorDetails, f url.Values) (identity, error) {
	name, mobile := strings.TrimSpace(f.Get("reporterName")), strings.TrimSpace(f.Get("reporterMobile"))
	id := identity{Reporter: pseudonym}
	if d != nil && d.Authorized && d.Name != "" {
		if (name != "" && name != d.Name) || (mobile != "" && mobile != d.Mobile) {
			return id, invalid("报修人信息取自您在城市码中授权的信息，不能修改")
		}
		id.Name, id.Mobile, id.Source = d.Name, d.Mobile, "授权信息"
		return id, nil
	}
	switch {
	case name == "":
		return id, missing("请填写报修人姓名（或在城市码 App 中授权本服务获取您的姓名与联系电话）")
	case utf8.RuneCountInString(name) > 20:
		return id, invalid("报修人姓名不能超过 20 个字")
	case mobile == "":
		return id, missing("请填写联系电话")
	case !mobileRe.MatchString(mobile):
		return id, invalid("联系电话须为 11 位手机号码")
	}
	id.Name, id.Mobile, id.Source = name, mobile, "报修人填写"
	return id, nil
}

// Tickets: the report's id is its number, BX{date}-{8 random
// characters}; the query key is 16 random characters (80 bits), shown once
// to the reporter and kept only as a hash. Both use an alphabet without
// look-alike characters.
const ticketAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

var (
	ticketRe = regexp.MustCompile(`^BX[0-9]{8}-[2-9A-HJ-NP-Z]{8}$`)
	keyRe    = regexp.MustCompile(`^[2-9A-HJ-NP-Z]{16}$`)
)

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = ticketAlphabet[int(b[i])%len(ticketAlphabet)] // 256 is a multiple of 32: no bias
	}
	return string(b)
}

func newTicket(now time.Time) string { return "BX" + now.Format("20060102") + "-" + randomText(8) }

// keyHash binds a key to its ticket, so that a hash copied from one
// report opens no other.
func keyHash(ticket, key string) string {
	h := sha256.Sum256([]byte("repair-ticket:" + ticket + ":" + key))
	return hex.EncodeToString(h[:])
}

// normalizeKey reads a key as people type it: case-insensitive, with or
// without the dashes of its groups.
func normalizeKey(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// groupKey shows a key in groups of four.
func groupKey(k string) string { return k[0:4] + "-" + k[4:8] + "-" + k[8:12] + "-" + k[12:16] }

// submitReport checks a report, stores its attachment and the report, and
// answers the ticket. Everything the citizen can get wrong is checked
// before anything is stored.
func submitReport(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := plugin.ReadForm(c.req, plugin.FormOptions{MaxField: maxField, ImageField: "attachment", MaxImage: maxAttachment, Video: true})
	if err != nil {
		return nil, err
	}
	// The mode first: a tourist on a real-name service is told to log in,
	// not to fix a form they cannot submit.
	anon, err := wantsAnonymous(c.cfg.Mode, c.req.Visitor, f.Values)
	if err != nil {
		return nil, err
	}
	in, err := checkReport(f.Values, c.cfg.Categories, c.now)
	if err != nil {
		return nil, err
	}
	id := identity{Anonymous: true}
	if !anon {
		d, err := c.host.Visitor(ctx)
		if err != nil {
			return nil, err
		}
		if id, err = namedIdentity(c.req.Visitor.Pseudonym, d, f.Values); err != nil {
			return nil, err
		}
	}
	cp, err := c.scanned(ctx)
	if err != nil {
		return nil, err
	}
	r := report{Component: cp.title(), Model: cp["model"], SerialNo: cp["serialNo"], Location: cp["location"],
		ComponentCategory: cp["category"], Unit: cp["unit"], Category: in.Category, Description: in.Description,
		OccurredAt: in.OccurredAt, Status: statusPending, Mode: "匿名"}
	if !id.Anonymous {
		r.Mode, r.Reporter, r.ReporterName, r.ReporterMobile, r.ReporterSource = "实名", id.Reporter, id.Name, id.Mobile, id.Source
	}
	if f.Image != nil {
		file, err := c.host.PutFile(ctx, f.Image.Name, f.Image.ContentType, f.Image.Data)
		if err != nil {
			return nil, err
		}
		r.Attachment, r.AttachmentType = file.URL, "图片"
		if f.Image.IsVideo() {
			r.AttachmentType = "视频"
		}
	}
	key := randomText(16)
	var rec *plugin.Record
	for try := 0; ; try++ {
		ticket := newTicket(c.now)
		r.KeyHash = keyHash(ticket, key)
		rec, err = c.put(ctx, "reports", ticket, c.req.Code.Token, r, 0, true)
		if !plugin.IsCode(err, "FailedOperation.RecordExists") || try == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "report.created", map[string]any{"ticket": rec.ID, "category": r.Category,
		"componentCategory": r.ComponentCategory, "mode": r.Mode, "attachment": r.AttachmentType}); err != nil {
		c.warn(ctx, "report.created event", err)
	}
	return render(http.StatusCreated, donePage, c, cp, map[string]any{"Ticket": rec.ID, "Key": groupKey(key), "Status": r.Status,
		"Anonymous": id.Anonymous, "Link": c.req.BaseURL + "/ticket?no=" + rec.ID + "&key=" + key})
}

// reportView is a report on a page.
type reportView struct {
	report
	ID, Created, Occurred, Accepted, Closed string
	Video                                   bool
}

func viewOf(rec plugin.Record) reportView {
	v := reportView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.report)
	v.Occurred, v.Accepted, v.Closed = readable(v.OccurredAt), readable(v.AcceptedAt), readable(v.ClosedAt)
	v.Video = v.AttachmentType == "视频"
	return v
}

// mine answers the logged-in visitor's named reports on the code, newest
// first; nil for a tourist.
func (c *call) mine(ctx context.Context) ([]reportView, error) {
	v := c.req.Visitor
	if v.Tourist || v.Pseudonym == "" {
		return nil, nil
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "reports", CodeToken: c.req.Code.Token,
		Where: map[string]any{"reporter": v.Pseudonym}, Newest: true, Limit: 10})
	if err != nil {
		return nil, err
	}
	var out []reportView
	for _, rec := range page.Items {
		out = append(out, viewOf(rec))
	}
	return out, nil
}

// home is the landing page: the component, the report form as the mode
// allows it, and the visitor's reports.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	cp, err := c.scanned(ctx)
	if err != nil {
		return nil, err
	}
	v := c.req.Visitor
	loggedIn := !v.Tourist && v.Pseudonym != ""
	data := map[string]any{"Categories": c.cfg.Categories, "Notice": c.cfg.Notice, "Hint": attachmentHint,
		"Mode": c.cfg.Mode, "LoggedIn": loggedIn, "Max": c.now.Format("2006-01-02T15:04"),
		"CanReport": loggedIn || c.cfg.Mode != modeRealname}
	if loggedIn && c.cfg.Mode != modeAnonymous {
		// Pre-fill who reports: the host answers the masked name and
		// mobile when the citizen authorized this service.
		d, err := c.host.Visitor(ctx)
		if err != nil {
			c.warn(ctx, "visitor.read", err)
		} else if d.Authorized && d.Name != "" {
			data["Name"], data["Mobile"] = d.Name, d.Mobile
		}
	}
	if data["Mine"], err = c.mine(ctx); err != nil {
		return nil, err
	}
	return render(200, homePage, c, cp, data)
}

// ticketStatus shows one report: to anyone with its number and query key,
// and to its logged-in named reporter with the number alone. Whatever is
// wrong (no such number, another code's report, a wrong key) answers the
// same 404, so that nothing tells a guess from a miss.
func ticketStatus(ctx context.Context, c *call) (*plugin.Response, error) {
	cp, err := c.scanned(ctx)
	if err != nil {
		return nil, err
	}
	no := strings.ToUpper(strings.TrimSpace(c.req.QueryValue("no")))
	if no == "" {
		mine, err := c.mine(ctx)
		if err != nil {
			return nil, err
		}
		return render(200, ticketPage, c, cp, map[string]any{"Mine": mine})
	}
	if !ticketRe.MatchString(no) {
		return nil, invalid("报修单号格式不正确，应如 BX20261103-ABCD2345")
	}
	key := normalizeKey(c.req.QueryValue("key"))
	if key != "" && !keyRe.MatchString(key) {
		return nil, invalid("查询码须为 16 位字母与数字")
	}
	gone := notFound("没有找到该报修单，请核对报修单号和查询码")
	rec, err := c.host.GetRecord(ctx, "reports", no)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, gone
	}
	if err != nil {
		return nil, err
	}
	var r report
	decode(*rec, &r)
	v := c.req.Visitor
	owner := !v.Tourist && v.Pseudonym != "" && r.Reporter == v.Pseudonym
	keyOK := key != "" && subtle.ConstantTimeCompare([]byte(keyHash(no, key)), []byte(r.KeyHash)) == 1
	if rec.CodeToken != c.req.Code.Token || !(owner || keyOK) {
		return nil, gone
	}
	return render(200, ticketPage, c, cp, map[string]any{"Report": viewOf(*rec)})
}
