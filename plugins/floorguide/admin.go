package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The operators' side: admin routes the console reaches at
// /console/plugins/floorguide/admin/{path} (reads with plugin.read,
// changes with plugin.update). The console passes only q, pageNo and
// pageSize, so lists are chosen and filtered by q.

// guideView is a guide as the admin routes answer it. Version is what a
// change must send back.
type guideView struct {
	Code      string `json:"code"`
	Version   int64  `json:"version"`
	UpdatedAt string `json:"updatedAt"`
	guide
}

func viewOfGuide(rec plugin.Record) guideView {
	v := guideView{Code: rec.CodeToken, Version: rec.Version, UpdatedAt: stamp(rec.UpdatedAt)}
	decode(rec, &v.guide)
	return v
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

// getGuides answers one code's guide in full (q: the code's token or
// URL), or without q the platform's guides, newest change first, without
// their floors.
func getGuides(ctx context.Context, c *call) (*plugin.Response, error) {
	if q := strings.TrimSpace(c.req.QueryValue("q")); q != "" {
		token := tokenOf(q)
		if !tokenRe.MatchString(token) {
			return nil, invalid("码的格式不正确")
		}
		rec, _, found, err := c.loadGuide(ctx, token)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, notFound("码 " + token + " 尚未设置楼层导览")
		}
		return plugin.JSON(200, viewOfGuide(*rec))
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "guides", Newest: true, Offset: (no - 1) * size, Limit: size})
	if err != nil {
		return nil, err
	}
	items := []guideView{}
	for _, rec := range page.Items {
		v := viewOfGuide(rec)
		v.Floors = nil
		items = append(items, v)
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// stale answers the refusal of a change made against an old version.
func stale(current int64) error {
	return conflict("VersionConflict", fmt.Sprintf("楼层导览已被其他工作人员修改（当前版本 %d），请刷新后重试", current))
}

// objectFor reads the building's object code for an admin call: it must
// exist on the platform and be an object code.
func (c *call) objectFor(ctx context.Context, token string) (*plugin.Code, error) {
	obj, err := c.host.Object(ctx, token)
	if plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) {
		return nil, notFound("没有找到码 " + token)
	}
	if err != nil {
		return nil, err
	}
	if obj.Kind != "object" {
		return nil, invalid("楼层导览只能设置在一物一码（楼宇的码）上")
	}
	return obj, nil
}

// saveGuide sets a code's guide (楼层信息设置): version 0 creates it, the
// version read replaces it. Of two operators editing the same guide, the
// second one's stale version is refused (409), checked here and again by
// the host when storing. The floor plans of the floors kept stay.
func saveGuide(ctx context.Context, c *call) (*plugin.Response, error) {
	var in guideInput
	if err := readJSON(c.req.Body, &in, guideShape); err != nil {
		return nil, err
	}
	token, g, err := checkGuide(in)
	if err != nil {
		return nil, err
	}
	obj, err := c.objectFor(ctx, token)
	if err != nil {
		return nil, err
	}
	if g.Building == "" {
		g.Building = buildingName(guide{}, obj)
	}
	g.Editor = c.req.Operator.Account
	if in.Version > 0 {
		rec, old, found, err := c.loadGuide(ctx, token)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, notFound("码 " + token + " 尚未设置楼层导览；新建时 version 为 0")
		}
		if rec.Version != in.Version {
			return nil, stale(rec.Version)
		}
		keepPlans(&g, old)
	}
	if b, _ := json.Marshal(g); len(b) > maxDoc {
		return nil, invalid(fmt.Sprintf("楼层导览内容过多（%d KB，上限 %d KB），请精简房间和区域说明", len(b)>>10, maxDoc>>10))
	}
	rec, err := c.put(ctx, "guides", token, token, g, in.Version, in.Version == 0)
	switch {
	case plugin.IsCode(err, "FailedOperation.RecordExists"):
		return nil, conflict("VersionConflict", "该码已设置楼层导览，请读取当前版本后带上 version 修改")
	case plugin.IsCode(err, "FailedOperation.VersionConflict"):
		return nil, stale(in.Version)
	case err != nil:
		return nil, err
	}
	action, status := "guide.update", http.StatusOK
	if in.Version == 0 {
		action, status = "guide.create", http.StatusCreated
	}
	c.audit(ctx, action, "guide:"+token, map[string]any{"code": token, "building": g.Building, "floors": g.FloorCount,
		"rooms": g.RoomCount, "version": rec.Version})
	return plugin.JSON(status, viewOfGuide(*rec))
}

// maxPlan bounds a floor plan: the console's admin calls carry at most
// 1 MiB of JSON, base64 included.
const maxPlan = 512 << 10

// planInput is the body of POST /guides/plan and DELETE /guides/plan
// (without image).
type planInput struct {
	Code    string `json:"code"`
	Version int64  `json:"version"`
	Floor   string `json:"floor"`
	Image   []byte `json:"image"` // base64 in JSON
}

const planShape = `{"code": 码, "version": 当前版本号, "floor": 楼层号, "image": 平面图（base64）}`

