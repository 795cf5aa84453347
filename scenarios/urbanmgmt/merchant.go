package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The merchant's side (码上查 for merchants, 码上签, 自查登记): a visitor
// bound to this code as its merchant sees the shop's full information, the
// supervising unit, the notices, the inspections, the penalties (searched
// by keyword), the rectifications and the suggestions citizens made —
// without who made them; signs the pledges; and reports corrections of the
// shop's information for an inspector to check. Another shop's records are
// never shown: every query is by this code, and the route is refused to a
// merchant of another code.

// patrolView, penaltyView: records as the merchant and inspectors see them.
type patrolView struct {
	patrol
	ID, Created string
}

type penaltyView struct {
	penalty
	ID string
}

// AmountText is the fine as shown.
func (p penaltyView) AmountText() string {
	if p.Amount == nil {
		return ""
	}
	return show(*p.Amount) + " 元"
}

func merchantHome(ctx context.Context, c *call) (*plugin.Response, error) {
	q := strings.TrimSpace(c.req.QueryValue("q"))
	if utf8.RuneCountInString(q) > 50 {
		return nil, invalid("关键字不能超过 50 个字")
	}
	notices, err := c.notices(ctx, 10)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Notices": notices, "Q": q, "Member": c.member}
	var patrols []patrolView
	recs, err := c.list(ctx, "patrols", nil, 20)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		patrols = append(patrols, patrolOf(rec))
	}
	data["Patrols"] = patrols
	if recs, err = c.list(ctx, "penalties", nil, 200); err != nil {
		return nil, err
	}
	var penalties []penaltyView
	for _, rec := range recs {
		v := penaltyView{ID: rec.ID}
		decode(rec, &v.penalty)
		if q == "" || strings.Contains(strings.Join([]string{v.DecisionNo, v.Violation, v.Basis, v.Penalty, v.Status, v.DecidedAt}, "\n"), q) {
			penalties = append(penalties, v)
		}
	}
	data["Penalties"] = penalties
	if recs, err = c.list(ctx, "rectifications", nil, 20); err != nil {
		return nil, err
	}
	var rects []rectView
	for _, rec := range recs {
		rects = append(rects, rectOf(rec))
	}
	data["Rectifications"] = rects
	if recs, err = c.list(ctx, "complaints", map[string]any{"kind": kindSuggestion}, 20); err != nil {
		return nil, err
	}
	// Suggestions reach the merchant anonymously: the view has no field
	// for their author, whatever the template does.
	var suggestions []suggestionView
	for _, rec := range recs {
		v := complaintOf(rec)
		suggestions = append(suggestions, suggestionView{ID: v.ID, Created: v.Created, Category: v.Category, Text: v.Text, Photo: v.Photo})
	}
	data["Suggestions"] = suggestions
	if recs, err = c.list(ctx, "corrections", map[string]any{"status": statusPendingCheck}, 5); err != nil {
		return nil, err
	}
	var pending []correctionView
	for _, rec := range recs {
		pending = append(pending, correctionOf(rec))
	}
	data["Pending"] = pending
	signed, err := c.signatures(ctx)
	if err != nil {
		return nil, err
	}
	var unsigned []string
	for _, p := range c.cfg.Pledges {
		if _, ok := signed[p.ID+"@"+p.Version]; !ok {
			unsigned = append(unsigned, p.Title)
		}
	}
	data["Unsigned"] = unsigned
	return render(200, merchantPage, c, data)
}

// 码上签.

// pledge is the document of the pledges collection: a document signed for
// a shop, with the text signed and its digest.
type pledge struct {
	Shop       string `json:"shop"`
	Template   string `json:"template"`
	Title      string `json:"title"`
	Version    string `json:"version"`
	Content    string `json:"content"`
	SHA256     string `json:"sha256"`
	SignerName string `json:"signerName"` // the name the merchant typed as a signature
	Signer     string `json:"signer"`
	SignedAt   string `json:"signedAt"`
}

func pledgeID(token, template, version string) string { return hashed("pl-", token, template, version) }

