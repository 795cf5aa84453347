package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration; plugin.json holds its JSON
// Schema, which the host checks when an operator sets it. Every key is
// optional: loadConfig fills in the defaults.
type config struct {
	Title         string       `json:"title"`
	Shift         shiftConfig  `json:"shift"`
	TeamShifts    []teamShift  `json:"teamShifts"`
	Holidays      []string     `json:"holidays"`
	MakeupDays    []string     `json:"makeupDays"`
	Fence         *fence       `json:"fence"`
	BindCodeHours int          `json:"bindCodeHours"`
	Managers      []string     `json:"managers"`
	Leaders       []leaderRole `json:"leaders"`
}

// shiftConfig is a shift as configured; zero values take the default
// shift's (or, for the default shift, 09:00–18:00, 5 minutes, Mon–Fri).
type shiftConfig struct {
	Start        string `json:"start"`
	End          string `json:"end"`
	GraceMinutes *int   `json:"graceMinutes"`
	Workdays     []int  `json:"workdays"`
}

type teamShift struct {
	Team string `json:"team"`
	shiftConfig
}

// leaderRole is a team leader's console account and team.
type leaderRole struct {
	Account string `json:"account"`
	Team    string `json:"team"`
}

// fence is a circle: its centre (WGS-84 degrees) and radius in metres.
type fence struct {
	Lat    float64 `json:"lat"`
	Lng    float64 `json:"lng"`
	Radius float64 `json:"radius"`
}

// shift is a resolved shift: minutes after midnight, Beijing time.
type shift struct {
	Start, End int
	Grace      int
	Workdays   []int // ISO weekdays, 1 Monday … 7 Sunday
}

func (s shift) String() string { return clock(s.Start) + "-" + clock(s.End) }

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

const (
	defaultTitle         = "考勤签到"
	defaultBindCodeHours = 72
)

var defaultShift = shift{Start: 9 * 60, End: 18 * 60, Grace: 5, Workdays: []int{1, 2, 3, 4, 5}}

// parseClock reads HH:MM.
func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// resolve applies a configured shift over a base one.
func (sc shiftConfig) resolve(base shift) (shift, bool) {
	s := base
	var ok bool
	if sc.Start != "" {
		if s.Start, ok = parseClock(sc.Start); !ok {
			return s, false
		}
	}
	if sc.End != "" {
		if s.End, ok = parseClock(sc.End); !ok {
			return s, false
		}
	}
	if sc.GraceMinutes != nil {
		s.Grace = *sc.GraceMinutes
	}
	if sc.Workdays != nil {
		s.Workdays = sc.Workdays
	}
	for _, d := range s.Workdays {
		if d < 1 || d > 7 {
			return s, false
		}
	}
	// A shift ending after midnight would put one working day on two
	// dates; night shifts are not supported (see README).
	return s, s.End > s.Start && s.Grace >= 0 && s.Grace <= 120
}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; what still does not make
// sense (a shift ending before it starts, a bad date) is the platform's
// fault, not the staff's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	broken := func(what string) (config, error) {
		return c, &plugin.Error{Code: plugin.ErrInternal, Message: "考勤签到的配置有误（" + what + "），请联系平台管理员"}
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return broken("无法解析")
		}
	}
	if c.Title == "" {
		c.Title = defaultTitle
	}
	if c.BindCodeHours <= 0 {
		c.BindCodeHours = defaultBindCodeHours
	}
	if _, ok := c.Shift.resolve(defaultShift); !ok {
		return broken("默认班次")
	}
	for _, t := range c.TeamShifts {
		if _, ok := c.shiftFor(t.Team); !ok {
			return broken("班组「" + t.Team + "」的班次")
		}
	}
	for _, d := range append(slices.Clone(c.Holidays), c.MakeupDays...) {
		if _, err := time.ParseInLocation(time.DateOnly, d, cst); err != nil {
			return broken("日期 " + d)
		}
	}
	if f := c.Fence; f != nil && (f.Radius <= 0 || math.Abs(f.Lat) > 90 || math.Abs(f.Lng) > 180) {
		return broken("电子围栏")
	}
	return c, nil
}

// shiftFor is a team's shift: its own entry over the default shift.
func (c config) shiftFor(team string) (shift, bool) {
	s, ok := c.Shift.resolve(defaultShift)
	if !ok {
		return s, false
	}
	for _, t := range c.TeamShifts {
		if t.Team == team {
			return t.shiftConfig.resolve(s)
		}
	}
	return s, true
}

// shiftOf is shiftFor for a configuration loadConfig accepted.
func (c config) shiftOf(team string) shift {
	s, _ := c.shiftFor(team)
	return s
}

// workday reports whether a date (Beijing time) is a working day of the
// shift: holidays are not, makeup days are, other days by weekday.
func (c config) workday(day time.Time, s shift) bool {
	d := day.In(cst).Format(time.DateOnly)
	switch {
	case slices.Contains(c.Holidays, d):
		return false
	case slices.Contains(c.MakeupDays, d):
		return true
	}
	wd := int(day.In(cst).Weekday())
	if wd == 0 {
		wd = 7
	}
	return slices.Contains(s.Workdays, wd)
}

// minuteOfDay is t's minutes after midnight, Beijing time, with the
// seconds as a fraction.
func minuteOfDay(t time.Time) float64 {
	t = t.In(cst)
	return float64(t.Hour()*60+t.Minute()) + float64(t.Second())/60
}

// judgeIn decides a check-in: on a workday, after start plus grace it is
// late by the minutes past the start (whole minutes, rounded down).
func judgeIn(t time.Time, s shift, workday bool) (string, int) {
	if !workday {
		return resultRestDay, 0
	}
	m := minuteOfDay(t)
	if m > float64(s.Start+s.Grace) {
		return resultLate, int(m) - s.Start
	}
	return resultOK, 0
}

// judgeOut decides a check-out: on a workday, before the end it is early
// by the minutes left (whole minutes, rounded up).
func judgeOut(t time.Time, s shift, workday bool) (string, int) {
	if !workday {
		return resultRestDay, 0
	}
	m := minuteOfDay(t)
	if m < float64(s.End) {
		return resultEarly, int(math.Ceil(float64(s.End) - m))
	}
	return resultOK, 0
}

// fenceFor is the fence of a code: its attributes lat, lng and radius
// (numbers or numeric strings; the radius defaulting to the configured
// one, else 200 m) over the configuration's. nil: no fence.
func (c config) fenceFor(code *plugin.Code) *fence {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	num := func(k string) (float64, bool) {
		switch v := attrs[k].(type) {
		case float64:
			return v, true
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
		}
		return 0, false
	}
	lat, ok1 := num("lat")
	lng, ok2 := num("lng")
	if !ok1 || !ok2 || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
		return c.Fence
	}
	f := &fence{Lat: lat, Lng: lng, Radius: 200}
	if c.Fence != nil {
		f.Radius = c.Fence.Radius
	}
	if r, ok := num("radius"); ok && r >= 10 && r <= 100000 {
		f.Radius = r
	}
	return f
}

// earthRadius is the mean radius of the earth in metres.
const earthRadius = 6371008.8

// distance is the great-circle distance in metres between two points
// (haversine), in degrees.
func distance(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

// metres renders a distance: 350 米, 1.2 公里.
func metres(d float64) string {
	if d < 1000 {
		return strconv.Itoa(int(math.Round(d))) + " 米"
	}
	return strconv.FormatFloat(math.Round(d/100)/10, 'f', -1, 64) + " 公里"
}
