package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Kinds of feedback, the kind column of the feedback collection.
const (
	kindFeedback = "意见"
	kindRating   = "评分"
	kindAnswer   = "问卷"
)

// Collections.
const (
	colFeedback       = "feedback"
	colDrafts         = "drafts"
	colQuestionnaires = "questionnaires"
)

// Limits of what a citizen writes.
const (
	maxContent    = 1000 // characters of a feedback
	maxRatingText = 200  // characters of a rating item's text
)

// entry is one submission, the document of the feedback collection:
// feedback, a rating or a questionnaire's answers. Content is what a
// person reads (the feedback, or the rating or answers written out), so
// that the export and the keyword search cover every kind.
type entry struct {
	Kind                 string              `json:"kind"`
	Place                string              `json:"place"`
	Content              string              `json:"content"`
	Contact              string              `json:"contact,omitempty"`
	Ratings              []score             `json:"ratings,omitempty"`
	Overall              float64             `json:"overall,omitempty"`
	Questionnaire        string              `json:"questionnaire,omitempty"`
	QuestionnaireTitle   string              `json:"questionnaireTitle,omitempty"`
	QuestionnaireVersion int                 `json:"questionnaireVersion,omitempty"`
	Answers              map[string][]string `json:"answers,omitempty"`
	// Author is the logged-in citizen's pseudonym in this plugin;
	// AuthorName their masked name when they authorized the scene.
	Author     string `json:"author,omitempty"`
	AuthorName string `json:"authorName,omitempty"`
}

// score is one rated item.
type score struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Stars int    `json:"stars"`
	Text  string `json:"text,omitempty"`
}

// draft is a citizen's unpublished feedback on a code, the document of the
// drafts collection: one per citizen and code.
type draft struct {
	Place   string `json:"place"`
	Content string `json:"content"`
	Contact string `json:"contact,omitempty"`
	Author  string `json:"author"`
	SavedAt string `json:"savedAt"`
}

// draftID is the id of the citizen's draft on the code.
func (c *call) draftID() string {
	return keyFor("d", c.req.Visitor.Pseudonym, c.req.Code.Token)
}

// identify signs an entry with the visitor, when logged in.
func (c *call) identify(e *entry) {
	if c.loggedIn() {
		e.Author = c.req.Visitor.Pseudonym
		if c.req.Visitor.Authorized {
			e.AuthorName = c.req.Visitor.Name
		}
	}
}

// record stores a new entry about the code and writes its event.
func (c *call) record(ctx context.Context, id string, e entry, event string) (*plugin.Record, error) {
	rec, err := c.put(ctx, plugin.Record{Collection: colFeedback, ID: id, IfAbsent: id != "", CodeToken: c.req.Code.Token}, e)
	if err != nil {
		return nil, err
	}
	detail := map[string]any{"id": rec.ID, "kind": e.Kind, "loggedIn": e.Author != ""}
	if e.Questionnaire != "" {
		detail["questionnaire"] = e.Questionnaire
	}
	if e.Kind == kindRating {
		detail["overall"] = e.Overall
	}
	if err := c.host.Event(ctx, event, detail); err != nil {
		c.warn(ctx, event+" event", err)
	}
	return rec, nil
}

var phoneRe = regexp.MustCompile(`^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$`)

// checkFeedback reads the feedback form: the content (required to
// publish, not to keep a draft) and an optional contact phone.
func checkFeedback(v url.Values, publishing bool) (content, contact string, err error) {
	content, err = cleanText(v.Get("content"), "意见内容", maxContent, true)
	if err != nil {
		return "", "", err
	}
	if content == "" && publishing {
		return "", "", missing("请填写意见内容")
	}
	contact = strings.NewReplacer(" ", "", "　", "").Replace(strings.TrimSpace(v.Get("contact")))
	if contact != "" && !phoneRe.MatchString(contact) {
		return "", "", invalid("联系电话格式不正确：请填写 11 位手机号或带区号的固定电话")
	}
	return content, contact, nil
}

// home is the landing page: the feedback form (with the citizen's draft
// restored), the rating form and the questionnaires of the code.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	var d draft
	if c.loggedIn() {
		rec, err := c.host.GetRecord(ctx, colDrafts, c.draftID())
		switch {
		case err == nil:
			decode(*rec, &d)
		case !plugin.IsCode(err, plugin.ErrNotFound):
			return nil, err
		}
	}
	qs, err := c.questionnairesHere(ctx)
	if err != nil {
		return nil, err
	}
	return render(200, homePage, c, map[string]any{"Draft": d, "LoggedIn": c.loggedIn(), "Items": c.cfg.RatingItems,
		"Stars": []int{5, 4, 3, 2, 1}, "Questionnaires": qs, "Max": maxContent, "MaxText": maxRatingText})
}

