package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Fields are the well's attributes an update request may change, by
	// key (wellNo, name, address, lng, lat, wellType, depth, ownerUnit,
	// items, status); default defaultFields. The well's number and name
	// identify it and are not open by default.
	Fields []string `json:"fields"`
	// Statuses are the values 状态 may take; default defaultStatuses.
	Statuses []string `json:"statuses"`
	// WellTypes, when set, are the values 类型 may take; without it the
	// type is free text.
	WellTypes []string `json:"wellTypes"`
	// Reviewers receive the notification of a new application; default
	// the code's owner unit, else "operator".
	Reviewers string `json:"reviewers"`
	// MaxPending bounds one visitor's pending applications on one well
	// (default 3): enough to correct several things, too few to flood the
	// reviewers.
	MaxPending int `json:"maxPending"`
}

var (
	defaultFields   = []string{"address", "lng", "lat", "wellType", "depth", "ownerUnit", "items", "status"}
	defaultStatuses = []string{"正常", "停用", "损坏", "已封井"}
)

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode, or names a field this version does not know, is the platform's
// fault, not the visitor's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "一码核查的配置无法解析，请联系平台管理员"}
		}
	}
	if len(c.Fields) == 0 {
		c.Fields = defaultFields
	}
	for _, f := range c.Fields {
		if fieldByKey(f) == nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "一码核查的配置含未知字段 " + f + "，请联系平台管理员"}
		}
	}
	if len(c.Statuses) == 0 {
		c.Statuses = defaultStatuses
	}
	if c.MaxPending < 1 {
		c.MaxPending = 3
	}
	return c, nil
}

// editable answers the fields an application may change, in the page's
// order.
func (c config) editable() []*field {
	var out []*field
	for i := range fields {
		if contains(c.Fields, fields[i].Key) {
			out = append(out, &fields[i])
		}
	}
	return out
}

// choices answers the values a field may take, or nil for free input.
func (c config) choices(f *field) []string {
	switch f.Key {
	case "status":
		return c.Statuses
	case "wellType":
		return c.WellTypes
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
