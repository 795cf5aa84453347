package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// A well is what an object code stands for, from its attributes: the
// pre-issue and activation interfaces push them, the modify-attributes
// interface and approved applications change them.

// fieldKind says how a field's value is read and written.
type fieldKind int

const (
	text      fieldKind = iota // a string of at most max characters
	number                     // a positive number, shown with its unit
	longitude                  // −180 to 180
	latitude                   // −90 to 90
	list                       // several items (监测项目), shown joined by 、
)

// field is one attribute of a well. Key is its canonical attribute key,
// the name of its form field (f.{Key}) and its name in the configuration;
// aliases are the other keys a code's type may use for it, read in order
// after Key. An application writes the key the code already uses, so a
// code keyed in Chinese stays keyed in Chinese.
type field struct {
	Key     string
	Label   string
	aliases []string
	kind    fieldKind
	unit    string
	max     int // characters, for text and list
}

// fields are the attributes of a well, in the order of the pages.
var fields = []field{
	{Key: "wellNo", Label: "编号", aliases: []string{"编号", "监测井编号", "井编号"}, max: 64},
	{Key: "name", Label: "名称", aliases: []string{"名称", "监测井名称"}, max: 64},
	{Key: "address", Label: "位置", aliases: []string{"位置", "地址"}, max: 200},
	{Key: "lng", Label: "经度", aliases: []string{"longitude", "经度"}, kind: longitude},
	{Key: "lat", Label: "纬度", aliases: []string{"latitude", "纬度"}, kind: latitude},
	{Key: "wellType", Label: "类型", aliases: []string{"类型", "井类型", "监测井类型"}, max: 32},
	{Key: "depth", Label: "深度", aliases: []string{"深度", "井深"}, kind: number, unit: "米"},
	{Key: "ownerUnit", Label: "权属单位", aliases: []string{"权属单位"}, max: 100},
	{Key: "items", Label: "监测项目", aliases: []string{"监测项目"}, kind: list, max: 200},
	{Key: "status", Label: "状态", aliases: []string{"状态", "井状态"}, max: 16},
}

func fieldByKey(key string) *field {
	for i := range fields {
		if fields[i].Key == key {
			return &fields[i]
		}
	}
	return nil
}

// none is what a page shows for an attribute the code does not have.
const none = "暂无"

// well is an object code seen as a monitoring well.
type well struct {
	Title string
	No    string
	Rows  []row // the well's information, 暂无 where absent
	attrs map[string]any
	owner string // the code's owner unit, when no attribute names one
}

type row struct {
	Label, Value string
	Missing      bool
}

func wellOf(code *plugin.Code) well {
	var attrs map[string]any
	if len(code.Attributes) > 0 {
		_ = json.Unmarshal(code.Attributes, &attrs)
	}
	w := well{attrs: attrs, owner: strings.TrimSpace(code.OwnerUnit)}
	w.No, _ = w.current(fieldByKey("wellNo"))
	name, _ := w.current(fieldByKey("name"))
	switch {
	case name != "":
		w.Title = name
	case w.No != "":
		w.Title = "监测井 " + w.No
	default:
		w.Title = "监测井"
	}
	add := func(label, value string) {
		if value == "" {
			w.Rows = append(w.Rows, row{Label: label, Value: none, Missing: true})
			return
		}
		w.Rows = append(w.Rows, row{Label: label, Value: value})
	}
	for _, k := range []string{"wellNo", "address"} {
		v, _ := w.current(fieldByKey(k))
		add(fieldByKey(k).Label, v)
	}
	lng, _ := w.current(fieldByKey("lng"))
	lat, _ := w.current(fieldByKey("lat"))
	switch {
	case lng != "" && lat != "":
		add("经纬度", lng+", "+lat)
	case lng != "":
		add("经纬度", "经度 "+lng)
	case lat != "":
		add("经纬度", "纬度 "+lat)
	default:
		add("经纬度", "")
	}
	for _, k := range []string{"wellType", "depth", "ownerUnit", "items", "status"} {
		v, _ := w.current(fieldByKey(k))
		add(fieldByKey(k).Label, v)
	}
	return w
}

