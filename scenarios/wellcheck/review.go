package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The reviewers' side: admin routes the console reaches at
// /console/plugins/wellcheck/admin/{path} (reads with plugin.read,
// decisions with plugin.update), and the writing of approved changes.

// adminItem is an application in the reviewers' list.
type adminItem struct {
	ID            string   `json:"id"`
	Code          string   `json:"code"`
	CreatedAt     string   `json:"createdAt"`
	WellNo        string   `json:"wellNo"`
	WellName      string   `json:"wellName"`
	Changes       []change `json:"changes"`
	Summary       string   `json:"summary"`
	Reason        string   `json:"reason"`
	Photo         string   `json:"photo,omitempty"`
	Status        string   `json:"status"`
	ApplicantName string   `json:"applicantName,omitempty"`
	Reviewer      string   `json:"reviewer,omitempty"`
	ReviewedAt    string   `json:"reviewedAt,omitempty"`
	ReviewNote    string   `json:"reviewNote,omitempty"`
	Applied       bool     `json:"applied"`
	AppliedAt     string   `json:"appliedAt,omitempty"`
	PendingApply  bool     `json:"pendingApply,omitempty"`
	ApplyError    string   `json:"applyError,omitempty"`
}

// listPage is the answer of GET /requests.
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

// listRequests answers the applications of a status (q: 待审核 by
// default, 已通过, 已驳回 or 全部): pending ones oldest first, as a queue;
// decided ones newest first.
func listRequests(ctx context.Context, c *call) (*plugin.Response, error) {
	status := c.req.QueryValue("q")
	if status == "" {
		status = statusPending
	}
	q := plugin.RecordQuery{Collection: "requests"}
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
		var r request
		decode(rec, &r)
		out.Items = append(out.Items, adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt),
			WellNo: r.WellNo, WellName: r.WellName, Changes: r.Changes, Summary: r.Summary, Reason: r.Reason, Photo: r.Photo,
			Status: r.Status, ApplicantName: r.ApplicantName, Reviewer: r.Reviewer, ReviewedAt: r.ReviewedAt,
			ReviewNote: r.ReviewNote, Applied: r.Applied, AppliedAt: r.AppliedAt, PendingApply: r.PendingApply, ApplyError: r.ApplyError})
	}
	return plugin.JSON(200, out)
}

// decision is the body of POST /requests/review.
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
	case !requestIDRe.MatchString(d.ID):
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

// review decides a pending application. The decision is stored first,
// against the version read, so that of two reviewers deciding at once
// exactly one decides; an approval then writes the change to the code.
// When the host refuses the change (the code was cancelled, the type's
// rules forbid it, the platform withholds object.write) the application
// goes back to pending and the reviewer is told why; when the host cannot
// be reached for it, the approval stands and the well's page writes the
// change at the next scan. Every decision is audited.
func review(ctx context.Context, c *call) (*plugin.Response, error) {
	d, err := readDecision(c.req.Body)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, "requests", d.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到申请 " + d.ID)
	}
	if err != nil {
		return nil, err
	}
	var r request
	decode(*rec, &r)
	if r.Status != statusPending {
		return nil, conflict("AlreadyDecided", "该申请已审核（"+r.Status+"），不能重复审核")
	}
	before := r
	r.Reviewer, r.ReviewedAt, r.ReviewNote = c.req.Operator.Account, stamp(c.now), d.Reason
	r.Status = statusRejected
	if *d.Approve {
		r.Status, r.PendingApply = statusApproved, true
	}
	saved, err := c.put(ctx, "requests", rec.ID, rec.CodeToken, r, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyDecided", "该申请刚被其他审核人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	message := "已驳回"
	if *d.Approve {
		_, err := c.apply(ctx, saved, &r)
		switch {
		case err == nil:
			message = "已通过，变更已写入码属性"
		case permanent(err):
			// Back to pending: the reviewer may reject it, or fix the code
			// and approve again.
			if _, rerr := c.put(ctx, "requests", rec.ID, rec.CodeToken, before, saved.Version); rerr != nil {
				c.warn(ctx, "approval not withdrawn after a refused change", rerr)
			}
			return nil, refused(err)
		default:
			c.warn(ctx, "approved change not written; the well's page writes it at the next scan", err)
			message = "已通过；码属性暂未写入，将在该码下次被扫描时写入"
		}
	}
	if err := c.host.Audit(ctx, "request."+map[bool]string{true: "approve", false: "reject"}[*d.Approve], "request:"+rec.ID,
		map[string]any{"code": rec.CodeToken, "wellNo": r.WellNo, "summary": r.Summary, "changes": r.Changes,
			"status": r.Status, "reason": d.Reason, "operator": c.req.Operator.Account, "applied": r.Applied}); err != nil {
		// The decision stands; the trail must show the gap.
		c.host.Log(ctx, "error", "decision on "+rec.ID+" not audited: "+err.Error())
	}
	if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplDecided, To: r.Applicant, Params: map[string]string{
		"requestId": rec.ID, "status": r.Status, "reason": d.Reason, "wellNo": r.WellNo,
	}}); err != nil {
		c.warn(ctx, "decision notification", err)
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": r.Status, "applied": r.Applied, "reviewNote": r.ReviewNote,
		"message": message})
}

