package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Evaluations (护理员服务评价) are records of the evaluations collection,
// about the institution's code. Each carries the institution's owner unit
// and region as they were when it was given, and the list route filters
// by them: the staff of the institution and the authority of its region
// see it, nobody else through the plugin.

// tplEvaluated is the notification template the platform defines for the
// institution to hear of a new evaluation.
const tplEvaluated = "eldercare.evaluation_created"

// maxComment bounds an evaluation's comment, in characters.
const maxComment = 300

// evaluation is the document of the evaluations collection.
type evaluation struct {
	Institution     string   `json:"institution"`
	InstitutionType string   `json:"institutionType"`
	OwnerUnit       string   `json:"ownerUnit"`
	RegionCode      string   `json:"regionCode,omitempty"`
	Regions         []string `json:"regions"` // regionsOf(RegionCode), for the authorities' filter
	Caregiver       string   `json:"caregiver"`
	CaregiverName   string   `json:"caregiverName"`
	Rating          int      `json:"rating"` // overall, 1–5 stars
	Scores          []score  `json:"scores"`
	ScoreText       string   `json:"scoreText"`
	Average         float64  `json:"average"` // of the sub-items, one decimal; the rating without any
	Comment         string   `json:"comment,omitempty"`
	Day             string   `json:"day"`   // 2006-01-02, Beijing time
	Rater           string   `json:"rater"` // the citizen's pseudonym in this plugin
	RaterName       string   `json:"raterName,omitempty"`
}

// score is one sub-item's stars, with the item's text as it was.
type score struct {
	ID    string `json:"id"`
	Item  string `json:"item"`
	Score int    `json:"score"`
}

// evaluationForm is what checkEvaluation makes of a form.
type evaluationForm struct {
	Caregiver string
	Rating    int
	Scores    []score
	Comment   string
}

// stars reads a 1–5 star field.
func stars(v url.Values, field, what string) (int, error) {
	s := strings.TrimSpace(v.Get(field))
	if s == "" {
		return 0, missing("请为“" + what + "”打分（1–5 星）")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, invalid("“" + what + "”的评分须为 1–5 星")
	}
	return n, nil
}

// checkEvaluation validates an evaluation form: the caregiver named, the
// overall rating and every configured sub-item rated with a whole 1–5
// stars, a comment of at most maxComment characters, and no other field.
func checkEvaluation(v url.Values, items []item) (evaluationForm, error) {
	var f evaluationForm
	known := map[string]bool{"caregiver": true, "rating": true, "comment": true}
	for _, it := range items {
		known["item."+it.ID] = true
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names) // the same form always fails the same way
	for _, name := range names {
		if !known[name] {
			if id, ok := strings.CutPrefix(name, "item."); ok {
				return f, invalid("未知的评价项：" + id)
			}
			return f, invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return f, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	f.Caregiver = strings.TrimSpace(v.Get("caregiver"))
	if f.Caregiver == "" {
		return f, missing("请选择要评价的护理员")
	}
	var err error
	if f.Rating, err = stars(v, "rating", "总体评价"); err != nil {
		return f, err
	}
	for _, it := range items {
		n, err := stars(v, "item."+it.ID, it.Text)
		if err != nil {
			return f, err
		}
		f.Scores = append(f.Scores, score{ID: it.ID, Item: it.Text, Score: n})
	}
	f.Comment = strings.TrimSpace(v.Get("comment"))
	if n := utf8.RuneCountInString(f.Comment); n > maxComment {
		return f, invalid(fmt.Sprintf("评价内容不能超过 %d 个字（现为 %d 个字）", maxComment, n))
	}
	return f, nil
}

// average is the mean of the sub-items to one decimal, or the overall
// rating when there are none.
func (f evaluationForm) average() float64 {
	if len(f.Scores) == 0 {
		return float64(f.Rating)
	}
	sum := 0
	for _, s := range f.Scores {
		sum += s.Score
	}
	return math.Round(float64(sum)*10/float64(len(f.Scores))) / 10
}

func scoreText(scores []score) string {
	parts := make([]string, len(scores))
	for i, s := range scores {
		parts[i] = s.Item + " " + strconv.Itoa(s.Score)
	}
	return strings.Join(parts, "；")
}

// evaluateForm is the evaluation page of one caregiver.
func evaluateForm(ctx context.Context, c *call) (*plugin.Response, error) {
	id := strings.TrimSpace(c.req.QueryValue("caregiver"))
	if id == "" {
		return nil, missing("请先在机构页面选择要评价的护理员")
	}
	rec, _, err := c.findCaregiver(ctx, id)
	if err != nil {
		return nil, err
	}
	return render(200, evaluatePage, c, map[string]any{"Caregiver": c.publicView(*rec), "Items": c.cfg.items(),
		"Stars": []int{5, 4, 3, 2, 1}, "MaxComment": maxComment})
}

// evaluationID is one per citizen, caregiver and day: a second evaluation
// the same day is refused rather than counted twice.
func (c *call) evaluationID(caregiverID string) string {
	return hashed("ev-", c.inst.Token, caregiverID, c.req.Visitor.Pseudonym) + "-" + c.now.Format("20060102")
}

// submitEvaluation stores a citizen's evaluation of a caregiver in
// service at the institution and tells the institution.
func submitEvaluation(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	f, err := checkEvaluation(v, c.cfg.items())
	if err != nil {
		return nil, err
	}
	_, cg, err := c.findCaregiver(ctx, f.Caregiver)
	if err != nil {
		return nil, err
	}
	visitor := c.req.Visitor
	e := evaluation{Institution: c.inst.Name, InstitutionType: c.inst.Kind.Name, OwnerUnit: c.inst.OwnerUnit,
		RegionCode: c.inst.Region, Regions: regionsOf(c.inst.Region), Caregiver: f.Caregiver, CaregiverName: cg.Name,
		Rating: f.Rating, Scores: f.Scores, ScoreText: scoreText(f.Scores), Average: f.average(), Comment: f.Comment,
		Day: c.now.Format("2006-01-02"), Rater: visitor.Pseudonym}
	if e.Scores == nil {
		e.Scores = []score{}
	}
	if visitor.Authorized {
		e.RaterName = visitor.Name
	}
	rec, err := c.put(ctx, "evaluations", c.evaluationID(f.Caregiver), c.inst.Token, e, true)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadyEvaluated", "您今天已评价过该护理员，感谢您的反馈；如需补充，请明天再评价")
	}
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "evaluation.created", map[string]any{"evaluationId": rec.ID, "caregiver": f.Caregiver,
		"rating": f.Rating, "average": e.Average}); err != nil {
		c.warn(ctx, "evaluation.created event", err)
	}
	if c.inst.OwnerUnit != "" {
		// The institution hears of it; nobody else does.
		if _, err := c.host.Notify(ctx, plugin.Notification{Template: tplEvaluated, To: c.inst.OwnerUnit, Params: map[string]string{
			"evaluationId": rec.ID, "code": c.inst.Token, "institution": c.inst.Name, "caregiver": f.Caregiver,
			"rating": strconv.Itoa(f.Rating),
		}}); err != nil {
			c.warn(ctx, "evaluation notification", err)
		}
	}
	return render(http.StatusCreated, evaluatedPage, c, map[string]any{"ID": rec.ID, "Caregiver": maskName(cg.Name),
		"Rating": f.Rating, "Average": e.Average})
}

