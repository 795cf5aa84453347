package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// seedEntries records n entries one minute apart from t0 and returns them as
// the model the queries are checked against (seq i+1 is model[i]).
func seedEntries(t *testing.T, pool *pgxpool.Pool, n int, cfg Config) (*Logger, []Entry) {
	t.Helper()
	ctx := testCtx(t)
	cfg.Clock = (&fakeClock{t: t0, step: time.Minute}).Now
	l := newLogger(t, pool, cfg)
	types := []Type{TypeOperation, TypeLogin, TypeAPI, TypeDataSecurity}
	accounts := []string{"alice", "alina", "bob", "al_x"}
	platforms := []string{"P1", "P2", "P3"}
	actions := []string{"app.create", "code.issue"}
	model := make([]Entry, n)
	for i := range n {
		e := Entry{Type: types[i%4], Account: accounts[i%4], OperatorID: "op", PlatformID: platforms[i%3],
			SourceIP: "10.0.0.1", Action: actions[i%2], Target: "app:A0001", Result: Success,
			RequestID: "req", Detail: []byte(`{"i":` + strings.Repeat("1", 1+i%3) + `}`)}
		mustRecord(t, ctx, l, e)
		e.Seq, e.At = int64(i+1), t0.Add(time.Duration(i)*time.Minute)
		model[i] = e
	}
	return l, model
}

// match is the reference semantics of Filter.
func (f Filter) match(e Entry) bool {
	return (f.From.IsZero() || !e.At.Before(f.From)) &&
		(f.To.IsZero() || e.At.Before(f.To)) &&
		(f.Type == "" || e.Type == f.Type) &&
		strings.HasPrefix(e.Account, f.Account) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.PlatformIDs == nil || slices.Contains(f.PlatformIDs, e.PlatformID))
}

func expectSeqs(model []Entry, f Filter) []int64 {
	var seqs []int64
	for i := len(model) - 1; i >= 0; i-- { // newest first
		if f.match(model[i]) {
			seqs = append(seqs, model[i].Seq)
		}
	}
	return seqs
}

func TestList(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l, model := seedEntries(t, pool, 30, Config{})
	minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

	tests := []struct {
		name string
		f    Filter
	}{
		{"everything", Filter{Limit: 500}},
		{"time range is half open", Filter{From: minute(5), To: minute(12), Limit: 500}},
		{"from only", Filter{From: minute(25), Limit: 500}},
		{"to only", Filter{To: minute(3), Limit: 500}},
		{"empty range", Filter{From: minute(5), To: minute(5), Limit: 500}},
		{"type", Filter{Type: TypeLogin, Limit: 500}},
		{"account prefix", Filter{Account: "ali", Limit: 500}},
		{"account exact", Filter{Account: "bob", Limit: 500}},
		{"account underscore is literal", Filter{Account: "al_", Limit: 500}},
		{"account percent is literal", Filter{Account: "%", Limit: 500}},
		{"action", Filter{Action: "code.issue", Limit: 500}},
		{"action is not a prefix", Filter{Action: "app", Limit: 500}},
		{"scope all", Filter{PlatformIDs: nil, Limit: 500}},
		{"scope none", Filter{PlatformIDs: []string{}, Limit: 500}},
		{"scope one", Filter{PlatformIDs: []string{"P2"}, Limit: 500}},
		{"scope two", Filter{PlatformIDs: []string{"P1", "P3", "P9"}, Limit: 500}},
		{"combined", Filter{From: minute(2), To: minute(28), Type: TypeOperation, Account: "a",
			Action: "app.create", PlatformIDs: []string{"P1", "P2"}, Limit: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := l.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			want := expectSeqs(model, tt.f)
			var got []int64
			for _, e := range page.Items {
				got = append(got, e.Seq)
			}
			if page.Total != int64(len(want)) || !slices.Equal(got, want) {
				t.Fatalf("total %d items %v, want total %d items %v", page.Total, got, len(want), want)
			}
			if page.Items == nil {
				t.Fatal("items is nil; the API wants []")
			}
		})
	}

	t.Run("entry fields", func(t *testing.T) {
		page, err := l.List(ctx, Filter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, want := page.Items[0], model[29]
		if got.Seq != 30 || !got.At.Equal(want.At) || got.Type != want.Type || got.Account != want.Account ||
			got.OperatorID != "op" || got.PlatformID != want.PlatformID || got.SourceIP != "10.0.0.1" ||
			got.Action != want.Action || got.Target != "app:A0001" || got.Result != Success ||
			got.RequestID != "req" || string(got.Detail) != `{"i": 111}` || len(got.Hash) != 64 || len(got.PrevHash) != 64 {
			t.Fatalf("entry = %+v, detail %s", got, got.Detail)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		f := Filter{Type: TypeOperation}
		want := expectSeqs(model, f) // 8 entries
		var got []int64
		for off := 0; ; off += 3 {
			f.Offset, f.Limit = off, 3
			page, err := l.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != int64(len(want)) {
				t.Fatalf("offset %d: total %d, want %d", off, page.Total, len(want))
			}
			if len(page.Items) == 0 {
				break
			}
			for _, e := range page.Items {
				got = append(got, e.Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
	})

	t.Run("default limit", func(t *testing.T) {
		page, err := l.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 30 || len(page.Items) != 20 || page.Items[0].Seq != 30 {
			t.Fatalf("total %d, %d items, first %d", page.Total, len(page.Items), page.Items[0].Seq)
		}
	})
}

func TestListRefusesBadFilters(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	tests := map[string]Filter{
		"from after to":      {From: t0.Add(time.Second), To: t0},
		"negative offset":    {Offset: -1},
		"offset too deep":    {Offset: maxOffset + 1},
		"negative limit":     {Limit: -1},
		"limit too large":    {Limit: 501},
		"unknown type":       {Type: "debug"},
		"invalid account":    {Account: "a\xff"},
		"NUL in action":      {Action: "a\x00b"},
		"invalid platform":   {PlatformIDs: []string{"P1", "\xc0"}},
		"account too long":   {Account: strings.Repeat("a", maxField+1)},
		"too many platforms": {PlatformIDs: make([]string, maxPlatformIDs+1)},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := l.List(ctx, f)
			if fault.KindOf(err) != fault.Invalid || fault.CodeOf(err) != fault.CodeInvalidParameter {
				t.Fatalf("list = %v, want an invalid-parameter fault", err)
			}
		})
	}
}
