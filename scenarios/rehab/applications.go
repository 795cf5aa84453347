package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Application statuses: pending when submitted; an operator approves or
// rejects it (with a reason), once.
const (
	statusPending  = "待审核"
	statusApproved = "已通过"
	statusRejected = "已驳回"
)

// Notification templates the platform defines.
const (
	tplSubmitted = "rehab.application_submitted"
	tplDecided   = "rehab.application_decided"
)

// maxPending bounds one citizen's pending applications at one service
// point: enough for a household, too few to flood the staff.
const maxPending = 3

// application is a rental application (租赁申请), the document of the
// applications collection. Deposit and Fee are yuan.
type application struct {
	Point         string  `json:"point"`
	Aid           string  `json:"aid"`
	AidName       string  `json:"aidName"`
	Start         string  `json:"start"` // 2006-01-02
	Days          int     `json:"days"`
	End           string  `json:"end"` // the last day of the rental
	Deposit       float64 `json:"deposit"`
	Fee           float64 `json:"fee"` // daily fee × days, the estimate shown
	Phone         string  `json:"phone"`
	Note          string  `json:"note,omitempty"`
	Status        string  `json:"status"`
	Applicant     string  `json:"applicant"` // the citizen's pseudonym in this plugin
	ApplicantName string  `json:"applicantName,omitempty"`
	Reviewer      string  `json:"reviewer,omitempty"`
	ReviewedAt    string  `json:"reviewedAt,omitempty"`
	ReviewNote    string  `json:"reviewNote,omitempty"`
}

// formFields are the fields of the application form; others are refused.
var formFields = []string{"aid", "start", "days", "phone", "note"}

var (
	mobileRe   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	landlineRe = regexp.MustCompile(`^0[0-9]{2,3}-?[0-9]{7,8}$`)
)

// checkApplication validates an application form against the catalogue
// and the policy, on the day today (Beijing time): a rentable aid of the
// catalogue, a start from today to MaxAdvanceDays ahead, a duration of 1
// to the aid's maximum days, a mobile or landline number, and a note of at
// most 200 characters.
func checkApplication(v url.Values, cfg config, today time.Time) (application, error) {
	var a application
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !contains(formFields, name) {
			return a, invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return a, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	get := func(name string) string { return strings.TrimSpace(v.Get(name)) }

	id := get("aid")
	if id == "" {
		return a, missing("请选择要租赁的辅具")
	}
	item, ok := cfg.find(id)
	if !ok {
		return a, invalid("辅具目录中没有编号为 " + id + " 的辅具")
	}
	if !item.rentable() {
		return a, conflict("AidUnavailable", item.Name+"暂不可租，请选择其他辅具")
	}

	s := get("start")
	if s == "" {
		return a, missing("请填写起租日期")
	}
	start, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil {
		return a, invalid("起租日期格式应为 YYYY-MM-DD，如 2026-11-03")
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, cst)
	advance := *cfg.Policy.MaxAdvanceDays
	switch {
	case start.Before(day):
		return a, invalid("起租日期不能早于今天")
	case start.After(day.AddDate(0, 0, advance)):
		return a, invalid(fmt.Sprintf("起租日期最多可提前 %d 天", advance))
	}

	d := get("days")
	if d == "" {
		return a, missing("请填写租期（天）")
	}
	days, err := strconv.Atoi(d)
	if err != nil || days < 1 {
		return a, invalid("租期须为正整数（天）")
	}
	if limit := cfg.maxDays(item); days > limit {
		return a, invalid(fmt.Sprintf("%s的租期不能超过 %d 天", item.Name, limit))
	}

	phone := strings.NewReplacer(" ", "", "　", "").Replace(get("phone"))
	switch {
	case phone == "":
		return a, missing("请填写联系电话")
	case !mobileRe.MatchString(phone) && !landlineRe.MatchString(phone):
		return a, invalid("联系电话格式不正确：请填写 11 位手机号或带区号的固定电话")
	}

	note := get("note")
	if utf8.RuneCountInString(note) > 200 {
		return a, invalid("备注不能超过 200 个字")
	}
	return application{Aid: item.ID, AidName: item.Name, Start: start.Format(time.DateOnly), Days: days,
		End: start.AddDate(0, 0, days-1).Format(time.DateOnly), Deposit: float64(cents(item.Deposit)) / 100,
		Fee: float64(cents(item.DailyFee)*int64(days)) / 100, Phone: phone, Note: note, Status: statusPending}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func applyForm(ctx context.Context, c *call) (*plugin.Response, error) {
	var rentable []catalogueItem
	for _, item := range c.catalogue() {
		if item.Rentable {
			rentable = append(rentable, item)
		}
	}
	if len(rentable) == 0 {
		return nil, conflict("AidUnavailable", "目前没有可租赁的辅具，请稍后再试或致电服务点咨询")
	}
	today := c.now.Format(time.DateOnly)
	return render(200, applyFormPage, c, map[string]any{"Catalogue": rentable, "Today": today,
		"Latest": c.now.AddDate(0, 0, *c.cfg.Policy.MaxAdvanceDays).Format(time.DateOnly), "MaxDays": c.cfg.Policy.MaxDays,
		"Selected": c.req.QueryValue("aid")})
}

// submitApplication stores an application as pending and tells the
// service point's staff.
func submitApplication(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	a, err := checkApplication(v, c.cfg, c.now)
	if err != nil {
		return nil, err
	}
	visitor := c.req.Visitor
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "applications", CodeToken: c.req.Code.Token,
		Where: map[string]any{"status": statusPending, "applicant": visitor.Pseudonym}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if page.Total >= maxPending {
		return nil, conflict("TooManyPending", fmt.Sprintf("您在本服务点已有 %d 份待审核的申请，请等审核后再提交", page.Total))
	}
	a.Point, a.Applicant = c.point.Name, visitor.Pseudonym
	if visitor.Authorized {
		a.ApplicantName = visitor.Name
	}
	rec, err := c.put(ctx, "applications", "", c.req.Code.Token, a, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "application.submitted", map[string]any{"applicationId": rec.ID, "aid": a.Aid, "days": a.Days}); err != nil {
		c.warn(ctx, "application.submitted event", err)
	}
	if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplSubmitted, To: c.notifyTo(), Params: map[string]string{
		"applicationId": rec.ID, "code": c.req.Code.Token, "point": a.Point, "aid": a.AidName, "start": a.Start,
		"days": strconv.Itoa(a.Days),
	}}); err != nil {
		c.warn(ctx, "application notification", err)
	}
	return render(http.StatusCreated, appliedPage, c, viewOf(*rec))
}

