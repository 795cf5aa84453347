package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The staff's side: admin routes the console reaches at
// /console/plugins/rehab/admin/{path} (reads with plugin.read, decisions
// with plugin.update).

// adminItem is an application in the staff's list. The phone is given in
// full: the staff call the applicant to arrange the hand-over (exports of
// the collection mask it).
type adminItem struct {
	ID            string  `json:"id"`
	Code          string  `json:"code"`
	CreatedAt     string  `json:"createdAt"`
	Point         string  `json:"point"`
	Aid           string  `json:"aid"`
	AidName       string  `json:"aidName"`
	Start         string  `json:"start"`
	Days          int     `json:"days"`
	End           string  `json:"end"`
	Deposit       float64 `json:"deposit"`
	Fee           float64 `json:"fee"`
	Phone         string  `json:"phone"`
	Note          string  `json:"note,omitempty"`
	Status        string  `json:"status"`
	ApplicantName string  `json:"applicantName,omitempty"`
	Reviewer      string  `json:"reviewer,omitempty"`
	ReviewedAt    string  `json:"reviewedAt,omitempty"`
	ReviewNote    string  `json:"reviewNote,omitempty"`
}

// listPage is the answer of GET /applications.
type listPage struct {
	Total    int64       `json:"total"`
	PageNo   int         `json:"pageNo"`
	PageSize int         `json:"pageSize"`
	Status   string      `json:"status"`
	Items    []adminItem `json:"items"`
}

// pageArgs reads pageNo (from 1) and pageSize (1–100, default 20).
func pageArgs(req *plugin.Request) (int, int, error) {
	no, size := 1, 20
	if s := req.QueryValue("pageNo"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5000 {
			return 0, 0, invalid("pageNo 须为 1–5000 的整数")
		}
		no = n
	}
	if s := req.QueryValue("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, invalid("pageSize 须为 1–100 的整数")
		}
		size = n
	}
	return no, size, nil
}

// listApplications answers the applications of a status (q: 待审核 by
// default, 已通过, 已驳回 or 全部) across the platform's service points:
// pending ones oldest first, as a queue; decided ones newest first.
func listApplications(ctx context.Context, c *call) (*plugin.Response, error) {
	status := c.req.QueryValue("q")
	if status == "" {
		status = statusPending
	}
	q := plugin.RecordQuery{Collection: "applications"}
	switch status {
	case statusPending:
		q.Where = map[string]any{"status": status}
	case statusApproved, statusRejected:
		q.Where, q.Newest = map[string]any{"status": status}, true
	case "全部":
		q.Newest = true
	default:
		return nil, invalid("q 须为 待审核、已通过、已驳回 或 全部")
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	q.Offset, q.Limit = (no-1)*size, size
	page, err := c.host.QueryRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	out := listPage{Total: page.Total, PageNo: no, PageSize: size, Status: status, Items: []adminItem{}}
	for _, rec := range page.Items {
		var a application
		decode(rec, &a)
		out.Items = append(out.Items, adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Point: a.Point,
			Aid: a.Aid, AidName: a.AidName, Start: a.Start, Days: a.Days, End: a.End, Deposit: a.Deposit, Fee: a.Fee, Phone: a.Phone,
			Note: a.Note, Status: a.Status, ApplicantName: a.ApplicantName, Reviewer: a.Reviewer, ReviewedAt: a.ReviewedAt,
			ReviewNote: a.ReviewNote})
	}
	return plugin.JSON(200, out)
}

// decision is the body of POST /applications/review.
type decision struct {
	ID      string `json:"id"`
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

// readDecision decodes and checks a decision: an id, approve given, and a
// reason when rejecting (at most 500 characters).
func readDecision(body []byte) (decision, error) {
	var d decision
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, invalid(`请求体须为 JSON：{"id": 申请编号, "approve": true 或 false, "reason": 审核意见}`)
	}
	d.ID, d.Reason = strings.TrimSpace(d.ID), strings.TrimSpace(d.Reason)
	switch {
	case d.ID == "":
		return d, missing("请提供申请编号 id")
	case !applicationIDRe.MatchString(d.ID):
		return d, invalid("申请编号格式不正确")
	case d.Approve == nil:
		return d, missing("请用 approve 说明通过（true）或驳回（false）")
	case !*d.Approve && d.Reason == "":
		return d, missing("驳回申请须填写理由 reason")
	case utf8.RuneCountInString(d.Reason) > 500:
		return d, invalid("审核意见不能超过 500 个字")
	}
	return d, nil
}

// review decides a pending application, once: the decision is stored
// against the version read, so that of two operators deciding at once
// exactly one decides. Every decision is audited and the applicant told.
func review(ctx context.Context, c *call) (*plugin.Response, error) {
	d, err := readDecision(c.req.Body)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, "applications", d.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到申请 " + d.ID)
	}
	if err != nil {
		return nil, err
	}
	var a application
	decode(*rec, &a)
	if a.Status != statusPending {
		return nil, conflict("AlreadyDecided", "该申请已审核（"+a.Status+"），不能重复审核")
	}
	a.Status = statusRejected
	if *d.Approve {
		a.Status = statusApproved
	}
	a.Reviewer, a.ReviewedAt, a.ReviewNote = c.req.Operator.Account, stamp(c.now), d.Reason
	_, err = c.put(ctx, "applications", rec.ID, rec.CodeToken, a, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyDecided", "该申请刚被其他工作人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	action := "application.reject"
	if *d.Approve {
		action = "application.approve"
	}
	if err := c.host.Audit(ctx, action, "application:"+rec.ID, map[string]any{"code": rec.CodeToken, "point": a.Point, "aid": a.Aid,
		"start": a.Start, "days": a.Days, "status": a.Status, "reason": d.Reason, "operator": c.req.Operator.Account}); err != nil {
		// The decision stands; the trail must show the gap.
		c.host.Log(ctx, "error", "decision on "+rec.ID+" not audited: "+err.Error())
	}
	if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplDecided, To: a.Applicant, Params: map[string]string{
		"applicationId": rec.ID, "status": a.Status, "reason": d.Reason, "aid": a.AidName, "start": a.Start, "point": a.Point,
	}}); err != nil {
		c.warn(ctx, "decision notification", err)
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": a.Status, "reviewNote": a.ReviewNote})
}
