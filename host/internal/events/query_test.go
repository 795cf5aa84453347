package events_test

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func utc(d, h, m, s int) time.Time { return time.Date(2026, 11, d, h, m, s, 0, time.UTC) }

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, cst) }

func writeAll(t *testing.T, w *events.Writer, n int, e events.Event) {
	t.Helper()
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = e
	}
	if err := w.Write(t.Context(), evs...); err != nil {
		t.Fatal(err)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	ok, ko := events.Success, events.Failure
	writeAll(t, w, 3, events.Event{At: utc(22, 1, 10, 0), Type: events.Verify, Result: ok, PlatformID: "P0001", AppID: "cc1", RuleID: "R1"})
	writeAll(t, w, 1, events.Event{At: utc(22, 1, 20, 0), Type: events.Verify, Result: ko, PlatformID: "P0001", AppID: "cc1", RuleID: "R1"})
	writeAll(t, w, 2, events.Event{At: utc(22, 2, 0, 0), Type: events.Show, Result: ok, PlatformID: "P0001", AppID: "cc2", RuleID: "R2"})
	writeAll(t, w, 1, events.Event{At: utc(21, 15, 59, 59), Type: events.Verify, Result: ok, PlatformID: "P0002", AppID: "cc3", RuleID: "R1"}) // 23:59:59 CST
	writeAll(t, w, 1, events.Event{At: utc(21, 16, 0, 0), Type: events.Verify, Result: ok, PlatformID: "P0002", AppID: "cc3", RuleID: "R1"})   // midnight CST
	writeAll(t, w, 4, events.Event{At: utc(20, 12, 0, 0), Type: events.Generate, Result: ok, PlatformID: "P0002", AppID: "cc3", RuleID: "R1"})

	for _, tc := range []struct {
		name string
		f    events.CountFilter
		want []events.CountRow
	}{
		{"per day", events.CountFilter{From: day(20), To: day(23), Granularity: "day"},
			[]events.CountRow{{Bucket: day(20), N: 4}, {Bucket: day(21), N: 1}, {Bucket: day(22), N: 7}}},
		{"verifies per day by type", events.CountFilter{From: day(20), To: day(23), Granularity: "day", Types: []events.Type{events.Verify}, GroupBy: []string{"type"}},
			[]events.CountRow{{Bucket: day(21), Type: events.Verify, N: 1}, {Bucket: day(22), Type: events.Verify, N: 5}}},
		{"one platform per hour by platform and result", events.CountFilter{From: day(22), To: day(23), Granularity: "hour", PlatformIDs: []string{"P0001"}, GroupBy: []string{"result", "platform"}},
			[]events.CountRow{
				{Bucket: utc(22, 1, 0, 0).In(cst), PlatformID: "P0001", Result: ko, N: 1},
				{Bucket: utc(22, 1, 0, 0).In(cst), PlatformID: "P0001", Result: ok, N: 3},
				{Bucket: utc(22, 2, 0, 0).In(cst), PlatformID: "P0001", Result: ok, N: 2}}},
		{"one app by app and rule", events.CountFilter{From: day(1), To: day(30), Granularity: "day", AppID: "cc3", GroupBy: []string{"app", "rule"}},
			[]events.CountRow{{Bucket: day(20), AppID: "cc3", RuleID: "R1", N: 4}, {Bucket: day(21), AppID: "cc3", RuleID: "R1", N: 1}, {Bucket: day(22), AppID: "cc3", RuleID: "R1", N: 1}}},
		{"one rule", events.CountFilter{From: day(22), To: day(23), Granularity: "day", RuleID: "R2"},
			[]events.CountRow{{Bucket: day(22), N: 2}}},
		{"buckets starting in the range only", events.CountFilter{From: day(21).Add(time.Hour), To: day(22).Add(time.Hour), Granularity: "day"},
			[]events.CountRow{{Bucket: day(22), N: 7}}},
		{"an empty scope sees nothing", events.CountFilter{From: day(1), To: day(30), Granularity: "day", PlatformIDs: []string{}}, []events.CountRow{}},
		{"another platform's scope", events.CountFilter{From: day(1), To: day(30), Granularity: "day", PlatformIDs: []string{"P0009"}}, []events.CountRow{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.Counts(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if _, off := got[i].Bucket.Zone(); !got[i].Bucket.Equal(tc.want[i].Bucket) || off != 8*3600 {
					t.Fatalf("row %d bucket %v, want %v", i, got[i].Bucket, tc.want[i].Bucket)
				}
				got[i].Bucket = tc.want[i].Bucket
				if got[i] != tc.want[i] {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCountsRefuseBadFilters(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	ok := events.CountFilter{From: day(1), To: day(30), Granularity: "day"}
	for _, tc := range []struct {
		name string
		mod  func(*events.CountFilter)
	}{
		{"no granularity", func(f *events.CountFilter) { f.Granularity = "" }},
		{"weekly", func(f *events.CountFilter) { f.Granularity = "week" }},
		{"no from", func(f *events.CountFilter) { f.From = time.Time{} }},
		{"no to", func(f *events.CountFilter) { f.To = time.Time{} }},
		{"empty range", func(f *events.CountFilter) { f.To = f.From }},
		{"reversed range", func(f *events.CountFilter) { f.From, f.To = f.To, f.From }},
		{"hours over a year", func(f *events.CountFilter) { f.Granularity, f.From = "hour", f.To.AddDate(-1, 0, 0) }},
		{"days over eleven years", func(f *events.CountFilter) { f.From = f.To.AddDate(-11, 0, 0) }},
		{"unknown type", func(f *events.CountFilter) { f.Types = []events.Type{events.Verify, "drop table"} }},
		{"unknown group", func(f *events.CountFilter) { f.GroupBy = []string{"subject"} }},
		{"injected group", func(f *events.CountFilter) { f.GroupBy = []string{"type; DROP TABLE usage_events"} }},
		{"group twice", func(f *events.CountFilter) { f.GroupBy = []string{"app", "app"} }},
		{"too many platforms", func(f *events.CountFilter) { f.PlatformIDs = make([]string, 1001) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			tc.mod(&f)
			if _, err := w.Counts(t.Context(), f); fault.KindOf(err) != fault.Invalid {
				t.Fatalf("got %v, want an Invalid fault", err)
			}
		})
	}
	if _, err := w.Counts(t.Context(), ok); err != nil {
		t.Fatal(err)
	}
}

func TestSubjectRecords(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	// h1 uses two apps on two platforms; h2 is someone else.
	var h1 []events.Event
	for i := range 12 {
		e := events.Event{At: now.Add(-time.Duration(i) * time.Hour), Type: []events.Type{events.Generate, events.Show, events.Verify}[i%3],
			Result: events.Success, PlatformID: "P0001", AppID: "cc1", RuleID: "R1", RuleVersion: 2, Kind: "person",
			SubjectID: "h1", CodeID: fmt.Sprint("c", i), OrgID: "GATE", RegionCode: "310101", Detail: []byte(`{"i":` + fmt.Sprint(i) + `}`)}
		if i%4 == 3 {
			e.PlatformID, e.AppID, e.SubjectID = "P0002", "cc2", "h1b"
		}
		h1 = append(h1, e)
	}
	if err := w.Write(t.Context(), h1...); err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, 5, events.Event{At: now, Type: events.Show, Result: events.Success, PlatformID: "P0001", AppID: "cc1", SubjectID: "h2"})
	person := []string{"h1", "h1b"}
	codes := func(p events.Page) string {
		var s []string
		for _, e := range p.Items {
			s = append(s, e.CodeID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name  string
		f     events.SubjectFilter
		total int64
		codes string
	}{
		{"all, newest first", events.SubjectFilter{SubjectIDs: person}, 12, "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11"},
		{"one handle", events.SubjectFilter{SubjectIDs: []string{"h1b"}}, 3, "c3,c7,c11"},
		{"a page", events.SubjectFilter{SubjectIDs: person, Offset: 2, Limit: 3}, 12, "c2,c3,c4"},
		{"past the end", events.SubjectFilter{SubjectIDs: person, Offset: 12}, 12, ""},
		{"shows", events.SubjectFilter{SubjectIDs: person, Types: []events.Type{events.Show}}, 4, "c1,c4,c7,c10"},
		{"generate and verify on one app", events.SubjectFilter{SubjectIDs: person, Types: []events.Type{events.Generate, events.Verify}, AppID: "cc1"}, 6, "c0,c2,c5,c6,c8,c9"},
		{"one platform", events.SubjectFilter{SubjectIDs: person, PlatformID: "P0002"}, 3, "c3,c7,c11"},
		{"a time range", events.SubjectFilter{SubjectIDs: person, From: now.Add(-5 * time.Hour), To: now.Add(-2 * time.Hour)}, 3, "c3,c4,c5"},
		{"from only", events.SubjectFilter{SubjectIDs: person, From: now.Add(-time.Hour)}, 2, "c0,c1"},
		{"nobody", events.SubjectFilter{SubjectIDs: []string{"h9"}}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := w.SubjectRecords(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tc.total || codes(p) != tc.codes {
				t.Fatalf("got %d: %s; want %d: %s", p.Total, codes(p), tc.total, tc.codes)
			}
		})
	}
	p, err := w.SubjectRecords(t.Context(), events.SubjectFilter{SubjectIDs: []string{"h1"}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, want := p.Items[0], h1[0]
	if !got.At.Equal(want.At) || string(got.Detail) != `{"i": 0}` { // as jsonb spells it
		t.Fatalf("got %+v, want %+v", got, want)
	}
	got.At, got.Detail, want.Detail = want.At, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	for _, tc := range []struct {
		name string
		f    events.SubjectFilter
	}{
		{"no subject", events.SubjectFilter{}},
		{"an empty subject", events.SubjectFilter{SubjectIDs: []string{"h1", ""}}},
		{"too many subjects", events.SubjectFilter{SubjectIDs: strings.Split(strings.Repeat("h,", 100)+"h", ",")}},
		{"reversed range", events.SubjectFilter{SubjectIDs: person, From: now, To: now.Add(-time.Hour)}},
		{"page too large", events.SubjectFilter{SubjectIDs: person, Limit: 501}},
		{"negative page", events.SubjectFilter{SubjectIDs: person, Limit: -1}},
		{"negative offset", events.SubjectFilter{SubjectIDs: person, Offset: -1}},
		{"offset too deep", events.SubjectFilter{SubjectIDs: person, Offset: 100_001}},
		{"unknown type", events.SubjectFilter{SubjectIDs: person, Types: []events.Type{"x"}}},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := w.SubjectRecords(t.Context(), tc.f); fault.KindOf(err) != fault.Invalid {
				t.Fatalf("got %v, want an Invalid fault", err)
			}
		})
	}
}

func TestSubjectSummary(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	w := newWriter(t, pool, newClock(now))
	// now is 17:30 on 22 November in China: "today" began at 16:00 UTC on the 21st.
	type ev struct {
		at        time.Time
		typ       events.Type
		res       events.Result
		app, plat string
		subject   string
	}
	for _, e := range []ev{
		{utc(21, 16, 0, 0), events.Generate, events.Success, "cc1", "P0001", "h1"},               // today's first second
		{utc(22, 9, 0, 0), events.Generate, events.Success, "cc1", "P0001", "h1"},                // today
		{utc(22, 9, 0, 0), events.Show, events.Success, "cc2", "P0002", "h1b"},                   // today, the person's other handle
		{utc(22, 9, 0, 0), events.Verify, events.Failure, "cc1", "P0001", "h1"},                  // failures are not uses
		{utc(21, 15, 59, 59), events.Show, events.Success, "cc1", "P0001", "h1"},                 // yesterday's last second
		{utc(16, 3, 0, 0), events.Verify, events.Success, "cc1", "P0001", "h1"},                  // 6 days ago
		{utc(15, 3, 0, 0), events.Verify, events.Success, "cc1", "P0001", "h1"},                  // 7 days ago
		{utc(22, 3, 0, 0).AddDate(0, 0, -29), events.Show, events.Success, "cc1", "P0001", "h1"}, // 29 days ago
		{utc(22, 3, 0, 0).AddDate(0, 0, -30), events.Show, events.Success, "cc1", "P0001", "h1"}, // 30 days ago: out
		{utc(22, 3, 0, 0), events.Generate, events.Success, "cc1", "P0001", "h2"},                // someone else
	} {
		if err := w.Write(t.Context(), events.Event{At: e.at, Type: e.typ, Result: e.res, AppID: e.app, PlatformID: e.plat, SubjectID: e.subject}); err != nil {
			t.Fatal(err)
		}
	}
	type counts = map[events.Type]int64
	cc1 := counts{events.Generate: 2, events.Show: 2, events.Verify: 2}
	want := events.Summary{
		Today:      counts{events.Generate: 2, events.Show: 1},
		Yesterday:  counts{events.Show: 1},
		Last7Days:  counts{events.Generate: 2, events.Show: 2, events.Verify: 1},
		Last30Days: counts{events.Generate: 2, events.Show: 3, events.Verify: 2},
		ByApp:      map[string]counts{"cc1": cc1, "cc2": {events.Show: 1}},
		ByPlatform: map[string]counts{"P0001": maps.Clone(cc1), "P0002": {events.Show: 1}},
	}
	got, err := w.SubjectSummary(t.Context(), []string{"h1", "h1b"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// A second later in the evening changes nothing; after midnight CST
	// today's counts become yesterday's.
	got, err = w.SubjectSummary(t.Context(), []string{"h1", "h1b"}, utc(22, 16, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Yesterday, want.Today) || len(got.Today) != 0 {
		t.Fatalf("after midnight: %+v", got)
	}
	got, err = w.SubjectSummary(t.Context(), []string{"nobody"}, now)
	if err != nil || got.Today == nil || len(got.Last30Days) != 0 {
		t.Fatalf("nobody: %+v, %v", got, err)
	}
	for name, ids := range map[string][]string{"no subject": nil, "an empty subject": {""}, "too many": make([]string, 101)} {
		if _, err := w.SubjectSummary(t.Context(), ids, now); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: got %v, want an Invalid fault", name, err)
		}
	}
	if _, err := w.SubjectSummary(t.Context(), []string{"h1"}, time.Time{}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("zero time: got %v, want an Invalid fault", err)
	}
}
