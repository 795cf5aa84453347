package main

import (
	"encoding/json"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Title heads every page (default 景点打卡).
	Title string `json:"title"`
	// Notice is shown above the check-in form.
	Notice string `json:"notice"`
	// Intro, Hours, Address and Cover are every spot's defaults, shown
	// where neither the spot's settings nor the code's attributes say.
	Intro   string `json:"intro"`
	Hours   string `json:"hours"`
	Address string `json:"address"`
	Cover   string `json:"cover"`
	// Modes are the check-in modes a spot allows unless its settings say
	// otherwise (default all three).
	Modes []string `json:"modes"`
	// Review holds check-ins for the staff's review (待审核) instead of
	// publishing them at once.
	Review bool `json:"review"`
	// TouristPosts lets citizens check in without logging in (default
	// true); likes always need a login.
	TouristPosts *bool `json:"touristPosts"`
}

const (
	defaultTitle  = "景点打卡"
	defaultNotice = "请文明打卡，勿上传他人肖像及个人隐私信息。"
)

// The check-in modes: a check-in with a video is a video check-in, one
// with a photo a photo check-in, and one with neither a text check-in.
// A spot allows a subset; leaving text out makes a photo or a video
// required.
const (
	modeText  = "text"
	modePhoto = "photo"
	modeVideo = "video"
)

// allModes are the modes in the order pages name them.
var allModes = []string{modeText, modePhoto, modeVideo}

// modeNames are the modes as citizens and exports read them.
var modeNames = map[string]string{modeText: "文字", modePhoto: "图片", modeVideo: "视频"}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode, or names an unknown mode, is the platform's fault, not the
// citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "景点打卡的配置无法解析，请联系平台管理员"}
		}
	}
	if c.Title == "" {
		c.Title = defaultTitle
	}
	if c.Notice == "" {
		c.Notice = defaultNotice
	}
	if len(c.Modes) == 0 {
		c.Modes = allModes
	} else if _, err := checkModes(c.Modes); err != nil {
		return c, &plugin.Error{Code: plugin.ErrInternal, Message: "景点打卡的配置有误（modes），请联系平台管理员"}
	}
	if c.TouristPosts == nil {
		yes := true
		c.TouristPosts = &yes
	}
	return c, nil
}

// checkModes validates a set of modes: one to three known ones, each
// once; it answers them in the canonical order.
func checkModes(modes []string) ([]string, error) {
	if len(modes) == 0 {
		return nil, missing("打卡方式 modes 至少选择一种：text（文字）、photo（图片）、video（视频）")
	}
	seen := map[string]bool{}
	for _, m := range modes {
		if modeNames[m] == "" {
			return nil, invalid("未知的打卡方式：" + m + "；可选 text（文字）、photo（图片）、video（视频）")
		}
		if seen[m] {
			return nil, invalid("打卡方式 " + m + " 重复")
		}
		seen[m] = true
	}
	var out []string
	for _, m := range allModes {
		if seen[m] {
			out = append(out, m)
		}
	}
	return out, nil
}

// describeModes names modes for a page: 文字、图片.
func describeModes(modes []string) string {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = modeNames[m]
	}
	return strings.Join(names, "、")
}
