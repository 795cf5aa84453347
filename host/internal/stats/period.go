package stats

import (
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// beijing is where the statistics' days begin: China Standard Time, the
// location of the events writer's rollups (events.Config.Location's
// default). The two must agree, or a day here would add up hours of two
// rollup days.
var beijing = time.FixedZone("CST", 8*3600)

// Period names a span of Beijing days.
type Period string

// The periods. The last 7 and 30 days include today, as the per-user
// summaries of package events do.
const (
	Today      Period = "today"
	Yesterday  Period = "yesterday"
	Last7Days  Period = "7d"
	Last30Days Period = "30d"
	Custom     Period = "custom" // from and to, both included
)

// maxDays bounds a custom span: a year, leap day included.
const maxDays = 366

// dateLayout is how days travel in parameters and answers.
const dateLayout = "2006-01-02"

// PeriodIn chooses the days a figure covers: a named period, or from and
// to (both included). Giving from and to implies period=custom.
type PeriodIn struct {
	Period string `query:"period" validate:"max=16" doc:"today, yesterday, 7d (the last 7 days, today included), 30d, or custom (from and to)"`
	From   string `query:"from" validate:"max=10" doc:"first day, YYYY-MM-DD (Beijing time)"`
	To     string `query:"to" validate:"max=10" doc:"last day, YYYY-MM-DD, included"`
}

// span is a half-open range [from, to) of whole Beijing days: both are
// midnights in beijing.
type span struct {
	period   Period
	from, to time.Time
}

// days is how many days s covers.
func (s span) days() int { return int(s.to.Sub(s.from) / (24 * time.Hour)) }

// first and last are s's first and last days as dates.
func (s span) first() string { return s.from.Format(dateLayout) }
func (s span) last() string  { return s.to.AddDate(0, 0, -1).Format(dateLayout) }

// midnight is the start of t's Beijing day.
func midnight(t time.Time) time.Time {
	y, m, d := t.In(beijing).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, beijing)
}

// dateArg is how a Beijing day travels to a PostgreSQL date column: the
// UTC midnight of the same calendar date (as package events writes them).
func dateArg(day time.Time) time.Time {
	y, m, d := day.In(beijing).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// resolve turns in into days as of now; def is the period when in names
// none. Bad input is a *fault.Error of kind Invalid naming the parameter.
func (in PeriodIn) resolve(now time.Time, def Period) (span, error) {
	p := Period(in.Period)
	if p == "" {
		p = def
		if in.From != "" || in.To != "" {
			p = Custom
		}
	}
	today := midnight(now)
	switch p {
	case Today, Yesterday, Last7Days, Last30Days:
		if in.From != "" || in.To != "" {
			return span{}, fault.Invalidf("parameters \"from\" and \"to\" go with period=custom only")
		}
	}
	switch p {
	case Today:
		return span{p, today, today.AddDate(0, 0, 1)}, nil
	case Yesterday:
		return span{p, today.AddDate(0, 0, -1), today}, nil
	case Last7Days:
		return span{p, today.AddDate(0, 0, -6), today.AddDate(0, 0, 1)}, nil
	case Last30Days:
		return span{p, today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)}, nil
	case Custom:
		if in.From == "" {
			return span{}, fault.Missing("from")
		}
		if in.To == "" {
			return span{}, fault.Missing("to")
		}
		from, err := parseDay("from", in.From)
		if err != nil {
			return span{}, err
		}
		last, err := parseDay("to", in.To)
		if err != nil {
			return span{}, err
		}
		if last.Before(from) {
			return span{}, fault.Invalidf("parameter \"from\" (%s) is after \"to\" (%s)", in.From, in.To)
		}
		s := span{p, from, last.AddDate(0, 0, 1)}
		if s.days() > maxDays {
			return span{}, fault.Invalidf("the period spans %d days; at most %d", s.days(), maxDays)
		}
		return s, nil
	}
	return span{}, fault.Invalidf("parameter \"period\" must be one of: today yesterday 7d 30d custom")
}

func parseDay(name, v string) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, v, beijing)
	if err != nil || t.Year() < 2000 || t.Year() > 9000 {
		return time.Time{}, fault.Invalidf("parameter %q must be a date YYYY-MM-DD, not %q", name, v)
	}
	return t, nil
}
