package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The staff's side: admin routes the console reaches at
// /console/plugins/guestbook/admin/{path} (reads with plugin.read,
// decisions with plugin.update). The host passes every query parameter,
// so filters are parameters of their own.

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
	Comments   int    `json:"comments"`
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

// commentItem is a comment in the staff's list.
type commentItem struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	CreatedAt  string `json:"createdAt"`
	Message    string `json:"message"`
	Point      string `json:"point"`
	Content    string `json:"content"`
	Status     string `json:"status"`
	AuthorName string `json:"authorName,omitempty"`
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

type listPage struct {
	Total     int64  `json:"total"`
	PageNo    int    `json:"pageNo"`
	PageSize  int    `json:"pageSize"`
	Status    string `json:"status"`
	Items     []any  `json:"items"`
	Truncated bool   `json:"truncated"`
	Notice    string `json:"notice,omitempty"`
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

// maxScan bounds the records a keyword search reads: the host filters by
// equality only, so keywords are matched here. Past it the answer says
// truncated, and the staff narrow the search by status, code or dates.
const maxScan = 5000

// filter is a parsed list query: the host's filters, and the keywords
// the text must all hold.
type filter struct {
	query    plugin.RecordQuery
	status   string
	keywords []string
}

// parseFilter reads the parameters of /messages and /comments: status (q,
// the older name, is the same) 待审核 by default, oldest first as a queue,
// or 已发布, 已拒绝, 全部, newest first; code (a token or the code's URL);
// from and to (dates, inclusive, Beijing time); keyword (words separated
// by spaces, each contained). Other parameters are ignored.
func parseFilter(req *plugin.Request, collection string) (filter, error) {
	f := filter{query: plugin.RecordQuery{Collection: collection}}
	status, q := strings.TrimSpace(req.QueryValue("status")), strings.TrimSpace(req.QueryValue("q"))
	if status == "" {
		status = q
	} else if q != "" && q != status {
		return f, invalid("q 与 status 不一致：请只用 status 指定状态")
	}
	if status == "" {
		status = statusPending
	}
	f.status = status
	switch status {
	case statusPending:
		f.query.Where = map[string]any{"status": status}
	case statusPublished, statusRejected:
		f.query.Where, f.query.Newest = map[string]any{"status": status}, true
	case "全部":
		f.query.Newest = true
	default:
		return f, invalid("status 须为 待审核、已发布、已拒绝 或 全部")
	}
	if s := req.QueryValue("code"); s != "" {
		if f.query.CodeToken = tokenOf(s); !tokenRe.MatchString(f.query.CodeToken) {
			return f, invalid("code 须为码值或码的网址")
		}
	}
	for _, k := range []string{"from", "to"} {
		s := req.QueryValue(k)
		if s == "" {
			continue
		}
		d, err := time.ParseInLocation(time.DateOnly, s, cst)
		if err != nil {
			return f, invalid(k + " 须为日期 YYYY-MM-DD，如 2026-05-01")
		}
		if k == "from" {
			f.query.From = d
		} else {
			f.query.To = d.AddDate(0, 0, 1)
		}
	}
	if !f.query.From.IsZero() && !f.query.To.IsZero() && !f.query.From.Before(f.query.To) {
		return f, invalid("from 不能晚于 to")
	}
	kw := req.QueryValue("keyword")
	switch {
	case !utf8.ValidString(kw) || strings.IndexFunc(kw, unicode.IsControl) >= 0:
		return f, invalid("关键词含有无效字符")
	case utf8.RuneCountInString(kw) > 50:
		return f, invalid("关键词不能超过 50 个字")
	}
	f.keywords = strings.Fields(strings.ToLower(kw))
	if len(f.keywords) > 5 {
		return f, invalid("关键词至多 5 个，以空格分隔")
	}
	return f, nil
}

// matches reports whether a text holds every keyword (Latin letters in
// any case).
func (f filter) matches(text string) bool {
	text = strings.ToLower(text)
	for _, k := range f.keywords {
		if !strings.Contains(text, k) {
			return false
		}
	}
	return true
}

// list answers a page of the records matching f. Without keywords the
// host pages; with keywords the records are read 500 at a time, at most
// maxScan, and matched here on text(record); item is what a record shows.
func list(ctx context.Context, c *call, f filter, text func(plugin.Record) string, item func(plugin.Record) any) (*plugin.Response, error) {
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	out := listPage{PageNo: no, PageSize: size, Status: f.status, Items: []any{}}
	q := f.query
	if len(f.keywords) == 0 {
		q.Offset, q.Limit = (no-1)*size, size
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			out.Items = append(out.Items, item(rec))
		}
		out.Total = page.Total
		return plugin.JSON(200, out)
	}
	skip := int64(no-1) * int64(size)
	for q.Offset, q.Limit = 0, 500; ; q.Offset += q.Limit {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			if !f.matches(text(rec)) {
				continue
			}
			if out.Total++; out.Total > skip && len(out.Items) < size {
				out.Items = append(out.Items, item(rec))
			}
		}
		if int64(q.Offset+q.Limit) >= page.Total || len(page.Items) == 0 {
			break
		}
		if q.Offset+q.Limit >= maxScan {
			out.Truncated = true
			out.Notice = "符合筛选条件的记录过多，仅在前 " + strconv.Itoa(maxScan) + " 条中搜索了关键词；请用 status、code、from、to 缩小范围"
			break
		}
	}
	return plugin.JSON(200, out)
}

