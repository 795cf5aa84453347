package plugintest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/plugintest"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !plugin.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestFakeHostRecords(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := plugintest.NewFakeHost().Declare(&plugin.Manifest{Collections: []plugin.Collection{{Name: "notes"}},
		Capabilities: []plugin.Capability{plugin.RecordsRead, plugin.RecordsWrite}})
	f.Clock = func() time.Time { return now }
	h, ctx := f.Host("q1"), context.Background()

	a, err := h.PutRecord(ctx, plugin.Record{Collection: "notes", CodeToken: "c1", Doc: json.RawMessage(`{"s":"open","n":1,"tags":["x","y"]}`)})
	if err != nil || a.ID == "" || a.Version != 1 || !a.CreatedAt.Equal(now) {
		t.Fatalf("put: %+v %v", a, err)
	}
	now = now.Add(time.Minute)
	if _, err := h.PutRecord(ctx, plugin.Record{Collection: "notes", ID: "b", Doc: json.RawMessage(`{"s":"done"}`), IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	_, err = h.PutRecord(ctx, plugin.Record{Collection: "notes", ID: "b", Doc: json.RawMessage(`{}`), IfAbsent: true})
	wantCode(t, err, "FailedOperation.RecordExists")
	_, err = h.PutRecord(ctx, plugin.Record{Collection: "notes", ID: a.ID, Doc: json.RawMessage(`{}`), Version: 7})
	wantCode(t, err, "FailedOperation.VersionConflict")
	if r, err := h.PutRecord(ctx, plugin.Record{Collection: "notes", ID: a.ID, CodeToken: "c1", Doc: json.RawMessage(`{"s":"open","n":2,"tags":["x","y"]}`), Version: 1}); err != nil || r.Version != 2 || !r.UpdatedAt.Equal(now) {
		t.Fatalf("versioned put: %+v %v", r, err)
	}
	_, err = h.PutRecord(ctx, plugin.Record{Collection: "other", Doc: json.RawMessage(`{}`)})
	wantCode(t, err, plugin.ErrInvalid)
	_, err = h.PutRecord(ctx, plugin.Record{Collection: "notes", ID: "../x", Doc: json.RawMessage(`{}`)})
	wantCode(t, err, plugin.ErrInvalid)

	for _, tc := range []struct {
		q     plugin.RecordQuery
		total int64
		first string
	}{
		{plugin.RecordQuery{}, 2, a.ID},
		{plugin.RecordQuery{Newest: true}, 2, "b"},
		{plugin.RecordQuery{CodeToken: "c1"}, 1, a.ID},
		{plugin.RecordQuery{Where: map[string]any{"s": "done"}}, 1, "b"},
		{plugin.RecordQuery{Where: map[string]any{"n": 2, "tags": []string{"y"}}}, 1, a.ID},
		{plugin.RecordQuery{Where: map[string]any{"n": 1}}, 0, ""},
		{plugin.RecordQuery{From: now}, 1, "b"},
		{plugin.RecordQuery{To: now}, 1, a.ID},
		{plugin.RecordQuery{Offset: 1, Limit: 1}, 2, "b"},
	} {
		tc.q.Collection = "notes"
		p, err := h.QueryRecords(ctx, tc.q)
		if err != nil || p.Total != tc.total || tc.first != "" && (len(p.Items) == 0 || p.Items[0].ID != tc.first) || tc.first == "" && len(p.Items) != 0 {
			t.Errorf("query %+v: %+v %v", tc.q, p, err)
		}
	}
	if err := h.DeleteRecord(ctx, "notes", "b"); err != nil {
		t.Fatal(err)
	}
	_, err = h.GetRecord(ctx, "notes", "b")
	wantCode(t, err, plugin.ErrNotFound)
	if rs := f.Records("notes"); len(rs) != 1 || rs[0].ID != a.ID {
		t.Fatalf("records %+v", rs)
	}
	// Undeclared capabilities are denied.
	_, err = h.PutFile(ctx, "a.png", "image/png", []byte("x"))
	wantCode(t, err, plugin.ErrDenied)
}

func TestFakeHostRace(t *testing.T) {
	f := plugintest.NewFakeHost()
	h, ctx := f.Host("q1"), context.Background()
	r, _ := h.PutRecord(ctx, plugin.Record{Collection: "c", ID: "x", Doc: json.RawMessage(`{"v":1}`)})
	f.BeforePut = func(plugin.Record) {
		f.BeforePut = nil
		if _, err := f.Host("q2").PutRecord(ctx, plugin.Record{Collection: "c", ID: "x", Doc: json.RawMessage(`{"v":2}`), Version: r.Version}); err != nil {
			t.Error(err)
		}
	}
	_, err := h.PutRecord(ctx, plugin.Record{Collection: "c", ID: "x", Doc: json.RawMessage(`{"v":3}`), Version: r.Version})
	wantCode(t, err, "FailedOperation.VersionConflict")
	if got, _ := f.Record("c", "x"); string(got.Doc) != `{"v":2}` || got.Version != 2 {
		t.Fatalf("stored %+v", got)
	}
}

func TestFakeHostServices(t *testing.T) {
	f := plugintest.NewFakeHost()
	f.Visitor = plugin.VisitorDetails{Visitor: plugin.Visitor{Pseudonym: "v1"}, Level: 2}
	f.SetObject(plugin.Code{Token: "t1", Attributes: json.RawMessage(`{"name":"井","depth":30}`)})
	h, ctx := f.Host("q1"), context.Background()

	c, err := h.UpdateObject(ctx, "t1", map[string]any{"depth": 31, "name": nil, "名称": "新井"})
	if err != nil || c.Name != "新井" || string(c.Attributes) != `{"depth":31,"名称":"新井"}` {
		t.Fatalf("update: %+v %v", c, err)
	}
	if c, err := h.Object(ctx, "t1"); err != nil || c.Kind != "object" || c.Status != "active" || c.Name != "新井" {
		t.Fatalf("object: %+v %v", c, err)
	}
	_, err = h.Object(ctx, "t2")
	wantCode(t, err, plugin.ErrNotFound)
	f.Fail[plugin.ObjectWrite] = &plugin.Error{Code: "FailedOperation.CodeNotActive", Message: "cancelled"}
	_, err = h.UpdateObject(ctx, "t1", map[string]any{"depth": 1})
	wantCode(t, err, "FailedOperation.CodeNotActive")
	if o, _ := f.Object("t1"); string(o.Attributes) != `{"depth":31,"名称":"新井"}` {
		t.Fatalf("refused update applied: %s", o.Attributes)
	}

	file, err := h.PutFile(ctx, "a.png", "image/png", []byte("png"))
	if err != nil || file.ID == "" || file.URL != "http://city.test/plugin-files/"+file.ID || file.Size != 3 || len(file.Data) != 0 {
		t.Fatalf("put file: %+v %v", file, err)
	}
	if got, err := h.GetFile(ctx, file.ID); err != nil || string(got.Data) != "png" {
		t.Fatalf("get file: %+v %v", got, err)
	}
	_, err = h.PutFile(ctx, "a.exe", "application/x-msdownload", []byte("x"))
	wantCode(t, err, plugin.ErrInvalid)

	if id, err := h.Notify(ctx, plugin.Notification{Template: "t", To: "v1"}); err != nil || id == "" {
		t.Fatalf("notify: %q %v", id, err)
	}
	f.Fail[plugin.NotifySend] = &plugin.Error{Code: plugin.ErrUnavailable, Message: "outbox down"}
	_, err = h.Notify(ctx, plugin.Notification{Template: "t", To: "v1"})
	wantCode(t, err, plugin.ErrUnavailable)
	if err := h.Event(ctx, "x.done", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := h.Audit(ctx, "x.approve", "x:1", map[string]string{"by": "me"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, h.Audit(ctx, "x.approve", "", []int{1}), plugin.ErrInvalid)
	if v, err := h.Visitor(ctx); err != nil || v.Pseudonym != "v1" || v.Level != 2 {
		t.Fatalf("visitor: %+v %v", v, err)
	}
	f.AddToken("tok", plugin.TokenInfo{Code: plugin.Code{Token: "t1"}})
	if info, err := h.RedeemToken(ctx, "tok"); err != nil || info.Code.Token != "t1" {
		t.Fatalf("redeem: %+v %v", info, err)
	}
	_, err = h.RedeemToken(ctx, "tok")
	wantCode(t, err, "FailedOperation.TokenInvalid")
	h.Log(ctx, "info", "hello")

	if len(f.Files) != 1 || len(f.Notifications) != 1 || len(f.Events) != 1 || f.Events[0].Name != "x.done" ||
		len(f.Audits) != 1 || f.Audits[0].Target != "x:1" || len(f.Logs) != 1 {
		t.Fatalf("files %d, notifications %+v, events %+v, audits %+v, logs %+v", len(f.Files), f.Notifications, f.Events, f.Audits, f.Logs)
	}
}