// notifyTo is who hears of new applications.
func (c *call) notifyTo() string {
	switch {
	case c.cfg.NotifyTo != "":
		return c.cfg.NotifyTo
	case c.req.Code != nil && c.req.Code.OwnerUnit != "":
		return c.req.Code.OwnerUnit
	}
	return "operator"
}

// applicationView is an application on a page.
type applicationView struct {
	application
	ID, Created, Reviewed, DepositText, FeeText, MaskedPhone string
}

func viewOf(rec plugin.Record) applicationView {
	v := applicationView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.application)
	v.Reviewed = readable(v.ReviewedAt)
	v.DepositText, v.FeeText = yuan(cents(v.Deposit)), yuan(cents(v.Fee))
	v.MaskedPhone = maskPhone(v.Phone)
	return v
}

// maskPhone keeps the first three and last four digits: 138****0000.
func maskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

var applicationIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// findApplication reads an application of the request's code made by the
// citizen. Anyone else's, or one of another code, is not found: the
// number alone shows nothing to a stranger.
func (c *call) findApplication(ctx context.Context, id string) (*plugin.Record, error) {
	if !applicationIDRe.MatchString(id) {
		return nil, invalid("申请编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "applications", id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到该申请，请核对申请编号")
	}
	if err != nil {
		return nil, err
	}
	var a application
	decode(*rec, &a)
	if rec.CodeToken != c.req.Code.Token || a.Applicant != c.req.Visitor.Pseudonym {
		return nil, notFound("没有找到该申请，请核对申请编号")
	}
	return rec, nil
}

// applicationStatus shows one of the citizen's applications by its
// number, or the look-up form and their applications at this point.
func applicationStatus(ctx context.Context, c *call) (*plugin.Response, error) {
	data := map[string]any{}
	if id := c.req.QueryValue("id"); id != "" {
		rec, err := c.findApplication(ctx, id)
		if err != nil {
			return nil, err
		}
		data["Application"] = viewOf(*rec)
		return render(200, applicationPage, c, data)
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "applications", CodeToken: c.req.Code.Token,
		Where: map[string]any{"applicant": c.req.Visitor.Pseudonym}, Newest: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	var mine []applicationView
	for _, rec := range page.Items {
		mine = append(mine, viewOf(rec))
	}
	data["Mine"] = mine
	return render(200, applicationPage, c, data)
}
