package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The inspector's side (码上查 for 城管队员): a visitor bound as an inspector
// sees the shop's full information with the enforcement object it maps to,
// corrects the information on the spot, checks merchants' self-check
// reports, logs patrols, handles complaints, and looks up the shop's
// enforcement records (patrols, penalties, rectifications, complaints).

// Patrol results.
const (
	resultOK      = "正常"
	resultProblem = "发现问题"
)

// patrol is the document of the patrols collection (日常巡查).
type patrol struct {
	Shop      string   `json:"shop"`
	Officer   string   `json:"officer"`
	Result    string   `json:"result"`
	Failed    []string `json:"failed"` // the patrol items found wanting
	Findings  string   `json:"findings,omitempty"`
	Licence   string   `json:"licence,omitempty"`  // 许可信息核查
	Premises  string   `json:"premises,omitempty"` // 业主房屋信息
	Photo     string   `json:"photo,omitempty"`
	Inspector string   `json:"inspector"`
}

func patrolOf(rec plugin.Record) patrolView {
	v := patrolView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.patrol)
	return v
}

// Correction sources and statuses.
const (
	sourceInspector = "城管队员核查"
	sourceMerchant  = "商户自查"

	statusPendingCheck = "待核实"
	statusChecked      = "已核实"
	statusRejected     = "已驳回"
	statusCorrected    = "已更正"
	statusRecorded     = "已记录" // an enterprise code's correction: recorded, not written

	tplSelfCheck       = "urbanmgmt.selfcheck"
	tplSelfCheckResult = "urbanmgmt.selfcheck_decided"

	enterpriseNote = "一企一码的信息由企业码的登记方维护，本次更正已记录，未写入码"
)

// correction is the document of the corrections collection: an
// inspector's correction of a shop's information, or a merchant's
// self-check report.
type correction struct {
	Shop       string   `json:"shop"`
	CodeKind   string   `json:"codeKind"`
	Source     string   `json:"source"`
	Changes    []change `json:"changes"`
	Summary    string   `json:"summary"`
	Note       string   `json:"note,omitempty"`
	Status     string   `json:"status"`
	Officer    string   `json:"officer,omitempty"`
	Reviewer   string   `json:"reviewer,omitempty"`
	ReviewedAt string   `json:"reviewedAt,omitempty"`
	ReviewNote string   `json:"reviewNote,omitempty"`
	Applied    bool     `json:"applied"`
	ApplyError string   `json:"applyError,omitempty"`
	Author     string   `json:"author"`
}

type correctionView struct {
	correction
	ID, Created string
}

func correctionOf(rec plugin.Record) correctionView {
	v := correctionView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.correction)
	return v
}

func inspectHome(ctx context.Context, c *call) (*plugin.Response, error) {
	data := map[string]any{"Member": c.member, "Items": c.cfg.PatrolItems, "Hint": photoHint}
	m, err := c.mappingOf(ctx, c.req.Code.Token)
	if err != nil {
		return nil, err
	}
	data["Mapping"] = m
	recs, err := c.list(ctx, "corrections", map[string]any{"status": statusPendingCheck}, 5)
	if err != nil {
		return nil, err
	}
	var pending []correctionView
	for _, rec := range recs {
		pending = append(pending, correctionOf(rec))
	}
	data["Pending"] = pending
	if recs, err = c.list(ctx, "complaints", nil, 20); err != nil {
		return nil, err
	}
	var complaints []complaintView
	for _, rec := range recs {
		v := complaintOf(rec)
		v.Author, v.AuthorName = "", "" // the inspector follows the matter, not the person
		complaints = append(complaints, v)
	}
	data["Complaints"] = complaints
	if recs, err = c.list(ctx, "patrols", nil, 10); err != nil {
		return nil, err
	}
	var patrols []patrolView
	for _, rec := range recs {
		patrols = append(patrols, patrolOf(rec))
	}
	data["Patrols"] = patrols
	if recs, err = c.list(ctx, "penalties", nil, 20); err != nil {
		return nil, err
	}
	var penalties []penaltyView
	for _, rec := range recs {
		v := penaltyView{ID: rec.ID}
		decode(rec, &v.penalty)
		penalties = append(penalties, v)
	}
	data["Penalties"] = penalties
	if recs, err = c.list(ctx, "rectifications", nil, 10); err != nil {
		return nil, err
	}
	var rects []rectView
	for _, rec := range recs {
		rects = append(rects, rectOf(rec))
	}
	data["Rectifications"] = rects
	return render(200, inspectPage, c, data)
}

