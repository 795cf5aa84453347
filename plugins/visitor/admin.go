package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// listPage is the answer of GET /registrations.
type listPage struct {
	Total    int64            `json:"total"`
	PageNo   int              `json:"pageNo"`
	PageSize int              `json:"pageSize"`
	Date     string           `json:"date,omitempty"`
	Items    []map[string]any `json:"items"`
}

// dayRange answers the Beijing day of q (YYYY-MM-DD): its start and the
// next day's.
func dayRange(q string) (time.Time, time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, q, cst)
	if err != nil {
		return time.Time{}, time.Time{}, invalid("q 须为日期 YYYY-MM-DD，如 2026-11-03")
	}
	return d, d.AddDate(0, 0, 1), nil
}

// listRegistrations answers the platform's registrations, newest first:
// all of them, or those of one day (q=YYYY-MM-DD, Beijing time) and of one
// code (code=TOKEN). The staff see the mobile numbers in full, to reach a
// visitor; exports of the collection mask them.
func listRegistrations(ctx context.Context, c *call) (*plugin.Response, error) {
	q := plugin.RecordQuery{Collection: collection, CodeToken: c.req.QueryValue("code"), Newest: true}
	date := c.req.QueryValue("q")
	if date != "" {
		from, to, err := dayRange(date)
		if err != nil {
			return nil, err
		}
		q.From, q.To = from, to
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	q.Offset, q.Limit = (no-1)*size, size
	page, err := c.host.QueryRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	out := listPage{Total: page.Total, PageNo: no, PageSize: size, Date: date, Items: []map[string]any{}}
	for _, rec := range page.Items {
		item := map[string]any{}
		_ = json.Unmarshal(rec.Doc, &item)
		item["id"], item["code"], item["createdAt"] = rec.ID, rec.CodeToken, stamp(rec.CreatedAt)
		out.Items = append(out.Items, item)
	}
	return plugin.JSON(200, out)
}
