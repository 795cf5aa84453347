package main

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// rating is a satisfaction rating (满意度评价), the document of the ratings
// collection. Scores are keyed by question id: the question bank is the
// platform's, and changes.
type rating struct {
	Facility     string         `json:"facility"`
	FacilityName string         `json:"facilityName"`
	Scores       map[string]int `json:"scores"`
	Questions    []string       `json:"questions"` // the questions' texts when rated, in order
	Average      float64        `json:"average"`
	Comment      string         `json:"comment,omitempty"`
	Rater        string         `json:"rater,omitempty"` // the logged-in rater's pseudonym
}

func rateForm(ctx context.Context, c *call) (*plugin.Response, error) {
	return render(200, rateFormPage, c, map[string]any{
		"Questions": c.cfg.questionsFor(c.facility.Kind), "Scores": []int{1, 2, 3, 4, 5}})
}

// scoreRating checks a rating form against the questionnaire: every
// question answered with a whole score from 1 to 5, and no answer to a
// question that is not on it (fields "q.{id}").
func scoreRating(questions []question, v url.Values) (map[string]int, error) {
	if len(questions) == 0 {
		return nil, invalid("暂无评价项目")
	}
	known := map[string]bool{}
	for _, q := range questions {
		known[q.ID] = true
	}
	var keys []string
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same form always fails the same way
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "q."); ok && !known[id] {
			return nil, invalid("未知的评价项目：" + id)
		}
	}
	scores := map[string]int{}
	for _, q := range questions {
		s := strings.TrimSpace(v.Get("q." + q.ID))
		if s == "" {
			return nil, missing("请为“" + q.Text + "”评分")
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			return nil, invalid("“" + q.Text + "”的评分须为 1–5 分")
		}
		scores[q.ID] = n
	}
	return scores, nil
}

func rate(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	questions := c.cfg.questionsFor(c.facility.Kind)
	scores, err := scoreRating(questions, f.values)
	if err != nil {
		return nil, err
	}
	comment := f.get("comment")
	if utf8.RuneCountInString(comment) > 200 {
		return nil, invalid("意见建议不能超过 200 个字")
	}
	r := rating{Facility: c.facility.KindName, FacilityName: c.facility.Name, Scores: scores, Comment: comment}
	sum := 0
	for _, q := range questions {
		r.Questions = append(r.Questions, q.Text)
		sum += scores[q.ID]
	}
	r.Average = float64(sum) / float64(len(questions))
	if !c.req.Visitor.Tourist {
		r.Rater = c.req.Visitor.Pseudonym
	}
	rec, err := c.put(ctx, "ratings", "", r, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "rating.created", map[string]any{"ratingId": rec.ID, "average": r.Average}); err != nil {
		c.warn(ctx, "rating.created event", err)
	}
	return render(http.StatusCreated, rateDonePage, c, map[string]any{"Average": r.Average})
}