// logPatrol records a patrol of the shop: the items found wanting
// (failed, repeatable), what was found, the licence and premises checks,
// a photo.
func logPatrol(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("failed", "findings", "licence", "premises"); err != nil {
		return nil, err
	}
	p := patrol{Shop: c.shop.Title, Officer: c.member.Officer(), Result: resultOK, Failed: []string{}, Inspector: c.req.Visitor.Pseudonym}
	for _, item := range f.values["failed"] {
		switch {
		case !contains(c.cfg.PatrolItems, item):
			return nil, invalid("未知的巡查项目：" + item)
		case !contains(p.Failed, item):
			p.Failed = append(p.Failed, item)
		}
	}
	if p.Findings, err = f.text("findings", "发现问题", maxText, len(p.Failed) > 0); err != nil {
		return nil, err
	}
	if p.Licence, err = f.text("licence", "许可信息核查", 200, false); err != nil {
		return nil, err
	}
	if p.Premises, err = f.text("premises", "业主房屋信息", 200, false); err != nil {
		return nil, err
	}
	if len(p.Failed) > 0 || p.Findings != "" {
		p.Result = resultProblem
	}
	if p.Photo, err = c.storePhoto(ctx, f); err != nil {
		return nil, err
	}
	rec, err := c.put(ctx, "patrols", "", c.req.Code.Token, p, 0)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "patrol.created", map[string]any{"patrolId": rec.ID, "result": p.Result, "failed": len(p.Failed)})
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "巡查已登记", "ID": rec.ID, "Status": p.Result,
		"Next": "/rectify?about=patrols:" + rec.ID, "NextText": "登记整改要求"})
}

// correctInfo is an inspector correcting the shop's information on the
// spot: the change is written to the object code at once and recorded.
// An enterprise code's information is not the plugin's to write: the
// correction is recorded only.
func correctInfo(ctx context.Context, c *call) (*plugin.Response, error) {
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
	d := correction{Shop: c.shop.Title, CodeKind: c.req.Code.Kind, Source: sourceInspector, Changes: changes, Summary: summarize(changes),
		Note: note, Status: statusCorrected, Officer: c.member.Officer(), Author: c.req.Visitor.Pseudonym}
	if c.req.Code.Kind == "object" {
		if _, err := c.host.UpdateObject(ctx, c.req.Code.Token, patch(changes)); err != nil {
			return nil, refused(err, "")
		}
		d.Applied = true
	} else {
		d.Status, d.ApplyError = statusRecorded, enterpriseNote
	}
	rec, err := c.put(ctx, "corrections", "", c.req.Code.Token, d, 0)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "correction.created", map[string]any{"correctionId": rec.ID, "applied": d.Applied})
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "信息已" + d.Status, "ID": rec.ID, "Status": d.Summary,
		"Next": "/inspect", "NextText": "返回城管执法"})
}

// reviewInfo is an inspector checking a merchant's self-check report on
// the shop they scanned: approve=1 writes it, approve=0 rejects it with a
// note.
func reviewInfo(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("id", "approve", "note"); err != nil {
		return nil, err
	}
	if f.get("id") == "" {
		return nil, missing("请提供自查登记编号")
	}
	var approve bool
	switch f.get("approve") {
	case "1":
		approve = true
	case "0":
	default:
		return nil, missing("请选择核实通过（approve=1）或驳回（approve=0）")
	}
	rec, err := c.ofCode(ctx, "corrections", f.get("id"), "自查登记")
	if err != nil {
		return nil, err
	}
	if _, err := c.decideCorrection(ctx, rec, approve, f.get("note"), c.member.Officer()); err != nil {
		return nil, err
	}
	return plugin.Redirect(c.link("/inspect")), nil
}

