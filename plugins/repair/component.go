package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// A component (部件) is what an object code stands for. Its information
// comes from the code's attributes, which the host resolves from its
// database at every scan (the pre-issue, activation and modify-attributes
// interfaces keep them), overlaid field by field by the operators'
// component settings (部件设置) for the code: the settings are how a
// platform corrects or completes what the code's owner pushed.

// attr is one piece of component information: its key in settings and
// reports, its label, the attribute keys a code may hold it under (in
// order) and its longest value.
type attr struct {
	Key, Label string
	aliases    []string
	max        int
}

var attrs = []attr{
	{"name", "部件名称", []string{"name", "名称", "部件名称"}, 64},
	{"model", "型号", []string{"model", "型号", "规格型号"}, 64},
	{"serialNo", "序列号", []string{"serialNo", "serial", "sn", "序列号", "出厂编号", "编号"}, 64},
	{"location", "安装位置", []string{"location", "安装位置", "address", "位置", "地址"}, 200},
	{"category", "部件类型", []string{"category", "部件类型", "类型", "分类"}, 32},
	{"unit", "责任单位", []string{"unit", "责任单位", "ownerUnit", "权属单位", "管理单位"}, 100},
}

// component is the information a landing page shows and a report copies.
type component map[string]string

// settings is a component setting: the document of the components
// collection, whose id is the code's token.
type settings struct {
	Name      string `json:"name,omitempty"`
	Model     string `json:"model,omitempty"`
	SerialNo  string `json:"serialNo,omitempty"`
	Location  string `json:"location,omitempty"`
	Category  string `json:"category,omitempty"`
	Unit      string `json:"unit,omitempty"`
	Operator  string `json:"operator"`
	ChangedAt string `json:"changedAt"`
}

// empty reports a setting that sets nothing.
func (s settings) empty() bool {
	return s.Name == "" && s.Model == "" && s.SerialNo == "" && s.Location == "" && s.Category == "" && s.Unit == ""
}

func (s settings) values() map[string]string {
	return map[string]string{"name": s.Name, "model": s.Model, "serialNo": s.SerialNo, "location": s.Location,
		"category": s.Category, "unit": s.Unit}
}

// componentOf reads a code's attributes and overlays the settings (nil:
// none). The name falls back to the code's name and object type, the
// responsible unit to the code's owner unit.
func componentOf(code *plugin.Code, s *settings) component {
	var raw map[string]any
	if len(code.Attributes) > 0 {
		_ = json.Unmarshal(code.Attributes, &raw)
	}
	out := component{}
	for _, a := range attrs {
		for _, k := range a.aliases {
			if v := scalar(raw[k]); v != "" {
				out[a.Key] = v
				break
			}
		}
	}
	if out["name"] == "" {
		out["name"] = strings.TrimSpace(code.Name)
	}
	if out["name"] == "" {
		out["name"] = strings.TrimSpace(code.TypeName)
	}
	if out["unit"] == "" {
		out["unit"] = strings.TrimSpace(code.OwnerUnit)
	}
	if s != nil {
		for k, v := range s.values() {
			if v != "" {
				out[k] = v
			}
		}
	}
	return out
}

// scalar renders an attribute that is a string or a number; anything else
// (objects, lists) is not component information.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// row is one line of the component's information on a page.
type row struct{ Label, Value string }

// rows answers the component's information in the page's order, 暂无
// where unknown.
func (cp component) rows() []row {
	out := make([]row, 0, len(attrs)-1)
	for _, a := range attrs[1:] {
		v := cp[a.Key]
		if v == "" {
			v = "暂无"
		}
		out = append(out, row{a.Label, v})
	}
	return out
}

// title is the component's name, or a generic one.
func (cp component) title() string {
	if cp["name"] != "" {
		return cp["name"]
	}
	return "部件"
}

// loadSettings reads the settings of a code, nil when there are none.
func (c *call) loadSettings(ctx context.Context, token string) (*settings, *plugin.Record, error) {
	rec, err := c.host.GetRecord(ctx, "components", token)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var s settings
	decode(*rec, &s)
	return &s, rec, nil
}

