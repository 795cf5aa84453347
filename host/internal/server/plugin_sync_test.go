package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/client"
)

type syncPage struct {
	Items []struct {
		ID        string         `json:"id"`
		CodeToken string         `json:"codeToken"`
		Deleted   bool           `json:"deleted"`
		Version   int64          `json:"version"`
		Data      map[string]any `json:"data"`
	} `json:"items"`
	Cursor string `json:"cursor"`
	More   bool   `json:"more"`
}

// TestPluginDataSync: a vendor's system, as an app of the platform, pulls
// what a plugin stored (数据同步输出) — only once an operator granted it,
// only the declared fields, personal ones masked unless granted in full —
// in commit order from a cursor that neither misses nor repeats a change,
// deletions included; ticked records export alone (勾选导出).
func TestPluginDataSync(t *testing.T) {
	t.Parallel()
	buildPlugins(t)
	h := newHost(t, hostOpts{})
	admin := h.admin()
	codes := h.objectCodes(admin, 1)
	h.installProbes(admin)
	h.bind(admin, map[string]any{"scope": "code", "codeToken": codes[0], "plugin": "probe-native"})
	write := func(id, text, who string) {
		t.Helper()
		q := url.Values{"id": {id}, "text": {text}, "who": {who}}
		if _, page, _ := h.scan("GET", "/c/"+codes[0]+"/write?"+q.Encode(), nil, ""); !strings.Contains(page, "write: <nil>") {
			t.Fatalf("write %s: %s", id, page)
		}
	}
	write("m1", "井盖松动", "张三")
	write("m2", "路灯不亮", "李四")

	vendor := h.app(admin, map[string]any{"name": "运维厂商系统"})
	c := signedClient(t, h, vendor)
	ctx := context.Background()
	pull := func(cl *client.Client, collection, cursor string) (syncPage, error) {
		var p syncPage
		q := url.Values{}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		err := cl.Get(ctx, "/openapi/v1/plugins/probe-native/records/"+collection, q, &p)
		return p, err
	}
	// A change is served once every transaction older than it has ended,
	// in the whole cluster: the other tests' writes may hold it back a
	// moment, so pulls wait for what they expect.
	pullN := func(cursor string, n int) syncPage {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, err := pull(c, "messages", cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) >= n || time.Now().After(deadline) {
				return p
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// No grant, no data.
	_, err := pull(c, "messages", "")
	wantAPIError(t, err, http.StatusForbidden, "UnauthorizedOperation")

	// Grants: declared collections only, apps of the platform only.
	grant := func(app string, body map[string]any) answer {
		return h.call(admin, "PUT", "/console/plugins/probe-native/sync-grants/"+app, body)
	}
	if a := grant(vendor.AppID, map[string]any{"collections": []string{"secrets"}}); a.Status != 400 {
		t.Fatalf("undeclared collection granted: %d %s", a.Status, a.Msg)
	}
	if a := grant(vendor.AppID, map[string]any{"collections": []string{}}); a.Status != 400 {
		t.Fatalf("empty grant: %d %s", a.Status, a.Msg)
	}
	if a := grant("cc0000000000000000", map[string]any{"collections": []string{"messages"}}); a.Status != 404 {
		t.Fatalf("unknown app granted: %d %s", a.Status, a.Msg)
	}
	_, subAdmin := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	subApp := h.app(subAdmin, map[string]any{"name": "浦东应用"})
	if a := grant(subApp.AppID, map[string]any{"collections": []string{"messages"}}); a.Status != 404 {
		t.Fatalf("another platform's app granted: %d %s", a.Status, a.Msg)
	}
	h.must(admin, "PUT", "/console/plugins/probe-native/sync-grants/"+vendor.AppID, map[string]any{"collections": []string{"messages"}})
	var grants struct {
		Items []struct {
			AppID       string   `json:"appId"`
			Collections []string `json:"collections"`
			Personal    bool     `json:"personal"`
		} `json:"items"`
	}
	h.must(admin, "GET", "/console/plugins/probe-native/sync-grants", nil).decode(t, &grants)
	if len(grants.Items) != 1 || grants.Items[0].AppID != vendor.AppID || grants.Items[0].Personal {
		t.Fatalf("grants: %+v", grants)
	}
	// The other platform's app, granted nothing, still gets nothing; a
	// collection the grant lacks neither.
	_, err = pull(signedClient(t, h, subApp), "messages", "")
	wantAPIError(t, err, http.StatusForbidden, "UnauthorizedOperation")
	_, err = pull(c, "secrets", "")
	wantAPIError(t, err, http.StatusNotFound, "ResourceNotFound")

	// The first pull: both records, declared fields only, the personal one
	// masked.
	p := pullN("", 2)
	if len(p.Items) != 2 || p.Items[0].ID != "m1" || p.Items[1].ID != "m2" || p.Cursor == "" || p.More {
		t.Fatalf("first pull: %+v", p)
	}
	if d := p.Items[0].Data; d["text"] != "井盖松动" || d["who"] != "张*" || d["extra"] != nil || p.Items[0].CodeToken != codes[0] {
		t.Fatalf("first record: %+v", p.Items[0])
	}
	// Nothing new: no items, the same cursor.
	again, err := pull(c, "messages", p.Cursor)
	if err != nil || len(again.Items) != 0 || again.Cursor != p.Cursor {
		t.Fatalf("pull with nothing new: %+v %v", again, err)
	}
	// A change and a deletion come next, in commit order; the untouched
	// record does not come again.
	write("m1", "井盖松动，已设围挡", "张三")
	if _, page, _ := h.scan("GET", "/c/"+codes[0]+"/delete?id=m2", nil, ""); !strings.Contains(page, "delete: <nil>") {
		t.Fatalf("delete: %s", page)
	}
	next := pullN(p.Cursor, 2)
	if len(next.Items) != 2 || next.Items[0].ID != "m1" || next.Items[0].Version != 2 || next.Items[0].Data["text"] != "井盖松动，已设围挡" ||
		next.Items[1].ID != "m2" || !next.Items[1].Deleted || next.Items[1].Data != nil {
		t.Fatalf("changes: %+v", next)
	}

	// Paging: many writers at once, pulled two at a time, every change
	// exactly once.
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() { write("w"+itoa(int64(i)), "并发", "") })
	}
	wg.Wait()
	seen := map[string]int{}
	cursor := next.Cursor
	for deadline := time.Now().Add(30 * time.Second); len(seen) < 12 && time.Now().Before(deadline); {
		var pg syncPage
		q := url.Values{"cursor": {cursor}, "pageSize": {"2"}}
		if err := c.Get(ctx, "/openapi/v1/plugins/probe-native/records/messages", q, &pg); err != nil {
			t.Fatal(err)
		}
		for _, it := range pg.Items {
			seen[it.ID]++
		}
		cursor = pg.Cursor
		if !pg.More {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(seen) != 12 {
		t.Fatalf("paged pull saw %d records: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s pulled %d times", id, n)
		}
	}

	// Bad cursors and sizes are the caller's mistake.
	for _, q := range []url.Values{{"cursor": {"not-a-cursor!"}}, {"cursor": {"MTI6"}}, {"pageSize": {"5000"}}} {
		var pg syncPage
		err := c.Get(ctx, "/openapi/v1/plugins/probe-native/records/messages", q, &pg)
		wantAPIError(t, err, http.StatusBadRequest, "InvalidParameter")
	}

	// Personal fields in full only when granted so.
	h.must(admin, "PUT", "/console/plugins/probe-native/sync-grants/"+vendor.AppID, map[string]any{"collections": []string{"messages"}, "personal": true})
	full := pullN("", 1)
	if full.Items[0].ID != "m1" || full.Items[0].Data["who"] != "张三" {
		t.Fatalf("full pull: %+v", full)
	}
	var audited int
	h.srv.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action = 'plugin.sync.grant' AND target = 'plugin:probe-native'`).Scan(&audited)
	if audited != 2 {
		t.Fatalf("grants audited: %d", audited)
	}

	// Revoked: refused again.
	h.must(admin, "DELETE", "/console/plugins/probe-native/sync-grants/"+vendor.AppID, nil)
	_, err = pull(c, "messages", "")
	wantAPIError(t, err, http.StatusForbidden, "UnauthorizedOperation")
	if a := h.call(admin, "DELETE", "/console/plugins/probe-native/sync-grants/"+vendor.AppID, nil); a.Status != 404 {
		t.Fatalf("second revoke: %d", a.Status)
	}

	// 勾选导出: the ticked records alone.
	xa := h.call(admin, "GET", "/console/plugins/probe-native/records/messages/export?ids=w3,m1,w7", nil)
	if xa.Status != 200 {
		t.Fatalf("ticked export: %d %s", xa.Status, xa.Msg)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(xa.Raw))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := wb.GetRows(wb.GetSheetName(0))
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[0]] = true
	}
	if len(rows) != 4 || !got["w3"] || !got["m1"] || !got["w7"] {
		t.Fatalf("ticked export rows: %v", rows)
	}
	if a := h.call(admin, "GET", "/console/plugins/probe-native/records/messages/export?ids=m1,bad%20id", nil); a.Status != 400 {
		t.Fatalf("bad ticked id: %d", a.Status)
	}
}
