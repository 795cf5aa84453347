package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Application statuses. An application is pending when submitted; an
// operator approves it (the change is written to the code) or rejects it
// with a reason, once.
const (
	statusPending  = "待审核"
	statusApproved = "已通过"
	statusRejected = "已驳回"
)

// Notification templates the platform defines.
const (
	tplSubmitted = "wellcheck.request_submitted"
	tplDecided   = "wellcheck.request_decided"
)

// request is an information-update application (信息更新申请), the
// document of the requests collection.
type request struct {
	WellNo   string   `json:"wellNo"`
	WellName string   `json:"wellName"`
	Changes  []change `json:"changes"`
	Summary  string   `json:"summary"`
	Reason   string   `json:"reason"`
	Photo    string   `json:"photo,omitempty"`
	Status   string   `json:"status"`
	// Applicant is the visitor's pseudonym in this plugin; ApplicantName
	// their masked name when they authorized the scene.
	Applicant     string `json:"applicant"`
	ApplicantName string `json:"applicantName,omitempty"`
	Reviewer      string `json:"reviewer,omitempty"`
	ReviewedAt    string `json:"reviewedAt,omitempty"`
	ReviewNote    string `json:"reviewNote,omitempty"`
	// Applied says the change is on the code. PendingApply marks an
	// approved change the host could not write yet: the well's page
	// writes it at the next scan. ApplyError is why the host refused it.
	Applied      bool   `json:"applied"`
	AppliedAt    string `json:"appliedAt,omitempty"`
	PendingApply bool   `json:"pendingApply"`
	ApplyError   string `json:"applyError,omitempty"`
}

// change is one field of an application: from what to what, and the
// attribute written.
type change struct {
	Field string `json:"field"` // the field's key (config and form)
	Label string `json:"label"`
	Key   string `json:"key"` // the attribute key written on the code
	From  string `json:"from"`
	To    string `json:"to"`
	Value any    `json:"value"` // what is written: a string, a number or a list
}

// patch is what an approved application merges into the code's
// attributes.
func (r request) patch() map[string]any {
	p := map[string]any{}
	for _, ch := range r.Changes {
		p[ch.Key] = ch.Value
	}
	return p
}

func summarize(changes []change) string {
	parts := make([]string, len(changes))
	for i, ch := range changes {
		from := ch.From
		if from == "" {
			from = none
		}
		parts[i] = ch.Label + "：" + from + " → " + ch.To
	}
	return strings.Join(parts, "；")
}

// requestView is an application on a page.
type requestView struct {
	request
	ID, Created, Reviewed string
}

func viewOf(rec plugin.Record) requestView {
	v := requestView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.request)
	v.Reviewed = readable(v.ReviewedAt)
	return v
}

// formField is one field of the application form.
type formField struct {
	Key, Label, Current, Hint string
	Choices                   []string
}

func updateForm(ctx context.Context, c *call) (*plugin.Response, error) {
	var ff []formField
	for _, f := range c.cfg.editable() {
		cur, _ := c.well.current(f)
		x := formField{Key: f.Key, Label: f.Label, Current: cur, Choices: c.cfg.choices(f)}
		switch f.kind {
		case number:
			x.Hint = "数字，单位：" + f.unit
		case longitude, latitude:
			x.Hint = "十进制度数，如 121.4737"
		case list:
			x.Hint = "多项以顿号分隔"
		}
		ff = append(ff, x)
	}
	if len(ff) == 0 {
		return nil, conflict("Closed", "本平台未开放监测井信息更新")
	}
	return render(200, updateFormPage, c, map[string]any{"Fields": ff, "Hint": photoHint})
}

// parseChanges reads the fields of an application form: f.{key} for
// every field to change (left empty: unchanged), reason, and the photo.
// A field the configuration does not open, a name the form does not
// have, a value that does not parse or a value the well already has is
// refused; so is a form that changes nothing.
func parseChanges(f *form, cfg config, w well) ([]change, error) {
	open := map[string]*field{}
	for _, fd := range cfg.editable() {
		open[fd.Key] = fd
	}
	names := make([]string, 0, len(f.values))
	for name := range f.values {
		names = append(names, name)
	}
	sort.Strings(names)
	typed := map[string]string{}
	for _, name := range names {
		key, isField := strings.CutPrefix(name, "f.")
		switch {
		case name == "reason":
			continue
		case !isField:
			return nil, invalid("未知的表单字段：" + name)
		case open[key] == nil && fieldByKey(key) != nil:
			return nil, invalid("「" + fieldByKey(key).Label + "」不开放更新")
		case open[key] == nil:
			return nil, invalid("未知的字段：" + key + "；可更新的字段为 " + strings.Join(cfg.Fields, "、"))
		case len(f.values[name]) > 1:
			return nil, invalid("「" + open[key].Label + "」只能填写一次")
		}
		if v := strings.TrimSpace(f.values.Get(name)); v != "" {
			typed[key] = v
		}
	}
	var out []change
	for _, fd := range cfg.editable() {
		input, ok := typed[fd.Key]
		if !ok {
			continue
		}
		value, shown, err := parseValue(fd, input, cfg.choices(fd), w.raw(fd))
		if err != nil {
			return nil, err
		}
		cur, key := w.current(fd)
		if shown == cur {
			return nil, invalid("「" + fd.Label + "」的新值与现值相同：" + cur)
		}
		if key == "" {
			key = fd.Key
		}
		out = append(out, change{Field: fd.Key, Label: fd.Label, Key: key, From: cur, To: shown, Value: value})
	}
	if len(out) == 0 {
		return nil, missing("请至少填写一项要更新的信息")
	}
	return out, nil
}

