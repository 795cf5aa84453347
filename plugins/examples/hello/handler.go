package main

import (
	"context"
	"encoding/json"
	"html/template"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

type handler struct{}

func (handler) Handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "home":
		return home(ctx, host, req)
	case "message":
		return message(ctx, host, req)
	}
	return plugin.HTML(404, "not found"), nil
}

var page = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{{.Greeting}}</title></head>
<body><h1>{{.Greeting}}</h1>
<p>对象类型：{{.Code.TypeName}}　统一编号：{{.Code.Number}}</p>
<p>第 {{.Visits}} 次访问</p>
<form method="post" action="{{.Base}}/message"><input name="text" maxlength="200" required><button>留言</button></form>
<ul>{{range .Messages}}<li>{{.}}</li>{{end}}</ul>
</body></html>`))

type config struct {
	Greeting string `json:"greeting"`
}

func home(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	var cfg config
	_ = json.Unmarshal(req.Config, &cfg)
	if cfg.Greeting == "" {
		cfg.Greeting = "欢迎扫码"
	}
	visits, err := countVisit(ctx, host, req.Code.Token)
	if err != nil {
		return nil, err
	}
	msgs, err := host.QueryRecords(ctx, plugin.RecordQuery{Collection: "messages", CodeToken: req.Code.Token, Newest: true, Limit: 10})
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, m := range msgs.Items {
		var d struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(m.Doc, &d)
		texts = append(texts, d.Text)
	}
	return plugin.RenderHTML(200, page, map[string]any{"Greeting": cfg.Greeting, "Code": req.Code, "Visits": visits,
		"Messages": texts, "Base": req.BaseURL})
}

// countVisit increments the code's visit counter, retrying when another
// visit updated it at the same time (optimistic concurrency).
func countVisit(ctx context.Context, host *plugin.Host, token string) (int, error) {
	for range 5 {
		n, version := 0, int64(0)
		rec, err := host.GetRecord(ctx, "visits", token)
		switch {
		case err == nil:
			var d struct {
				N int `json:"n"`
			}
			_ = json.Unmarshal(rec.Doc, &d)
			n, version = d.N, rec.Version
		case !plugin.IsCode(err, plugin.ErrNotFound):
			return 0, err
		}
		doc, _ := json.Marshal(map[string]int{"n": n + 1})
		_, err = host.PutRecord(ctx, plugin.Record{Collection: "visits", ID: token, CodeToken: token, Doc: doc, Version: version})
		if err == nil {
			return n + 1, nil
		}
		if !plugin.IsCode(err, "FailedOperation") {
			return 0, err
		}
	}
	return 0, &plugin.Error{Code: "FailedOperation.Busy", Message: "too many concurrent visits, try again"}
}

func message(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, &plugin.Error{Code: plugin.ErrInvalid, Message: "表单无法解析"}
	}
	text := strings.TrimSpace(form.Get("text"))
	if text == "" || utf8.RuneCountInString(text) > 200 {
		return nil, &plugin.Error{Code: plugin.ErrInvalid, Message: "留言须为 1–200 个字"}
	}
	doc, _ := json.Marshal(map[string]string{"text": text})
	if _, err := host.PutRecord(ctx, plugin.Record{Collection: "messages", CodeToken: req.Code.Token, Doc: doc}); err != nil {
		return nil, err
	}
	if err := host.Event(ctx, "message.created", nil); err != nil {
		return nil, err
	}
	return plugin.Redirect(req.BaseURL), nil
}