// signatures answers the shop's signed documents by template@version.
func (c *call) signatures(ctx context.Context) (map[string]pledge, error) {
	recs, err := c.list(ctx, "pledges", nil, 100)
	if err != nil {
		return nil, err
	}
	out := map[string]pledge{}
	for _, rec := range recs {
		var p pledge
		decode(rec, &p)
		out[p.Template+"@"+p.Version] = p
	}
	return out, nil
}

// pledgeRow is a document on the signing page.
type pledgeRow struct {
	pledgeTemplate
	Signed             bool
	SignerName, SignAt string
}

func pledgeForm(ctx context.Context, c *call) (*plugin.Response, error) {
	signed, err := c.signatures(ctx)
	if err != nil {
		return nil, err
	}
	var rows []pledgeRow
	for _, p := range c.cfg.Pledges {
		r := pledgeRow{pledgeTemplate: p}
		if s, ok := signed[p.ID+"@"+p.Version]; ok {
			r.Signed, r.SignerName, r.SignAt = true, s.SignerName, readable(s.SignedAt)
		}
		rows = append(rows, r)
	}
	return render(200, pledgePage, c, map[string]any{"Pledges": rows})
}

// signPledge signs a document for the shop, once per version: the record
// keeps the text signed, its SHA-256 and the name typed as a signature.
func signPledge(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("template", "signerName", "agree"); err != nil {
		return nil, err
	}
	id := f.get("template")
	if id == "" {
		return nil, missing("请选择要签订的文书")
	}
	t := c.cfg.pledge(id)
	if t == nil {
		return nil, notFound("没有该文书：" + id)
	}
	if f.get("agree") != "1" {
		return nil, missing("请阅读文书并勾选“本人已阅读并同意”")
	}
	name, err := f.text("signerName", "签订人姓名", 32, true)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(name) < 2 {
		return nil, invalid("请填写签订人的完整姓名")
	}
	sum := sha256.Sum256([]byte(t.Content))
	p := pledge{Shop: c.shop.Title, Template: t.ID, Title: t.Title, Version: t.Version, Content: t.Content,
		SHA256: hex.EncodeToString(sum[:]), SignerName: name, Signer: c.req.Visitor.Pseudonym, SignedAt: stamp(c.now)}
	rec, err := c.create(ctx, "pledges", pledgeID(c.req.Code.Token, t.ID, t.Version), c.req.Code.Token, p)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadySigned", "本店已签订《"+t.Title+"》（版本 "+t.Version+"）")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "pledge.sign", "pledge:"+rec.ID, map[string]any{"code": c.req.Code.Token, "template": t.ID, "version": t.Version,
		"sha256": p.SHA256})
	c.event(ctx, "pledge.signed", map[string]any{"pledgeId": rec.ID, "template": t.ID})
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "《" + t.Title + "》已签订", "ID": rec.ID,
		"Status": "已签订", "Next": "/merchant/pledge", "NextText": "返回码上签"})
}

// selfCheck is the merchant's self-check report (自查登记): corrections of
// the shop's information, pending until an inspector or an operator
// checks them. One report is pending at a time.
func selfCheck(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("f.", "note"); err != nil {
		return nil, err
	}
	changes, err := parseChanges(f, c.shop)
	if err != nil {
		return nil, err
	}
	note, err := f.text("note", "说明", 200, false)
	if err != nil {
		return nil, err
	}
	pending, err := c.list(ctx, "corrections", map[string]any{"status": statusPendingCheck}, 1)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		return nil, conflict("PendingExists", "本店已有一条待核实的自查登记，请等待城管队员核实")
	}
	d := correction{Shop: c.shop.Title, CodeKind: c.req.Code.Kind, Source: sourceMerchant, Changes: changes, Summary: summarize(changes),
		Note: note, Status: statusPendingCheck, Author: c.req.Visitor.Pseudonym}
	rec, err := c.put(ctx, "corrections", "", c.req.Code.Token, d, 0)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "selfcheck.created", map[string]any{"correctionId": rec.ID})
	c.push(ctx, tplSelfCheck, []string{c.recipient()}, map[string]string{"correctionId": rec.ID, "code": c.req.Code.Token,
		"shop": c.shop.Title, "summary": clip(d.Summary, 200)})
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "自查登记已提交", "ID": rec.ID, "Status": d.Status,
		"Next": "/merchant", "NextText": "返回商户服务"})
}
