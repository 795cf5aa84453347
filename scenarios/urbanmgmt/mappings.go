package main

import (
	"context"
	"regexp"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Mapping of codes to the enforcement system's objects (城管执法监管对象与
// 随申码映射绑定): one object per code and one code per object. The
// enforcement system's scanner looks a scanned code up (GET /mappings?q=
// {token}) to open its own case file, and an object up (q={objectId}) to
// find its shop's code; inspectors see the object on the shop's page, and
// supervision hand-offs carry it.
//
// The record's id is derived from the object id, so a second code cannot
// take an object (a create-only put fails); a second object for a code is
// refused by a look-up before the create and by a look-up after it, which
// withdraws the create when two operators raced.

// mapping is the document of the mappings collection.
type mapping struct {
	ObjectID   string `json:"objectId"`
	ObjectType string `json:"objectType,omitempty"`
	System     string `json:"system"`
	Shop       string `json:"shop"`
	BoundBy    string `json:"boundBy"`
}

const defaultSystem = "城管执法核心业务数据管理系统"

var objectIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)

func mappingID(objectID string) string { return hashed("mp-", objectID) }

// mappingOf answers a code's mapping, or nil.
func (c *call) mappingOf(ctx context.Context, token string) (*mapping, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "mappings", CodeToken: token, Limit: 1})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	var m mapping
	decode(page.Items[0], &m)
	return &m, nil
}

// mappingItem is a mapping in the admin answers.
type mappingItem struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	CreatedAt string `json:"createdAt"`
	mapping
}

func mappingItemOf(rec plugin.Record) mappingItem {
	it := mappingItem{ID: rec.ID, Code: rec.CodeToken, CreatedAt: stamp(rec.CreatedAt)}
	decode(rec, &it.mapping)
	return it
}

// tokenOf reads a code's token from a token or a landing URL.
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