// scanned answers the component of the request's code.
func (c *call) scanned(ctx context.Context) (component, error) {
	s, _, err := c.loadSettings(ctx, c.req.Code.Token)
	if err != nil {
		return nil, err
	}
	return componentOf(c.req.Code, s), nil
}

// Component settings: admin routes the console reaches at
// /console/plugins/repair/admin/components (reads with plugin.read,
// changes with plugin.update). Every change is written to the platform's
// audit trail with the values before and after: that trail is the change
// log the requirement asks for.

// settingsBody is the body of POST, PUT and DELETE /components.
type settingsBody struct {
	Code     string  `json:"code"`
	Version  int64   `json:"version"`
	Name     *string `json:"name"`
	Model    *string `json:"model"`
	SerialNo *string `json:"serialNo"`
	Location *string `json:"location"`
	Category *string `json:"category"`
	Unit     *string `json:"unit"`
}

const settingsShape = `{"code": 码值或码的网址, "version": 版本（修改、删除时可选）, "name", "model", "serialNo", "location", "category", "unit"}`

// tokenOf reads a code an operator names: its token or its landing URL.
func tokenOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "/c/"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexAny(s, "/?#"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// readSettings decodes a settings body and answers it with the code's
// token.
func readSettings(body []byte) (settingsBody, string, error) {
	var b settingsBody
	if err := strictJSON(body, &b, settingsShape); err != nil {
		return b, "", err
	}
	token := tokenOf(b.Code)
	switch {
	case token == "":
		return b, "", missing("请提供部件的码 code")
	case !tokenRe.MatchString(token):
		return b, "", invalid("code 须为码值或码的网址")
	case b.Version < 0:
		return b, "", invalid("version 须为正整数")
	}
	return b, token, nil
}

// given reports whether the body sets any field.
func (b settingsBody) given() bool {
	return b.Name != nil || b.Model != nil || b.SerialNo != nil || b.Location != nil || b.Category != nil || b.Unit != nil
}

// merge checks the fields the body gives and sets them on old.
func (b settingsBody) merge(old settings) (settings, error) {
	s := old
	for _, f := range []struct {
		a   attr
		in  *string
		out *string
	}{{attrs[0], b.Name, &s.Name}, {attrs[1], b.Model, &s.Model}, {attrs[2], b.SerialNo, &s.SerialNo},
		{attrs[3], b.Location, &s.Location}, {attrs[4], b.Category, &s.Category}, {attrs[5], b.Unit, &s.Unit}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		switch {
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			return old, invalid("「" + f.a.Label + "」含有不可见的控制字符")
		case utf8.RuneCountInString(v) > f.a.max:
			return old, invalid(fmt.Sprintf("「%s」不能超过 %d 个字", f.a.Label, f.a.max))
		}
		*f.out = v
	}
	return s, nil
}

// resolveCode verifies a code an operator names: an object code of the
// platform, else not found.
func (c *call) resolveCode(ctx context.Context, token string) (*plugin.Code, error) {
	code, err := c.host.ResolveCode(ctx, token)
	if plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) || (err == nil && code.Kind != "object") {
		return nil, notFound("没有找到本平台的一物一码 " + token)
	}
	return code, err
}

// settingsItem is a setting in an answer.
type settingsItem struct {
	Code      string            `json:"code"`
	Version   int64             `json:"version"`
	Settings  map[string]string `json:"settings"`
	Operator  string            `json:"operator"`
	ChangedAt string            `json:"changedAt"`
	// Attributes and Shown, answered for one code: what the code holds
	// now and what its landing page shows.
	Attributes json.RawMessage `json:"attributes,omitempty"`
	Shown      component       `json:"shown,omitempty"`
}

func itemOf(rec *plugin.Record, s settings) settingsItem {
	vals := map[string]string{}
	for k, v := range s.values() {
		if v != "" {
			vals[k] = v
		}
	}
	return settingsItem{Code: rec.ID, Version: rec.Version, Settings: vals, Operator: s.Operator, ChangedAt: s.ChangedAt}
}

