package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The staff's side of check-ins: admin routes the console reaches at
// /console/plugins/scenic/admin/{path} (reads with plugin.read, decisions
// with plugin.update). The console passes only q, pageNo and pageSize, so
// filters travel in q.

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

// search is a parsed q: the host's filters, and the keywords the text
// must all hold.
type search struct {
	query    plugin.RecordQuery
	keywords []string
}

var filterKeyRe = regexp.MustCompile(`^[a-z]+$`)

// parseSearch reads q: words separated by spaces, each a filter key:value
// (code:{token or URL}, status:已发布, mode:视频, from:2026-05-01,
// to:2026-05-31, dates inclusive in Beijing time) or a keyword.
func parseSearch(q string) (search, error) {
	s := search{query: plugin.RecordQuery{Collection: "posts", Newest: true}}
	var from, to time.Time
	where := map[string]any{}
	for _, w := range strings.Fields(q) {
		k, v, ok := strings.Cut(w, ":")
		if !ok || !filterKeyRe.MatchString(k) {
			s.keywords = append(s.keywords, strings.ToLower(w))
			continue
		}
		if v == "" {
			return s, invalid("筛选条件须为 键:值（" + w + "）")
		}
		switch k {
		case "code":
			s.query.CodeToken = tokenOf(v)
		case "status":
			if !slices.Contains([]string{statusPending, statusPublished, statusRejected, statusTakenDown}, v) {
				return s, invalid("status 须为 待审核、已发布、已拒绝 或 已下架")
			}
			where["status"] = v
		case "mode":
			if name := modeNames[v]; name != "" {
				v = name
			}
			if !slices.Contains([]string{"文字", "图片", "视频"}, v) {
				return s, invalid("mode 须为 文字、图片 或 视频")
			}
			where["mode"] = v
		case "from", "to":
			d, err := time.ParseInLocation(time.DateOnly, v, cst)
			if err != nil {
				return s, invalid(k + " 须为日期 YYYY-MM-DD，如 2026-05-01")
			}
			if k == "from" {
				from = d
			} else {
				to = d.AddDate(0, 0, 1)
			}
		default:
			return s, invalid("未知的筛选条件：" + k + "；可用 code、status、mode、from、to，其余词语按关键字搜索打卡描述")
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return s, invalid("from 不能晚于 to")
	}
	if len(where) > 0 {
		s.query.Where = where
	}
	s.query.From, s.query.To = from, to
	return s, nil
}

// matches reports whether a text holds every keyword (Latin letters in
// any case).
func (s search) matches(text string) bool {
	text = strings.ToLower(text)
	for _, k := range s.keywords {
		if !strings.Contains(text, k) {
			return false
		}
	}
	return true
}

// maxScan bounds the check-ins a keyword search reads: past it the answer
// says it is incomplete, and the staff narrow it by code or dates.
const maxScan = 5000

// adminItem is a check-in in the staff's list.
type adminItem struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	CreatedAt  string `json:"createdAt"`
	Spot       string `json:"spot"`
	Text       string `json:"text"`
	Mode       string `json:"mode"`
	Media      string `json:"media,omitempty"`
	MediaType  string `json:"mediaType,omitempty"`
	Status     string `json:"status"`
	AuthorName string `json:"authorName,omitempty"`
	Likes      int    `json:"likes"`
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

func itemOf(rec plugin.Record) adminItem {
	var p post
	decode(rec, &p)
	return adminItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Spot: p.Spot, Text: p.Text, Mode: p.Mode,
		Media: p.Media, MediaType: p.MediaType, Status: p.Status, AuthorName: p.AuthorName, Likes: p.Likes, Reviewer: p.Reviewer,
		ReviewedAt: p.ReviewedAt, ReviewNote: p.ReviewNote}
}

