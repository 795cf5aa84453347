package main

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// A shop is what a code stands for, from its attributes: the pre-issue
// and activation interfaces push them (一物一码), the enterprise code
// carries its own (一企一码), and inspectors' corrections change them.

// field is one attribute of a shop. Key is its canonical attribute key and
// the name of its form field (f.{Key}); aliases are the other keys a code's
// type may use for it, read in order after Key. A correction writes the key
// the code already uses. Public fields are shown to everyone; the others
// (the operator's name and phone, licences, premises) to the shop's
// merchant and to inspectors only.
type field struct {
	Key     string
	Label   string
	aliases []string
	public  bool
	list    bool // several items (许可信息), shown joined by 、
	max     int  // characters
}

// fields are the attributes of a shop, in the order of the pages.
var fields = []field{
	{Key: "name", Label: "商户名称", aliases: []string{"名称", "店名", "商户名称", "企业名称"}, public: true, max: 64},
	{Key: "address", Label: "经营地址", aliases: []string{"地址", "经营地址", "位置"}, public: true, max: 200},
	{Key: "creditCode", Label: "统一社会信用代码", aliases: []string{"licenceNo", "统一社会信用代码", "营业执照号"}, public: true, max: 32},
	{Key: "businessType", Label: "经营类别", aliases: []string{"经营类别", "业态", "行业"}, public: true, max: 32},
	{Key: "dutyArea", Label: "门前责任区", aliases: []string{"门前责任区", "门责区域"}, public: true, max: 200},
	{Key: "supervisingUnit", Label: "监管单位", aliases: []string{"监管单位", "监管部门", "属地中队"}, public: true, max: 100},
	{Key: "operator", Label: "经营者", aliases: []string{"经营者", "负责人", "法定代表人"}, max: 32},
	{Key: "phone", Label: "联系电话", aliases: []string{"联系电话", "电话"}, max: 32},
	{Key: "licences", Label: "许可信息", aliases: []string{"许可信息", "许可证"}, list: true, max: 200},
	{Key: "premises", Label: "业主房屋信息", aliases: []string{"房屋信息", "业主房屋信息"}, max: 200},
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

// shop is a code seen as a street-front shop.
type shop struct {
	Title    string
	Kind     string // object or enterprise
	KindName string // 一物一码, 一企一码
	Rows     []row  // every field, 暂无 where absent
	attrs    map[string]any
	owner    string
}

// row is one line of the shop's information.
type row struct {
	Key, Label, Value string
	Missing, Public   bool
}

func shopOf(c *plugin.Code) shop {
	s := shop{Kind: c.Kind, KindName: map[string]string{"object": "一物一码", "enterprise": "一企一码"}[c.Kind], owner: c.OwnerUnit}
	_ = json.Unmarshal(c.Attributes, &s.attrs)
	for i := range fields {
		f := &fields[i]
		v, _ := s.current(f)
		r := row{Key: f.Key, Label: f.Label, Value: v, Public: f.public}
		if v == "" {
			r.Value, r.Missing = none, true
		}
		s.Rows = append(s.Rows, r)
	}
	s.Title, _ = s.current(fieldByKey("name"))
	if s.Title == "" {
		s.Title = c.Name
	}
	if s.Title == "" {
		s.Title = "沿街商户"
	}
	return s
}

// Public is the information everyone sees.
func (s shop) Public() []row {
	var out []row
	for _, r := range s.Rows {
		if r.Public {
			out = append(out, r)
		}
	}
	return out
}

// current answers a field's value as shown, and the attribute key it was
// read from ("" when the code lacks it). The supervising unit defaults to
// the code's owner unit.
func (s shop) current(f *field) (string, string) {
	for _, k := range append([]string{f.Key}, f.aliases...) {
		if v, ok := s.attrs[k]; ok && v != nil {
			if shown := show(v); shown != "" {
				return shown, k
			}
		}
	}
	if f.Key == "supervisingUnit" {
		return s.owner, ""
	}
	return "", ""
}

// raw answers a field's attribute value as stored.
func (s shop) raw(f *field) any {
	_, k := s.current(f)
	if k == "" {
		return nil
	}
	return s.attrs[k]
}

// show renders an attribute value: text as is, numbers without trailing
// zeros, lists joined with 、.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return map[bool]string{true: "是", false: "否"}[x]
	case []any:
		var parts []string
		for _, item := range x {
			if s := show(item); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "、")
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var listSep = regexp.MustCompile(`[、,，;；\s]+`)

// change is one field of a correction: from what to what, and the
// attribute written.
type change struct {
	Field string `json:"field"` // the field's key (form)
	Label string `json:"label"`
	Key   string `json:"key"` // the attribute key written on the code
	From  string `json:"from"`
	To    string `json:"to"`
	Value any    `json:"value"` // a string, or a list for list fields
}

// parseChanges reads the fields of a correction form: f.{key} for every
// field to change (left empty: unchanged). A name the form does not have,
// a value too long or a value the shop already has is refused; so is a
// form that changes nothing.
func parseChanges(f *form, s shop) ([]change, error) {
	keys := make([]string, 0, len(f.values))
	for name := range f.values {
		if key, ok := strings.CutPrefix(name, "f."); ok {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	typed := map[string]string{}
	for _, key := range keys {
		fd := fieldByKey(key)
		if fd == nil {
			return nil, invalid("未知的字段：" + key)
		}
		v, err := f.text("f."+key, "「"+fd.Label+"」", fd.max, false)
		if err != nil {
			return nil, err
		}
		if v != "" {
			typed[key] = v
		}
	}
	var out []change
	for i := range fields {
		fd := &fields[i]
		input, ok := typed[fd.Key]
		if !ok {
			continue
		}
		cur, key := s.current(fd)
		var value any = input
		shown := input
		if _, isList := s.raw(fd).([]any); fd.list && (isList || key == "") {
			var items []any
			var parts []string
			for _, item := range listSep.Split(input, -1) {
				if item != "" {
					items, parts = append(items, item), append(parts, item)
				}
			}
			value, shown = items, strings.Join(parts, "、")
		}
		if shown == cur {
			return nil, invalid("「" + fd.Label + "」的新值与现值相同：" + cur)
		}
		if key == "" {
			key = fd.Key
		}
		out = append(out, change{Field: fd.Key, Label: fd.Label, Key: key, From: cur, To: shown, Value: value})
	}
	if len(out) == 0 {
		return nil, missing("请至少填写一项要更正的信息")
	}
	return out, nil
}

func summarize(changes []change) string {
	parts := make([]string, len(changes))
	for i, ch := range changes {
		from := ch.From
		if from == "" {
			from = none
		}
		parts[i] = ch.Label + "：" + from + " → " + ch.To
	}
	return strings.Join(parts, "；")
}

// patch is what a correction merges into the code's attributes.
func patch(changes []change) map[string]any {
	p := map[string]any{}
	for _, ch := range changes {
		p[ch.Key] = ch.Value
	}
	return p
}

// home is the shop's page: its public information, the supervising unit,
// the latest notices, and what the visitor may do here.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	notices, err := c.notices(ctx, 5)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Notices": notices}
	if !c.req.Visitor.Tourist && c.req.Visitor.Pseudonym != "" {
		data["LoggedIn"] = true
		data["Merchant"] = c.role(roleMerchant, c.req.Code.Token) != nil
		data["Inspector"] = c.role(roleInspector, "") != nil
		data["Supervisor"] = c.role(roleSupervisor, "") != nil
		following, err := c.following(ctx)
		if err != nil {
			return nil, err
		}
		data["Following"] = following
	}
	return render(200, homePage, c, data)
}
