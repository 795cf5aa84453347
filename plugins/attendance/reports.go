package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Reports: the day's list and the month's figures, computed from the
// roster and the attendance records. Absence (缺卡) is not stored: it is a
// working day without a record, for a staff member on the roster that
// day, once the day's shift has ended.

// Day statuses in the daily list; a row may have several (迟到 and 早退).
const (
	dayOK         = "正常"
	dayLate       = "迟到"
	dayEarly      = "早退"
	dayNoCheckout = "未签退"
	dayAbsent     = "缺卡"
	dayPending    = "未签到" // today, before the shift ends
	dayRest       = "休息"
	dayRestWorked = "休息日出勤"
	dayInProgress = "已签到" // today, checked in, the shift not over
)

var dayStatuses = []string{dayOK, dayLate, dayEarly, dayNoCheckout, dayAbsent, dayPending, dayRest, dayRestWorked, dayInProgress}

// onRoster reports whether a staff member was on the roster on a date.
func onRoster(s staffDoc, date string) bool {
	return s.Since <= date && (s.DisabledOn == "" || date < s.DisabledOn)
}

// ended reports whether a day's shift is over at now.
func ended(date string, s shift, now time.Time) bool {
	today := now.In(cst).Format(time.DateOnly)
	return date < today || date == today && minuteOfDay(now) >= float64(s.End)
}

// dayStatus is a staff member's status on a day, from the record (nil
// when none).
func dayStatus(d *attendanceDoc, workday, over bool) []string {
	if d == nil {
		switch {
		case !workday:
			return []string{dayRest}
		case over:
			return []string{dayAbsent}
		}
		return []string{dayPending}
	}
	if !d.Workday {
		return []string{dayRestWorked}
	}
	var out []string
	if d.CheckInResult == resultLate {
		out = append(out, dayLate)
	}
	switch {
	case d.CheckOutResult == resultEarly:
		out = append(out, dayEarly)
	case d.CheckOut == "" && over:
		out = append(out, dayNoCheckout)
	case d.CheckOut == "" && len(out) == 0:
		out = append(out, dayInProgress)
	}
	if len(out) == 0 {
		out = append(out, dayOK)
	}
	return out
}

// byDate indexes attendance records by date.
func byDate(recs []plugin.Record) map[string]*attendanceDoc {
	out := make(map[string]*attendanceDoc, len(recs))
	for _, r := range recs {
		var d attendanceDoc
		if json.Unmarshal(r.Doc, &d) == nil {
			out[d.Date] = &d
		}
	}
	return out
}

// summary is a staff member's figures for a month (so far).
type summary struct {
	StaffNo         string `json:"staffNo"`
	Name            string `json:"name"`
	Team            string `json:"team"`
	Status          string `json:"status"`
	Workdays        int    `json:"workdays"`        // working days due: on the roster, the shift over or checked in
	Present         int    `json:"present"`         // days with a check-in, rest days included
	Late            int    `json:"late"`            // 迟到
	LateMinutes     int    `json:"lateMinutes"`     // in total
	Early           int    `json:"early"`           // 早退
	EarlyMinutes    int    `json:"earlyMinutes"`    // in total
	Absent          int    `json:"absent"`          // 缺卡
	MissingCheckout int    `json:"missingCheckout"` // 未签退
	RestDaysWorked  int    `json:"restDaysWorked"`  // 休息日出勤
}

// summarize counts a month [from, to) up to now. Days are judged with the
// staff member's current shift; a day with a record keeps what was
// decided at the scan.
func summarize(s staffDoc, recs map[string]*attendanceDoc, cfg config, from, to, now time.Time) summary {
	out := summary{StaffNo: s.StaffNo, Name: s.Name, Team: s.Team, Status: s.Status}
	sh := cfg.shiftOf(s.Team)
	today := now.In(cst).Format(time.DateOnly)
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		date := day.Format(time.DateOnly)
		if date > today {
			break
		}
		d, over := recs[date], ended(date, sh, now)
		if d == nil {
			if cfg.workday(day, sh) && over && onRoster(s, date) {
				out.Workdays++
				out.Absent++
			}
			continue
		}
		out.Present++
		if !d.Workday {
			out.RestDaysWorked++
			continue
		}
		out.Workdays++
		if d.CheckInResult == resultLate {
			out.Late++
			out.LateMinutes += d.LateMinutes
		}
		if d.CheckOutResult == resultEarly {
			out.Early++
			out.EarlyMinutes += d.EarlyMinutes
		}
		if d.CheckOut == "" && over {
			out.MissingCheckout++
		}
	}
	return out
}

// monthRange answers the month named "2006-01" in Beijing time, or the
// month of now when the name is empty; a month to come is refused.
func monthRange(name string, now time.Time) (from, to time.Time, err error) {
	if name == "" {
		name = now.In(cst).Format("2006-01")
	}
	from, perr := time.ParseInLocation("2006-01", name, cst)
	if perr != nil || from.Year() < 2000 {
		return from, to, invalid("month 须为月份 YYYY-MM，如 2026-11")
	}
	if from.After(now) {
		return from, to, invalid("不能统计尚未到来的月份")
	}
	return from, from.AddDate(0, 1, 0), nil
}

// dayRow is a staff member's day in the daily list.
type dayRow struct {
	StaffNo        string   `json:"staffNo"`
	Name           string   `json:"name"`
	Team           string   `json:"team"`
	Shift          string   `json:"shift"`
	Workday        bool     `json:"workday"`
	Status         []string `json:"status"`
	CheckIn        string   `json:"checkIn,omitempty"`
	CheckInResult  string   `json:"checkInResult,omitempty"`
	LateMinutes    int      `json:"lateMinutes,omitempty"`
	CheckInSite    string   `json:"checkInSite,omitempty"`
	CheckOut       string   `json:"checkOut,omitempty"`
	CheckOutResult string   `json:"checkOutResult,omitempty"`
	EarlyMinutes   int      `json:"earlyMinutes,omitempty"`
	CheckOutSite   string   `json:"checkOutSite,omitempty"`
}

