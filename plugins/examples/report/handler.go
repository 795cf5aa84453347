package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

type handler struct{}

func (handler) Handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "form":
		return plugin.RenderHTML(200, formPage, req)
	case "submit":
		return submit(ctx, host, req)
	case "status":
		return status(ctx, host, req)
	case "admin-status":
		return setStatus(ctx, host, req)
	}
	return plugin.HTML(404, "not found"), nil
}

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>问题上报</title></head>
<body><h1>问题上报</h1><p>{{.Code.TypeName}} {{.Code.Number}}</p>
<form method="post" action="{{.BaseURL}}/submit" enctype="multipart/form-data">
<textarea name="text" maxlength="500" required></textarea><input type="file" name="photo" accept="image/*"><button>提交</button></form>
</body></html>`))

var donePage = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>已提交</title></head>
<body><h1>已提交</h1><p>上报编号：<span id="report-id">{{.ID}}</span></p><p>状态：{{.Status}}</p></body></html>`))

type report struct {
	Text   string `json:"text"`
	Photo  string `json:"photo,omitempty"`
	Status string `json:"status"`
}

func submit(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	text, photo, err := parseForm(req)
	if err != nil {
		return nil, err
	}
	r := report{Text: text, Status: "已受理"}
	if photo != nil {
		f, err := host.PutFile(ctx, photo.name, photo.contentType, photo.data)
		if err != nil {
			return nil, err
		}
		r.Photo = f.URL
	}
	doc, _ := json.Marshal(r)
	rec, err := host.PutRecord(ctx, plugin.Record{Collection: "reports", CodeToken: req.Code.Token, Doc: doc})
	if err != nil {
		return nil, err
	}
	to := req.Code.OwnerUnit
	if to == "" {
		to = "operator"
	}
	if _, err := host.Notify(ctx, plugin.Notification{Template: "report.created", To: to,
		Params: map[string]string{"reportId": rec.ID, "code": req.Code.Token}}); err != nil {
		return nil, err
	}
	if err := host.Event(ctx, "report.created", map[string]string{"reportId": rec.ID}); err != nil {
		return nil, err
	}
	return plugin.RenderHTML(http.StatusCreated, donePage, map[string]string{"ID": rec.ID, "Status": r.Status})
}

func status(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	id := req.QueryValue("id")
	if id == "" {
		return nil, &plugin.Error{Code: "MissingParameter", Message: "请提供上报编号 id"}
	}
	rec, err := host.GetRecord(ctx, "reports", id)
	if err != nil {
		return nil, err
	}
	if rec.CodeToken != req.Code.Token {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "没有该上报"}
	}
	var r report
	_ = json.Unmarshal(rec.Doc, &r)
	return plugin.RenderHTML(200, donePage, map[string]string{"ID": rec.ID, "Status": r.Status})
}

type upload struct {
	name, contentType string
	data              []byte
}

const maxPhoto = 4 << 20

func parseForm(req *plugin.Request) (string, *upload, error) {
	bad := func(msg string) error { return &plugin.Error{Code: plugin.ErrInvalid, Message: msg} }
	mt, params, err := mime.ParseMediaType(req.Header["Content-Type"])
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, bad("请以 multipart/form-data 提交")
	}
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	var text string
	var photo *upload
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, bad("表单无法解析")
		}
		b, err := io.ReadAll(io.LimitReader(part, maxPhoto+1))
		if err != nil || len(b) > maxPhoto {
			return "", nil, bad("照片不能超过 4 MB")
		}
		switch part.FormName() {
		case "text":
			text = strings.TrimSpace(string(b))
		case "photo":
			if len(b) > 0 {
				photo = &upload{name: part.FileName(), contentType: http.DetectContentType(b), data: b}
			}
		}
	}
	if text == "" || utf8.RuneCountInString(text) > 500 {
		return "", nil, bad("问题描述须为 1–500 个字")
	}
	if photo != nil && !strings.HasPrefix(photo.contentType, "image/") {
		return "", nil, bad("照片须为图片")
	}
	if photo != nil && photo.name == "" {
		photo.name = "photo"
	}
	return text, photo, nil
}

// setStatus is the operator's side: a report is handled (处理中, 已办结),
// and the citizen sees it on the status page.
func setStatus(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	var in struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil || in.ID == "" {
		return nil, &plugin.Error{Code: "MissingParameter", Message: "请提供上报编号 id"}
	}
	if in.Status != "处理中" && in.Status != "已办结" {
		return nil, &plugin.Error{Code: plugin.ErrInvalid, Message: "状态须为 处理中 或 已办结"}
	}
	rec, err := host.GetRecord(ctx, "reports", in.ID)
	if err != nil {
		return nil, err
	}
	var r report
	_ = json.Unmarshal(rec.Doc, &r)
	r.Status = in.Status
	doc, _ := json.Marshal(r)
	if _, err := host.PutRecord(ctx, plugin.Record{Collection: "reports", ID: rec.ID, CodeToken: rec.CodeToken, Doc: doc, Version: rec.Version}); err != nil {
		return nil, err
	}
	if err := host.Audit(ctx, "report.status", "report:"+rec.ID, map[string]string{"status": in.Status, "operator": req.Operator.Account}); err != nil {
		return nil, err
	}
	return plugin.JSON(200, map[string]string{"id": rec.ID, "status": in.Status})
}
