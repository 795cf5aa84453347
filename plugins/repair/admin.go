package main

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The staff's side: admin routes the console reaches at
// /console/plugins/repair/admin/reports… (reads with plugin.read, status
// changes with plugin.update). The console passes only q, pageNo and
// pageSize, so every filter is a word of q.

// listQuery is a parsed q.
type listQuery struct {
	plugin.RecordQuery
	Keywords []string
}

// maxScan bounds the reports a keyword search reads: the host filters
// by equality only, so keywords are matched here.
const maxScan = 5000

// parseListQuery reads q: filters key:value and keywords, separated by
// spaces: status:待受理 category:损坏 type:路灯 code:{token|URL}
// from:2026-11-01 to:2026-11-30 (dates inclusive, Beijing time), and any
// other word a keyword every listed report contains.
func parseListQuery(q string) (listQuery, error) {
	out := listQuery{RecordQuery: plugin.RecordQuery{Collection: "reports", Newest: true}}
	where := map[string]any{}
	for _, w := range strings.Fields(q) {
		k, v, ok := strings.Cut(w, ":")
		if !ok {
			if hasControl(w) {
				return out, invalid("关键词含有不可见的控制字符")
			}
			out.Keywords = append(out.Keywords, strings.ToLower(w))
			continue
		}
		if v == "" {
			return out, invalid("筛选条件须为 键:值，如 status:待受理（" + w + "）")
		}
		switch k {
		case "status":
			if !contains([]string{statusPending, statusHandling, statusDone, statusRejected}, v) {
				return out, invalid("status 须为 待受理、处理中、已完成 或 已驳回")
			}
			where["status"] = v
		case "category":
			where["category"] = v
		case "type":
			where["componentCategory"] = v
		case "mode":
			if v != "匿名" && v != "实名" {
				return out, invalid("mode 须为 匿名 或 实名")
			}
			where["mode"] = v
		case "code":
			if out.CodeToken = tokenOf(v); !tokenRe.MatchString(out.CodeToken) {
				return out, invalid("code 须为码值或码的网址")
			}
		case "from", "to":
			d, err := time.ParseInLocation("2006-01-02", v, cst)
			if err != nil {
				return out, invalid(k + " 须为日期，如 2026-11-01")
			}
			if k == "from" {
				out.From = d
			} else {
				out.To = d.AddDate(0, 0, 1)
			}
		default:
			return out, invalid("未知的筛选条件：" + k + "；可用 status、category、type、mode、code、from、to，其余词为关键词")
		}
	}
	if !out.From.IsZero() && !out.To.IsZero() && !out.From.Before(out.To) {
		return out, invalid("from 须不晚于 to")
	}
	if len(out.Keywords) > 5 {
		return out, invalid("关键词至多 5 个")
	}
	if len(where) > 0 {
		out.Where = where
	}
	return out, nil
}

// matches reports whether a report holds every keyword, in its number,
// component, description or category.
func matches(id string, r report, keywords []string) bool {
	text := strings.ToLower(strings.Join([]string{id, r.Component, r.Model, r.SerialNo, r.Location, r.ComponentCategory,
		r.Unit, r.Category, r.Description, r.Note, r.RejectReason}, " "))
	for _, k := range keywords {
		if !strings.Contains(text, k) {
			return false
		}
	}
	return true
}

// adminItem is a report in the staff's list: the report without its key
// hash and the reporter's pseudonym, which would link one person's
// reports.
type adminItem struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Version   int64  `json:"version"`
	CreatedAt string `json:"createdAt"`
	report
	Reporter string `json:"reporter,omitempty"`
	KeyHash  string `json:"keyHash,omitempty"`
}

func adminItemOf(rec plugin.Record) adminItem {
	it := adminItem{ID: rec.ID, Code: rec.CodeToken, Version: rec.Version, CreatedAt: stamp(rec.CreatedAt)}
	decode(rec, &it.report)
	it.report.Reporter, it.report.KeyHash = "", ""
	return it
}

// listReports answers a page of reports, newest first, filtered by q.
func listReports(ctx context.Context, c *call) (*plugin.Response, error) {
	q, err := parseListQuery(c.req.QueryValue("q"))
	if err != nil {
		return nil, err
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	items := []adminItem{}
	var total int64
	truncated := false
	if len(q.Keywords) == 0 {
		q.Offset, q.Limit = (no-1)*size, size
		page, err := c.host.QueryRecords(ctx, q.RecordQuery)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			items = append(items, adminItemOf(rec))
		}
		total = page.Total
	} else {
		skip := (no - 1) * size
		for q.Offset, q.Limit = 0, 500; ; q.Offset += q.Limit {
			page, err := c.host.QueryRecords(ctx, q.RecordQuery)
			if err != nil {
				return nil, err
			}
			for _, rec := range page.Items {
				var r report
				decode(rec, &r)
				if !matches(rec.ID, r, q.Keywords) {
					continue
				}
				if total++; total > int64(skip) && len(items) < size {
					items = append(items, adminItemOf(rec))
				}
			}
			if int64(q.Offset+q.Limit) >= page.Total {
				break
			}
			if q.Offset+q.Limit >= maxScan {
				truncated = true
				break
			}
		}
	}
	return plugin.JSON(200, map[string]any{"total": total, "pageNo": no, "pageSize": size, "items": items, "truncated": truncated})
}