// current answers a field's value as shown, and the attribute key it is
// held under ("" when the code does not have it).
func (w well) current(f *field) (string, string) {
	for _, k := range append([]string{f.Key}, f.aliases...) {
		if v := display(w.attrs[k], f.unit); v != "" {
			return v, k
		}
	}
	if f.Key == "ownerUnit" && w.owner != "" {
		return w.owner, "" // the code's own owner unit: an application writes the attribute
	}
	return "", ""
}

// raw answers the attribute a field is held under, for its JSON type.
func (w well) raw(f *field) any {
	if _, k := w.current(f); k != "" {
		return w.attrs[k]
	}
	return nil
}

// display renders an attribute: strings as they are, numbers with the
// unit, booleans as 是/否, lists of scalars joined by 、; anything else is
// left out.
func display(v any, unit string) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if unit != "" {
			s += " " + unit
		}
		return s
	case bool:
		if x {
			return "是"
		}
		return "否"
	case []any:
		var parts []string
		for _, e := range x {
			if s := display(e, ""); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "、")
	}
	return ""
}

// home is the landing page: the well and what a visitor can do. Changes
// approved while the host could not write them are written first, so the
// page shows them.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	code, err := c.applyApproved(ctx)
	if err != nil {
		c.warn(ctx, "approved changes not yet written", err)
	}
	if code != nil {
		c.well = wellOf(code)
	}
	return render(200, homePage, c, map[string]any{"Editable": len(c.cfg.editable()) > 0})
}

// Values of an application.

var listSep = regexp.MustCompile(`[、,，;；\s]+`)

// parseValue reads the new value of a field as typed, and answers what
// is written to the code and how it is shown. old is the attribute the
// code holds now, whose JSON type a list keeps.
func parseValue(f *field, input string, choices []string, old any) (any, string, error) {
	input = strings.TrimSpace(input)
	name := "「" + f.Label + "」"
	if strings.IndexFunc(input, unicode.IsControl) >= 0 {
		return nil, "", invalid(name + "含有不可见的控制字符")
	}
	if len(choices) > 0 {
		if !contains(choices, input) {
			return nil, "", invalid(name + "须为以下之一：" + strings.Join(choices, "、"))
		}
		return input, input, nil
	}
	switch f.kind {
	case number:
		s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(input, "米"), "m"), "M"))
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > 10000 {
			return nil, "", invalid(name + "须为大于 0、不超过 10000 的数字（单位：" + f.unit + "）")
		}
		return v, display(v, f.unit), nil
	case longitude, latitude:
		limit := 180.0
		if f.kind == latitude {
			limit = 90
		}
		v, err := strconv.ParseFloat(input, 64)
		if err != nil || math.IsNaN(v) || v < -limit || v > limit {
			return nil, "", invalid(fmt.Sprintf("%s须为 -%g 到 %g 之间的数字", name, limit, limit))
		}
		return v, display(v, ""), nil
	case list:
		var items []string
		for _, s := range listSep.Split(input, -1) {
			if s != "" {
				items = append(items, s)
			}
		}
		shown := strings.Join(items, "、")
		if len(items) == 0 || utf8.RuneCountInString(shown) > f.max {
			return nil, "", invalid(fmt.Sprintf("%s须为 1–%d 个字，多项以顿号分隔", name, f.max))
		}
		if _, ok := old.([]any); ok {
			return items, shown, nil
		}
		return shown, shown, nil
	}
	if n := utf8.RuneCountInString(input); n == 0 || n > f.max {
		return nil, "", invalid(fmt.Sprintf("%s须为 1–%d 个字", name, f.max))
	}
	return input, input, nil
}
