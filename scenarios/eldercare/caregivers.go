package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Caregivers (养老护理员) are records of the caregivers collection, one per
// caregiver, about the code of the institution they work at. The
// institution's staff create and change them through admin routes;
// citizens see those in service on the institution's page, the name
// masked.

// Caregiver statuses: in service, shown and rated; left, kept for the
// evaluations that name them but shown to no citizen.
const (
	statusActive = "在职"
	statusLeft   = "离职"
)

// caregiver is the document of the caregivers collection. Skills and
// honours are lists for the API and joined texts for the export.
type caregiver struct {
	Institution     string   `json:"institution"` // the institution's name when last saved
	InstitutionType string   `json:"institutionType"`
	OwnerUnit       string   `json:"ownerUnit"`
	RegionCode      string   `json:"regionCode,omitempty"`
	Name            string   `json:"name"`
	Gender          string   `json:"gender,omitempty"`    // 男 or 女
	BirthYear       int      `json:"birthYear,omitempty"` // for the age shown
	SkillLevel      string   `json:"skillLevel,omitempty"`
	EvaluationLevel string   `json:"evaluationLevel,omitempty"` // 综合水平评价等级
	Skills          []string `json:"skills"`
	SkillsText      string   `json:"skillsText,omitempty"`
	Honours         []string `json:"honours"` // 荣誉级别和竞赛奖项
	HonoursText     string   `json:"honoursText,omitempty"`
	Photo           string   `json:"photo,omitempty"` // the stored file's URL
	PhotoID         string   `json:"photoId,omitempty"`
	Status          string   `json:"status"`
	UpdatedBy       string   `json:"updatedBy"`
	UpdatedAt       string   `json:"updatedAt"`
}

var caregiverIDRe = regexp.MustCompile(`^cg-[0-9a-f]{24}$`)

// caregiversOf answers the caregivers of an institution's code, oldest
// first; active limits them to those in service.
func (c *call) caregiversOf(ctx context.Context, token string, active bool) ([]plugin.Record, error) {
	q := plugin.RecordQuery{Collection: "caregivers", CodeToken: token, Limit: 500}
	if active {
		q.Where = map[string]any{"status": statusActive}
	}
	page, err := c.host.QueryRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}

// findCaregiver reads a caregiver in service at the request's
// institution; any other id is not found, so a citizen can neither see
// nor rate another institution's caregiver through this code.
func (c *call) findCaregiver(ctx context.Context, id string) (*plugin.Record, caregiver, error) {
	var cg caregiver
	if !caregiverIDRe.MatchString(id) {
		return nil, cg, invalid("未找到该护理员，请返回机构页面重新选择")
	}
	rec, err := c.host.GetRecord(ctx, "caregivers", id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, cg, invalid("未找到该护理员，请返回机构页面重新选择")
	}
	if err != nil {
		return nil, cg, err
	}
	decode(*rec, &cg)
	if rec.CodeToken != c.inst.Token {
		return nil, cg, invalid("未找到该护理员，请返回机构页面重新选择")
	}
	if cg.Status != statusActive {
		return nil, cg, conflict("CaregiverLeft", "该护理员已不在本机构服务")
	}
	return rec, cg, nil
}

// caregiverView is a caregiver on a citizen's page: the name masked.
type caregiverView struct {
	ID, Name, Gender, Age, SkillLevel, EvaluationLevel, Photo string
	Skills, Honours                                           []string
}

func (c *call) publicView(rec plugin.Record) caregiverView {
	var cg caregiver
	decode(rec, &cg)
	v := caregiverView{ID: rec.ID, Name: maskName(cg.Name), Gender: cg.Gender, SkillLevel: cg.SkillLevel,
		EvaluationLevel: cg.EvaluationLevel, Photo: cg.Photo, Skills: cg.Skills, Honours: cg.Honours}
	if cg.BirthYear > 0 {
		v.Age = strconv.Itoa(c.now.Year()-cg.BirthYear) + " 岁"
	}
	return v
}

