package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// key is optional: loadConfig fills in the defaults.
type config struct {
	Title  string  `json:"title"`
	Notice string  `json:"notice"`
	Fields []field `json:"fields"`
	// Fence, when set, restricts registration to a circle around the
	// point; nil: anywhere.
	Fence *fence `json:"fence"`
}

// field is one item of the registration form. Key names the column it is
// stored in (the collection's fields are fixed, so that exports have
// stable columns); Label and Type default by key.
type field struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	Type     string `json:"type"` // text, tel (an 11-digit mobile number) or number
}

// fence is a circle: its centre (WGS-84 degrees) and radius in metres.
type fence struct {
	Lat    float64 `json:"lat"`
	Lng    float64 `json:"lng"`
	Radius float64 `json:"radius"`
}

// Field types.
const (
	typeText   = "text"
	typeTel    = "tel"
	typeNumber = "number"
)

// known are the keys a form field may have, with their default label and
// type, in the order of the collection's columns.
var known = []field{
	{Key: "name", Label: "姓名", Type: typeText},
	{Key: "mobile", Label: "手机号", Type: typeTel},
	{Key: "company", Label: "单位", Type: typeText},
	{Key: "purpose", Label: "来访事由", Type: typeText},
	{Key: "host", Label: "被访人", Type: typeText},
	{Key: "count", Label: "来访人数", Type: typeNumber},
	{Key: "plate", Label: "车牌号", Type: typeText},
	{Key: "note", Label: "备注", Type: typeText},
}

// defaultFields is the form without configuration, as plugin.json's
// schema default says.
var defaultFields = []field{
	{Key: "name", Label: "姓名", Required: true, Type: typeText},
	{Key: "mobile", Label: "手机号", Required: true, Type: typeTel},
	{Key: "company", Label: "单位", Type: typeText},
	{Key: "purpose", Label: "来访事由", Required: true, Type: typeText},
	{Key: "host", Label: "被访人", Type: typeText},
}

const defaultTitle = "访客登记"

func knownField(key string) (field, bool) {
	for _, f := range known {
		if f.Key == key {
			return f, true
		}
	}
	return field{}, false
}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; what still does not make
// sense (an unknown or repeated key) is the platform's fault, not the
// visitor's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	broken := &plugin.Error{Code: plugin.ErrInternal, Message: "访客登记的配置有误，请联系平台管理员"}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, broken
		}
	}
	if c.Title == "" {
		c.Title = defaultTitle
	}
	if len(c.Fields) == 0 {
		c.Fields = append([]field(nil), defaultFields...)
	}
	seen := map[string]bool{}
	for i := range c.Fields {
		f := &c.Fields[i]
		k, ok := knownField(f.Key)
		if !ok || seen[f.Key] {
			return c, broken
		}
		seen[f.Key] = true
		if f.Label == "" {
			f.Label = k.Label
		}
		if f.Type == "" {
			f.Type = k.Type
		}
		if f.Type != typeText && f.Type != typeTel && f.Type != typeNumber {
			return c, broken
		}
	}
	if c.Fence != nil && (c.Fence.Radius <= 0 || c.Fence.Lat < -90 || c.Fence.Lat > 90 || c.Fence.Lng < -180 || c.Fence.Lng > 180) {
		return c, broken
	}
	return c, nil
}
