package main

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Feedback statuses: pending when submitted; staff handle it once, with a
// reply.
const (
	statusPending = "待处理"
	statusHandled = "已处理"
)

// maxContent bounds feedback, in characters.
const maxContent = 500

// Photos: 4 MB is what a phone photo needs (the host takes landing forms
// up to 6 MB and files up to 5 MB).
const (
	maxPhoto = 4 << 20
	maxField = 8 << 10
)

// feedback is a citizen's feedback (反馈), the document of the feedback
// collection. Name and Mobile arrive masked from the host, and only when
// the citizen authorized the scene.
type feedback struct {
	Lot       string `json:"lot"`
	Kind      string `json:"kind"`
	Content   string `json:"content"`
	Photo     string `json:"photo,omitempty"`
	Status    string `json:"status"`
	Submitter string `json:"submitter,omitempty"` // the logged-in citizen's pseudonym; tourists submit anonymously
	Name      string `json:"name,omitempty"`
	Mobile    string `json:"mobile,omitempty"`
	Reply     string `json:"reply,omitempty"`
	RepliedBy string `json:"repliedBy,omitempty"`
	RepliedAt string `json:"repliedAt,omitempty"`
}

// feedbackFields are the fields of the form (and photo, the file); others
// are refused, so a page cannot slip in a name, a mobile or a status.
var feedbackFields = []string{"kind", "content", "anonymous"}

// checkFeedback validates the form: a configured kind, 1–500 characters
// of content, and whether the citizen leaves their name off.
func checkFeedback(v url.Values, cfg config) (kind, content string, anonymous bool, err error) {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !oneOf(feedbackFields, name) {
			return "", "", false, invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return "", "", false, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	kind = strings.TrimSpace(v.Get("kind"))
	switch {
	case kind == "":
		return "", "", false, missing("请选择反馈类型")
	case !cfg.hasKind(kind):
		return "", "", false, invalid("反馈类型须为 " + strings.Join(cfg.Kinds, "、") + " 之一")
	}
	if content, err = text("反馈内容", v.Get("content"), maxContent, true); err != nil {
		return "", "", false, err
	}
	if content == "" {
		return "", "", false, missing("请填写反馈内容")
	}
	switch v.Get("anonymous") {
	case "":
	case "1", "on", "true":
		anonymous = true
	default:
		return "", "", false, invalid("anonymous 须为 1 或不填")
	}
	return kind, content, anonymous, nil
}

// submitter is who the feedback is from: a tourist is anonymous; a
// logged-in citizen is their pseudonym, with the masked name and mobile
// the host gives (visitor.read) when they authorized the scene. Nothing
// of it comes from the form. When visitor.read fails, the request's own
// visitor (which the host filled the same way) stands in: the citizen's
// feedback is not lost to it.
func (c *call) submitter(ctx context.Context) *plugin.VisitorDetails {
	v := c.req.Visitor
	if v.Tourist || v.Pseudonym == "" {
		return nil
	}
	d, err := c.host.Visitor(ctx)
	if err != nil {
		c.warn(ctx, "visitor.read", err)
		return &plugin.VisitorDetails{Visitor: v}
	}
	if d.Pseudonym != v.Pseudonym {
		// The request's visitor is who is served; a different answer
		// must not name someone else.
		return &plugin.VisitorDetails{Visitor: v}
	}
	return d
}

func feedbackForm(ctx context.Context, c *call) (*plugin.Response, error) {
	who := c.submitter(ctx)
	name := codeName(c.req.Code)
	if n, err := c.lotName(ctx, c.req.Code); err == nil {
		name = n
	}
	return render(200, feedbackPage, c, map[string]any{"Name": name, "Kinds": c.cfg.Kinds, "Max": maxContent, "Who": who})
}

// submitFeedback stores feedback as pending, with its photo.
func submitFeedback(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := plugin.ReadForm(c.req, plugin.FormOptions{MaxField: maxField, ImageField: "photo", MaxImage: maxPhoto})
	if err != nil {
		return nil, err
	}
	kind, content, anonymous, err := checkFeedback(f.Values, c.cfg)
	if err != nil {
		return nil, err
	}
	who := c.submitter(ctx)
	name, err := c.lotName(ctx, c.req.Code)
	if err != nil {
		return nil, err
	}
	fb := feedback{Lot: name, Kind: kind, Content: content, Status: statusPending}
	if who != nil {
		fb.Submitter = who.Pseudonym
		if who.Authorized && !anonymous {
			fb.Name, fb.Mobile = who.Name, who.Mobile
		}
	}
	if f.Image != nil {
		file, err := c.host.PutFile(ctx, f.Image.Name, f.Image.ContentType, f.Image.Data)
		if err != nil {
			return nil, err
		}
		fb.Photo = file.URL
	}
	rec, err := c.put(ctx, "feedback", "", c.req.Code.Token, fb, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "feedback.submitted", map[string]any{"feedbackId": rec.ID, "kind": kind, "photo": fb.Photo != "",
		"anonymous": fb.Submitter == ""}); err != nil {
		c.warn(ctx, "feedback.submitted event", err)
	}
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Name": name, "ID": rec.ID, "Known": fb.Submitter != ""})
}

// feedbackView is feedback on the citizen's page.
type feedbackView struct {
	feedback
	ID, Created, Replied string
}

// myFeedback is the logged-in citizen's feedback on this code, newest
// first.
func (c *call) myFeedback(ctx context.Context) ([]feedbackView, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "feedback", CodeToken: c.req.Code.Token,
		Where: map[string]any{"submitter": c.req.Visitor.Pseudonym}, Newest: true, Limit: 10})
	if err != nil {
		return nil, err
	}
	var out []feedbackView
	for _, rec := range page.Items {
		v := feedbackView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
		decode(rec, &v.feedback)
		v.Replied = readable(v.RepliedAt)
		out = append(out, v)
	}
	return out, nil
}
