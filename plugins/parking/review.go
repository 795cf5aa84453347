package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The staff's side of feedback: admin routes the console reaches at
// /console/plugins/parking/admin/{path} (the list with plugin.read, the
// reply with plugin.update).

// filter selects feedback: created in [From, To), of a kind, a status and
// a code, holding a keyword.
type filter struct {
	From, To                    time.Time
	Kind, Status, Code, Keyword string
}

// filterKeys are the filters; each is a query parameter, or a key=value
// word of q (the console's HTTP route passes only q, pageNo and
// pageSize). The other words of q are the keyword.
var filterKeys = []string{"from", "to", "kind", "status", "code"}

// parseFilter reads the filters of GET /feedback. Dates are Beijing days
// (YYYY-MM-DD, to inclusive) or RFC 3339 times.
func parseFilter(query map[string][]string) (filter, error) {
	var f filter
	vals := map[string]string{}
	for _, k := range filterKeys {
		if v := query[k]; len(v) > 0 {
			vals[k] = strings.TrimSpace(v[0])
		}
	}
	var words []string
	if q := query["q"]; len(q) > 0 {
		for _, w := range strings.Fields(q[0]) {
			k, v, ok := strings.Cut(w, "=")
			if !ok || !oneOf(filterKeys, k) {
				words = append(words, w)
				continue
			}
			if _, dup := vals[k]; dup {
				return f, invalid("筛选条件 " + k + " 重复")
			}
			vals[k] = v
		}
	}
	var err error
	if f.Keyword, err = text("关键词", strings.Join(words, " "), 50, false); err != nil {
		return f, err
	}
	if f.Kind, err = text("反馈类型", vals["kind"], 10, false); err != nil {
		return f, err
	}
	switch f.Status = vals["status"]; f.Status {
	case "", statusPending, statusHandled:
	default:
		return f, invalid("status 须为 待处理 或 已处理")
	}
	if f.Code = tokenOf(vals["code"]); len(f.Code) > 128 {
		return f, invalid("code 须为码值或码的网址")
	}
	for _, d := range []struct {
		key string
		out *time.Time
		end bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		s := vals[d.key]
		if s == "" {
			continue
		}
		if t, err := time.ParseInLocation(time.DateOnly, s, cst); err == nil {
			if d.end {
				t = t.AddDate(0, 0, 1) // the whole last day
			}
			*d.out = t
		} else if t, err := time.Parse(time.RFC3339, s); err == nil {
			*d.out = t
		} else {
			return f, invalid(d.key + " 须为日期 YYYY-MM-DD 或 RFC 3339 时间")
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, invalid("起始时间 from 须早于结束时间 to")
	}
	return f, nil
}

// matches reports whether feedback holds the keyword (in its content,
// reply, car park or kind; case-insensitive).
func (f filter) matches(fb feedback) bool {
	if f.Keyword == "" {
		return true
	}
	k := strings.ToLower(f.Keyword)
	for _, s := range []string{fb.Content, fb.Reply, fb.Lot, fb.Kind} {
		if strings.Contains(strings.ToLower(s), k) {
			return true
		}
	}
	return false
}

// maxScan bounds a keyword search: the host filters by time, kind,
// status and code; the keyword is matched here, over at most this many
// of the newest records that pass those filters.
const maxScan = 5000

// adminItem is feedback in the staff's list; name and mobile are masked
// as the host gave them.
type adminItem struct {
	feedback
	ID        string `json:"id"`
	Code      string `json:"code"`
	CreatedAt string `json:"createdAt"`
	Version   int64  `json:"version"`
}

func itemOf(rec plugin.Record) adminItem {
	item := adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Version: rec.Version}
	decode(rec, &item.feedback)
	item.Submitter = "" // the pseudonym tells staff nothing and is personal
	return item
}