// maskName keeps a name's first and, from three characters on, its last
// character: 王*, 王*梅, 欧**明 (姓名脱敏).
func maskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// caregiverPage shows one caregiver in service (护理员信息展示), with the
// way to evaluate them.
func caregiverPage(ctx context.Context, c *call) (*plugin.Response, error) {
	id := strings.TrimSpace(c.req.QueryValue("id"))
	if id == "" {
		return nil, missing("请从机构页面选择护理员")
	}
	rec, _, err := c.findCaregiver(ctx, id)
	if plugin.IsCode(err, plugin.ErrInvalid) || plugin.IsCode(err, "FailedOperation") {
		return nil, notFound("未找到该护理员，请返回机构页面重新选择")
	}
	if err != nil {
		return nil, err
	}
	return render(200, caregiverPageT, c, c.publicView(*rec))
}

// The staff's side.

// caregiverInput is the body of POST /caregivers: a new caregiver without
// id, a change of one with it. Every field but the photo is replaced.
type caregiverInput struct {
	ID              string   `json:"id"`
	Code            string   `json:"code"`
	Name            string   `json:"name"`
	Gender          string   `json:"gender"`
	BirthYear       int      `json:"birthYear"`
	SkillLevel      string   `json:"skillLevel"`
	EvaluationLevel string   `json:"evaluationLevel"`
	Skills          []string `json:"skills"`
	Honours         []string `json:"honours"`
	Status          string   `json:"status"`
	Photo           *photo   `json:"photo"`
	RemovePhoto     bool     `json:"removePhoto"`
}

// photo is a caregiver's portrait, base64 in JSON.
type photo struct {
	Data []byte `json:"data"`
}

// maxPhoto bounds a portrait: the console's admin calls carry at most
// 1 MiB of JSON, base64 included.
const maxPhoto = 512 << 10

// photoTypes are the image types the host stores, by sniffed type.
var photoTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

// readCaregiver decodes and checks a caregiver: a name of 2–20
// characters, gender 男 or 女 when given, a birth year that makes them
// 16 to 80 this year, a skill level of the configured list, an
// evaluation level of at most 20 characters, at most 20 skills of 20
// characters and 20 honours of 60, status 在职 (default) or 离职, and a
// photo that is a JPEG, PNG, WebP or GIF image of at most 512 KB,
// recognised by its content.
func readCaregiver(body []byte, cfg config, now time.Time) (caregiverInput, string, error) {
	var in caregiverInput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, "", invalid(`请求体须为 JSON：{"code": 机构的码, "name": 姓名, "gender", "birthYear", "skillLevel", "evaluationLevel", "skills": [], "honours": [], "status", "photo": {"data": base64}}，新增不带 id，修改带 id`)
	}
	in.ID, in.Code, in.Name = strings.TrimSpace(in.ID), strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	in.Gender, in.SkillLevel, in.EvaluationLevel = strings.TrimSpace(in.Gender), strings.TrimSpace(in.SkillLevel), strings.TrimSpace(in.EvaluationLevel)
	in.Status = strings.TrimSpace(in.Status)
	switch {
	case in.ID != "" && !caregiverIDRe.MatchString(in.ID):
		return in, "", invalid("护理员编号 id 格式不正确")
	case in.ID == "" && in.Code == "":
		return in, "", missing("新增护理员须用 code 指明所属机构的码")
	case len(in.Code) > 512:
		return in, "", invalid("code 过长")
	case in.Name == "":
		return in, "", missing("请填写护理员姓名 name")
	case utf8.RuneCountInString(in.Name) < 2 || utf8.RuneCountInString(in.Name) > 20:
		return in, "", invalid("姓名须为 2–20 个字")
	case in.Gender != "" && in.Gender != "男" && in.Gender != "女":
		return in, "", invalid("性别 gender 须为 男 或 女")
	case in.BirthYear != 0 && (in.BirthYear < now.Year()-80 || in.BirthYear > now.Year()-16):
		return in, "", invalid("出生年份 birthYear 须在 " + strconv.Itoa(now.Year()-80) + "–" + strconv.Itoa(now.Year()-16) + " 之间")
	case in.SkillLevel != "" && !slices.Contains(cfg.SkillLevels, in.SkillLevel):
		return in, "", invalid("职业技能等级 skillLevel 须为 " + strings.Join(cfg.SkillLevels, "、") + " 之一")
	case utf8.RuneCountInString(in.EvaluationLevel) > 20:
		return in, "", invalid("综合水平评价等级 evaluationLevel 不能超过 20 个字")
	}
	switch in.Status {
	case "":
		in.Status = statusActive
	case statusActive, statusLeft:
	default:
		return in, "", invalid("状态 status 须为 在职 或 离职")
	}
	var err error
	if in.Skills, err = cleanList(in.Skills, 20, 20, "专业技能 skills"); err != nil {
		return in, "", err
	}
	if in.Honours, err = cleanList(in.Honours, 20, 60, "荣誉与竞赛奖项 honours"); err != nil {
		return in, "", err
	}
	ext := ""
	if in.Photo != nil {
		if in.RemovePhoto {
			return in, "", invalid("photo 与 removePhoto 不能同时给出")
		}
		if len(in.Photo.Data) == 0 || len(in.Photo.Data) > maxPhoto {
			return in, "", invalid("照片须为 1 字节至 512 KB 的图片（photo.data 为 base64）")
		}
		var ok bool
		if ext, ok = photoTypes[http.DetectContentType(in.Photo.Data)]; !ok {
			return in, "", invalid("照片须为 JPG、PNG、WebP 或 GIF 图片")
		}
	}
	return in, ext, nil
}

