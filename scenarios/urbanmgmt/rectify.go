package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// 码上改: rectification entries about a shop, by an inspector (the
// requirement and its progress, with a status and a deadline), by the
// shop's merchant (what they put right) or by a citizen (what they see).
// Each is pushed (码上晓 整改信息推送): to the shop's merchants unless they
// wrote it, to the inspectors (notifyTo) unless an inspector wrote it, and,
// for inspectors' and merchants' entries, to the citizens who follow the
// shop.

// Rectification statuses an inspector sets; merchants' and citizens'
// entries carry their own.
var rectStatuses = []string{"待整改", "整改中", "已整改", "逾期未整改"}

const (
	statusMerchantReport = "商户已填报"
	statusCitizenReport  = "市民反馈"
	roleCitizen          = "市民"
	tplRectification     = "urbanmgmt.rectification"
)

// rectification is the document of the rectifications collection.
type rectification struct {
	Shop      string `json:"shop"`
	Role      string `json:"role"`              // 城管队员, 商户, 市民
	Officer   string `json:"officer,omitempty"` // an inspector's name and badge
	Content   string `json:"content"`
	Status    string `json:"status"`
	Deadline  string `json:"deadline,omitempty"`
	About     string `json:"about,omitempty"` // collection:id of what it answers
	AboutText string `json:"aboutText,omitempty"`
	Photo     string `json:"photo,omitempty"`
	Pushed    int    `json:"pushed"`
	Author    string `json:"author"`
}

type rectView struct {
	rectification
	ID, Created string
}

func rectOf(rec plugin.Record) rectView {
	v := rectView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.rectification)
	return v
}

// writer is who the visitor is on this shop's rectifications: an
// inspector first, then the shop's merchant, else a citizen; and the
// collections their entries may refer to.
func (c *call) writer() (string, *binding, []string) {
	if b := c.role(roleInspector, ""); b != nil {
		return roleNames[roleInspector], b, []string{"penalties", "patrols", "complaints", "rectifications"}
	}
	if b := c.role(roleMerchant, c.req.Code.Token); b != nil {
		return roleNames[roleMerchant], b, []string{"penalties", "patrols", "rectifications"}
	}
	return roleCitizen, nil, []string{"rectifications"}
}

// option is a record a form may refer to.
type option struct{ Value, Text string }

// aboutText describes a record an entry refers to.
func aboutText(collection string, rec plugin.Record) string {
	day := rec.CreatedAt.In(cst).Format("2006-01-02")
	switch collection {
	case "penalties":
		var p penalty
		decode(rec, &p)
		return "处罚 " + p.DecisionNo + " " + clip(p.Violation, 20)
	case "patrols":
		var p patrol
		decode(rec, &p)
		return "巡查 " + day + " " + p.Result
	case "complaints":
		var d complaint
		decode(rec, &d)
		return "投诉 " + day + " " + d.Category
	}
	var r rectification
	decode(rec, &r)
	return "整改 " + day + " " + r.Status + " " + clip(r.Content, 20)
}

// options lists the recent records of the collections the visitor's
// entries may refer to; citizens may refer to inspectors' entries only.
func (c *call) options(ctx context.Context, collections []string) ([]option, error) {
	var out []option
	for _, coll := range collections {
		var where map[string]any
		switch coll {
		case "complaints":
			where = map[string]any{"kind": kindComplaint}
		case "patrols":
			where = map[string]any{"result": resultProblem}
		case "rectifications":
			where = map[string]any{"role": roleNames[roleInspector]}
		}
		recs, err := c.list(ctx, coll, where, 10)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			out = append(out, option{Value: coll + ":" + rec.ID, Text: aboutText(coll, rec)})
		}
	}
	return out, nil
}

func rectifyForm(ctx context.Context, c *call) (*plugin.Response, error) {
	role, _, allowed := c.writer()
	opts, err := c.options(ctx, allowed)
	if err != nil {
		return nil, err
	}
	return render(200, rectifyFormPage, c, map[string]any{"Role": role, "Inspector": role == roleNames[roleInspector],
		"Statuses": rectStatuses, "Options": opts, "Hint": photoHint, "About": c.req.QueryValue("about")})
}

// rectify stores a rectification entry and pushes it.
func rectify(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	role, b, allowed := c.writer()
	inspecting := role == roleNames[roleInspector]
	names := []string{"content", "about"}
	if inspecting {
		names = append(names, "status", "deadline")
	}
	if err := f.only(names...); err != nil {
		return nil, err
	}
	content, err := f.text("content", "整改情况", maxText, true)
	if err != nil {
		return nil, err
	}
	r := rectification{Shop: c.shop.Title, Role: role, Content: content, Author: c.req.Visitor.Pseudonym}
	switch role {
	case roleNames[roleMerchant]:
		r.Status = statusMerchantReport
	case roleCitizen:
		r.Status = statusCitizenReport
	default:
		r.Officer = b.Officer()
		if r.Status = f.get("status"); r.Status == "" {
			return nil, missing("请选择整改状态")
		} else if !contains(rectStatuses, r.Status) {
			return nil, invalid("整改状态须为以下之一：" + strings.Join(rectStatuses, "、"))
		}
		if d := f.get("deadline"); d != "" {
			t, err := time.ParseInLocation(time.DateOnly, d, cst)
			today := time.Date(c.now.Year(), c.now.Month(), c.now.Day(), 0, 0, 0, 0, cst)
			switch {
			case err != nil:
				return nil, invalid("整改期限须为日期，如 2026-11-30")
			case t.Before(today) || t.After(today.AddDate(1, 0, 0)):
				return nil, invalid("整改期限须在今天到一年之内")
			}
			r.Deadline = d
		}
	}
	if about := f.get("about"); about != "" {
		rec, err := c.ref(ctx, about, allowed...)
		if err != nil {
			return nil, err
		}
		r.About, r.AboutText = about, aboutText(rec.Collection, *rec)
	}
	var to []string
	if role != roleNames[roleMerchant] {
		merchants, err := c.merchants(ctx, c.req.Code.Token)
		if err != nil {
			return nil, err
		}
		to = append(to, merchants...)
	}
	if !inspecting {
		to = append(to, c.recipient())
	}
	if role != roleCitizen {
		followers, err := c.followers(ctx, c.req.Code.Token)
		if err != nil {
			return nil, err
		}
		to = append(to, followers...)
	}
	to = without(to, r.Author)
	if r.Photo, err = c.storePhoto(ctx, f); err != nil {
		return nil, err
	}
	rec, err := c.put(ctx, "rectifications", "", c.req.Code.Token, r, 0)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "rectification.created", map[string]any{"rectificationId": rec.ID, "role": role, "status": r.Status})
	if r.Pushed = c.push(ctx, tplRectification, to, map[string]string{"rectificationId": rec.ID, "code": c.req.Code.Token,
		"shop": c.shop.Title, "role": role, "status": r.Status, "deadline": r.Deadline, "content": clip(content, 200)}); r.Pushed > 0 {
		if _, err := c.put(ctx, "rectifications", rec.ID, rec.CodeToken, r, rec.Version); err != nil {
			c.warn(ctx, "rectification push count", err)
		}
	}
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "整改情况已登记", "ID": rec.ID, "Status": r.Status,
		"Next": "/", "NextText": "返回商户页面"})
}

// without drops a recipient from a list.
func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