// listComponents answers the settings, newest first; with q naming a
// code (its token or URL), that code's attributes, setting and the
// information its page shows.
func listComponents(ctx context.Context, c *call) (*plugin.Response, error) {
	if q := strings.TrimSpace(c.req.QueryValue("q")); q != "" {
		token := tokenOf(strings.TrimPrefix(q, "code:"))
		if !tokenRe.MatchString(token) {
			return nil, invalid("q 须为码值或码的网址")
		}
		code, err := c.resolveCode(ctx, token)
		if err != nil {
			return nil, err
		}
		s, rec, err := c.loadSettings(ctx, code.Token)
		if err != nil {
			return nil, err
		}
		item := settingsItem{Code: code.Token, Settings: map[string]string{}}
		if s != nil {
			item = itemOf(rec, *s)
		}
		item.Attributes, item.Shown = code.Attributes, componentOf(code, s)
		return plugin.JSON(200, item)
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "components", Newest: true, Offset: (no - 1) * size, Limit: size})
	if err != nil {
		return nil, err
	}
	items := []settingsItem{}
	for _, rec := range page.Items {
		var s settings
		decode(rec, &s)
		items = append(items, itemOf(&rec, s))
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// addComponent creates the setting of a code that has none.
func addComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	b, token, err := readSettings(c.req.Body)
	if err != nil {
		return nil, err
	}
	s, err := b.merge(settings{})
	if err != nil {
		return nil, err
	}
	if b.Version != 0 {
		return nil, invalid("添加部件设置不需要 version")
	}
	if s.empty() {
		return nil, missing("请至少填写一项部件信息：name、model、serialNo、location、category、unit")
	}
	code, err := c.resolveCode(ctx, token)
	if err != nil {
		return nil, err
	}
	s.Operator, s.ChangedAt = c.req.Operator.Account, stamp(c.now)
	rec, err := c.put(ctx, "components", code.Token, code.Token, s, 0, true)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("ComponentExists", "该码已有部件设置，请修改（PUT）或先删除")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "component.add", "component:"+code.Token, map[string]any{"after": s.values()})
	return plugin.JSON(201, itemOf(rec, s))
}

// changeSettings modifies (PUT) or deletes (DELETE) a code's setting. A
// modification changes the fields given; a field given empty is cleared
// (the code's attribute shows again). With version, the change applies
// only to that version: an operator working on a stale copy is refused;
// without it, to the version just read.
func (c *call) changeSettings(ctx context.Context, del bool) (*plugin.Response, error) {
	b, token, err := readSettings(c.req.Body)
	if err != nil {
		return nil, err
	}
	switch {
	case del && b.given():
		return nil, invalid("删除部件设置只需 code 与 version")
	case !del && !b.given():
		return nil, missing("请提供要修改的字段：name、model、serialNo、location、category、unit")
	}
	old, rec, err := c.loadSettings(ctx, token)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, notFound("该码没有部件设置")
	}
	s, err := b.merge(*old)
	if err != nil {
		return nil, err
	}
	if b.Version != 0 && b.Version != rec.Version {
		return nil, conflict("VersionConflict", fmt.Sprintf("部件设置已被修改（当前版本 %d），请刷新后再操作", rec.Version))
	}
	if del {
		if err := c.host.DeleteRecord(ctx, "components", token); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, err
		}
		c.audit(ctx, "component.delete", "component:"+token, map[string]any{"before": old.values(), "version": rec.Version})
		return plugin.JSON(200, map[string]any{"code": token, "deleted": true})
	}
	if s.empty() {
		return nil, invalid("修改后部件设置为空；不再需要时请删除（DELETE）")
	}
	s.Operator, s.ChangedAt = c.req.Operator.Account, stamp(c.now)
	saved, err := c.put(ctx, "components", token, token, s, rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("VersionConflict", "部件设置刚被其他人员修改，请刷新后再操作")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "component.update", "component:"+token, map[string]any{"before": old.values(), "after": s.values()})
	return plugin.JSON(200, itemOf(saved, s))
}

func updateComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	return c.changeSettings(ctx, false)
}

func deleteComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	return c.changeSettings(ctx, true)
}

// audit writes an entry of the platform's audit trail. The change it
// records is made: a failure is logged as an error, for the gap to show.
func (c *call) audit(ctx context.Context, action, target string, detail map[string]any) {
	detail["operator"] = c.req.Operator.Account
	if err := c.host.Audit(ctx, action, target, detail); err != nil {
		c.host.Log(ctx, "error", action+" on "+target+" not audited: "+err.Error())
	}
}
