package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Comments (留言评论): a citizen comments under a published message of the
// code. Comments follow the messages' rule: tourists may comment, and
// every comment waits for review (待审核 → 已发布 or 已拒绝, once), so
// nothing anyone writes is public before the staff saw it.

// maxComment bounds a comment, in characters.
const maxComment = 200

// shownComments bounds the comments the landing page shows per message:
// the latest ones, with the count of all.
const shownComments = 20

// comment is the document of the comments collection.
type comment struct {
	Message    string `json:"message"` // the id of the message commented on
	Point      string `json:"point"`
	Content    string `json:"content"`
	Status     string `json:"status"`
	Author     string `json:"author,omitempty"`     // the pseudonym of a logged-in author
	AuthorName string `json:"authorName,omitempty"` // masked, when they authorized the scene
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

// postComment stores a comment on a published message of the scanned
// code as pending. A message not published, or of another code, is not
// found; nothing is stored on any refusal.
func postComment(ctx context.Context, c *call) (*plugin.Response, error) {
	id := c.req.QueryValue("id")
	if id != "" && !idRe.MatchString(id) {
		return nil, invalid("留言编号格式不正确")
	}
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	content, err := checkContent(v, maxComment, "评论")
	if err != nil {
		return nil, err
	}
	msg, err := c.publishedMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	cm := comment{Message: msg.ID, Point: c.point, Content: content, Status: statusPending}
	if vis := c.req.Visitor; !vis.Tourist && vis.Pseudonym != "" {
		cm.Author = vis.Pseudonym
		if vis.Authorized {
			cm.AuthorName = vis.Name
		}
	}
	rec, err := c.put(ctx, "comments", "", msg.CodeToken, cm, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "comment.posted", map[string]any{"commentId": rec.ID, "messageId": msg.ID}); err != nil {
		c.host.Log(ctx, "warn", "comment.posted event: "+err.Error())
	}
	return render(http.StatusCreated, commentedPage, c, map[string]any{"ID": rec.ID, "Message": msg.ID})
}

// commentView is a comment on a page.
type commentView struct {
	ID, Author, Time, Content string
}

// publishedComments answers a message's latest published comments, oldest
// first, and how many it has.
func (c *call) publishedComments(ctx context.Context, msg plugin.Record) ([]commentView, int64, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "comments", CodeToken: msg.CodeToken,
		Where: map[string]any{"message": msg.ID, "status": statusPublished}, Newest: true, Limit: shownComments})
	if err != nil {
		return nil, 0, err
	}
	var out []commentView
	for _, rec := range page.Items {
		var cm comment
		_ = json.Unmarshal(rec.Doc, &cm)
		out = append(out, commentView{ID: rec.ID, Author: displayName(cm.AuthorName), Time: rec.CreatedAt.In(cst).Format("2006-01-02 15:04"),
			Content: cm.Content})
	}
	slices.Reverse(out)
	return out, page.Total, nil
}
