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
// /console/plugins/guestbook/admin/{path} (reads with plugin.read,
// decisions with plugin.update).

// adminItem is a message in the staff's list.
type adminItem struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	CreatedAt  string `json:"createdAt"`
	Point      string `json:"point"`
	Content    string `json:"content"`
	Status     string `json:"status"`
	AuthorName string `json:"authorName,omitempty"`
	Likes      int    `json:"likes"`
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

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

// listMessages answers the messages of a status (q: 待审核 by default,
// oldest first as a queue; 已发布, 已拒绝 or 全部, newest first) across the
// platform's codes, or of one code (code=TOKEN).
func listMessages(ctx context.Context, c *call) (*plugin.Response, error) {
	status := c.req.QueryValue("q")
	if status == "" {
		status = statusPending
	}
	q := plugin.RecordQuery{Collection: "messages", CodeToken: c.req.QueryValue("code")}
	switch status {
	case statusPending:
		q.Where = map[string]any{"status": status}
	case statusPublished, statusRejected:
		q.Where, q.Newest = map[string]any{"status": status}, true
	case "全部":
		q.Newest = true
	default:
		return nil, invalid("q 须为 待审核、已发布、已拒绝 或 全部")
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
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		out.Items = append(out.Items, adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Point: m.Point,
			Content: m.Content, Status: m.Status, AuthorName: m.AuthorName, Likes: m.Likes, Reviewer: m.Reviewer,
			ReviewedAt: m.ReviewedAt, ReviewNote: m.ReviewNote})
	}
	return plugin.JSON(200, out)
}

// decision is the body of POST /messages/review.
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
		return d, invalid(`请求体须为 JSON：{"id": 留言编号, "approve": true 或 false, "reason": 审核意见}`)
	}
	d.ID, d.Reason = strings.TrimSpace(d.ID), strings.TrimSpace(d.Reason)
	switch {
	case d.ID == "":
		return d, missing("请提供留言编号 id")
	case !idRe.MatchString(d.ID):
		return d, invalid("留言编号格式不正确")
	case d.Approve == nil:
		return d, missing("请用 approve 说明发布（true）或拒绝（false）")
	case !*d.Approve && d.Reason == "":
		return d, missing("拒绝留言须填写理由 reason")
	case utf8.RuneCountInString(d.Reason) > 500:
		return d, invalid("审核意见不能超过 500 个字")
	}
	return d, nil
}

// review publishes or rejects a pending message, once: the decision is
// stored against the version read, so that of two operators deciding at
// once exactly one decides. Every decision is audited.
func review(ctx context.Context, c *call) (*plugin.Response, error) {
	d, err := readDecision(c.req.Body)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, "messages", d.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到留言 " + d.ID)
	}
	if err != nil {
		return nil, err
	}
	var m message
	_ = json.Unmarshal(rec.Doc, &m)
	if m.Status != statusPending {
		return nil, conflict("AlreadyReviewed", "该留言已审核（"+m.Status+"），不能重复审核")
	}
	m.Status = statusRejected
	if *d.Approve {
		m.Status = statusPublished
	}
	m.Reviewer, m.ReviewedAt, m.ReviewNote = c.req.Operator.Account, stamp(c.now), d.Reason
	_, err = c.put(ctx, "messages", rec.ID, rec.CodeToken, m, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyReviewed", "该留言刚被其他工作人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	action := "message.reject"
	if *d.Approve {
		action = "message.publish"
	}
	if err := c.host.Audit(ctx, action, "message:"+rec.ID, map[string]any{"code": rec.CodeToken, "status": m.Status,
		"reason": d.Reason, "operator": c.req.Operator.Account}); err != nil {
		// The decision stands; the log must show the gap.
		c.host.Log(ctx, "error", "decision on "+rec.ID+" not audited: "+err.Error())
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": m.Status, "reviewNote": m.ReviewNote})
}