// daily answers a day's attendance (date YYYY-MM-DD, today by default):
// every staff member on the roster that day or with a record, of a team
// (a leader's own by default), and of a status when asked; with the
// count of each status.
func daily(ctx context.Context, c *call) (*plugin.Response, error) {
	date := c.req.QueryValue("date")
	if date == "" {
		date = c.now.Format(time.DateOnly)
	}
	day, err := time.ParseInLocation(time.DateOnly, date, cst)
	if err != nil {
		return nil, invalid("date 须为日期 YYYY-MM-DD，如 2026-11-03")
	}
	if date > c.now.Format(time.DateOnly) {
		return nil, invalid("不能查询尚未到来的日期")
	}
	status := c.req.QueryValue("status")
	if status != "" && !slices.Contains(dayStatuses, status) {
		return nil, invalid("status 须为 " + strings.Join(dayStatuses, "、") + " 之一")
	}
	team, err := c.teamScope()
	if err != nil {
		return nil, err
	}
	staff, err := c.roster(ctx, team)
	if err != nil {
		return nil, err
	}
	recs, err := c.all(ctx, plugin.RecordQuery{Collection: "attendance", Where: map[string]any{"date": date}})
	if err != nil {
		return nil, err
	}
	docs := map[string]*attendanceDoc{}
	for _, r := range recs {
		var d attendanceDoc
		if json.Unmarshal(r.Doc, &d) == nil {
			docs[d.StaffNo] = &d
		}
	}
	counts := map[string]int{}
	items := []dayRow{}
	for _, s := range staff {
		d := docs[s.doc.StaffNo]
		if d == nil && !onRoster(s.doc, date) {
			continue
		}
		sh := c.cfg.shiftOf(s.doc.Team)
		row := dayRow{StaffNo: s.doc.StaffNo, Name: s.doc.Name, Team: s.doc.Team, Shift: sh.String(), Workday: c.cfg.workday(day, sh)}
		if d != nil {
			row.Shift, row.Workday = d.Shift, d.Workday
			row.CheckIn, row.CheckInResult, row.LateMinutes, row.CheckInSite = d.CheckIn, d.CheckInResult, d.LateMinutes, d.CheckInSite
			row.CheckOut, row.CheckOutResult, row.EarlyMinutes, row.CheckOutSite = d.CheckOut, d.CheckOutResult, d.EarlyMinutes, d.CheckOutSite
		}
		row.Status = dayStatus(d, row.Workday, ended(date, sh, c.now))
		for _, st := range row.Status {
			counts[st]++
		}
		if status == "" || slices.Contains(row.Status, status) {
			items = append(items, row)
		}
	}
	return plugin.JSON(200, map[string]any{"date": date, "weekday": weekdays[day.Weekday()], "team": team, "total": len(items),
		"counts": counts, "items": items})
}

// monthly answers the month's figures per staff member (month YYYY-MM,
// the current one by default; team; staffNo for one person), and their
// totals.
func monthly(ctx context.Context, c *call) (*plugin.Response, error) {
	from, to, err := monthRange(c.req.QueryValue("month"), c.now)
	if err != nil {
		return nil, err
	}
	team, err := c.teamScope()
	if err != nil {
		return nil, err
	}
	only := ""
	if s := c.req.QueryValue("staffNo"); s != "" {
		if only, err = normStaffNo(s); err != nil {
			return nil, err
		}
	}
	staff, err := c.roster(ctx, team)
	if err != nil {
		return nil, err
	}
	q := plugin.RecordQuery{Collection: "attendance", From: from, To: to}
	if only != "" {
		q.Where = map[string]any{"staffNo": only}
	}
	recs, err := c.all(ctx, q)
	if err != nil {
		return nil, err
	}
	per := map[string][]plugin.Record{}
	for _, r := range recs {
		var d attendanceDoc
		if json.Unmarshal(r.Doc, &d) == nil {
			per[d.StaffNo] = append(per[d.StaffNo], r)
		}
	}
	first, last := from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)
	items := []summary{}
	var total summary
	for _, s := range staff {
		if only != "" && s.doc.StaffNo != only {
			continue
		}
		// Left out: who was not on the roster in the month and has no
		// record in it.
		if len(per[s.doc.StaffNo]) == 0 && (s.doc.Since > last || s.doc.DisabledOn != "" && s.doc.DisabledOn <= first) {
			continue
		}
		sum := summarize(s.doc, byDate(per[s.doc.StaffNo]), c.cfg, from, to, c.now)
		items = append(items, sum)
		total.Workdays += sum.Workdays
		total.Present += sum.Present
		total.Late += sum.Late
		total.LateMinutes += sum.LateMinutes
		total.Early += sum.Early
		total.EarlyMinutes += sum.EarlyMinutes
		total.Absent += sum.Absent
		total.MissingCheckout += sum.MissingCheckout
		total.RestDaysWorked += sum.RestDaysWorked
	}
	if only != "" && len(items) == 0 {
		return nil, notFound("没有工号 " + only + " 在该月的考勤（或不在您可查看的班组）")
	}
	return plugin.JSON(200, map[string]any{"month": from.Format("2006-01"), "team": team, "total": len(items), "items": items,
		"sum": total})
}