// listPosts answers the check-ins matching q, newest first, a page at a
// time. Filters run in the host's query; keywords are matched here, over
// at most maxScan check-ins.
func listPosts(ctx context.Context, c *call) (*plugin.Response, error) {
	s, err := parseSearch(c.req.QueryValue("q"))
	if err != nil {
		return nil, err
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"pageNo": no, "pageSize": size, "complete": true}
	items := []adminItem{}
	if len(s.keywords) == 0 {
		s.query.Offset, s.query.Limit = (no-1)*size, size
		page, err := c.host.QueryRecords(ctx, s.query)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			items = append(items, itemOf(rec))
		}
		out["total"], out["items"] = page.Total, items
		return plugin.JSON(200, out)
	}
	var matched int64
	skip := (no - 1) * size
	s.query.Limit = 500
	for s.query.Offset = 0; s.query.Offset < maxScan; s.query.Offset += s.query.Limit {
		page, err := c.host.QueryRecords(ctx, s.query)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			var p post
			decode(rec, &p)
			if !s.matches(p.Text) {
				continue
			}
			if matched >= int64(skip) && len(items) < size {
				items = append(items, itemOf(rec))
			}
			matched++
		}
		if int64(s.query.Offset+len(page.Items)) >= page.Total || len(page.Items) == 0 {
			break
		}
		if s.query.Offset+s.query.Limit >= maxScan {
			out["complete"] = false
			out["notice"] = "匹配的打卡过多，仅搜索了最新的 " + strconv.Itoa(maxScan) + " 条；请用 code、from、to 缩小范围"
		}
	}
	out["total"], out["items"] = matched, items
	return plugin.JSON(200, out)
}

// decision is the body of POST /posts/review.
type decision struct {
	ID      string `json:"id"`
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

// readDecision decodes and checks a decision: an id, approve given, and a
// reason when rejecting or taking down (at most 500 characters).
func readDecision(body []byte) (decision, error) {
	var d decision
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, invalid(`请求体须为 JSON：{"id": 打卡编号, "approve": true 或 false, "reason": 理由}`)
	}
	d.ID, d.Reason = strings.TrimSpace(d.ID), strings.TrimSpace(d.Reason)
	switch {
	case d.ID == "":
		return d, missing("请提供打卡编号 id")
	case !postIDRe.MatchString(d.ID):
		return d, invalid("打卡编号格式不正确")
	case d.Approve == nil:
		return d, missing("请用 approve 说明发布（true）或拒绝、下架（false）")
	case !*d.Approve && d.Reason == "":
		return d, missing("拒绝或下架须填写理由 reason")
	case utf8.RuneCountInString(d.Reason) > 500 || !plainText(d.Reason, true):
		return d, invalid("理由不能超过 500 个字，且不能含有无效字符")
	}
	return d, nil
}

// decide answers the status a decision moves a check-in to, or why it
// cannot: a pending one is published or rejected, a published one taken
// down; nothing else changes.
func decide(status string, approve bool) (string, error) {
	switch {
	case status == statusPending && approve:
		return statusPublished, nil
	case status == statusPending:
		return statusRejected, nil
	case status == statusPublished && !approve:
		return statusTakenDown, nil
	}
	return "", conflict("AlreadyReviewed", "该打卡内容"+status+"，不能再"+map[bool]string{true: "发布", false: "拒绝或下架"}[approve])
}

// review applies a decision, once: it is stored against the version read,
// so that of two operators deciding at once exactly one decides (a like
// meanwhile makes the second try again). Every decision is audited.
func review(ctx context.Context, c *call) (*plugin.Response, error) {
	d, err := readDecision(c.req.Body)
	if err != nil {
		return nil, err
	}
	for range 4 {
		rec, err := c.host.GetRecord(ctx, "posts", d.ID)
		if plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, notFound("没有找到打卡内容 " + d.ID)
		}
		if err != nil {
			return nil, err
		}
		var p post
		decode(*rec, &p)
		from := p.Status
		if p.Status, err = decide(from, *d.Approve); err != nil {
			return nil, err
		}
		p.Reviewer, p.ReviewedAt, p.ReviewNote = c.req.Operator.Account, stamp(c.now), d.Reason
		_, err = c.put(ctx, "posts", rec.ID, rec.CodeToken, p, rec.Version)
		if plugin.IsCode(err, "FailedOperation.VersionConflict") {
			continue // read again: another decision is refused above, a like is kept
		}
		if err != nil {
			return nil, err
		}
		action := map[string]string{statusPublished: "post.publish", statusRejected: "post.reject", statusTakenDown: "post.takedown"}[p.Status]
		if err := c.host.Audit(ctx, action, "post:"+rec.ID, map[string]any{"code": rec.CodeToken, "from": from, "status": p.Status,
			"reason": d.Reason, "operator": c.req.Operator.Account}); err != nil {
			// The decision stands; the log must show the gap.
			c.host.Log(ctx, "error", "decision on "+rec.ID+" not audited: "+err.Error())
		}
		return plugin.JSON(200, map[string]any{"id": rec.ID, "status": p.Status, "reviewNote": p.ReviewNote})
	}
	return nil, conflict("Busy", "该打卡内容正在被频繁修改，请稍后重试")
}
