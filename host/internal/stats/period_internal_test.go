package stats

import (
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
)

func TestPeriods(t *testing.T) {
	t.Parallel()
	// 00:30 on 2 March in Beijing is still 1 March in UTC: days are
	// Beijing days.
	now := time.Date(2025, 3, 1, 16, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name           string
		in             PeriodIn
		def            Period
		first, last    string
		days           int
		fromUTC, toUTC string
		wantPeriod     Period
	}{
		{"today", PeriodIn{Period: "today"}, "", "2025-03-02", "2025-03-02", 1, "2025-03-01T16:00:00Z", "2025-03-02T16:00:00Z", Today},
		{"yesterday", PeriodIn{Period: "yesterday"}, "", "2025-03-01", "2025-03-01", 1, "2025-02-28T16:00:00Z", "2025-03-01T16:00:00Z", Yesterday},
		{"7 days, today included", PeriodIn{Period: "7d"}, "", "2025-02-24", "2025-03-02", 7, "2025-02-23T16:00:00Z", "2025-03-02T16:00:00Z", Last7Days},
		{"30 days across February", PeriodIn{Period: "30d"}, "", "2025-02-01", "2025-03-02", 30, "2025-01-31T16:00:00Z", "2025-03-02T16:00:00Z", Last30Days},
		{"default", PeriodIn{}, Last7Days, "2025-02-24", "2025-03-02", 7, "2025-02-23T16:00:00Z", "2025-03-02T16:00:00Z", Last7Days},
		{"from and to imply custom", PeriodIn{From: "2024-02-28", To: "2024-03-01"}, Yesterday, "2024-02-28", "2024-03-01", 3, "2024-02-27T16:00:00Z", "2024-03-01T16:00:00Z", Custom},
		{"one custom day", PeriodIn{Period: "custom", From: "2025-01-01", To: "2025-01-01"}, "", "2025-01-01", "2025-01-01", 1, "2024-12-31T16:00:00Z", "2025-01-01T16:00:00Z", Custom},
		{"a leap year", PeriodIn{From: "2024-01-01", To: "2024-12-31"}, "", "2024-01-01", "2024-12-31", 366, "2023-12-31T16:00:00Z", "2024-12-31T16:00:00Z", Custom},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.in.resolve(now, c.def)
			if err != nil {
				t.Fatal(err)
			}
			if s.first() != c.first || s.last() != c.last || s.days() != c.days || s.period != c.wantPeriod {
				t.Fatalf("%s..%s (%d days, %s), want %s..%s (%d, %s)", s.first(), s.last(), s.days(), s.period, c.first, c.last, c.days, c.wantPeriod)
			}
			if got := s.from.UTC().Format(time.RFC3339); got != c.fromUTC {
				t.Errorf("from %s, want %s", got, c.fromUTC)
			}
			if got := s.to.UTC().Format(time.RFC3339); got != c.toUTC {
				t.Errorf("to %s, want %s", got, c.toUTC)
			}
		})
	}
	if d := dateArg(time.Date(2025, 3, 1, 16, 30, 0, 0, time.UTC)); d != time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("date of 00:30 Beijing time: %s", d)
	}
}

func TestPeriodsRefuseBadInput(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 16, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		in   PeriodIn
		code string
	}{
		{"unknown period", PeriodIn{Period: "week"}, fault.CodeInvalidParameter},
		{"custom without from", PeriodIn{Period: "custom", To: "2025-01-01"}, fault.CodeMissingParameter},
		{"custom without to", PeriodIn{From: "2025-01-01"}, fault.CodeMissingParameter},
		{"not a date", PeriodIn{From: "2025-1-1", To: "2025-01-02"}, fault.CodeInvalidParameter},
		{"no such day", PeriodIn{From: "2025-02-29", To: "2025-03-02"}, fault.CodeInvalidParameter},
		{"a time, not a day", PeriodIn{From: "2025-01-01T00:00:00Z", To: "2025-01-02"}, fault.CodeInvalidParameter},
		{"from after to", PeriodIn{From: "2025-01-02", To: "2025-01-01"}, fault.CodeInvalidParameter},
		{"more than a year", PeriodIn{From: "2024-01-01", To: "2025-01-01"}, fault.CodeInvalidParameter},
		{"named period with dates", PeriodIn{Period: "7d", From: "2025-01-01", To: "2025-01-02"}, fault.CodeInvalidParameter},
		{"year 1", PeriodIn{From: "0001-01-01", To: "0001-01-02"}, fault.CodeInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.resolve(now, Last7Days)
			if fe, ok := fault.As(err); !ok || fe.Code != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
		})
	}
}

func TestPageIn(t *testing.T) {
	t.Parallel()
	o, err := PageIn{}.check()
	if err != nil || o.column != "g" || o.dir != "DESC" || o.offset != 0 || o.limit != 20 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = PageIn{Sort: "verify", Order: "asc", PageNo: 3, PageSize: 50}.check()
	if err != nil || o.column != "v" || o.dir != "ASC" || o.offset != 100 || o.limit != 50 {
		t.Fatalf("page 3 of 50 by verify: %+v %v", o, err)
	}
	if got := o.sql("id"); got != " ORDER BY v ASC, id OFFSET 100 LIMIT 50" {
		t.Fatalf("sql %q", got)
	}
	for _, in := range []PageIn{
		{Sort: "name"}, {Sort: "g"}, {Order: "up"}, {PageSize: 501}, {PageSize: -1}, {PageNo: -1}, {PageNo: 100_000, PageSize: 500},
		{Sort: "show; DROP TABLE apps"},
	} {
		if _, err := in.check(); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%+v: %v", in, err)
		}
	}
}

func TestRegionPrefix(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{"310000": "31", "310100": "3101", "310104": "310104", "310104001": "310104001", "310104000": "310104"} {
		if got := regionPrefix(code); got != want {
			t.Errorf("%s: %s, want %s", code, got, want)
		}
	}
	for code, want := range map[string]bool{"310104": true, "310104001": true, "31": false, "31010a": false, "": false, "3101040010001": false} {
		if validRegion(code) != want {
			t.Errorf("validRegion(%q) != %v", code, want)
		}
	}
}
