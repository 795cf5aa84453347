package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Check-in statuses: published at once, or pending when the platform
// reviews check-ins; the staff publish or reject a pending one, and take
// a published one down, once.
const (
	statusPending   = "待审核"
	statusPublished = "已发布"
	statusRejected  = "已拒绝"
	statusTakenDown = "已下架"
)

// Bounds of a check-in: its text in characters, its photo or video in
// bytes (the host stores files of at most 5 MB and takes landing forms of
// at most 6 MB).
const (
	maxText  = 500
	maxMedia = 5 << 20
	perPage  = 20
)

// post is a check-in (打卡内容), the document of the posts collection.
type post struct {
	Spot       string `json:"spot"`
	Text       string `json:"text"`
	Mode       string `json:"mode"` // 文字, 图片 or 视频
	Media      string `json:"media,omitempty"`
	MediaType  string `json:"mediaType,omitempty"`
	Status     string `json:"status"`
	Author     string `json:"author,omitempty"`     // the pseudonym of a logged-in author
	AuthorName string `json:"authorName,omitempty"` // masked, when they authorized the scene
	Likes      int    `json:"likes"`
	Reviewer   string `json:"reviewer,omitempty"`
	ReviewedAt string `json:"reviewedAt,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
}

// checkPost validates a check-in against the spot's modes: one text field
// of at most 500 characters, and the mode the media makes (video, photo,
// or text without one) among the allowed. It answers the text and mode.
func checkPost(v url.Values, media *plugin.Image, modes []string) (string, string, error) {
	for name, vals := range v {
		if name != "text" {
			return "", "", invalid("未知的表单字段：" + name)
		}
		if len(vals) > 1 {
			return "", "", invalid("打卡描述只能填写一次")
		}
	}
	text := strings.TrimSpace(v.Get("text"))
	switch {
	case len([]rune(text)) > maxText:
		return "", "", invalid("打卡描述不能超过 500 个字")
	case !plainText(text, true):
		return "", "", invalid("打卡描述含有无效字符")
	}
	mode := modeText
	if media != nil {
		mode = modePhoto
		if media.IsVideo() {
			mode = modeVideo
		}
	}
	if !slices.Contains(modes, mode) {
		if mode == modeText {
			var need []string
			for _, m := range modes {
				need = append(need, modeNames[m])
			}
			return "", "", missing("本景点须上传" + strings.Join(need, "或") + "打卡")
		}
		return "", "", invalid("本景点不支持" + modeNames[mode] + "打卡，仅支持" + describeModes(modes) + "打卡")
	}
	if mode == modeText && text == "" {
		return "", "", missing("请填写打卡描述")
	}
	return text, mode, nil
}

// checkIn stores a check-in: published, or pending when the platform
// reviews check-ins.
func checkIn(ctx context.Context, c *call) (*plugin.Response, error) {
	vis := c.req.Visitor
	tourist := vis.Tourist || vis.Pseudonym == ""
	if tourist && !*c.cfg.TouristPosts {
		return nil, denied("打卡需登录：请在城市码 App 中扫码后登录")
	}
	f, err := plugin.ReadForm(c.req, plugin.FormOptions{ImageField: "media", MaxImage: maxMedia, Video: true})
	if err != nil {
		return nil, err
	}
	text, mode, err := checkPost(f.Values, f.Image, c.spot.Modes)
	if err != nil {
		return nil, err
	}
	p := post{Spot: c.spot.Name, Text: text, Mode: modeNames[mode], Status: statusPublished}
	if c.cfg.Review {
		p.Status = statusPending
	}
	if f.Image != nil {
		file, err := c.host.PutFile(ctx, f.Image.Name, f.Image.ContentType, f.Image.Data)
		if err != nil {
			return nil, err
		}
		p.Media, p.MediaType = file.URL, f.Image.ContentType
	}
	if !tourist {
		p.Author = vis.Pseudonym
		if vis.Authorized {
			p.AuthorName = vis.Name
		}
	}
	rec, err := c.put(ctx, "posts", "", c.req.Code.Token, p, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "checkin.posted", map[string]any{"postId": rec.ID, "mode": mode, "status": p.Status}); err != nil {
		c.warn(ctx, "checkin.posted event", err)
	}
	return render(http.StatusCreated, postedPage, c, map[string]any{"ID": rec.ID, "Status": p.Status})
}

// postView is a check-in on a page.
type postView struct {
	post
	ID, Who, Time string
	Video         bool
}

func viewOf(rec plugin.Record) postView {
	v := postView{ID: rec.ID, Time: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
	decode(rec, &v.post)
	v.Video = strings.HasPrefix(v.MediaType, "video/")
	switch {
	case v.AuthorName != "":
		v.Who = v.AuthorName
	case v.Author != "":
		v.Who = "市民"
	default:
		v.Who = "游客"
	}
	return v
}

// home is the landing page: the spot, the check-in form as the spot's
// modes allow, and its published check-ins, newest first, a page at a
// time (?page=).
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	no := 1
	if s := c.req.QueryValue("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, invalid("页码须为 1–1000 的整数")
		}
		no = n
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "posts", CodeToken: c.req.Code.Token,
		Where: map[string]any{"status": statusPublished}, Newest: true, Offset: (no - 1) * perPage, Limit: perPage})
	if err != nil {
		return nil, err
	}
	var list []postView
	for _, rec := range page.Items {
		list = append(list, viewOf(rec))
	}
	var accept, label []string
	if slices.Contains(c.spot.Modes, modePhoto) {
		accept, label = append(accept, "image/jpeg,image/png,image/webp,image/gif"), append(label, "图片")
	}
	if slices.Contains(c.spot.Modes, modeVideo) {
		accept, label = append(accept, "video/mp4,video/webm"), append(label, "视频")
	}
	data := map[string]any{"Posts": list, "Total": page.Total, "Max": maxText, "Accept": strings.Join(accept, ","),
		"MediaLabel": strings.Join(label, "或"), "MediaRequired": !slices.Contains(c.spot.Modes, modeText),
		"VideoOK": slices.Contains(c.spot.Modes, modeVideo), "Tourist": c.req.Visitor.Tourist,
		"CanPost": !c.req.Visitor.Tourist || *c.cfg.TouristPosts, "Review": c.cfg.Review}
	if no > 1 {
		data["Prev"] = no - 1
	}
	if int64(no*perPage) < page.Total {
		data["Next"] = no + 1
	}
	return render(200, homePage, c, data)
}

// postIDRe matches the ids the host gives check-ins. They hold no ':',
// so a like's id (post:pseudonym) cannot be forged from a post's id.
var postIDRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

// findPublished reads a published check-in of the request's code; any
// other is not found, whatever id is typed.
func (c *call) findPublished(ctx context.Context, id string) (*plugin.Record, error) {
	switch {
	case id == "":
		return nil, missing("请指定打卡编号 id")
	case !postIDRe.MatchString(id):
		return nil, invalid("打卡编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "posts", id)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到该打卡内容")
	}
	if err != nil {
		return nil, err
	}
	var p post
	decode(*rec, &p)
	if rec.CodeToken != c.req.Code.Token || p.Status != statusPublished {
		return nil, notFound("没有找到该打卡内容")
	}
	return rec, nil
}

// showPost is one published check-in in full (/post?id=).
func showPost(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, err := c.findPublished(ctx, c.req.QueryValue("id"))
	if err != nil {
		return nil, err
	}
	return render(200, postPage, c, map[string]any{"Post": viewOf(*rec), "Tourist": c.req.Visitor.Tourist})
}

// like counts a logged-in citizen's like of a published check-in of the
// code, once: the like is a record named by the check-in and the
// citizen's pseudonym, created only if absent, so a second like is
// refused even from two pages at once. The check-in's count follows.
func like(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, err := c.findPublished(ctx, c.req.QueryValue("id"))
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(map[string]string{"post": rec.ID, "visitor": c.req.Visitor.Pseudonym})
	_, err = c.host.PutRecord(ctx, plugin.Record{Collection: "likes", ID: likeID(rec.ID, c.req.Visitor.Pseudonym),
		CodeToken: rec.CodeToken, Doc: doc, IfAbsent: true})
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("AlreadyLiked", "您已经赞过这条打卡")
	}
	if err != nil {
		return nil, err
	}
	if err := c.countLike(ctx, rec); err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "checkin.liked", map[string]any{"postId": rec.ID}); err != nil {
		c.warn(ctx, "checkin.liked event", err)
	}
	return plugin.Redirect(c.req.BaseURL + "/post?id=" + rec.ID), nil
}

// likeID names a citizen's like of a check-in; check-in ids hold no ':'.
func likeID(postID, pseudonym string) string { return postID + ":" + pseudonym }

// countLike adds one to the check-in's count, against the version read,
// retrying when another like or a review changed it meanwhile; a
// check-in taken down meanwhile keeps its count.
func (c *call) countLike(ctx context.Context, rec *plugin.Record) error {
	for range 8 {
		var p post
		decode(*rec, &p)
		if p.Status != statusPublished {
			return nil
		}
		p.Likes++
		_, err := c.put(ctx, "posts", rec.ID, rec.CodeToken, p, rec.Version)
		if !plugin.IsCode(err, "FailedOperation.VersionConflict") {
			return err
		}
		if rec, err = c.host.GetRecord(ctx, "posts", rec.ID); err != nil {
			return err
		}
	}
	return conflict("Busy", "点赞的人太多了，请稍后再试")
}
