package main

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// 码上晓 and the enforcement records operators enter: notices (公示公告) and
// education (宣传教育), about one shop or the whole platform, and penalties
// (处罚信息) about a shop. Everyone sees the notices on a shop's page; a
// shop's notices are pushed to its merchants and, for 公示公告, to the
// inspectors (notifyTo) and the citizens who follow the shop; education to
// its merchants; a penalty to its merchants. Notices for the whole
// platform are shown on every shop's page and not pushed one by one.

// Notice kinds and scopes.
const (
	noticePublic    = "公示公告"
	noticeEducation = "宣传教育"
	scopeShop       = "shop"
	scopeAll        = "all"

	tplNotice    = "urbanmgmt.notice"
	tplEducation = "urbanmgmt.education"
	tplPenalty   = "urbanmgmt.penalty"
)

var noticeKinds = map[string]string{"notice": noticePublic, "education": noticeEducation, noticePublic: noticePublic, noticeEducation: noticeEducation}

// notice is the document of the notices collection.
type notice struct {
	Scope       string `json:"scope"`
	Kind        string `json:"kind"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	Publisher   string `json:"publisher,omitempty"`
	Shop        string `json:"shop,omitempty"`
	PublishedBy string `json:"publishedBy"`
	Pushed      int    `json:"pushed"`
}

type noticeView struct {
	notice
	ID, Published, Link string
	created             time.Time
}

func noticeOf(rec plugin.Record) noticeView {
	v := noticeView{ID: rec.ID, Published: rec.CreatedAt.In(cst).Format("2006-01-02"), created: rec.CreatedAt}
	decode(rec, &v.notice)
	return v
}

// notices answers the newest notices about the shop and the platform,
// merged, at most limit.
func (c *call) notices(ctx context.Context, limit int) ([]noticeView, error) {
	var out []noticeView
	for _, q := range []plugin.RecordQuery{
		{Collection: "notices", CodeToken: c.req.Code.Token, Where: map[string]any{"scope": scopeShop}, Newest: true, Limit: limit},
		{Collection: "notices", Where: map[string]any{"scope": scopeAll}, Newest: true, Limit: limit},
	} {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			v := noticeOf(rec)
			v.Link = c.link("/notices?id=" + rec.ID)
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].created.After(out[j].created) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// noticesPage lists the notices, or shows one (?id=) of this shop or the
// platform.
func noticesPage(ctx context.Context, c *call) (*plugin.Response, error) {
	if id := c.req.QueryValue("id"); id != "" {
		if !recordIDRe.MatchString(id) {
			return nil, invalid("公告编号格式不正确")
		}
		rec, err := c.host.GetRecord(ctx, "notices", id)
		if plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, notFound("没有找到该公告")
		}
		if err != nil {
			return nil, err
		}
		v := noticeOf(*rec)
		if v.Scope != scopeAll && rec.CodeToken != c.req.Code.Token {
			return nil, notFound("没有找到该公告")
		}
		return render(200, noticePage, c, map[string]any{"Notice": v})
	}
	list, err := c.notices(ctx, 50)
	if err != nil {
		return nil, err
	}
	return render(200, noticePage, c, map[string]any{"Notices": list})
}

// noticeIn is the body of POST /notices.
type noticeIn struct {
	Code      string `json:"code"`
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	Content   string `json:"content"`
	Publisher string `json:"publisher"`
}

const noticeHint = `{"code": 商户的码（空为全平台）, "kind": "notice（公示公告）|education（宣传教育）", "title": 标题, "content": 内容, "publisher": 发布单位}`

// publishNotice stores a notice and pushes it.
func publishNotice(ctx context.Context, c *call) (*plugin.Response, error) {
	var in noticeIn
	if err := readJSON(c.req.Body, &in, noticeHint); err != nil {
		return nil, err
	}
	n := notice{Scope: scopeAll, Kind: noticeKinds[in.Kind], PublishedBy: c.req.Operator.Account}
	if n.Kind == "" {
		return nil, invalid("kind 须为 notice（公示公告）或 education（宣传教育）")
	}
	var err error
	if n.Title, err = checkText(in.Title, "标题 title", 60, true); err != nil {
		return nil, err
	}
	if n.Content, err = checkText(in.Content, "内容 content", 2000, true); err != nil {
		return nil, err
	}
	if n.Publisher, err = checkText(in.Publisher, "发布单位 publisher", 64, false); err != nil {
		return nil, err
	}
	var code *plugin.Code
	token := ""
	if in.Code != "" {
		if code, err = c.resolve(ctx, in.Code); err != nil {
			return nil, err
		}
		s := shopOf(code)
		token, n.Scope, n.Shop = code.Token, scopeShop, s.Title
		if n.Publisher == "" {
			n.Publisher, _ = s.current(fieldByKey("supervisingUnit"))
		}
	}
	var to []string
	if code != nil {
		if to, err = c.merchants(ctx, token); err != nil {
			return nil, err
		}
		if n.Kind == noticePublic {
			followers, err := c.followers(ctx, token)
			if err != nil {
				return nil, err
			}
			to = append(append(to, c.recipientFor(code)), followers...)
		}
	}
	rec, err := c.put(ctx, "notices", "", token, n, 0)
	if err != nil {
		return nil, err
	}
	tpl := map[string]string{noticePublic: tplNotice, noticeEducation: tplEducation}[n.Kind]
	if n.Pushed = c.push(ctx, tpl, to, map[string]string{"noticeId": rec.ID, "code": token, "shop": n.Shop, "kind": n.Kind,
		"title": n.Title}); n.Pushed > 0 {
		if _, err := c.put(ctx, "notices", rec.ID, token, n, rec.Version); err != nil {
			c.warn(ctx, "notice push count", err)
		}
	}
	c.audit(ctx, "notice.publish", "notice:"+rec.ID, map[string]any{"code": token, "kind": n.Kind, "title": n.Title,
		"operator": c.req.Operator.Account, "pushed": n.Pushed})
	return plugin.JSON(201, map[string]any{"id": rec.ID, "scope": n.Scope, "kind": n.Kind, "code": token, "pushed": n.Pushed})
}

// penalty is the document of the penalties collection: an administrative
// penalty decision (行政处罚决定) about a shop.
type penalty struct {
	Shop       string   `json:"shop"`
	DecisionNo string   `json:"decisionNo"`
	Violation  string   `json:"violation"`
	Basis      string   `json:"basis,omitempty"`
	Penalty    string   `json:"penalty"`
	Amount     *float64 `json:"amount,omitempty"`
	DecidedAt  string   `json:"decidedAt"`
	Status     string   `json:"status"`
	EnteredBy  string   `json:"enteredBy"`
	Pushed     int      `json:"pushed"`
}

// penaltyIn is the body of POST /penalties.
type penaltyIn struct {
	Code       string   `json:"code"`
	DecisionNo string   `json:"decisionNo"`
	Violation  string   `json:"violation"`
	Basis      string   `json:"basis"`
	Penalty    string   `json:"penalty"`
	Amount     *float64 `json:"amount"`
	DecidedAt  string   `json:"decidedAt"`
	Status     string   `json:"status"`
}

const penaltyHint = `{"code", "decisionNo": 决定书文号, "violation": 违法行为, "basis": 处罚依据, "penalty": 处罚内容, "amount": 罚款金额（元）, "decidedAt": "2026-11-03", "status": 执行情况}`

// recordPenalty stores a penalty decision, once per decision number, and
// pushes it to the shop's merchants.
func recordPenalty(ctx context.Context, c *call) (*plugin.Response, error) {
	var in penaltyIn
	if err := readJSON(c.req.Body, &in, penaltyHint); err != nil {
		return nil, err
	}
	if in.Code == "" {
		return nil, missing("请指定被处罚商户的码 code")
	}
	p := penalty{Amount: in.Amount, EnteredBy: c.req.Operator.Account}
	var err error
	for _, f := range []struct {
		dst        *string
		in, label  string
		max        int
		required   bool
		defaultVal string
	}{
		{&p.DecisionNo, in.DecisionNo, "决定书文号 decisionNo", 64, true, ""},
		{&p.Violation, in.Violation, "违法行为 violation", 200, true, ""},
		{&p.Basis, in.Basis, "处罚依据 basis", 200, false, ""},
		{&p.Penalty, in.Penalty, "处罚内容 penalty", 200, true, ""},
		{&p.Status, in.Status, "执行情况 status", 32, false, "待执行"},
	} {
		if *f.dst, err = checkText(f.in, f.label, f.max, f.required); err != nil {
			return nil, err
		}
		if *f.dst == "" {
			*f.dst = f.defaultVal
		}
	}
	if a := in.Amount; a != nil && (*a < 0 || *a > 1e7 || math.IsNaN(*a) || math.Round(*a*100) != *a*100) {
		return nil, invalid("罚款金额 amount 须为 0–10000000 元，至多两位小数")
	}
	decided, err := time.ParseInLocation(time.DateOnly, in.DecidedAt, cst)
	switch {
	case in.DecidedAt == "":
		return nil, missing("请提供处罚日期 decidedAt")
	case err != nil:
		return nil, invalid("处罚日期 decidedAt 须为日期，如 2026-11-03")
	case decided.After(c.now):
		return nil, invalid("处罚日期不能晚于今天")
	}
	p.DecidedAt = in.DecidedAt
	code, err := c.resolve(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	p.Shop = shopOf(code).Title
	merchants, err := c.merchants(ctx, code.Token)
	if err != nil {
		return nil, err
	}
	rec, err := c.create(ctx, "penalties", hashed("pn-", p.DecisionNo), code.Token, p)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("DuplicateDecision", "决定书文号 "+p.DecisionNo+" 已录入")
	}
	if err != nil {
		return nil, err
	}
	if p.Pushed = c.push(ctx, tplPenalty, merchants, map[string]string{"penaltyId": rec.ID, "shop": p.Shop, "decisionNo": p.DecisionNo,
		"violation": clip(p.Violation, 100), "penalty": clip(p.Penalty, 100)}); p.Pushed > 0 {
		if _, err := c.put(ctx, "penalties", rec.ID, rec.CodeToken, p, rec.Version); err != nil {
			c.warn(ctx, "penalty push count", err)
		}
	}
	c.audit(ctx, "penalty.record", "penalty:"+rec.ID, map[string]any{"code": code.Token, "decisionNo": p.DecisionNo,
		"operator": c.req.Operator.Account, "pushed": p.Pushed})
	return plugin.JSON(201, map[string]any{"id": rec.ID, "code": code.Token, "shop": p.Shop, "pushed": p.Pushed})
}
