package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Questionnaire statuses. A draft is edited; a published questionnaire is
// answered and never changes, so that answers always match their
// definition (a new version is a copy); a closed one takes no answers.
const (
	statusDraft     = "草稿"
	statusPublished = "已发布"
	statusClosed    = "已结束"
)

// Question types.
const (
	typeSingle   = "single"
	typeMultiple = "multiple"
	typeText     = "text"
)

// jumpEnd is the jump target that ends the questionnaire.
const jumpEnd = "end"

// questionnaire is the document of the questionnaires collection.
type questionnaire struct {
	definition
	Status        string   `json:"status"`
	Version       int      `json:"version"`
	BasedOn       string   `json:"basedOn,omitempty"`
	QuestionCount int      `json:"questionCount"`
	Codes         []string `json:"codes"`
	Editor        string   `json:"editor"`
	PublishedAt   string   `json:"publishedAt,omitempty"`
	ClosedAt      string   `json:"closedAt,omitempty"`
}

// definition is what an operator edits.
type definition struct {
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Questions   []question `json:"questions"`
}

type question struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Title    string   `json:"title"`
	Required bool     `json:"required,omitempty"`
	Options  []option `json:"options,omitempty"`
	// Min and Max bound the choices of a multiple-choice question
	// (default 0 and every option); MaxLength a text answer (default
	// 500).
	Min       int `json:"min,omitempty"`
	Max       int `json:"max,omitempty"`
	MaxLength int `json:"maxLength,omitempty"`
}

// option is a choice. Jump, on a single-choice question only, sends the
// citizen who picks it to a later question, or to the end (复杂调研逻辑).
type option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Jump  string `json:"jump,omitempty"`
}