// The staff's and the authority's side.

// evaluationItem is an evaluation in an admin list. The rater is given
// only by the masked name they authorized, never by their pseudonym.
type evaluationItem struct {
	ID              string  `json:"id"`
	Code            string  `json:"code"`
	CreatedAt       string  `json:"createdAt"`
	Institution     string  `json:"institution"`
	InstitutionType string  `json:"institutionType"`
	OwnerUnit       string  `json:"ownerUnit"`
	RegionCode      string  `json:"regionCode,omitempty"`
	Caregiver       string  `json:"caregiver"`
	CaregiverName   string  `json:"caregiverName"`
	Rating          int     `json:"rating"`
	Scores          []score `json:"scores"`
	Average         float64 `json:"average"`
	Comment         string  `json:"comment,omitempty"`
	RaterName       string  `json:"raterName,omitempty"`
}

// evaluationPage is the answer of GET /evaluations.
type evaluationPage struct {
	Role        string           `json:"role"`
	Scope       string           `json:"scope"` // the owner unit or the region the list is limited to
	Institution *institutionInfo `json:"institution,omitempty"`
	Caregiver   string           `json:"caregiver,omitempty"`
	Total       int64            `json:"total"`
	PageNo      int              `json:"pageNo"`
	PageSize    int              `json:"pageSize"`
	Items       []evaluationItem `json:"items"`
}

// listEvaluations answers evaluations, newest first, within the
// operator's scope: a staff member's owner unit, an authority's region.
// q narrows it to an institution (its code) or a caregiver (cg-…); one
// outside the scope is refused, not answered empty.
func listEvaluations(ctx context.Context, c *call) (*plugin.Response, error) {
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	out := evaluationPage{Role: c.role.kind.String(), PageNo: no, PageSize: size, Items: []evaluationItem{}}
	query := plugin.RecordQuery{Collection: "evaluations", Newest: true, Offset: (no - 1) * size, Limit: size}
	switch c.role.kind {
	case staffRole:
		query.Where, out.Scope = map[string]any{"ownerUnit": c.role.ownerUnit}, c.role.ownerUnit
	case authorityRole:
		query.Where, out.Scope = map[string]any{"regions": []string{c.role.prefix}}, c.role.region
	default:
		return nil, c.role.covers(institution{})
	}
	if q := strings.TrimSpace(c.req.QueryValue("q")); q != "" {
		token := q
		if strings.HasPrefix(q, "cg-") {
			if !caregiverIDRe.MatchString(q) {
				return nil, invalid("护理员编号格式不正确")
			}
			rec, err := c.host.GetRecord(ctx, "caregivers", q)
			if plugin.IsCode(err, plugin.ErrNotFound) {
				return nil, notFound("没有编号为 " + q + " 的护理员")
			}
			if err != nil {
				return nil, err
			}
			token, out.Caregiver = rec.CodeToken, q
			query.Where["caregiver"] = q
		}
		in, err := c.institutionFor(ctx, token)
		if err != nil {
			return nil, err
		}
		info := infoOf(in)
		out.Institution, query.CodeToken = &info, in.Token
	}
	page, err := c.host.QueryRecords(ctx, query)
	if err != nil {
		return nil, err
	}
	out.Total = page.Total
	for _, rec := range page.Items {
		var e evaluation
		decode(rec, &e)
		out.Items = append(out.Items, evaluationItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt),
			Institution: e.Institution, InstitutionType: e.InstitutionType, OwnerUnit: e.OwnerUnit, RegionCode: e.RegionCode,
			Caregiver: e.Caregiver, CaregiverName: e.CaregiverName, Rating: e.Rating, Scores: e.Scores, Average: e.Average,
			Comment: e.Comment, RaterName: e.RaterName})
	}
	return plugin.JSON(200, out)
}