// listMappings looks a mapping up by q, an object id or a code (token or
// URL); without q it lists the mappings, newest first.
func listMappings(ctx context.Context, c *call) (*plugin.Response, error) {
	q := strings.TrimSpace(c.req.QueryValue("q"))
	no, size, err := pageArgs(c.req, 20)
	if err != nil {
		return nil, err
	}
	query := plugin.RecordQuery{Collection: "mappings", Newest: true, Offset: (no - 1) * size, Limit: size}
	if q != "" {
		if len(q) > 512 {
			return nil, invalid("q 过长")
		}
		if objectIDRe.MatchString(q) {
			rec, err := c.host.GetRecord(ctx, "mappings", mappingID(q))
			if err == nil {
				return plugin.JSON(200, map[string]any{"total": 1, "items": []mappingItem{mappingItemOf(*rec)}})
			}
			if !plugin.IsCode(err, plugin.ErrNotFound) {
				return nil, err
			}
		}
		query.CodeToken = tokenOf(q)
	}
	page, err := c.host.QueryRecords(ctx, query)
	if err != nil {
		return nil, err
	}
	items := []mappingItem{}
	for _, rec := range page.Items {
		items = append(items, mappingItemOf(rec))
	}
	return plugin.JSON(200, map[string]any{"total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}

// mapIn is the body of POST /mappings.
type mapIn struct {
	Code       string `json:"code"`
	ObjectID   string `json:"objectId"`
	ObjectType string `json:"objectType"`
	System     string `json:"system"`
}

// mapObject maps a code to an enforcement object. Mapping the same pair
// again is harmless.
func mapObject(ctx context.Context, c *call) (*plugin.Response, error) {
	var in mapIn
	if err := readJSON(c.req.Body, &in, `{"code": 码, "objectId": 监管对象编号, "objectType": 对象类型, "system": 业务系统}`); err != nil {
		return nil, err
	}
	in.ObjectID = strings.TrimSpace(in.ObjectID)
	switch {
	case in.Code == "":
		return nil, missing("请指定码 code")
	case in.ObjectID == "":
		return nil, missing("请指定监管对象编号 objectId")
	case !objectIDRe.MatchString(in.ObjectID):
		return nil, invalid("监管对象编号 objectId 须为 1–64 位字母、数字或 _ . : / -")
	}
	m := mapping{ObjectID: in.ObjectID, BoundBy: c.req.Operator.Account}
	var err error
	if m.ObjectType, err = checkText(in.ObjectType, "对象类型 objectType", 32, false); err != nil {
		return nil, err
	}
	if m.System, err = checkText(in.System, "业务系统 system", 64, false); err != nil {
		return nil, err
	}
	if m.System == "" {
		m.System = defaultSystem
	}
	code, err := c.resolve(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	m.Shop = shopOf(code).Title
	old, err := c.mappingOf(ctx, code.Token)
	switch {
	case err != nil:
		return nil, err
	case old != nil && old.ObjectID == m.ObjectID:
		return plugin.JSON(200, map[string]any{"id": mappingID(m.ObjectID), "code": code.Token, "objectId": m.ObjectID, "created": false})
	case old != nil:
		return nil, conflict("CodeMapped", "该码已映射到监管对象 "+old.ObjectID+"，请先解除")
	}
	rec, err := c.create(ctx, "mappings", mappingID(m.ObjectID), code.Token, m)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("ObjectMapped", "监管对象 "+m.ObjectID+" 已映射到另一个码，请先解除")
	}
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "mappings", CodeToken: code.Token, Limit: 2})
	if err == nil && page.Total > 1 {
		// Another operator mapped this code at the same moment: withdraw.
		if derr := c.host.DeleteRecord(ctx, "mappings", rec.ID); derr != nil {
			c.warn(ctx, "raced mapping not withdrawn", derr)
		}
		return nil, conflict("CodeMapped", "该码刚被映射到其他监管对象，请刷新后查看")
	}
	c.audit(ctx, "mapping.bind", "mapping:"+rec.ID, map[string]any{"code": code.Token, "objectId": m.ObjectID, "system": m.System,
		"operator": c.req.Operator.Account})
	return plugin.JSON(201, map[string]any{"id": rec.ID, "code": code.Token, "objectId": m.ObjectID, "objectType": m.ObjectType,
		"system": m.System, "shop": m.Shop, "created": true})
}

// unmapObject removes a mapping, named by its code or its object.
func unmapObject(ctx context.Context, c *call) (*plugin.Response, error) {
	var in struct {
		Code     string `json:"code"`
		ObjectID string `json:"objectId"`
	}
	if err := readJSON(c.req.Body, &in, `{"code": 码} 或 {"objectId": 监管对象编号}`); err != nil {
		return nil, err
	}
	var rec *plugin.Record
	switch {
	case in.ObjectID != "" && objectIDRe.MatchString(in.ObjectID):
		r, err := c.host.GetRecord(ctx, "mappings", mappingID(in.ObjectID))
		if err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, err
		}
		rec = r
	case in.ObjectID != "":
		return nil, invalid("监管对象编号 objectId 格式不正确")
	case in.Code != "":
		page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "mappings", CodeToken: tokenOf(in.Code), Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(page.Items) > 0 {
			rec = &page.Items[0]
		}
	default:
		return nil, missing("请指定码 code 或监管对象编号 objectId")
	}
	if rec == nil {
		return nil, notFound("没有找到该映射")
	}
	if err := c.host.DeleteRecord(ctx, "mappings", rec.ID); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, err
	}
	it := mappingItemOf(*rec)
	c.audit(ctx, "mapping.unbind", "mapping:"+rec.ID, map[string]any{"code": it.Code, "objectId": it.ObjectID, "operator": c.req.Operator.Account})
	return plugin.JSON(200, map[string]any{"id": rec.ID, "code": it.Code, "objectId": it.ObjectID, "removed": true})
}
