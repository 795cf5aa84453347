package main

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// 码上评: evaluations of a shop, by logged-in visitors.
//
//   - 满意度调查 (survey): a citizen scores the shop on the configured
//     questions, once a month.
//   - 整改评价 (rectification): an inspector or a citizen rates how an
//     inspector's rectification entry was carried out, once per entry.
//   - 执法评价 (enforcement): a citizen rates the inspectors' enforcement at
//     the shop, once a day.
//
// A shop's own merchant does not rate it. The "once" rules hold by record
// ids derived from who and what (a second create fails).

const (
	evalSurvey        = "满意度调查"
	evalRectification = "整改评价"
	evalEnforcement   = "执法评价"
)

var evalKinds = map[string]string{"survey": evalSurvey, "rectification": evalRectification, "enforcement": evalEnforcement}

// evaluation is the document of the evaluations collection.
type evaluation struct {
	Shop    string         `json:"shop"`
	Kind    string         `json:"kind"`
	Role    string         `json:"role"`
	Rating  float64        `json:"rating"` // 1–5; a survey's average
	Scores  map[string]int `json:"scores,omitempty"`
	Comment string         `json:"comment,omitempty"`
	About   string         `json:"about,omitempty"`
	Rater   string         `json:"rater"`
}

func rateForm(ctx context.Context, c *call) (*plugin.Response, error) {
	recs, err := c.list(ctx, "rectifications", map[string]any{"role": roleNames[roleInspector]}, 20)
	if err != nil {
		return nil, err
	}
	var opts []option
	for _, rec := range recs {
		opts = append(opts, option{Value: "rectifications:" + rec.ID, Text: aboutText("rectifications", rec)})
	}
	return render(200, rateFormPage, c, map[string]any{"Questions": c.cfg.Questions, "Scores": []int{5, 4, 3, 2, 1},
		"Options": opts, "Inspector": c.role(roleInspector, "") != nil, "About": c.req.QueryValue("about")})
}

// scoreSurvey checks a survey against the questions: every question
// answered with a whole score from 1 to 5 (fields "q.{id}"), and no
// answer to a question that is not on it.
func scoreSurvey(questions []question, v url.Values) (map[string]int, float64, error) {
	known := map[string]bool{}
	for _, q := range questions {
		known[q.ID] = true
	}
	var keys []string
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "q."); ok && !known[id] {
			return nil, 0, invalid("未知的评价项目：" + id)
		}
	}
	scores := map[string]int{}
	sum := 0
	for _, q := range questions {
		n, err := score(v.Get("q."+q.ID), "“"+q.Text+"”")
		if err != nil {
			return nil, 0, err
		}
		scores[q.ID] = n
		sum += n
	}
	return scores, float64(sum) / float64(len(questions)), nil
}

// score reads a 1–5 score.
func score(s, label string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, missing("请为" + label + "评分")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, invalid(label + "的评分须为 1–5 分")
	}
	return n, nil
}

// rate stores an evaluation.
func rate(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("kind", "rating", "about", "comment", "q."); err != nil {
		return nil, err
	}
	kind := evalKinds[f.get("kind")]
	if kind == "" {
		return nil, invalid("kind 须为 survey（满意度调查）、rectification（整改评价）或 enforcement（执法评价）")
	}
	if c.role(roleMerchant, c.req.Code.Token) != nil {
		return nil, denied("商户不能评价本店")
	}
	role := roleCitizen
	if c.role(roleInspector, "") != nil {
		if kind != evalRectification {
			return nil, denied("城管队员只能评价整改情况")
		}
		role = roleNames[roleInspector]
	}
	comment, err := f.text("comment", "意见", 200, false)
	if err != nil {
		return nil, err
	}
	me := c.req.Visitor.Pseudonym
	e := evaluation{Shop: c.shop.Title, Kind: kind, Role: role, Comment: comment, Rater: me}
	var id, again string
	switch kind {
	case evalSurvey:
		if f.get("rating") != "" || f.get("about") != "" {
			return nil, invalid("满意度调查按题目评分（q.{题目}），不填 rating 与 about")
		}
		if e.Scores, e.Rating, err = scoreSurvey(c.cfg.Questions, f.values); err != nil {
			return nil, err
		}
		id, again = hashed("ev-s-", c.req.Code.Token, me, c.now.Format("2006-01")), "本月已参加过该商户的满意度调查"
	case evalRectification, evalEnforcement:
		if err := noSurvey(f.values); err != nil {
			return nil, err
		}
		n, err := score(f.get("rating"), kind)
		if err != nil {
			return nil, err
		}
		e.Rating = float64(n)
		if kind == evalEnforcement {
			if f.get("about") != "" {
				return nil, invalid("执法评价不关联整改记录")
			}
			id, again = hashed("ev-e-", c.req.Code.Token, me, c.now.Format(time.DateOnly)), "今天已评价过该商户的执法情况"
			break
		}
		about := f.get("about")
		if about == "" {
			return nil, missing("请选择要评价的整改记录")
		}
		rec, err := c.ref(ctx, about, "rectifications")
		if err != nil {
			return nil, err
		}
		var r rectification
		decode(*rec, &r)
		if r.Role != roleNames[roleInspector] {
			return nil, invalid("只能评价城管队员登记的整改记录")
		}
		e.About = about
		id, again = hashed("ev-r-", rec.ID, me), "您已评价过这条整改记录"
	}
	rec, err := c.create(ctx, "evaluations", id, c.req.Code.Token, e)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadyRated", again)
	}
	if err != nil {
		return nil, err
	}
	c.event(ctx, "evaluation.created", map[string]any{"evaluationId": rec.ID, "kind": kind, "rating": e.Rating})
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": kind + "已提交", "ID": rec.ID,
		"Status": "评分 " + strconv.FormatFloat(e.Rating, 'f', -1, 64), "Next": "/", "NextText": "返回商户页面"})
}

// noSurvey refuses survey answers on a single-rating form.
func noSurvey(v url.Values) error {
	for k := range v {
		if strings.HasPrefix(k, "q.") {
			return invalid("整改评价与执法评价只填 rating（1–5）")
		}
	}
	return nil
}