// listMessages answers the messages matching the filter, across the
// platform's codes or of one code; keywords are matched on the content
// and the point.
func listMessages(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := parseFilter(c.req, "messages")
	if err != nil {
		return nil, err
	}
	return list(ctx, c, f, func(rec plugin.Record) string {
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		return m.Content + "\n" + m.Point
	}, func(rec plugin.Record) any {
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		return adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Point: m.Point, Content: m.Content,
			Status: m.Status, AuthorName: m.AuthorName, Likes: m.Likes, Comments: m.Comments, Reviewer: m.Reviewer,
			ReviewedAt: m.ReviewedAt, ReviewNote: m.ReviewNote}
	})
}

// listComments answers the comments matching the filter, and message=ID
// those of one message; keywords are matched on the content and the point.
func listComments(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := parseFilter(c.req, "comments")
	if err != nil {
		return nil, err
	}
	if id := c.req.QueryValue("message"); id != "" {
		if !idRe.MatchString(id) {
			return nil, invalid("留言编号格式不正确")
		}
		if f.query.Where == nil {
			f.query.Where = map[string]any{}
		}
		f.query.Where["message"] = id
	}
	return list(ctx, c, f, func(rec plugin.Record) string {
		var cm comment
		_ = json.Unmarshal(rec.Doc, &cm)
		return cm.Content + "\n" + cm.Point
	}, func(rec plugin.Record) any {
		var cm comment
		_ = json.Unmarshal(rec.Doc, &cm)
		return commentItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Message: cm.Message, Point: cm.Point,
			Content: cm.Content, Status: cm.Status, AuthorName: cm.AuthorName, Reviewer: cm.Reviewer, ReviewedAt: cm.ReviewedAt,
			ReviewNote: cm.ReviewNote}
	})
}

// decision is the body of POST /messages/review.
type decision struct {
	ID      string `json:"id"`
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

// readDecision decodes and checks a decision: an id, approve given, and a
// reason when rejecting (at most 500 characters). noun names what is
// reviewed (留言, 评论).
func readDecision(body []byte, noun string) (decision, error) {
	var d decision
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, invalid(`请求体须为 JSON：{"id": ` + noun + `编号, "approve": true 或 false, "reason": 审核意见}`)
	}
	d.ID, d.Reason = strings.TrimSpace(d.ID), strings.TrimSpace(d.Reason)
	switch {
	case d.ID == "":
		return d, missing("请提供" + noun + "编号 id")
	case !idRe.MatchString(d.ID):
		return d, invalid(noun + "编号格式不正确")
	case d.Approve == nil:
		return d, missing("请用 approve 说明发布（true）或拒绝（false）")
	case !*d.Approve && d.Reason == "":
		return d, missing("拒绝" + noun + "须填写理由 reason")
	case utf8.RuneCountInString(d.Reason) > 500:
		return d, invalid("审核意见不能超过 500 个字")
	case strings.ContainsRune(d.Reason, 0):
		return d, invalid("审核意见含有无效字符")
	}
	return d, nil
}