// reviewCorrectionAdmin is an operator checking a self-check report:
// {"id", "approve", "note"}.
func reviewCorrectionAdmin(ctx context.Context, c *call) (*plugin.Response, error) {
	var in struct {
		ID      string `json:"id"`
		Approve *bool  `json:"approve"`
		Note    string `json:"note"`
	}
	if err := readJSON(c.req.Body, &in, `{"id": 自查登记编号, "approve": true 或 false, "note": 审核意见}`); err != nil {
		return nil, err
	}
	switch {
	case in.ID == "":
		return nil, missing("请提供自查登记编号 id")
	case in.Approve == nil:
		return nil, missing("请用 approve 说明核实通过（true）或驳回（false）")
	}
	rec, err := c.ofCode(ctx, "corrections", in.ID, "自查登记")
	if err != nil {
		return nil, err
	}
	d, err := c.decideCorrection(ctx, rec, *in.Approve, in.Note, c.req.Operator.Account)
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": d.Status, "applied": d.Applied, "applyError": d.ApplyError})
}

// decideCorrection decides a pending self-check report, once. The
// decision is stored first, against the version read, so that of two
// deciders exactly one decides; an approval then writes the change to the
// object code, and when the host refuses it the report goes back to
// pending and the decider is told why.
func (c *call) decideCorrection(ctx context.Context, rec *plugin.Record, approve bool, note, by string) (*correction, error) {
	var d correction
	decode(*rec, &d)
	if d.Status != statusPendingCheck {
		return nil, conflict("AlreadyDecided", "该自查登记已处理（"+d.Status+"）")
	}
	note, err := checkText(note, "审核意见", 200, !approve)
	if err != nil {
		return nil, err
	}
	before := d
	d.Reviewer, d.ReviewedAt, d.ReviewNote, d.Status = by, stamp(c.now), note, statusRejected
	if approve {
		d.Status = statusChecked
	}
	saved, err := c.put(ctx, "corrections", rec.ID, rec.CodeToken, d, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyDecided", "该自查登记刚被他人处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	if approve {
		switch {
		case d.CodeKind != "object":
			d.ApplyError = enterpriseNote
		default:
			if _, err := c.host.UpdateObject(ctx, rec.CodeToken, patch(d.Changes)); err != nil {
				if _, rerr := c.put(ctx, "corrections", rec.ID, rec.CodeToken, before, saved.Version); rerr != nil {
					c.warn(ctx, "approval not withdrawn after a refused change", rerr)
				}
				return nil, refused(err, "自查登记保持待核实，可驳回。")
			}
			d.Applied = true
		}
		if _, err := c.put(ctx, "corrections", rec.ID, rec.CodeToken, d, saved.Version); err != nil {
			// The change is on the code; the mark is not.
			c.warn(ctx, "applied correction not marked", err)
		}
	}
	c.audit(ctx, "correction."+map[bool]string{true: "approve", false: "reject"}[approve], "correction:"+rec.ID,
		map[string]any{"code": rec.CodeToken, "summary": d.Summary, "status": d.Status, "note": note, "by": by, "applied": d.Applied})
	c.push(ctx, tplSelfCheckResult, []string{d.Author}, map[string]string{"correctionId": rec.ID, "shop": d.Shop, "status": d.Status,
		"note": clip(note, 200)})
	return &d, nil
}

// refused tells why the host did not write a change to the code.
func refused(err error, kept string) error {
	var e *plugin.Error
	msg := ""
	if errors.As(err, &e) {
		msg = e.Message
	}
	switch {
	case plugin.IsCode(err, plugin.ErrUnavailable), plugin.IsCode(err, plugin.ErrInternal):
		return &plugin.Error{Code: plugin.ErrUnavailable, Message: "码信息暂时无法更新，请稍后再试。" + kept}
	case plugin.IsCode(err, "UnauthorizedOperation"):
		return denied("平台未授予码上城管修改码属性的权限（object.write）。" + kept)
	case plugin.IsCode(err, plugin.ErrNotFound):
		return conflict("CodeUnavailable", "该码已不存在或不属于本平台，无法更新。"+kept)
	case plugin.IsCode(err, "FailedOperation"):
		return conflict("CodeUnavailable", "该码已注销或未激活，无法更新。"+kept+"（"+msg+"）")
	}
	return invalid("码信息未能更新：" + msg + "。" + kept)
}