// submitUpdate stores an application as pending and tells the reviewers.
func submitUpdate(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	changes, err := parseChanges(f, c.cfg, c.well)
	if err != nil {
		return nil, err
	}
	reason := f.get("reason")
	switch {
	case reason == "":
		return nil, missing("请填写申请理由")
	case utf8.RuneCountInString(reason) > 500:
		return nil, invalid("申请理由不能超过 500 个字")
	}
	v := c.req.Visitor
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "requests", CodeToken: c.req.Code.Token,
		Where: map[string]any{"status": statusPending, "applicant": v.Pseudonym}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if page.Total >= int64(c.cfg.MaxPending) {
		return nil, conflict("TooManyPending", fmt.Sprintf("您对该监测井已有 %d 条待审核的申请，请等审核后再提交", page.Total))
	}
	photo, err := c.storePhoto(ctx, f)
	if err != nil {
		return nil, err
	}
	name, _ := c.well.current(fieldByKey("name"))
	r := request{WellNo: c.well.No, WellName: name, Changes: changes, Summary: summarize(changes), Reason: reason,
		Photo: photo, Status: statusPending, Applicant: v.Pseudonym}
	if v.Authorized {
		r.ApplicantName = v.Name
	}
	rec, err := c.put(ctx, "requests", "", c.req.Code.Token, r, 0)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(changes))
	for i, ch := range changes {
		keys[i] = ch.Field
	}
	if err := c.host.Event(ctx, "request.submitted", map[string]any{"requestId": rec.ID, "fields": keys}); err != nil {
		c.warn(ctx, "request.submitted event", err)
	}
	if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplSubmitted, To: c.reviewers(), Params: map[string]string{
		"requestId": rec.ID, "code": c.req.Code.Token, "wellNo": c.well.No, "well": c.well.Title, "summary": r.Summary,
	}}); err != nil {
		c.warn(ctx, "request notification", err)
	}
	return render(http.StatusCreated, requestDonePage, c, map[string]string{"ID": rec.ID, "Status": r.Status, "Summary": r.Summary})
}

// reviewers is who hears of new applications.
func (c *call) reviewers() string {
	switch {
	case c.cfg.Reviewers != "":
		return c.cfg.Reviewers
	case c.req.Code != nil && c.req.Code.OwnerUnit != "":
		return c.req.Code.OwnerUnit
	}
	return "operator"
}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// findRequest reads an application of the request's code made by the
// visitor. Anyone else's, or one of another code, is not found: the
// number alone shows nothing to a stranger.
func (c *call) findRequest(ctx context.Context, id string) (*plugin.Record, error) {
	if !requestIDRe.MatchString(id) {
		return nil, invalid("申请编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "requests", id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到该申请，请核对申请编号")
	}
	if err != nil {
		return nil, err
	}
	var r request
	decode(*rec, &r)
	if rec.CodeToken != c.req.Code.Token || r.Applicant != c.req.Visitor.Pseudonym {
		return nil, notFound("没有找到该申请，请核对申请编号")
	}
	return rec, nil
}

// requestStatus shows one of the visitor's applications by its number,
// or the look-up form and their applications on this well.
func requestStatus(ctx context.Context, c *call) (*plugin.Response, error) {
	data := map[string]any{}
	if id := c.req.QueryValue("id"); id != "" {
		rec, err := c.findRequest(ctx, id)
		if err != nil {
			return nil, err
		}
		data["Request"] = viewOf(*rec)
		return render(200, requestPage, c, data)
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "requests", CodeToken: c.req.Code.Token,
		Where: map[string]any{"applicant": c.req.Visitor.Pseudonym}, Newest: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	var mine []requestView
	for _, rec := range page.Items {
		mine = append(mine, viewOf(rec))
	}
	data["Mine"] = mine
	return render(200, requestPage, c, data)
}