// cleanList trims a list's items, drops empty ones and duplicates, and
// bounds its length and its items'.
func cleanList(list []string, maxItems, maxLen int, what string) ([]string, error) {
	out := []string{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" || slices.Contains(out, s) {
			continue
		}
		if utf8.RuneCountInString(s) > maxLen {
			return nil, invalid(what + " 的每一项不能超过 " + strconv.Itoa(maxLen) + " 个字")
		}
		out = append(out, s)
	}
	if len(out) > maxItems {
		return nil, invalid(what + " 不能超过 " + strconv.Itoa(maxItems) + " 项")
	}
	return out, nil
}

// adminCaregiver is a caregiver in the staff's list: the name in full.
type adminCaregiver struct {
	ID              string   `json:"id"`
	Code            string   `json:"code"`
	Name            string   `json:"name"`
	Gender          string   `json:"gender,omitempty"`
	BirthYear       int      `json:"birthYear,omitempty"`
	SkillLevel      string   `json:"skillLevel,omitempty"`
	EvaluationLevel string   `json:"evaluationLevel,omitempty"`
	Skills          []string `json:"skills"`
	Honours         []string `json:"honours"`
	Photo           string   `json:"photo,omitempty"`
	Status          string   `json:"status"`
	UpdatedBy       string   `json:"updatedBy"`
	UpdatedAt       string   `json:"updatedAt"`
	Version         int64    `json:"version"`
}

func adminCaregiverOf(rec plugin.Record) adminCaregiver {
	var cg caregiver
	decode(rec, &cg)
	return adminCaregiver{ID: rec.ID, Code: rec.CodeToken, Name: cg.Name, Gender: cg.Gender, BirthYear: cg.BirthYear,
		SkillLevel: cg.SkillLevel, EvaluationLevel: cg.EvaluationLevel, Skills: nonNil(cg.Skills), Honours: nonNil(cg.Honours),
		Photo: cg.Photo, Status: cg.Status, UpdatedBy: cg.UpdatedBy, UpdatedAt: cg.UpdatedAt, Version: rec.Version}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// institutionInfo is the institution an admin answer is about.
type institutionInfo struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	OwnerUnit  string `json:"ownerUnit"`
	RegionCode string `json:"regionCode"`
}

func infoOf(in institution) institutionInfo {
	return institutionInfo{Code: in.Token, Name: in.Name, Type: in.Kind.Name, OwnerUnit: in.OwnerUnit, RegionCode: in.Region}
}

// listCaregivers answers an institution's caregivers, those who left
// included (q: the institution's code), to its staff and to the
// authority of its region.
func listCaregivers(ctx context.Context, c *call) (*plugin.Response, error) {
	q := strings.TrimSpace(c.req.QueryValue("q"))
	if q == "" {
		return nil, missing("请用 q 指明机构的码（token 或码的网址）")
	}
	in, err := c.institutionFor(ctx, q)
	if err != nil {
		return nil, err
	}
	list, err := c.caregiversOf(ctx, in.Token, false)
	if err != nil {
		return nil, err
	}
	items := make([]adminCaregiver, 0, len(list))
	for _, rec := range list {
		items = append(items, adminCaregiverOf(rec))
	}
	return plugin.JSON(200, map[string]any{"institution": infoOf(in), "total": len(items), "items": items})
}