// planTarget checks a plan call and reads the guide and the floor it is
// about, at the version the operator read.
func (c *call) planTarget(ctx context.Context, in planInput) (string, *plugin.Record, guide, *floor, error) {
	var g guide
	token := tokenOf(in.Code)
	switch {
	case token == "":
		return "", nil, g, nil, missing("请用 code 指明楼宇的码")
	case !tokenRe.MatchString(token):
		return "", nil, g, nil, invalid("码的格式不正确")
	case in.Version <= 0:
		return "", nil, g, nil, missing("请带上楼层导览的当前版本号 version")
	case strings.TrimSpace(in.Floor) == "":
		return "", nil, g, nil, missing("请用 floor 指明楼层号")
	}
	rec, g, found, err := c.loadGuide(ctx, token)
	if err != nil {
		return "", nil, g, nil, err
	}
	if !found {
		return "", nil, g, nil, notFound("码 " + token + " 尚未设置楼层导览，请先设置楼层")
	}
	if rec.Version != in.Version {
		return "", nil, g, nil, stale(rec.Version)
	}
	f, ok := g.find(in.Floor)
	if !ok {
		return "", nil, g, nil, notFound("楼层导览中没有楼层 " + strings.TrimSpace(in.Floor))
	}
	return token, rec, g, f, nil
}

// uploadPlan stores a floor's plan image (部件设置) and sets it on the
// floor, against the version read.
func uploadPlan(ctx context.Context, c *call) (*plugin.Response, error) {
	var in planInput
	if err := readJSON(c.req.Body, &in, planShape); err != nil {
		return nil, err
	}
	ext := ""
	switch {
	case len(in.Image) == 0:
		return nil, missing("请上传平面图 image（base64）")
	case len(in.Image) > maxPlan:
		return nil, invalid("平面图不能超过 512 KB")
	default:
		ext = imageTypes[http.DetectContentType(in.Image)]
		if ext == "" {
			return nil, invalid("平面图须为 JPG、PNG、WebP 或 GIF 图片")
		}
	}
	token, rec, g, f, err := c.planTarget(ctx, in)
	if err != nil {
		return nil, err
	}
	file, err := c.host.PutFile(ctx, "plan-"+f.ID+ext, contentTypeOf(ext), in.Image)
	if err != nil {
		return nil, err
	}
	previous := f.PlanID
	f.Plan, f.PlanID = file.URL, file.ID
	g.Editor = c.req.Operator.Account
	return c.storePlan(ctx, token, rec, g, "guide.plan.upload", map[string]any{"floor": f.ID, "file": file.ID, "replaced": previous})
}

// deletePlan removes a floor's plan image from the guide.
func deletePlan(ctx context.Context, c *call) (*plugin.Response, error) {
	var in planInput
	if err := readJSON(c.req.Body, &in, `{"code": 码, "version": 当前版本号, "floor": 楼层号}`); err != nil {
		return nil, err
	}
	if len(in.Image) > 0 {
		return nil, invalid("删除平面图无需上传 image")
	}
	token, rec, g, f, err := c.planTarget(ctx, in)
	if err != nil {
		return nil, err
	}
	if f.PlanID == "" {
		return nil, notFound("楼层 " + f.ID + " 没有平面图")
	}
	previous := f.PlanID
	f.Plan, f.PlanID = "", ""
	g.Editor = c.req.Operator.Account
	return c.storePlan(ctx, token, rec, g, "guide.plan.delete", map[string]any{"floor": f.ID, "file": previous})
}

// storePlan stores the guide with a changed plan against the version read
// and audits the change.
func (c *call) storePlan(ctx context.Context, token string, rec *plugin.Record, g guide, action string, detail map[string]any) (*plugin.Response, error) {
	stored, err := c.put(ctx, "guides", token, token, g, rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, stale(rec.Version)
	}
	if err != nil {
		return nil, err
	}
	detail["code"], detail["version"] = token, stored.Version
	c.audit(ctx, action, "guide:"+token, detail)
	return plugin.JSON(200, viewOfGuide(*stored))
}

// imageTypes are the plan image types the host stores, by sniffed type.
var imageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

func contentTypeOf(ext string) string {
	for t, e := range imageTypes {
		if e == ext {
			return t
		}
	}
	return "application/octet-stream"
}