// listFeedback answers feedback by the filters, newest first.
func listFeedback(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := parseFilter(c.req.Query)
	if err != nil {
		return nil, err
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	q := plugin.RecordQuery{Collection: "feedback", CodeToken: f.Code, From: f.From, To: f.To, Newest: true, Where: map[string]any{}}
	if f.Kind != "" {
		q.Where["kind"] = f.Kind
	}
	if f.Status != "" {
		q.Where["status"] = f.Status
	}
	out := map[string]any{"pageNo": no, "pageSize": size}
	items := []adminItem{}
	if f.Keyword == "" {
		q.Offset, q.Limit = (no-1)*size, size
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			items = append(items, itemOf(rec))
		}
		out["total"], out["items"] = page.Total, items
		return plugin.JSON(200, out)
	}
	var hits []adminItem
	scanned, truncated := 0, false
	for q.Limit = 500; ; q.Offset += q.Limit {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			if item := itemOf(rec); f.matches(item.feedback) {
				hits = append(hits, item)
			}
		}
		scanned += len(page.Items)
		if truncated = page.Total > maxScan; len(page.Items) == 0 || int64(scanned) >= page.Total || scanned >= maxScan {
			break
		}
	}
	if start := (no - 1) * size; start < len(hits) {
		items = hits[start:min(len(hits), start+size)]
	}
	out["total"], out["items"], out["scanned"] = len(hits), items, scanned
	if truncated {
		out["truncated"] = true
		out["hint"] = "关键词只在最新的 " + strconv.Itoa(maxScan) + " 条中查找，请加上时间、类型、状态或码缩小范围"
	}
	return plugin.JSON(200, out)
}

// replyInput is the body of POST /feedback/reply.
type replyInput struct {
	ID      string `json:"id"`
	Reply   string `json:"reply"`
	Version int64  `json:"version"`
}

// checkReply validates a reply: an id, 1–500 characters.
func checkReply(in replyInput) (replyInput, error) {
	var err error
	in.ID = strings.TrimSpace(in.ID)
	switch {
	case in.ID == "":
		return in, missing("请提供反馈编号 id")
	case !recordIDRe.MatchString(in.ID):
		return in, invalid("反馈编号格式不正确")
	case in.Version < 0:
		return in, invalid("version 不能为负数")
	}
	if in.Reply, err = text("处理回复", in.Reply, maxContent, true); err != nil {
		return in, err
	}
	if in.Reply == "" {
		return in, missing("请填写处理回复 reply")
	}
	return in, nil
}

// replyFeedback handles pending feedback with a reply, once: stored
// against the version read, so that of two operators replying at once
// exactly one does. The citizen sees the reply on the landing page.
func replyFeedback(ctx context.Context, c *call) (*plugin.Response, error) {
	var in replyInput
	if err := readJSON(c.req.Body, &in, `{"id","reply","version"}`); err != nil {
		return nil, err
	}
	in, err := checkReply(in)
	if err != nil {
		return nil, err
	}
	rec, err := c.get(ctx, "feedback", in.ID)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, notFound("没有找到反馈 " + in.ID)
	}
	var fb feedback
	decode(*rec, &fb)
	switch {
	case fb.Status != statusPending:
		return nil, conflict("AlreadyHandled", "该反馈已处理（"+fb.RepliedBy+"），不能重复处理")
	case in.Version > 0 && in.Version != rec.Version:
		return nil, conflict("VersionConflict", "该反馈已被修改，请刷新后重试")
	}
	fb.Status, fb.Reply, fb.RepliedBy, fb.RepliedAt = statusHandled, in.Reply, c.req.Operator.Account, stamp(c.now)
	out, err := c.put(ctx, "feedback", rec.ID, rec.CodeToken, fb, rec.Version)
	if isConflict(err) {
		return nil, conflict("AlreadyHandled", "该反馈刚被其他工作人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "feedback.reply", "feedback:"+rec.ID, map[string]any{"code": rec.CodeToken, "kind": fb.Kind,
		"reply": in.Reply})
	if err := c.host.Event(ctx, "feedback.handled", map[string]any{"feedbackId": rec.ID, "kind": fb.Kind}); err != nil {
		c.warn(ctx, "feedback.handled event", err)
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": fb.Status, "reply": fb.Reply, "repliedAt": fb.RepliedAt,
		"version": out.Version})
}