// saveCaregiver creates or changes a caregiver of an institution of the
// staff member's own owner unit. A change is stored against the version
// read, so that of two staff saving at once one is told to reload; every
// save is audited.
func saveCaregiver(ctx context.Context, c *call) (*plugin.Response, error) {
	in, ext, err := readCaregiver(c.req.Body, c.cfg, c.now)
	if err != nil {
		return nil, err
	}
	var old *plugin.Record
	var cg caregiver
	token := in.Code
	if in.ID != "" {
		old, err = c.host.GetRecord(ctx, "caregivers", in.ID)
		if plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, notFound("没有编号为 " + in.ID + " 的护理员")
		}
		if err != nil {
			return nil, err
		}
		decode(*old, &cg)
		if token == "" {
			token = old.CodeToken
		}
	}
	inst, err := c.institutionFor(ctx, token)
	if err != nil {
		return nil, err
	}
	if old != nil && old.CodeToken != inst.Token {
		// Moving a caregiver to another institution is a new profile
		// there: the evaluations stay with the institution they were
		// given at.
		return nil, invalid("护理员 " + in.ID + " 不属于该机构；调往其他机构的护理员请在新机构新增")
	}
	id := in.ID
	if id == "" {
		id = hashed("cg-", inst.Token, in.Name, strconv.FormatInt(c.now.UnixNano(), 10))
	}
	cg.Institution, cg.InstitutionType, cg.OwnerUnit, cg.RegionCode = inst.Name, inst.Kind.Name, inst.OwnerUnit, inst.Region
	cg.Name, cg.Gender, cg.BirthYear, cg.SkillLevel, cg.EvaluationLevel = in.Name, in.Gender, in.BirthYear, in.SkillLevel, in.EvaluationLevel
	cg.Skills, cg.SkillsText, cg.Honours, cg.HonoursText = in.Skills, strings.Join(in.Skills, "、"), in.Honours, strings.Join(in.Honours, "；")
	cg.Status, cg.UpdatedBy, cg.UpdatedAt = in.Status, c.req.Operator.Account, stamp(c.now)
	if in.RemovePhoto {
		cg.Photo, cg.PhotoID = "", ""
	}
	if in.Photo != nil {
		f, err := c.host.PutFile(ctx, id+ext, photoContentType(ext), in.Photo.Data)
		if err != nil {
			return nil, err
		}
		cg.Photo, cg.PhotoID = f.URL, f.ID
	}
	doc, err := json.Marshal(cg)
	if err != nil {
		return nil, err
	}
	r := plugin.Record{Collection: "caregivers", ID: id, CodeToken: inst.Token, Doc: doc, IfAbsent: old == nil}
	if old != nil {
		r.Version = old.Version
	}
	rec, err := c.host.PutRecord(ctx, r)
	switch {
	case plugin.IsCode(err, "FailedOperation.VersionConflict"), plugin.IsCode(err, "FailedOperation.RecordExists"):
		return nil, conflict("Changed", "该护理员信息刚被其他工作人员修改，请刷新后重试")
	case err != nil:
		return nil, err
	}
	action := "caregiver.create"
	if old != nil {
		action = "caregiver.update"
	}
	if err := c.host.Audit(ctx, action, "caregiver:"+rec.ID, map[string]any{"code": inst.Token, "institution": inst.Name,
		"status": cg.Status, "skillLevel": cg.SkillLevel, "photo": cg.Photo != "", "operator": c.req.Operator.Account}); err != nil {
		// The change stands; the trail must show the gap.
		c.host.Log(ctx, "error", "caregiver "+rec.ID+" saved but not audited: "+err.Error())
	}
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	return plugin.JSON(status, adminCaregiverOf(*rec))
}

func photoContentType(ext string) string {
	for t, e := range photoTypes {
		if e == ext {
			return t
		}
	}
	return "application/octet-stream"
}
