package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// 码上诉: a logged-in citizen complains about a shop (投诉举报), which goes to
// the inspectors, or makes a suggestion (意见建议), which goes to the shop's
// merchants anonymously: the merchant's page and message carry the
// suggestion's content and never who made it. Both are stored with the
// citizen's pseudonym, so that they can follow their own and so that a
// daily limit holds; operators see a masked name only when the citizen
// authorized the scene.

// Kinds and statuses.
const (
	kindComplaint  = "投诉举报"
	kindSuggestion = "意见建议"

	statusReceived  = "已受理"
	statusHandled   = "已处理"
	statusDelivered = "已转达商户"
	statusNoShop    = "待商户绑定" // no merchant is bound to the code yet: shown once one is
)

// Notification templates the platform defines.
const (
	tplComplaint       = "urbanmgmt.complaint"
	tplComplaintResult = "urbanmgmt.complaint_handled"
	tplSuggestion      = "urbanmgmt.suggestion"
)

// complaint is the document of the complaints collection.
type complaint struct {
	Shop        string `json:"shop"`
	Kind        string `json:"kind"`
	Category    string `json:"category"`
	Text        string `json:"text"`
	Photo       string `json:"photo,omitempty"`
	Status      string `json:"status"`
	Delivered   int    `json:"delivered"`
	Handler     string `json:"handler,omitempty"`
	HandledAt   string `json:"handledAt,omitempty"`
	HandledNote string `json:"handledNote,omitempty"`
	Author      string `json:"author"`
	AuthorName  string `json:"authorName,omitempty"`
}

// complaintView is a complaint on a page.
type complaintView struct {
	complaint
	ID, Created, Handled string
}

func complaintOf(rec plugin.Record) complaintView {
	v := complaintView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.complaint)
	v.Handled = readable(v.HandledAt)
	return v
}

// suggestionView is a suggestion as its merchant sees it: what and when,
// never who.
type suggestionView struct {
	ID, Created, Category, Text, Photo string
}

var complaintKinds = map[string]string{"complaint": kindComplaint, "suggestion": kindSuggestion}

func complainForm(ctx context.Context, c *call) (*plugin.Response, error) {
	kind := c.req.QueryValue("kind")
	if kind != "suggestion" {
		kind = "complaint"
	}
	return render(200, complainFormPage, c, map[string]any{"Kind": kind, "Categories": c.cfg.Categories, "Hint": photoHint,
		"Max": maxText})
}

// complain stores a complaint or a suggestion and hands it on: a
// complaint to the inspectors (notifyTo), a suggestion to the shop's
// merchants, without the citizen's identity.
func complain(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("kind", "category", "text"); err != nil {
		return nil, err
	}
	kind := complaintKinds[f.get("kind")]
	switch {
	case f.get("kind") == "":
		return nil, missing("请选择投诉举报或意见建议")
	case kind == "":
		return nil, invalid("kind 须为 complaint（投诉举报）或 suggestion（意见建议）")
	}
	category := f.get("category")
	switch {
	case category == "":
		return nil, missing("请选择问题类别")
	case !contains(c.cfg.Categories, category):
		return nil, invalid("问题类别须为以下之一：" + strings.Join(c.cfg.Categories, "、"))
	}
	text, err := f.text("text", "内容", maxText, true)
	if err != nil {
		return nil, err
	}
	me := c.req.Visitor.Pseudonym
	day := time.Date(c.now.Year(), c.now.Month(), c.now.Day(), 0, 0, 0, 0, cst)
	today, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "complaints", CodeToken: c.req.Code.Token,
		Where: map[string]any{"author": me}, From: day, Limit: 1})
	if err != nil {
		return nil, err
	}
	if today.Total >= int64(c.cfg.DailyLimit) {
		return nil, conflict("TooMany", "您今天对该商户已提交 "+strconv.FormatInt(today.Total, 10)+" 条投诉建议，请明天再提交")
	}
	var merchants []string
	if kind == kindSuggestion {
		if merchants, err = c.merchants(ctx, c.req.Code.Token); err != nil {
			return nil, err
		}
	}
	photo, err := c.storePhoto(ctx, f)
	if err != nil {
		return nil, err
	}
	d := complaint{Shop: c.shop.Title, Kind: kind, Category: category, Text: text, Photo: photo, Status: statusReceived, Author: me}
	if c.req.Visitor.Authorized {
		d.AuthorName = c.req.Visitor.Name
	}
	if kind == kindSuggestion {
		d.Status, d.Delivered = statusNoShop, len(merchants)
		if len(merchants) > 0 {
			d.Status = statusDelivered
		}
	}
	rec, err := c.put(ctx, "complaints", "", c.req.Code.Token, d, 0)
	if err != nil {
		return nil, err
	}
	title := "投诉已受理"
	if kind == kindComplaint {
		c.event(ctx, "complaint.created", map[string]any{"complaintId": rec.ID, "category": category})
		c.push(ctx, tplComplaint, []string{c.recipient()}, map[string]string{"complaintId": rec.ID, "code": c.req.Code.Token,
			"shop": c.shop.Title, "category": category})
	} else {
		title = "建议已提交"
		c.event(ctx, "suggestion.created", map[string]any{"suggestionId": rec.ID, "category": category, "merchants": len(merchants)})
		// The merchant hears what was suggested, never by whom.
		c.push(ctx, tplSuggestion, merchants, map[string]string{"suggestionId": rec.ID, "shop": c.shop.Title, "category": category,
			"text": clip(text, 200)})
	}
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": title, "ID": rec.ID, "Status": d.Status,
		"Next": "/mine", "NextText": "查看我的投诉建议"})
}

