package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The operators' lists: admin routes the console reaches at
// /console/plugins/urbanmgmt/admin/{path} (reads with plugin.read, changes
// with plugin.update). The console passes only q, pageNo and pageSize, so
// a list is chosen and filtered by q.

// collections are the plugin's collections an operator may list.
var collections = []string{"complaints", "rectifications", "patrols", "corrections", "penalties", "notices", "pledges",
	"evaluations", "supervisions", "mappings", "members", "grants", "follows"}

// hidden are the document keys that hold pseudonyms: operators see the
// masked names people authorized, never the ids that would link one
// person's records across collections.
var hidden = map[string]bool{"author": true, "inspector": true, "supervisor": true, "signer": true, "rater": true,
	"follower": true, "pseudonym": true, "usedBy": true}

// filters are the q keys that filter on a document field.
var filters = map[string]bool{"status": true, "kind": true, "role": true, "handoff": true, "source": true, "result": true}

// pageArgs reads pageNo (from 1) and pageSize (1–100, default def).
func pageArgs(req *plugin.Request, def int) (int, int, error) {
	no, size := 1, def
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
	return no, size, nil
}

// parseListQuery reads q: a collection, then filters key:value separated
// by spaces (code:{token}, status:已受理, kind:意见建议, role:merchant, …).
func parseListQuery(q string) (plugin.RecordQuery, error) {
	words := strings.Fields(q)
	if len(words) == 0 {
		return plugin.RecordQuery{}, missing("q 须以集合名开头：" + strings.Join(collections, "、"))
	}
	if !contains(collections, words[0]) {
		return plugin.RecordQuery{}, invalid("未知的集合：" + words[0] + "；可查询 " + strings.Join(collections, "、"))
	}
	out := plugin.RecordQuery{Collection: words[0], Newest: true}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, ":")
		switch {
		case !ok || v == "":
			return out, invalid("筛选条件须为 键:值，如 status:已受理（" + w + "）")
		case k == "code":
			out.CodeToken = tokenOf(v)
		case filters[k]:
			if out.Where == nil {
				out.Where = map[string]any{}
			}
			out.Where[k] = v
		default:
			return out, invalid("未知的筛选条件：" + k + "；可用 code、status、kind、role、handoff、source、result")
		}
	}
	return out, nil
}

// listRecords answers a page of a collection: GET /records?q=complaints
// code:{token} status:已受理. Each item is the document with its id, code
// and times, without the pseudonyms.
func listRecords(ctx context.Context, c *call) (*plugin.Response, error) {
	q, err := parseListQuery(c.req.QueryValue("q"))
	if err != nil {
		return nil, err
	}
	no, size, err := pageArgs(c.req, 20)
	if err != nil {
		return nil, err
	}
	q.Offset, q.Limit = (no-1)*size, size
	page, err := c.host.QueryRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, rec := range page.Items {
		doc := map[string]any{}
		_ = json.Unmarshal(rec.Doc, &doc)
		for k := range doc {
			if hidden[k] {
				delete(doc, k)
			}
		}
		doc["id"], doc["code"], doc["createdAt"], doc["updatedAt"] = rec.ID, rec.CodeToken, stamp(rec.CreatedAt), stamp(rec.UpdatedAt)
		items = append(items, doc)
	}
	return plugin.JSON(200, map[string]any{"collection": q.Collection, "total": page.Total, "pageNo": no, "pageSize": size, "items": items})
}