// permanent reports whether the host refused a change for good, as
// opposed to not being able to make it now.
func permanent(err error) bool {
	if plugin.IsCode(err, plugin.ErrUnavailable) {
		return false // the host did not answer
	}
	for _, code := range []string{plugin.ErrInvalid, "MissingParameter", plugin.ErrNotFound, "FailedOperation", "UnauthorizedOperation"} {
		if plugin.IsCode(err, code) {
			return true
		}
	}
	return false
}

// refused tells the reviewer why the host refused an approved change.
func refused(err error) error {
	var msg string
	if e := (*plugin.Error)(nil); errors.As(err, &e) {
		msg = e.Message
	}
	const kept = "申请保持待审核，可驳回。"
	switch {
	case plugin.IsCode(err, "UnauthorizedOperation"):
		return denied("平台未授予一码核查修改码属性的权限（object.write），" + kept)
	case plugin.IsCode(err, plugin.ErrNotFound):
		return conflict("CodeUnavailable", "该监测井的码已不存在或不属于本平台，无法写入变更；"+kept)
	case plugin.IsCode(err, "FailedOperation"):
		return conflict("CodeUnavailable", "该码已注销或未激活，无法写入变更；"+kept+"（"+msg+"）")
	}
	return invalid("码属性未能更新：" + msg + "；" + kept)
}

// apply writes an approved application's change to its code and marks it
// applied; it answers the code as changed. rec is the stored application.
func (c *call) apply(ctx context.Context, rec *plugin.Record, r *request) (*plugin.Code, error) {
	code, err := c.host.UpdateObject(ctx, rec.CodeToken, r.patch())
	if err != nil {
		return nil, err
	}
	r.Applied, r.PendingApply, r.AppliedAt, r.ApplyError = true, false, stamp(c.now), ""
	if _, err := c.put(ctx, "requests", rec.ID, rec.CodeToken, r, rec.Version); err != nil && !plugin.IsCode(err, "FailedOperation.VersionConflict") {
		// The change is on the code; the mark is not. Writing the same
		// change again at the next scan is harmless.
		c.warn(ctx, "applied change not marked", err)
	}
	return code, nil
}

// applyApproved writes the approved changes of the request's code that
// the host could not write at approval, oldest first, and answers the
// code as changed (nil when nothing was written). A change the host
// refuses for good is marked with the reason and not tried again.
func (c *call) applyApproved(ctx context.Context) (*plugin.Code, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "requests", CodeToken: c.req.Code.Token,
		Where: map[string]any{"pendingApply": true}, Limit: 20})
	if err != nil || page.Total == 0 {
		return nil, err
	}
	var latest *plugin.Code
	for _, rec := range page.Items {
		var r request
		decode(rec, &r)
		if r.Status != statusApproved {
			continue
		}
		code, err := c.apply(ctx, &rec, &r)
		switch {
		case err == nil:
			latest = code
		case permanent(err):
			r.PendingApply, r.ApplyError = false, err.Error()
			if _, err := c.put(ctx, "requests", rec.ID, rec.CodeToken, r, rec.Version); err != nil {
				c.warn(ctx, "refused change not marked", err)
			}
		default:
			return latest, err // the host is not writing now: the next scan tries again
		}
	}
	return latest, nil
}