// correctionQuery reads q of GET /corrections: filters key:value
// separated by spaces — status:待处理, type:开放时间错误, code:{token},
// from:2026-11-01 and to:2026-11-30 (days in Beijing time, both
// included).
func correctionQuery(q string) (plugin.RecordQuery, error) {
	out := plugin.RecordQuery{Collection: "corrections", Newest: true}
	var from, to time.Time
	for _, w := range strings.Fields(q) {
		k, v, ok := strings.Cut(w, ":")
		if !ok || v == "" {
			return out, invalid("筛选条件须为 键:值，如 status:待处理（" + w + "）")
		}
		switch k {
		case "status":
			if v != statusPending && v != statusAdopted && v != statusDeclined {
				return out, invalid("status 须为 待处理、已采纳 或 未采纳")
			}
			out.Where = where(out.Where, k, v)
		case "type":
			if !contains(correctionTypes, v) {
				return out, invalid("type 须为 " + strings.Join(correctionTypes, "、"))
			}
			out.Where = where(out.Where, k, v)
		case "code":
			if out.CodeToken = tokenOf(v); !tokenRe.MatchString(out.CodeToken) {
				return out, invalid("码的格式不正确")
			}
		case "from", "to":
			d, err := time.ParseInLocation(time.DateOnly, v, cst)
			if err != nil {
				return out, invalid(k + " 须为日期 YYYY-MM-DD，如 2026-11-01")
			}
			if k == "from" {
				from = d
			} else {
				to = d.AddDate(0, 0, 1)
			}
		default:
			return out, invalid("未知的筛选条件：" + k + "；可用 status、type、code、from、to")
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return out, invalid("起始日期 from 不能晚于结束日期 to")
	}
	out.From, out.To = from, to
	// Pending corrections are a queue: oldest first.
	if out.Where["status"] == statusPending {
		out.Newest = false
	}
	return out, nil
}

func where(m map[string]any, k, v string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}

// correctionItem is a correction in the staff's list: the document
// without the reporter's pseudonym (the masked name and mobile are
// there, when given), with its id, code, times and version.
type correctionItem struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	CreatedAt string `json:"createdAt"`
	Version   int64  `json:"version"`
	correction
}

// listCorrections answers the corrections matching q, a page at a time
// (纠错内容查询); the export is the host's export of the collection.
func listCorrections(ctx context.Context, c *call) (*plugin.Response, error) {
	q, err := correctionQuery(c.req.QueryValue("q"))
	if err != nil {
		return nil, err
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
	items := []correctionItem{}
	for _, rec := range page.Items {
		it := correctionItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt), Version: rec.Version}
		decode(rec, &it.correction)
		it.Reporter = ""
		items = append(items, it)
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// handling is the body of POST /corrections/handle.
type handling struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Adopt   *bool  `json:"adopt"`
	Reason  string `json:"reason"`
}

const handlingShape = `{"id": 纠错编号, "version": 版本号, "adopt": true 或 false, "reason": 处理意见}`

var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// readHandling decodes and checks a decision: an id, the version read,
// adopt given, and a reason when declining (at most 500 characters).
func readHandling(body []byte) (handling, error) {
	var d handling
	if err := readJSON(body, &d, handlingShape); err != nil {
		return d, err
	}
	d.ID = strings.TrimSpace(d.ID)
	var err error
	if d.Reason, err = text("处理意见", d.Reason, 500, true); err != nil {
		return d, err
	}
	switch {
	case d.ID == "":
		return d, missing("请提供纠错编号 id")
	case !recordIDRe.MatchString(d.ID):
		return d, invalid("纠错编号格式不正确")
	case d.Version <= 0:
		return d, missing("请带上纠错记录的版本号 version")
	case d.Adopt == nil:
		return d, missing("请用 adopt 说明采纳（true）或不采纳（false）")
	case !*d.Adopt && d.Reason == "":
		return d, missing("不采纳须填写理由 reason")
	}
	return d, nil
}

// handleCorrection adopts or declines a pending correction, once, against
// the version read: of two operators deciding at once exactly one
// decides. An adopted correction is fixed by editing the guide (PUT
// /guides): the suggestion is free text, and a guide and a correction
// cannot be stored in one step.
func handleCorrection(ctx context.Context, c *call) (*plugin.Response, error) {
	d, err := readHandling(c.req.Body)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.GetRecord(ctx, "corrections", d.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到纠错记录 " + d.ID)
	}
	if err != nil {
		return nil, err
	}
	var corr correction
	decode(*rec, &corr)
	if corr.Status != statusPending {
		return nil, conflict("AlreadyHandled", "该纠错已处理（"+corr.Status+"），不能重复处理")
	}
	if rec.Version != d.Version {
		return nil, conflict("VersionConflict", fmt.Sprintf("该纠错记录已变化（当前版本 %d），请刷新后重试", rec.Version))
	}
	corr.Status = statusDeclined
	if *d.Adopt {
		corr.Status = statusAdopted
	}
	corr.Handler, corr.HandledAt, corr.HandleNote = c.req.Operator.Account, stamp(c.now), d.Reason
	stored, err := c.put(ctx, "corrections", rec.ID, rec.CodeToken, corr, rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyHandled", "该纠错刚被其他工作人员处理，请刷新后查看")
	}
	if err != nil {
		return nil, err
	}
	action := "correction.decline"
	if *d.Adopt {
		action = "correction.adopt"
	}
	c.audit(ctx, action, "correction:"+rec.ID, map[string]any{"code": rec.CodeToken, "type": corr.Type, "floor": corr.Floor,
		"room": corr.Room, "status": corr.Status, "reason": d.Reason})
	c.event(ctx, "correction.handled", map[string]any{"correctionId": rec.ID, "status": corr.Status, "code": rec.CodeToken})
	return plugin.JSON(200, map[string]any{"id": rec.ID, "status": corr.Status, "handleNote": corr.HandleNote, "version": stored.Version})
}