// statusChange is the body of POST /reports/status.
type statusChange struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version int64  `json:"version"`
	Note    string `json:"note"`
	Reason  string `json:"reason"`
}

const statusShape = `{"id": 报修单号, "status": 处理中、已完成 或 已驳回, "version": 列表中的版本（可选）, "note": 处理说明, "reason": 驳回理由}`

// transitions are the legal status changes.
var transitions = map[string][]string{
	statusPending:  {statusHandling, statusRejected},
	statusHandling: {statusDone, statusRejected},
}

// checkTransition says whether a report may go from one status to
// another, and why not.
func checkTransition(from, to string) error {
	if contains(transitions[from], to) {
		return nil
	}
	if from == statusDone || from == statusRejected {
		return conflict("StatusFinal", "该报修单已"+strings.TrimPrefix(from, "已")+"，不能再变更状态")
	}
	return conflict("IllegalTransition", fmt.Sprintf("报修单不能从「%s」变为「%s」；可变为 %s", from, to, strings.Join(transitions[from], "、")))
}

// readStatusChange decodes and checks a status change.
func readStatusChange(body []byte) (statusChange, error) {
	var s statusChange
	if err := strictJSON(body, &s, statusShape); err != nil {
		return s, err
	}
	s.ID, s.Status = strings.ToUpper(strings.TrimSpace(s.ID)), strings.TrimSpace(s.Status)
	s.Note, s.Reason = strings.TrimSpace(s.Note), strings.TrimSpace(s.Reason)
	switch {
	case s.ID == "":
		return s, missing("请提供报修单号 id")
	case !ticketRe.MatchString(s.ID):
		return s, invalid("报修单号格式不正确")
	case s.Status == "":
		return s, missing("请提供新状态 status：处理中、已完成 或 已驳回")
	case s.Status != statusHandling && s.Status != statusDone && s.Status != statusRejected:
		return s, invalid("status 须为 处理中、已完成 或 已驳回")
	case s.Version < 0:
		return s, invalid("version 须为正整数")
	case s.Status == statusRejected && s.Reason == "":
		return s, missing("驳回须填写理由 reason")
	case s.Status != statusRejected && s.Reason != "":
		return s, invalid("只有驳回需要理由 reason；处理说明请填 note")
	case utf8.RuneCountInString(s.Note) > 500 || utf8.RuneCountInString(s.Reason) > 500:
		return s, invalid("处理说明与驳回理由不能超过 500 个字")
	case hasControl(s.Note) || hasControl(s.Reason):
		return s, invalid("处理说明或驳回理由含有不可见的控制字符")
	}
	return s, nil
}

// changeStatus moves a report to its next status. The change is stored
// against the version read (or the version the operator's list showed,
// when given), so that of two operators moving one report at once exactly
// one does; the other is told to refresh. Every change is audited and
// written as a usage event.
func changeStatus(ctx context.Context, c *call) (*plugin.Response, error) {
	s, err := readStatusChange(c.req.Body)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, "reports", s.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到报修单 " + s.ID)
	}
	if err != nil {
		return nil, err
	}
	if s.Version != 0 && s.Version != rec.Version {
		return nil, conflict("VersionConflict", "该报修单已被其他人员处理，请刷新后查看")
	}
	var r report
	decode(*rec, &r)
	from := r.Status
	if err := checkTransition(from, s.Status); err != nil {
		return nil, err
	}
	at := stamp(c.now)
	r.Status, r.Handler = s.Status, c.req.Operator.Account
	switch s.Status {
	case statusHandling:
		r.AcceptedAt = at
	case statusDone, statusRejected:
		r.ClosedAt = at
	}
	if s.Note != "" {
		r.Note = s.Note
	}
	r.RejectReason = s.Reason
	saved, err := c.put(ctx, "reports", rec.ID, rec.CodeToken, r, rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("VersionConflict", "该报修单已被其他人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "report.status", "report:"+rec.ID, map[string]any{"code": rec.CodeToken, "from": from, "to": r.Status,
		"note": s.Note, "reason": s.Reason, "version": saved.Version})
	if err := c.host.Event(ctx, "report.status", map[string]any{"ticket": rec.ID, "from": from, "to": r.Status}); err != nil {
		c.warn(ctx, "report.status event", err)
	}
	return plugin.JSON(200, adminItemOf(*saved))
}