// Limits of a definition.
const (
	maxQuestions     = 50
	maxOptions       = 20
	maxTextAnswer    = 2000
	defaultTextLimit = 500
	maxDefinition    = 48 << 10 // bytes of JSON, within the host's 64 KB per record
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`)

// checkDefinition validates and normalises a definition: texts trimmed
// and bounded, ids unique, options non-empty and unique, limits sane,
// jumps only on single-choice options and only forward to a question
// that exists, or to the end — so that no path can loop. Errors name the
// question.
func checkDefinition(d *definition) error {
	var err error
	if d.Title, err = cleanText(d.Title, "问卷名称", 100, false); err != nil {
		return err
	}
	if d.Title == "" {
		return missing("请填写问卷名称 title")
	}
	if d.Description, err = cleanText(d.Description, "问卷说明", 500, true); err != nil {
		return err
	}
	if len(d.Questions) > maxQuestions {
		return invalid(fmt.Sprintf("一份问卷最多 %d 道题", maxQuestions))
	}
	index := map[string]int{}
	for i := range d.Questions {
		q := &d.Questions[i]
		name := fmt.Sprintf("第 %d 题", i+1)
		if !idRe.MatchString(q.ID) || q.ID == jumpEnd {
			return invalid(name + "：id 须为 1–20 个字母、数字、_ 或 -（end 表示结束，不能用作题目 id）")
		}
		if _, dup := index[q.ID]; dup {
			return invalid(name + "：id " + q.ID + " 与前面的题目重复")
		}
		index[q.ID] = i
		name += "（" + q.ID + "）"
		if q.Title, err = cleanText(q.Title, name+"的题目", 200, false); err != nil {
			return err
		}
		if q.Title == "" {
			return missing(name + "：请填写题目 title")
		}
		if err := checkQuestion(q, name); err != nil {
			return err
		}
	}
	for i, q := range d.Questions {
		for _, o := range q.Options {
			if o.Jump == "" || o.Jump == jumpEnd {
				continue
			}
			name := fmt.Sprintf("第 %d 题（%s）的选项 %s", i+1, q.ID, o.ID)
			j, ok := index[o.Jump]
			switch {
			case !ok:
				return invalid(name + "：跳转目标 " + o.Jump + " 不存在")
			case j <= i:
				return invalid(fmt.Sprintf("%s：只能向后跳转，不能跳到第 %d 题（%s）", name, j+1, o.Jump))
			}
		}
	}
	if b, _ := json.Marshal(d); len(b) > maxDefinition {
		return invalid("问卷内容过长，请减少题目或选项")
	}
	return nil
}

// checkQuestion checks one question's type, options and limits.
func checkQuestion(q *question, name string) error {
	if q.Type == typeText {
		if len(q.Options) > 0 || q.Min != 0 || q.Max != 0 {
			return invalid(name + "：文本题不能设置选项或 min/max")
		}
		if q.MaxLength == 0 {
			q.MaxLength = defaultTextLimit
		}
		if q.MaxLength < 1 || q.MaxLength > maxTextAnswer {
			return invalid(fmt.Sprintf("%s：maxLength 须为 1–%d", name, maxTextAnswer))
		}
		return nil
	}
	if q.Type != typeSingle && q.Type != typeMultiple {
		return invalid(name + "：type 须为 single（单选）、multiple（多选）或 text（文本）")
	}
	if q.MaxLength != 0 {
		return invalid(name + "：只有文本题可设置 maxLength")
	}
	if len(q.Options) < 2 || len(q.Options) > maxOptions {
		return invalid(fmt.Sprintf("%s：选择题须有 2–%d 个选项", name, maxOptions))
	}
	seen := map[string]bool{}
	for i := range q.Options {
		o := &q.Options[i]
		if !idRe.MatchString(o.ID) || seen[o.ID] {
			return invalid(fmt.Sprintf("%s：第 %d 个选项的 id 须为 1–20 个字母、数字、_ 或 -，且不重复", name, i+1))
		}
		seen[o.ID] = true
		var err error
		if o.Label, err = cleanText(o.Label, name+"的选项 "+o.ID, 50, false); err != nil {
			return err
		}
		if o.Label == "" {
			return missing(name + "：选项 " + o.ID + " 缺少文字 label")
		}
		if o.Jump != "" && q.Type != typeSingle {
			return invalid(name + "：只有单选题的选项可以设置跳转")
		}
	}
	if q.Type == typeSingle {
		if q.Min != 0 || q.Max != 0 {
			return invalid(name + "：单选题不能设置 min/max")
		}
		return nil
	}
	if q.Max == 0 {
		q.Max = len(q.Options)
	}
	if q.Min < 0 || q.Max < 1 || q.Min > q.Max || q.Max > len(q.Options) {
		return invalid(fmt.Sprintf("%s：须 0 ≤ min ≤ max ≤ 选项数（%d），且 max ≥ 1", name, len(q.Options)))
	}
	return nil
}

// checkAnswers validates answers (form fields q.{id}) against a
// definition and its skip logic, and answers those kept, by question id.
// The path starts at the first question and follows the questions in
// order, except where a chosen single-choice option jumps; only the
// questions on the path may be answered, and its required ones must be.
// An answer to a question the path skips is refused rather than dropped:
// it means the page and the definition disagree, and the citizen should
// see the form again rather than have part of their answers silently
// lost.
func checkAnswers(qs []question, v url.Values) (map[string][]string, error) {
	index := map[string]int{}
	for i, q := range qs {
		index[q.ID] = i
	}
	given := map[string][]string{}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		id, ok := strings.CutPrefix(name, "q.")
		if _, known := index[id]; !ok || !known {
			return nil, invalid("问卷中没有这道题：" + name)
		}
		for _, s := range v[name] {
			if s = strings.TrimSpace(s); s != "" {
				given[id] = append(given[id], s)
			}
		}
	}
	out := map[string][]string{}
	for i := 0; i < len(qs); {
		q := qs[i]
		name := fmt.Sprintf("第 %d 题「%s」", i+1, q.Title)
		next := i + 1
		a := given[q.ID]
		delete(given, q.ID)
		if len(a) == 0 {
			if q.Required {
				return nil, missing("请回答" + name)
			}
			i = next
			continue
		}
		switch q.Type {
		case typeSingle:
			if len(a) > 1 {
				return nil, invalid(name + "是单选题，只能选一项")
			}
			o := findOption(q, a[0])
			if o == nil {
				return nil, invalid(name + "没有选项 " + a[0])
			}
			switch {
			case o.Jump == jumpEnd:
				next = len(qs)
			case o.Jump != "":
				next = index[o.Jump]
			}
		case typeMultiple:
			for k, s := range a {
				if findOption(q, s) == nil {
					return nil, invalid(name + "没有选项 " + s)
				}
				if slices.Contains(a[:k], s) {
					return nil, invalid(name + "的选项 " + s + " 重复")
				}
			}
			if len(a) < q.Min || len(a) > q.Max {
				return nil, invalid(fmt.Sprintf("%s须选择 %d–%d 项（已选 %d 项）", name, max(q.Min, 1), q.Max, len(a)))
			}
		case typeText:
			if len(a) > 1 {
				return nil, invalid(name + "只能填写一次")
			}
			s, err := cleanText(a[0], name+"的回答", q.MaxLength, true)
			if err != nil {
				return nil, err
			}
			a = []string{s}
		}
		out[q.ID] = a
		i = next
	}
	// What is left was not on the path.
	for _, q := range qs {
		if _, ok := given[q.ID]; ok {
			return nil, invalid(fmt.Sprintf("按您前面的选择，第 %d 题「%s」应跳过，请不要作答", index[q.ID]+1, q.Title))
		}
	}
	return out, nil
}

func findOption(q question, id string) *option {
	for i := range q.Options {
		if q.Options[i].ID == id {
			return &q.Options[i]
		}
	}
	return nil
}

// describeAnswers writes answers out, in the questions' order:
// 1. 题目：选项、选项；2. …
func describeAnswers(qs []question, answers map[string][]string) string {
	var parts []string
	for i, q := range qs {
		a, ok := answers[q.ID]
		if !ok {
			continue
		}
		shown := a
		if q.Type != typeText {
			shown = make([]string, len(a))
			for k, id := range a {
				shown[k] = findOption(q, id).Label
			}
		}
		parts = append(parts, fmt.Sprintf("%d. %s：%s", i+1, q.Title, strings.Join(shown, "、")))
	}
	return strings.Join(parts, "；")
}

// listed is a questionnaire as a page links it.
type listed struct {
	ID, Title, Description string
}

// questionnairesHere answers the published questionnaires of the code:
// those bound to it, and the platform's.
func (c *call) questionnairesHere(ctx context.Context) ([]listed, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: colQuestionnaires, Newest: true, Limit: 20,
		Where: map[string]any{"status": statusPublished, "codes": []string{c.req.Code.Token}}})
	if err != nil {
		return nil, err
	}
	var out []listed
	for _, rec := range page.Items {
		var q questionnaire
		decode(rec, &q)
		out = append(out, listed{rec.ID, q.Title, q.Description})
	}
	if id := c.cfg.Questionnaire; id != "" && !slices.ContainsFunc(out, func(l listed) bool { return l.ID == id }) {
		rec, err := c.host.GetRecord(ctx, colQuestionnaires, id)
		if err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			var q questionnaire
			decode(*rec, &q)
			if q.Status == statusPublished {
				out = append(out, listed{rec.ID, q.Title, q.Description})
			}
		}
	}
	return out, nil
}

// openQuestionnaire answers a questionnaire a citizen may answer on this
// code: published, and bound to the code or to the platform. Drafts and
// other codes' questionnaires are not found; a closed one is a conflict.
func (c *call) openQuestionnaire(ctx context.Context, id string) (*questionnaire, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, missing("缺少问卷编号")
	}
	if !recordIDRe.MatchString(id) {
		return nil, invalid("问卷编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, colQuestionnaires, id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到该问卷")
	}
	if err != nil {
		return nil, err
	}
	var q questionnaire
	decode(*rec, &q)
	if q.Status == statusDraft || (!slices.Contains(q.Codes, c.req.Code.Token) && c.cfg.Questionnaire != id) {
		return nil, notFound("没有找到该问卷")
	}
	if q.Status == statusClosed {
		return nil, conflict("Closed", "该问卷已结束，感谢您的关注")
	}
	return &q, nil
}

// answerID is the id of the citizen's answers to a questionnaire: one per
// citizen, whichever code they scanned.
func (c *call) answerID(questionnaireID string) string {
	return keyFor("a", questionnaireID, c.req.Visitor.Pseudonym)
}

// surveyPage shows a questionnaire, or that the citizen answered it.
func surveyPage(ctx context.Context, c *call) (*plugin.Response, error) {
	id := c.req.QueryValue("id")
	q, err := c.openQuestionnaire(ctx, id)
	if err != nil {
		return nil, err
	}
	_, err = c.host.GetRecord(ctx, colFeedback, c.answerID(id))
	if err == nil {
		return render(200, donePage, c, map[string]any{"What": "您已提交过本问卷", "Note": "每份问卷每人限答一次，感谢您的参与。"})
	}
	if !plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, err
	}
	return render(200, surveyForm, c, map[string]any{"ID": id, "Q": q})
}

// answer stores a citizen's answers, once per questionnaire.
func answer(ctx context.Context, c *call) (*plugin.Response, error) {
	isAnswer := func(n string) bool { return strings.HasPrefix(n, "q.") }
	v, err := readForm(c.req, func(n string) bool { return n == "questionnaire" || isAnswer(n) }, isAnswer)
	if err != nil {
		return nil, err
	}
	id := v.Get("questionnaire")
	v.Del("questionnaire")
	q, err := c.openQuestionnaire(ctx, id)
	if err != nil {
		return nil, err
	}
	answers, err := checkAnswers(q.Questions, v)
	if err != nil {
		return nil, err
	}
	e := entry{Kind: kindAnswer, Place: c.place, Questionnaire: id, QuestionnaireTitle: q.Title, QuestionnaireVersion: q.Version,
		Answers: answers, Content: describeAnswers(q.Questions, answers)}
	c.identify(&e)
	rec, err := c.record(ctx, c.answerID(id), e, "answer.submitted")
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadyAnswered", "您已提交过本问卷，每份问卷每人限答一次")
	}
	if err != nil {
		return nil, err
	}
	return render(http.StatusCreated, donePage, c, map[string]any{"What": "问卷已提交", "ID": rec.ID,
		"Rows": []row{{"问卷", q.Title}}, "Note": "感谢您的参与。"})
}
