package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Message statuses: pending when posted; an operator publishes or
// rejects it, once.
const (
	statusPending   = "待审核"
	statusPublished = "已发布"
	statusRejected  = "已拒绝"
)

// maxContent bounds a message, in characters.
const maxContent = 500

// message is the document of the messages collection.
type message struct {
	Point      string `json:"point"`
	Content    string `json:"content"`
	Status     string `json:"status"`
	Author     string `json:"author,omitempty"`     // the pseudonym of a logged-in author
	AuthorName string `json:"authorName,omitempty"` // masked, when they authorized the scene
	Likes      int    `json:"likes"`
	Comments   int    `json:"comments"` // published comments; the landing page reads comments only when above zero
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

// checkMessage validates the message form: one content field of 1 to 500
// characters, nothing else.
func checkMessage(v url.Values) (string, error) { return checkContent(v, maxContent, "留言") }

// checkContent validates a form of one content field of 1 to max
// characters, nothing else; noun names it in the refusals (留言, 评论).
func checkContent(v url.Values, max int, noun string) (string, error) {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != "content" {
			return "", invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return "", invalid(noun + "内容只能填写一次")
		}
	}
	content := strings.TrimSpace(v.Get("content"))
	switch n := utf8.RuneCountInString(content); {
	case n == 0:
		return "", missing("请填写" + noun + "内容")
	case n > max:
		return "", invalid(noun + "不能超过 " + strconv.Itoa(max) + " 个字")
	case !utf8.ValidString(content) || strings.ContainsRune(content, 0):
		return "", invalid(noun + "含有无效字符")
	}
	return content, nil
}

// post stores a message as pending.
func post(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	content, err := checkMessage(v)
	if err != nil {
		return nil, err
	}
	m := message{Point: c.point, Content: content, Status: statusPending}
	if vis := c.req.Visitor; !vis.Tourist && vis.Pseudonym != "" {
		m.Author = vis.Pseudonym
		if vis.Authorized {
			m.AuthorName = vis.Name
		}
	}
	rec, err := c.put(ctx, "messages", "", c.req.Code.Token, m, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "message.posted", map[string]any{"messageId": rec.ID}); err != nil {
		c.host.Log(ctx, "warn", "message.posted event: "+err.Error())
	}
	return render(http.StatusCreated, postedPage, c, map[string]any{"ID": rec.ID})
}

// messageView is a message on a page, with its published comments.
type messageView struct {
	ID, Author, Time, Content string
	Likes                     int
	Comments                  []commentView
	CommentTotal              int64
}

// home is the landing page: the published messages of the code, newest
// first, each with its published comments and a comment form, and the
// form to leave a message.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "messages", CodeToken: c.req.Code.Token,
		Where: map[string]any{"status": statusPublished}, Newest: true, Limit: 50})
	if err != nil {
		return nil, err
	}
	var list []messageView
	for _, rec := range page.Items {
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		v := messageView{ID: rec.ID, Author: displayName(m.AuthorName), Time: rec.CreatedAt.In(cst).Format("2006-01-02 15:04"),
			Content: m.Content, Likes: m.Likes}
		if m.Comments > 0 {
			if v.Comments, v.CommentTotal, err = c.publishedComments(ctx, rec); err != nil {
				return nil, err
			}
		}
		list = append(list, v)
	}
	return render(200, homePage, c, map[string]any{"Messages": list, "Total": page.Total, "Max": maxContent,
		"MaxComment": maxComment, "ShownComments": shownComments, "Tourist": c.req.Visitor.Tourist})
}

// displayName is how an author appears on the page: their masked name if
// they authorized the scene, else 市民.
func displayName(authorName string) string {
	if authorName == "" {
		return "市民"
	}
	return authorName
}

// publishedMessage answers a published message of the scanned code; any
// other (missing, pending, rejected, another code's) is not found, so a
// page cannot tell them apart.
func (c *call) publishedMessage(ctx context.Context, id string) (*plugin.Record, error) {
	switch {
	case id == "":
		return nil, missing("请指定留言 id")
	case !idRe.MatchString(id):
		return nil, invalid("留言编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "messages", id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到该留言")
	}
	if err != nil {
		return nil, err
	}
	var m message
	_ = json.Unmarshal(rec.Doc, &m)
	if rec.CodeToken != c.req.Code.Token || m.Status != statusPublished {
		return nil, notFound("没有找到该留言")
	}
	return rec, nil
}

// like counts a logged-in citizen's like of a published message of the
// code, once: the like is a record named by the message and the citizen's
// pseudonym, created only if absent, so a second like is refused even
// from two pages at once. The message's count follows.
func like(ctx context.Context, c *call) (*plugin.Response, error) {
	id := c.req.QueryValue("id")
	rec, err := c.publishedMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(map[string]string{"message": id, "visitor": c.req.Visitor.Pseudonym})
	_, err = c.host.PutRecord(ctx, plugin.Record{Collection: "likes", ID: likeID(id, c.req.Visitor.Pseudonym), CodeToken: rec.CodeToken,
		Doc: b, IfAbsent: true})
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadyLiked", "您已经赞过这条留言")
	}
	if err != nil {
		return nil, err
	}
	if err := c.bump(ctx, rec, func(m *message) { m.Likes++ }); err != nil {
		return nil, err
	}
	return plugin.Redirect(c.req.BaseURL + "#m-" + id), nil
}

// likeID names a citizen's like of a message; message ids hold no ':'.
func likeID(messageID, pseudonym string) string { return messageID + ":" + pseudonym }

// bump changes a message's counters (likes, comments) against the
// version read, retrying when another like or comment changed it
// meanwhile (nothing else does: a published message is not reviewed
// again).
func (c *call) bump(ctx context.Context, rec *plugin.Record, change func(*message)) error {
	for range 8 {
		var m message
		_ = json.Unmarshal(rec.Doc, &m)
		change(&m)
		_, err := c.put(ctx, "messages", rec.ID, rec.CodeToken, m, rec.Version)
		if !plugin.IsCode(err, "FailedOperation.VersionConflict") {
			return err
		}
		if rec, err = c.host.GetRecord(ctx, "messages", rec.ID); err != nil {
			return err
		}
	}
	return conflict("Busy", "参与的人太多了，请稍后再试")
}