// reviewed is what a decision is about: the collection, the audit's
// prefix (message.publish, comment:{id}) and the noun of the refusals.
type reviewed struct {
	collection, kind, noun string
}

var (
	messageReview = reviewed{collection: "messages", kind: "message", noun: "留言"}
	commentReview = reviewed{collection: "comments", kind: "comment", noun: "评论"}
)

// decide publishes or rejects a pending record, once: the decision is
// stored against the version read, so that of two operators deciding at
// once exactly one decides. Every decision is audited. It answers the
// record as decided.
func decide(ctx context.Context, c *call, r reviewed) (*plugin.Record, error) {
	d, err := readDecision(c.req.Body, r.noun)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, r.collection, d.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到" + r.noun + " " + d.ID)
	}
	if err != nil {
		return nil, err
	}
	// The document is changed as a map, so that a message keeps its
	// counters and a comment its message, whatever the type.
	var doc map[string]any
	if err := json.Unmarshal(rec.Doc, &doc); err != nil {
		return nil, err
	}
	if status, _ := doc["status"].(string); status != statusPending {
		return nil, conflict("AlreadyReviewed", "该"+r.noun+"已审核（"+status+"），不能重复审核")
	}
	status := statusRejected
	if *d.Approve {
		status = statusPublished
	}
	doc["status"], doc["reviewer"], doc["reviewedAt"], doc["reviewNote"] = status, c.req.Operator.Account, stamp(c.now), d.Reason
	out, err := c.put(ctx, r.collection, rec.ID, rec.CodeToken, doc, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyReviewed", "该"+r.noun+"刚被其他工作人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	action := r.kind + ".reject"
	if *d.Approve {
		action = r.kind + ".publish"
	}
	if err := c.host.Audit(ctx, action, r.kind+":"+rec.ID, map[string]any{"code": rec.CodeToken, "status": status,
		"reason": d.Reason, "operator": c.req.Operator.Account}); err != nil {
		// The decision stands; the log must show the gap.
		c.host.Log(ctx, "error", "decision on "+rec.ID+" not audited: "+err.Error())
	}
	return out, nil
}

// decided is the answer of a review route.
func decided(rec *plugin.Record) (*plugin.Response, error) {
	var doc struct {
		Status     string `json:"status"`
		ReviewNote string `json:"reviewNote"`
	}
	_ = json.Unmarshal(rec.Doc, &doc)
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": doc.Status, "reviewNote": doc.ReviewNote})
}

// reviewMessage publishes or rejects a pending message.
func reviewMessage(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, err := decide(ctx, c, messageReview)
	if err != nil {
		return nil, err
	}
	return decided(rec)
}

// reviewComment publishes or rejects a pending comment. Publishing counts
// it on its message, which tells the landing page to read the message's
// comments.
func reviewComment(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, err := decide(ctx, c, commentReview)
	if err != nil {
		return nil, err
	}
	var cm comment
	_ = json.Unmarshal(rec.Doc, &cm)
	if cm.Status == statusPublished {
		msg, err := c.host.GetRecord(ctx, "messages", cm.Message)
		if err == nil {
			err = c.bump(ctx, msg, func(m *message) { m.Comments++ })
		}
		if err != nil {
			// The decision stands; the count is what the log must show.
			c.host.Log(ctx, "error", "comment "+rec.ID+" published but not counted on message "+cm.Message+": "+err.Error())
		}
	}
	return decided(rec)
}