// publish stores feedback; a logged-in citizen's draft on the code is
// then removed. Published feedback has no route that changes it.
func publish(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, fields("content", "contact"), nil)
	if err != nil {
		return nil, err
	}
	content, contact, err := checkFeedback(v, true)
	if err != nil {
		return nil, err
	}
	e := entry{Kind: kindFeedback, Place: c.place, Content: content, Contact: contact}
	c.identify(&e)
	rec, err := c.record(ctx, "", e, "feedback.published")
	if err != nil {
		return nil, err
	}
	if c.loggedIn() {
		if err := c.host.DeleteRecord(ctx, colDrafts, c.draftID()); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			c.warn(ctx, "draft not removed after publishing", err)
		}
	}
	return render(http.StatusCreated, donePage, c, map[string]any{"What": "意见已发布", "ID": rec.ID,
		"Rows": []row{{"意见内容", content}}, "Note": "意见发布后不可修改；如需补充，请再次提交。"})
}

// saveDraft keeps a logged-in citizen's feedback on the code, replacing
// the previous draft; an empty form discards it.
func saveDraft(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, fields("content", "contact"), nil)
	if err != nil {
		return nil, err
	}
	content, contact, err := checkFeedback(v, false)
	if err != nil {
		return nil, err
	}
	if content == "" && contact == "" {
		if err := c.host.DeleteRecord(ctx, colDrafts, c.draftID()); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, err
		}
		return render(200, donePage, c, map[string]any{"What": "草稿已清空"})
	}
	d := draft{Place: c.place, Content: content, Contact: contact, Author: c.req.Visitor.Pseudonym, SavedAt: stamp(c.now)}
	if _, err := c.put(ctx, plugin.Record{Collection: colDrafts, ID: c.draftID(), CodeToken: c.req.Code.Token}, d); err != nil {
		return nil, err
	}
	return render(200, donePage, c, map[string]any{"What": "草稿已保存",
		"Note": "再次扫码打开本页即可继续编辑；草稿仅您本人可见，发布前不会提交给工作人员。"})
}

// checkRating reads a rating form against the items: fields star.{id}
// (1–5) and text.{id}; a required item must be rated, a text needs its
// stars, and at least one item is rated. It answers the scores in the
// items' order and their mean, to one decimal.
func checkRating(items []ratingItem, v url.Values) ([]score, float64, error) {
	known := map[string]bool{}
	for _, it := range items {
		known["star."+it.ID], known["text."+it.ID] = true, true
	}
	for name := range v {
		if !known[name] {
			return nil, 0, invalid("未知的评分项：" + name)
		}
	}
	var out []score
	sum := 0
	for _, it := range items {
		s := strings.TrimSpace(v.Get("star." + it.ID))
		text, err := cleanText(v.Get("text."+it.ID), "「"+it.Label+"」的评价", maxRatingText, true)
		if err != nil {
			return nil, 0, err
		}
		if s == "" {
			if it.Required {
				return nil, 0, missing("请为「" + it.Label + "」评分")
			}
			if text != "" {
				return nil, 0, missing("请先为「" + it.Label + "」评分，再填写文字评价")
			}
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			return nil, 0, invalid("「" + it.Label + "」的评分须为 1–5 星")
		}
		out = append(out, score{ID: it.ID, Label: it.Label, Stars: n, Text: text})
		sum += n
	}
	if len(out) == 0 {
		return nil, 0, missing("请至少为一项服务评分")
	}
	return out, math.Round(float64(sum)/float64(len(out))*10) / 10, nil
}

// describeRating writes a rating out: 服务态度 5 星（热情周到）；环境卫生 4 星.
func describeRating(scores []score) string {
	parts := make([]string, len(scores))
	for i, s := range scores {
		parts[i] = fmt.Sprintf("%s %d 星", s.Label, s.Stars)
		if s.Text != "" {
			parts[i] += "（" + s.Text + "）"
		}
	}
	return strings.Join(parts, "；")
}

// rate stores a rating.
func rate(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, func(string) bool { return true }, nil)
	if err != nil {
		return nil, err
	}
	scores, overall, err := checkRating(c.cfg.RatingItems, v)
	if err != nil {
		return nil, err
	}
	e := entry{Kind: kindRating, Place: c.place, Ratings: scores, Overall: overall, Content: describeRating(scores)}
	c.identify(&e)
	rec, err := c.record(ctx, "", e, "rating.submitted")
	if err != nil {
		return nil, err
	}
	rows := []row{{"综合评分", strconv.FormatFloat(overall, 'f', 1, 64) + " 星"}}
	for _, s := range scores {
		rows = append(rows, row{s.Label, strings.Repeat("★", s.Stars) + " " + s.Text})
	}
	return render(http.StatusCreated, donePage, c, map[string]any{"What": "感谢您的评价", "ID": rec.ID, "Rows": rows})
}

type row struct{ Label, Value string }
