package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The operators' side: admin routes the console reaches at
// /console/plugins/feedback/admin/{path} (reads with plugin.read, changes
// with plugin.update). Every change to a questionnaire is audited.

// view is a questionnaire in admin answers.
type view struct {
	ID        string `json:"id"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	questionnaire
}

func viewOf(rec *plugin.Record, q questionnaire) view {
	return view{ID: rec.ID, CreatedAt: stamp(rec.CreatedAt), UpdatedAt: stamp(rec.UpdatedAt), questionnaire: q}
}

// definitionIn is the body of POST and PUT /questionnaires.
type definitionIn struct {
	ID string `json:"id"`
	definition
}

// bindIn is the body of the other changes; Codes only for bind.
type bindIn struct {
	ID    string   `json:"id"`
	Codes []string `json:"codes"`
}

// readBody decodes a JSON body strictly: a misspelt key is an error, not
// a silently ignored setting.
func readBody(body []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("请求体须为 JSON：" + shape + "（" + err.Error() + "）")
	}
	if dec.More() {
		return invalid("请求体须为一个 JSON 对象")
	}
	return nil
}

// load reads a questionnaire by the id an operator gave.
func (c *call) load(ctx context.Context, id string) (*plugin.Record, questionnaire, error) {
	var q questionnaire
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return nil, q, missing("请提供问卷编号 id")
	case !recordIDRe.MatchString(id):
		return nil, q, invalid("问卷编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, colQuestionnaires, id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, q, notFound("没有找到问卷 " + id)
	}
	if err != nil {
		return nil, q, err
	}
	decode(*rec, &q)
	return rec, q, nil
}

// save stores a changed questionnaire against the version read, so that
// an edit and a publication at the same moment do not both win, and
// audits the change.
func (c *call) save(ctx context.Context, rec *plugin.Record, q *questionnaire, action string) (*plugin.Record, error) {
	q.Editor, q.QuestionCount = c.req.Operator.Account, len(q.Questions)
	r := plugin.Record{Collection: colQuestionnaires}
	if rec != nil {
		r.ID, r.Version = rec.ID, rec.Version
	}
	saved, err := c.put(ctx, r, q)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("Changed", "问卷刚被其他人修改，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	detail := map[string]any{"title": q.Title, "status": q.Status, "version": q.Version, "questions": len(q.Questions),
		"codes": q.Codes, "operator": c.req.Operator.Account}
	if err := c.host.Audit(ctx, "questionnaire."+action, "questionnaire:"+saved.ID, detail); err != nil {
		// The change stands; the trail must show the gap.
		c.host.Log(ctx, "error", "questionnaire "+saved.ID+" "+action+" not audited: "+err.Error())
	}
	return saved, nil
}

const definitionShape = `{"title","description","questions":[{"id","type":"single|multiple|text","title","required","options":[{"id","label","jump"}],"min","max","maxLength"}]}`

// createQuestionnaire creates a draft.
func createQuestionnaire(ctx context.Context, c *call) (*plugin.Response, error) {
	var in definitionIn
	if err := readBody(c.req.Body, &in, definitionShape); err != nil {
		return nil, err
	}
	if in.ID != "" {
		return nil, invalid("新建问卷不能指定 id；修改草稿请用 PUT /questionnaires")
	}
	if err := checkDefinition(&in.definition); err != nil {
		return nil, err
	}
	q := questionnaire{definition: in.definition, Status: statusDraft, Version: 1, Codes: []string{}}
	rec, err := c.save(ctx, nil, &q, "create")
	if err != nil {
		return nil, err
	}
	return plugin.JSON(201, viewOf(rec, q))
}

// updateQuestionnaire replaces a draft's definition. A published or
// closed questionnaire is never edited: its answers must keep matching it.
func updateQuestionnaire(ctx context.Context, c *call) (*plugin.Response, error) {
	var in definitionIn
	if err := readBody(c.req.Body, &in, `{"id",`+definitionShape[1:]); err != nil {
		return nil, err
	}
	rec, q, err := c.load(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if q.Status != statusDraft {
		return nil, conflict("NotDraft", "问卷"+q.Status+"，不能修改；请用 POST /questionnaires/copy 复制为新版本后编辑")
	}
	if err := checkDefinition(&in.definition); err != nil {
		return nil, err
	}
	q.definition = in.definition
	saved, err := c.save(ctx, rec, &q, "update")
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, viewOf(saved, q))
}

// transition publishes a draft (admin-publish) or closes a published
// questionnaire (admin-close).
func transition(ctx context.Context, c *call) (*plugin.Response, error) {
	var in bindIn
	if err := readBody(c.req.Body, &in, `{"id"}`); err != nil {
		return nil, err
	}
	rec, q, err := c.load(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	action := "close"
	if c.req.Route == "admin-publish" {
		action = "publish"
		if q.Status != statusDraft {
			return nil, conflict("NotDraft", "问卷"+q.Status+"，不能再次发布")
		}
		if err := checkDefinition(&q.definition); err != nil {
			return nil, err
		}
		if len(q.Questions) == 0 {
			return nil, invalid("问卷至少需要一道题才能发布")
		}
		q.Status, q.PublishedAt = statusPublished, stamp(c.now)
	} else {
		if q.Status != statusPublished {
			return nil, conflict("NotPublished", "问卷"+q.Status+"，只有已发布的问卷可以结束")
		}
		q.Status, q.ClosedAt = statusClosed, stamp(c.now)
	}
	saved, err := c.save(ctx, rec, &q, action)
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, viewOf(saved, q))
}

// copyQuestionnaire makes a new draft version of a questionnaire, the way
// to change one that is published. The copy is bound to no code: the
// operator binds it when it replaces the old one.
func copyQuestionnaire(ctx context.Context, c *call) (*plugin.Response, error) {
	var in bindIn
	if err := readBody(c.req.Body, &in, `{"id"}`); err != nil {
		return nil, err
	}
	rec, q, err := c.load(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	cp := questionnaire{definition: q.definition, Status: statusDraft, Version: q.Version + 1, BasedOn: rec.ID, Codes: []string{}}
	saved, err := c.save(ctx, nil, &cp, "copy")
	if err != nil {
		return nil, err
	}
	return plugin.JSON(201, viewOf(saved, cp))
}

const maxCodes = 100

// bindQuestionnaire sets the codes whose pages show a questionnaire, by
// token or URL; each is resolved, so that only the platform's codes are
// bound. Binding does not touch the definition, so a published
// questionnaire may be bound; a closed one may not.
func bindQuestionnaire(ctx context.Context, c *call) (*plugin.Response, error) {
	var in bindIn
	if err := readBody(c.req.Body, &in, `{"id","codes":["码的 token 或链接"]}`); err != nil {
		return nil, err
	}
	if in.Codes == nil {
		return nil, missing("请提供 codes：要展示该问卷的码（可为空数组，表示解除全部绑定）")
	}
	if len(in.Codes) > maxCodes {
		return nil, invalid("一份问卷最多绑定 100 个码；全平台展示请在配置中设置 questionnaire")
	}
	rec, q, err := c.load(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if q.Status == statusClosed {
		return nil, conflict("Closed", "问卷已结束，不能再绑定")
	}
	tokens := []string{}
	for _, s := range in.Codes {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 300 || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return nil, invalid("码须为 token 或码的链接：" + s)
		}
		code, err := c.host.ResolveCode(ctx, s)
		if plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) {
			return nil, notFound("本平台没有码 " + s)
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(tokens, code.Token) {
			tokens = append(tokens, code.Token)
		}
	}
	q.Codes = tokens
	saved, err := c.save(ctx, rec, &q, "bind")
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, viewOf(saved, q))
}

// listQuestionnaires answers one questionnaire in full (q=ID), or the
// platform's questionnaires, newest first, without their questions.
func listQuestionnaires(ctx context.Context, c *call) (*plugin.Response, error) {
	if id := c.req.QueryValue("q"); id != "" {
		rec, q, err := c.load(ctx, id)
		if err != nil {
			return nil, err
		}
		return plugin.JSON(200, viewOf(rec, q))
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: colQuestionnaires, Newest: true, Offset: (no - 1) * size, Limit: size})
	if err != nil {
		return nil, err
	}
	items := []view{}
	for _, rec := range page.Items {
		var q questionnaire
		decode(rec, &q)
		q.Questions = nil
		items = append(items, viewOf(&rec, q))
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// maxScan bounds the records a search or a summary reads: 20 pages of the
// host's largest.
const maxScan = 10000

// scan calls fn on the records of a query, newest first, and answers how
// many matched and whether it stopped at maxScan before the end.
func (c *call) scan(ctx context.Context, q plugin.RecordQuery, fn func(plugin.Record)) (int64, bool, error) {
	q.Newest, q.Limit = true, 500
	for q.Offset = 0; ; q.Offset += q.Limit {
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return 0, false, err
		}
		for _, rec := range page.Items {
			fn(rec)
		}
		seen := q.Offset + len(page.Items)
		if len(page.Items) < q.Limit || int64(seen) >= page.Total {
			return page.Total, false, nil
		}
		if seen >= maxScan {
			return page.Total, true, nil
		}
	}
}

// filter is what the feedback list is narrowed to.
type filter struct {
	Kind          string `json:"kind,omitempty"`
	Code          string `json:"code,omitempty"`
	Questionnaire string `json:"questionnaire,omitempty"`
	From          string `json:"from,omitempty"`
	To            string `json:"to,omitempty"`
	Keyword       string `json:"keyword,omitempty"`
}

var (
	filterKeys = []string{"kind", "code", "questionnaire", "from", "to", "keyword"}
	kinds      = map[string]string{"feedback": kindFeedback, kindFeedback: kindFeedback, "rating": kindRating, kindRating: kindRating,
		"answer": kindAnswer, kindAnswer: kindAnswer}
	tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// readFilter reads the list's filters, each as its own query parameter
// (the command line, the API) or as a "name:value" word of q (the console
// passes only q, pageNo and pageSize to a plugin); the other words of q
// are the keyword. It answers the host query they make.
func readFilter(req *plugin.Request) (filter, plugin.RecordQuery, error) {
	vals := map[string]string{}
	var words []string
	for _, w := range strings.Fields(req.QueryValue("q")) {
		if k, v, ok := strings.Cut(w, ":"); ok && slices.Contains(filterKeys, k) {
			vals[k] = v
			continue
		}
		words = append(words, w)
	}
	vals["keyword"] = strings.Join(words, " ")
	for _, k := range filterKeys {
		if s := strings.TrimSpace(req.QueryValue(k)); s != "" {
			vals[k] = s
		}
	}
	f := filter{Code: vals["code"], Questionnaire: vals["questionnaire"], From: vals["from"], To: vals["to"]}
	q := plugin.RecordQuery{Collection: colFeedback, CodeToken: f.Code, Where: map[string]any{}}
	var err error
	if f.Keyword, err = cleanText(vals["keyword"], "关键词", 50, false); err != nil {
		return f, q, err
	}
	if s := vals["kind"]; s != "" {
		if f.Kind = kinds[s]; f.Kind == "" {
			return f, q, invalid("kind 须为 意见（feedback）、评分（rating）或 问卷（answer）")
		}
		q.Where["kind"] = f.Kind
	}
	if f.Code != "" && !tokenRe.MatchString(f.Code) {
		return f, q, invalid("code 须为码的 token")
	}
	if f.Questionnaire != "" {
		if !recordIDRe.MatchString(f.Questionnaire) {
			return f, q, invalid("问卷编号格式不正确")
		}
		q.Where["questionnaire"] = f.Questionnaire
	}
	for _, d := range []struct {
		s   string
		t   *time.Time
		day int
	}{{f.From, &q.From, 0}, {f.To, &q.To, 1}} {
		if d.s == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.s, cst)
		if err != nil {
			return f, q, invalid("from 与 to 须为日期 YYYY-MM-DD（北京时间，含当天），如 2026-11-03")
		}
		*d.t = t.AddDate(0, 0, d.day)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return f, q, invalid("from 不能晚于 to")
	}
	return f, q, nil
}

// item is a submission in the operators' list. The contact phone is given
// in full so that the staff can call back; exports mask it.
type item struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	CreatedAt string `json:"createdAt"`
	entry
	Author string `json:"author,omitempty"` // hides the pseudonym
}

// listFeedback answers the submissions, newest first, filtered; a keyword
// is searched in the content, the place and the questionnaire's title of
// the newest maxScan matching records.
func listFeedback(ctx context.Context, c *call) (*plugin.Response, error) {
	f, q, err := readFilter(c.req)
	if err != nil {
		return nil, err
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"pageNo": no, "pageSize": size, "filter": f}
	items := []item{}
	add := func(rec plugin.Record) {
		it := item{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt)}
		decode(rec, &it.entry)
		items = append(items, it)
	}
	if f.Keyword == "" {
		q.Newest, q.Offset, q.Limit = true, (no-1)*size, size
		page, err := c.host.QueryRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			add(rec)
		}
		out["total"], out["items"] = page.Total, items
		return plugin.JSON(200, out)
	}
	kw := strings.ToLower(f.Keyword)
	var matched []plugin.Record
	_, truncated, err := c.scan(ctx, q, func(rec plugin.Record) {
		var e entry
		decode(rec, &e)
		if strings.Contains(strings.ToLower(e.Content+"\x00"+e.Place+"\x00"+e.QuestionnaireTitle), kw) {
			matched = append(matched, rec)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, rec := range matched[min(len(matched), (no-1)*size):min(len(matched), no*size)] {
		add(rec)
	}
	out["total"], out["items"], out["truncated"] = len(matched), items, truncated
	return plugin.JSON(200, out)
}

// Summaries.

type optionStat struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

type questionStat struct {
	ID       string       `json:"id"`
	Title    string       `json:"title"`
	Type     string       `json:"type"`
	Answered int          `json:"answered"`
	Options  []optionStat `json:"options,omitempty"`
	Texts    []string     `json:"texts,omitempty"` // the newest 20 text answers
}

// questionnaireSummary counts a questionnaire's answers (q=ID): per
// question how many answered it, per option how many chose it.
func questionnaireSummary(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, q, err := c.load(ctx, c.req.QueryValue("q"))
	if err != nil {
		return nil, err
	}
	stats := make([]questionStat, len(q.Questions))
	at := map[string]int{}
	for i, qu := range q.Questions {
		at[qu.ID] = i
		stats[i] = questionStat{ID: qu.ID, Title: qu.Title, Type: qu.Type}
		for _, o := range qu.Options {
			stats[i].Options = append(stats[i].Options, optionStat{ID: o.ID, Label: o.Label})
		}
	}
	total, truncated, err := c.scan(ctx, plugin.RecordQuery{Collection: colFeedback,
		Where: map[string]any{"kind": kindAnswer, "questionnaire": rec.ID}}, func(r plugin.Record) {
		var e entry
		decode(r, &e)
		for id, a := range e.Answers {
			i, ok := at[id]
			if !ok {
				continue
			}
			s := &stats[i]
			s.Answered++
			if s.Type == typeText {
				if len(s.Texts) < 20 && len(a) > 0 {
					s.Texts = append(s.Texts, a[0])
				}
				continue
			}
			for _, choice := range a {
				for k := range s.Options {
					if s.Options[k].ID == choice {
						s.Options[k].Count++
					}
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return plugin.JSON(200, map[string]any{"id": rec.ID, "title": q.Title, "status": q.Status, "version": q.Version,
		"answers": total, "truncated": truncated, "questions": stats})
}

type itemStat struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Count   int     `json:"count"`
	Average float64 `json:"average"`
	sum     int
}

// ratingSummary averages the ratings, of the platform or of one code
// (q=TOKEN): the overall score, and per item the number of ratings and
// the average stars. Items are the configured ones, then any that older
// ratings carry.
func ratingSummary(ctx context.Context, c *call) (*plugin.Response, error) {
	token := strings.TrimSpace(c.req.QueryValue("q"))
	if token != "" && !tokenRe.MatchString(token) {
		return nil, invalid("q 须为码的 token（不填为全平台）")
	}
	var stats []*itemStat
	byID := map[string]*itemStat{}
	for _, it := range c.cfg.RatingItems {
		s := &itemStat{ID: it.ID, Label: it.Label}
		stats, byID[it.ID] = append(stats, s), s
	}
	overall := 0.0
	total, truncated, err := c.scan(ctx, plugin.RecordQuery{Collection: colFeedback, CodeToken: token,
		Where: map[string]any{"kind": kindRating}}, func(r plugin.Record) {
		var e entry
		decode(r, &e)
		overall += e.Overall
		for _, sc := range e.Ratings {
			s := byID[sc.ID]
			if s == nil {
				s = &itemStat{ID: sc.ID, Label: sc.Label}
				stats, byID[sc.ID] = append(stats, s), s
			}
			s.Count++
			s.sum += sc.Stars
		}
	})
	if err != nil {
		return nil, err
	}
	round := func(x float64) float64 { return math.Round(x*100) / 100 }
	read := min(total, maxScan)
	out := map[string]any{"code": token, "ratings": total, "truncated": truncated, "overall": 0.0, "items": stats}
	if read > 0 {
		out["overall"] = round(overall / float64(read))
	}
	for _, s := range stats {
		if s.Count > 0 {
			s.Average = round(float64(s.sum) / float64(s.Count))
		}
	}
	return plugin.JSON(200, out)
}
