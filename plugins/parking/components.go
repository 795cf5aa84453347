package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// component is a device of a car park (部件): an entrance barrier, a space
// sensor, a payment terminal. The document of the components collection,
// about the car park's code.
type component struct {
	Lot       string `json:"lot"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Location  string `json:"location,omitempty"`
	State     string `json:"state"`
	Note      string `json:"note,omitempty"`
	UpdatedBy string `json:"updatedBy,omitempty"`
}

// The kinds and states of components.
var (
	componentKinds  = []string{"入口设备", "出口设备", "车位传感器", "支付终端", "诱导屏", "其他"}
	componentStates = []string{"正常", "故障", "维护中", "停用"}
)

// maxComponents bounds one car park's components: enough for a large
// garage's barriers and terminals; sensors per space belong in the car
// park's own system.
const maxComponents = 500

const componentShape = `{"id","code","version","name","kind","location","state","note"}`

var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// componentInput is the body of POST, PUT and DELETE /components.
type componentInput struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Version  int64  `json:"version"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Location string `json:"location"`
	State    string `json:"state"`
	Note     string `json:"note"`
}

func oneOf(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkComponent validates a component's fields: a name, a known kind, a
// known state (default 正常), a location and a note.
func checkComponent(in componentInput) (component, error) {
	var m component
	var err error
	if m.Name, err = text("部件名称", in.Name, 60, false); err != nil {
		return m, err
	}
	if m.Name == "" {
		return m, missing("请填写部件名称 name")
	}
	m.Kind, m.State = strings.TrimSpace(in.Kind), strings.TrimSpace(in.State)
	switch {
	case m.Kind == "":
		return m, missing("请选择部件类型 kind：" + strings.Join(componentKinds, "、"))
	case !oneOf(componentKinds, m.Kind):
		return m, invalid("部件类型须为 " + strings.Join(componentKinds, "、") + " 之一")
	case m.State == "":
		m.State = componentStates[0]
	case !oneOf(componentStates, m.State):
		return m, invalid("部件状态须为 " + strings.Join(componentStates, "、") + " 之一")
	}
	if m.Location, err = text("安装位置", in.Location, 100, false); err != nil {
		return m, err
	}
	if m.Note, err = text("备注", in.Note, 200, true); err != nil {
		return m, err
	}
	return m, nil
}

// lotName is the car park's name for records about it: the guide's, else
// the code's.
func (c *call) lotName(ctx context.Context, code *plugin.Code) (string, error) {
	rec, err := c.get(ctx, "lots", lotID(code.Token))
	if err != nil {
		return "", err
	}
	if rec != nil {
		var l lot
		decode(*rec, &l)
		if l.Name != "" {
			return l.Name, nil
		}
	}
	return codeName(code), nil
}

// componentItem is a component in the console's list.
type componentItem struct {
	component
	ID        string `json:"id"`
	Code      string `json:"code"`
	Version   int64  `json:"version"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func componentOf(rec plugin.Record) componentItem {
	item := componentItem{ID: rec.ID, Code: rec.CodeToken, Version: rec.Version, CreatedAt: stamp(rec.CreatedAt), UpdatedAt: stamp(rec.UpdatedAt)}
	decode(rec, &item.component)
	return item
}

// listComponents answers a code's components (code= or q=), or the
// platform's, oldest first.
func listComponents(ctx context.Context, c *call) (*plugin.Response, error) {
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	q := plugin.RecordQuery{Collection: "components", Offset: (no - 1) * size, Limit: size}
	code := c.req.QueryValue("code")
	if code == "" {
		code = c.req.QueryValue("q")
	}
	if q.CodeToken = tokenOf(code); len(q.CodeToken) > 128 {
		return nil, invalid("code 须为码值或码的网址")
	}
	page, err := c.host.QueryRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	items := []componentItem{}
	for _, rec := range page.Items {
		items = append(items, componentOf(rec))
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// addComponent adds a component to a code.
func addComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	var in componentInput
	if err := readJSON(c.req.Body, &in, componentShape); err != nil {
		return nil, err
	}
	if in.ID != "" || in.Version != 0 {
		return nil, invalid("添加部件时请勿提供 id 或 version；修改请用 PUT")
	}
	m, err := checkComponent(in)
	if err != nil {
		return nil, err
	}
	obj, err := c.resolve(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "components", CodeToken: obj.Token, Limit: 1})
	if err != nil {
		return nil, err
	}
	if page.Total >= maxComponents {
		return nil, conflict("LimitExceeded", "每个停车场最多登记 "+strconv.Itoa(maxComponents)+" 个部件")
	}
	if m.Lot, err = c.lotName(ctx, obj); err != nil {
		return nil, err
	}
	m.UpdatedBy = c.req.Operator.Account
	rec, err := c.put(ctx, "components", "", obj.Token, m, 0)
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "component.add", "component:"+rec.ID, map[string]any{"code": obj.Token, "component": m})
	return plugin.JSON(201, componentOf(*rec))
}

// findComponent reads the component an operator names with its code: a
// component of another code is not found, so an id alone never reaches
// another car park's device.
func (c *call) findComponent(ctx context.Context, in componentInput) (*plugin.Record, error) {
	token := tokenOf(in.Code)
	switch {
	case in.ID == "":
		return nil, missing("请提供部件编号 id")
	case !recordIDRe.MatchString(in.ID):
		return nil, invalid("部件编号格式不正确")
	case token == "":
		return nil, missing("请提供部件所属停车场的码 code")
	case in.Version < 0:
		return nil, invalid("version 不能为负数")
	}
	rec, err := c.get(ctx, "components", in.ID)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.CodeToken != token {
		return nil, notFound("该停车场没有编号为 " + in.ID + " 的部件")
	}
	if in.Version > 0 && rec.Version != in.Version {
		return nil, conflict("VersionConflict", "部件已被他人修改（当前版本 "+strconv.FormatInt(rec.Version, 10)+"），请刷新后重试")
	}
	return rec, nil
}

// updateComponent replaces a component's fields, against the version
// read.
func updateComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	var in componentInput
	if err := readJSON(c.req.Body, &in, componentShape); err != nil {
		return nil, err
	}
	if in.Version == 0 {
		return nil, missing("修改部件须提供读取到的 version")
	}
	m, err := checkComponent(in)
	if err != nil {
		return nil, err
	}
	rec, err := c.findComponent(ctx, in)
	if err != nil {
		return nil, err
	}
	var before component
	decode(*rec, &before)
	m.Lot, m.UpdatedBy = before.Lot, c.req.Operator.Account
	out, err := c.put(ctx, "components", rec.ID, rec.CodeToken, m, rec.Version)
	if isConflict(err) {
		return nil, conflict("VersionConflict", "部件已被他人修改，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "component.update", "component:"+rec.ID, map[string]any{"code": rec.CodeToken, "before": before, "after": m})
	return plugin.JSON(200, componentOf(*out))
}

// deleteComponent removes a component (with a version: only that
// version).
func deleteComponent(ctx context.Context, c *call) (*plugin.Response, error) {
	var in componentInput
	if err := readJSON(c.req.Body, &in, `{"id","code","version"}`); err != nil {
		return nil, err
	}
	if in.Name != "" || in.Kind != "" || in.Location != "" || in.State != "" || in.Note != "" {
		return nil, invalid(`删除部件只需 {"id","code","version"}`)
	}
	rec, err := c.findComponent(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := c.host.DeleteRecord(ctx, "components", rec.ID); plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("该部件已被删除")
	} else if err != nil {
		return nil, err
	}
	var before component
	decode(*rec, &before)
	c.audit(ctx, "component.delete", "component:"+rec.ID, map[string]any{"code": rec.CodeToken, "component": before})
	return plugin.JSON(200, map[string]any{"id": rec.ID, "deleted": true})
}

// pageArgs reads pageNo (from 1) and pageSize (1–100, default 20).
func pageArgs(req *plugin.Request) (int, int, error) {
	no, size := 1, 20
	if s := req.QueryValue("pageNo"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5000 {
			return 0, 0, invalid("pageNo 须为 1–5000 的整数")
		}
		no = n
	}
	if s := req.QueryValue("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, invalid("pageSize 须为 1–100 的整数")
		}
		size = n
	}
	if (no-1)*size > 100000 {
		return 0, 0, invalid("翻页过深：请缩小查询范围")
	}
	return no, size, nil
}