// mine lists the visitor's complaints and suggestions about the shop.
func mine(ctx context.Context, c *call) (*plugin.Response, error) {
	recs, err := c.list(ctx, "complaints", map[string]any{"author": c.req.Visitor.Pseudonym}, 50)
	if err != nil {
		return nil, err
	}
	var items []complaintView
	for _, rec := range recs {
		items = append(items, complaintOf(rec))
	}
	return render(200, minePage, c, map[string]any{"Items": items})
}

// handleComplaint marks a complaint handled with a note, once, and tells
// the citizen. rec is the complaint as read; by names the handler.
func (c *call) handleComplaint(ctx context.Context, rec *plugin.Record, note, by string) (*complaint, error) {
	var d complaint
	decode(*rec, &d)
	switch {
	case d.Kind != kindComplaint:
		return nil, invalid("建议不需处理：它已转达商户")
	case d.Status != statusReceived:
		return nil, conflict("AlreadyHandled", "该投诉已处理（"+d.HandledNote+"）")
	}
	note, err := checkText(note, "处理结果", maxText, true)
	if err != nil {
		return nil, err
	}
	d.Status, d.Handler, d.HandledAt, d.HandledNote = statusHandled, by, stamp(c.now), note
	if _, err := c.put(ctx, "complaints", rec.ID, rec.CodeToken, d, rec.Version); plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyHandled", "该投诉刚被他人处理，请刷新后查看")
	} else if err != nil {
		return nil, err
	}
	c.audit(ctx, "complaint.handle", "complaint:"+rec.ID, map[string]any{"code": rec.CodeToken, "handler": by, "note": note})
	c.push(ctx, tplComplaintResult, []string{d.Author}, map[string]string{"complaintId": rec.ID, "shop": d.Shop, "status": d.Status,
		"note": clip(note, 200)})
	return &d, nil
}

// handleComplaintHere is an inspector handling a complaint about the
// shop they scanned.
func handleComplaintHere(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("id", "note"); err != nil {
		return nil, err
	}
	if f.get("id") == "" {
		return nil, missing("请提供投诉编号")
	}
	rec, err := c.ofCode(ctx, "complaints", f.get("id"), "投诉")
	if err != nil {
		return nil, err
	}
	if _, err := c.handleComplaint(ctx, rec, f.get("note"), c.member.Officer()); err != nil {
		return nil, err
	}
	return plugin.Redirect(c.link("/inspect#complaints")), nil
}

// handleComplaintAdmin is an operator handling a complaint from the
// console: {"id", "note"}.
func handleComplaintAdmin(ctx context.Context, c *call) (*plugin.Response, error) {
	var in struct {
		ID   string `json:"id"`
		Note string `json:"note"`
	}
	if err := readJSON(c.req.Body, &in, `{"id": 投诉编号, "note": 处理结果}`); err != nil {
		return nil, err
	}
	if in.ID == "" {
		return nil, missing("请提供投诉编号 id")
	}
	rec, err := c.ofCode(ctx, "complaints", in.ID, "投诉")
	if err != nil {
		return nil, err
	}
	d, err := c.handleComplaint(ctx, rec, in.Note, c.req.Operator.Account)
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": d.Status, "handledNote": d.HandledNote})
}

// clip shortens a text for a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
