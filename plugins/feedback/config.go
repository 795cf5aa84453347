package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// key is optional: loadConfig fills in the defaults.
type config struct {
	Title  string `json:"title"`
	Notice string `json:"notice"`
	// RatingItems are the sub-items of a rating (服务评分), in order.
	RatingItems []ratingItem `json:"ratingItems"`
	// Questionnaire, when set, is a questionnaire shown on every code of
	// the platform, besides those bound to the code itself.
	Questionnaire string `json:"questionnaire"`
}

// ratingItem is one sub-item of a rating: 1–5 stars and a text.
type ratingItem struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
}

const defaultTitle = "意见反馈"

// defaultItems are the rating items without configuration, as
// plugin.json's schema default says.
var defaultItems = []ratingItem{
	{ID: "attitude", Label: "服务态度", Required: true},
	{ID: "hygiene", Label: "环境卫生", Required: true},
	{ID: "efficiency", Label: "办事效率", Required: false},
}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; what still does not make
// sense (a repeated item id) is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	broken := &plugin.Error{Code: plugin.ErrInternal, Message: "意见反馈的配置有误，请联系平台管理员"}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, broken
		}
	}
	if c.Title == "" {
		c.Title = defaultTitle
	}
	if len(c.RatingItems) == 0 {
		c.RatingItems = defaultItems
	}
	seen := map[string]bool{}
	for _, it := range c.RatingItems {
		if it.ID == "" || it.Label == "" || seen[it.ID] {
			return c, broken
		}
		seen[it.ID] = true
	}
	return c, nil
}
