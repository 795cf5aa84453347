package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Kinds are the feedback types a citizen picks from (反馈类型).
	Kinds []string `json:"kinds"`
	// StaleMinutes is how long a remaining-space count is shown as
	// current; older counts are flagged as possibly out of date.
	StaleMinutes int `json:"staleMinutes"`
	// Notice is shown above the feedback form.
	Notice string `json:"notice"`
}

// The defaults: the aspects the requirements name (environment, service,
// facilities), fees, and a catch-all.
var defaultKinds = []string{"环境", "服务", "设施", "收费", "其他"}

const (
	defaultStaleMinutes = 15
	defaultNotice       = "您的意见将转交停车场管理方处理；登录城市码 App 扫码反馈，可在本页查看处理回复。请勿填写与停车无关的个人隐私信息。"
)

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "停车指南的配置无法解析，请联系平台管理员"}
		}
	}
	if len(c.Kinds) == 0 {
		c.Kinds = defaultKinds
	}
	if c.StaleMinutes < 1 {
		c.StaleMinutes = defaultStaleMinutes
	}
	if c.Notice == "" {
		c.Notice = defaultNotice
	}
	return c, nil
}

// hasKind reports whether a feedback type is configured.
func (c config) hasKind(kind string) bool {
	for _, k := range c.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}
