package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Check-in and check-out: one attendance record per staff member and day,
// id "a-{YYYYMMDD}-{staffNo}", created by the check-in only if absent and
// completed by the check-out against the version read. Two check-ins at
// once from two phones thus make one record.

// Results of a check-in or check-out.
const (
	resultOK      = "正常"
	resultLate    = "迟到"
	resultEarly   = "早退"
	resultRestDay = "休息日"
)

// attendanceDoc is the document of the attendance collection. Names and
// teams are those of the day, so that exports stay right after changes.
type attendanceDoc struct {
	Date             string   `json:"date"`
	StaffNo          string   `json:"staffNo"`
	Name             string   `json:"name"`
	Team             string   `json:"team"`
	Shift            string   `json:"shift"`
	Workday          bool     `json:"workday"`
	CheckIn          string   `json:"checkIn"` // HH:MM:SS, Beijing time
	CheckInResult    string   `json:"checkInResult"`
	LateMinutes      int      `json:"lateMinutes"`
	CheckInSite      string   `json:"checkInSite"`
	CheckInDistance  *float64 `json:"checkInDistance,omitempty"`
	CheckOut         string   `json:"checkOut,omitempty"`
	CheckOutResult   string   `json:"checkOutResult,omitempty"`
	EarlyMinutes     int      `json:"earlyMinutes"`
	CheckOutSite     string   `json:"checkOutSite,omitempty"`
	CheckOutCode     string   `json:"checkOutCode,omitempty"`
	CheckOutDistance *float64 `json:"checkOutDistance,omitempty"`
}

func attendanceID(staffNo string, day time.Time) string {
	return "a-" + day.In(cst).Format("20060102") + "-" + staffNo
}

// maxField bounds a form field: the forms have a few short ones.
const maxField = 1 << 10

// readForm parses a urlencoded or multipart body of the allowed fields,
// each at most once; the forms take no file.
func readForm(req *plugin.Request, allowed ...string) (url.Values, error) {
	f, err := plugin.ReadForm(req, plugin.FormOptions{MaxField: maxField, NoFile: "考勤签到无需上传文件"})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.Values))
	for name := range f.Values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case !slices.Contains(allowed, name):
			return nil, invalid("未知的表单字段：" + name)
		case len(f.Values[name]) > 1:
			return nil, invalid("表单字段 " + name + " 只能填写一次")
		case strings.ContainsRune(f.Values.Get(name), 0):
			return nil, invalid("表单字段 " + name + " 含有无效字符")
		}
	}
	return f.Values, nil
}

// checkPosition reads lat and lng and, with a fence, answers the
// distance to the point: required then, and within the radius. Without
// a fence a position is not needed and not kept.
func checkPosition(v url.Values, f *fence) (*float64, error) {
	if f == nil {
		return nil, nil
	}
	latS, lngS := strings.TrimSpace(v.Get("lat")), strings.TrimSpace(v.Get("lng"))
	if latS == "" || lngS == "" {
		return nil, missing("本考勤点仅限现场签到：请允许获取位置信息后再提交")
	}
	lat, err1 := strconv.ParseFloat(latS, 64)
	lng, err2 := strconv.ParseFloat(lngS, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lng) || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
		return nil, invalid("位置信息无效：纬度须在 -90 至 90 之间，经度须在 -180 至 180 之间")
	}
	d := distance(f.Lat, f.Lng, lat, lng)
	if d > f.Radius {
		return nil, outside(fmt.Sprintf("您当前的位置距考勤点约 %s，超出可签到范围（%s以内），请到考勤点现场签到", metres(d), metres(f.Radius)))
	}
	d = math.Round(d)
	return &d, nil
}

// today reads the staff member's record of the day; nil when none.
func (c *call) today(ctx context.Context) (*plugin.Record, *attendanceDoc, error) {
	rec, err := c.host.GetRecord(ctx, "attendance", attendanceID(c.staff.doc.StaffNo, c.now))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var d attendanceDoc
	_ = json.Unmarshal(rec.Doc, &d)
	return rec, &d, nil
}

// checkIn records the day's check-in, once.
func checkIn(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, "lat", "lng")
	if err != nil {
		return nil, err
	}
	dist, err := checkPosition(v, c.cfg.fenceFor(c.req.Code))
	if err != nil {
		return nil, err
	}
	s := c.staff.doc
	sh := c.cfg.shiftOf(s.Team)
	wd := c.cfg.workday(c.now, sh)
	d := attendanceDoc{Date: c.now.Format(time.DateOnly), StaffNo: s.StaffNo, Name: s.Name, Team: s.Team, Shift: sh.String(),
		Workday: wd, CheckIn: c.now.Format(time.TimeOnly), CheckInSite: c.site, CheckInDistance: dist}
	d.CheckInResult, d.LateMinutes = judgeIn(c.now, sh, wd)
	id := attendanceID(s.StaffNo, c.now)
	_, err = c.put(ctx, "attendance", id, c.req.Code.Token, d, 0, true)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		_, old, gerr := c.today(ctx)
		if gerr != nil || old == nil {
			return nil, conflict("AlreadyCheckedIn", "今天已经签到过了")
		}
		return nil, conflict("AlreadyCheckedIn", "今天已于 "+hm(old.CheckIn)+" 在"+old.CheckInSite+"签到，每天只能签到一次")
	}
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "attendance.checkin", map[string]any{"attendanceId": id, "result": d.CheckInResult,
		"lateMinutes": d.LateMinutes, "team": d.Team}); err != nil {
		c.warn(ctx, "attendance.checkin event", err)
	}
	return render(http.StatusCreated, donePage, c, map[string]any{"What": "签到", "Time": hm(d.CheckIn), "Result": d.CheckInResult,
		"Minutes": d.LateMinutes, "Doc": d})
}

// checkOut completes the day's record; a check-out needs the day's
// check-in and happens once.
func checkOut(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, "lat", "lng")
	if err != nil {
		return nil, err
	}
	dist, err := checkPosition(v, c.cfg.fenceFor(c.req.Code))
	if err != nil {
		return nil, err
	}
	rec, d, err := c.today(ctx)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return nil, conflict("NotCheckedIn", "今天还没有签到，不能签退：请先签到")
	case d.CheckOut != "":
		return nil, conflict("AlreadyCheckedOut", "今天已于 "+hm(d.CheckOut)+" 签退，不能重复签退")
	}
	sh := c.cfg.shiftOf(d.Team)
	if d.Shift != sh.String() {
		// The day is judged by the shift it began with, even if the
		// configuration changed since the check-in.
		if start, end, ok := strings.Cut(d.Shift, "-"); ok {
			if sc, ok := (shiftConfig{Start: start, End: end}).resolve(sh); ok {
				sh = sc
			}
		}
	}
	d.CheckOut, d.CheckOutSite, d.CheckOutCode, d.CheckOutDistance = c.now.Format(time.TimeOnly), c.site, c.req.Code.Token, dist
	d.CheckOutResult, d.EarlyMinutes = judgeOut(c.now, sh, d.Workday)
	if _, err := c.put(ctx, "attendance", rec.ID, rec.CodeToken, d, rec.Version, false); plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("AlreadyCheckedOut", "今天已经签退过了")
	} else if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "attendance.checkout", map[string]any{"attendanceId": rec.ID, "result": d.CheckOutResult,
		"earlyMinutes": d.EarlyMinutes, "team": d.Team}); err != nil {
		c.warn(ctx, "attendance.checkout event", err)
	}
	return render(http.StatusOK, donePage, c, map[string]any{"What": "签退", "Time": hm(d.CheckOut), "Result": d.CheckOutResult,
		"Minutes": d.EarlyMinutes, "Doc": *d})
}

// hm is the HH:MM of a stored HH:MM:SS.
func hm(s string) string {
	if len(s) >= 5 {
		return s[:5]
	}
	return s
}

// weekdays are the days' names, Sunday first as time.Weekday counts.
var weekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// home is the landing page: to a tourist, the way to log in; to a citizen
// not on the roster, the bind form; to a staff member, the day's state
// with the button that fits it and the month so far.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	vis := c.req.Visitor
	if vis.Tourist || vis.Pseudonym == "" {
		return render(http.StatusForbidden, refusedPage, c, map[string]any{"Message": needLogin})
	}
	s, err := c.staffOf(ctx, vis.Pseudonym)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return render(http.StatusForbidden, bindPage, c, map[string]any{"Message": notOnRoster})
	}
	if s.doc.Status != statusActive {
		return render(http.StatusForbidden, refusedPage, c, map[string]any{"Message": disabledMsg})
	}
	c.staff = s
	_, d, err := c.today(ctx)
	if err != nil {
		return nil, err
	}
	sh := c.cfg.shiftOf(s.doc.Team)
	from, to, _ := monthRange("", c.now)
	recs, err := c.all(ctx, plugin.RecordQuery{Collection: "attendance", Where: map[string]any{"staffNo": s.doc.StaffNo}, From: from, To: to})
	if err != nil {
		return nil, err
	}
	sum := summarize(s.doc, byDate(recs), c.cfg, from, to, c.now)
	return render(200, homePage, c, map[string]any{"Staff": s.doc, "Date": c.now.Format(time.DateOnly),
		"Weekday": weekdays[c.now.Weekday()], "Shift": sh.String(), "Workday": c.cfg.workday(c.now, sh), "Today": d,
		"Fence": c.cfg.fenceFor(c.req.Code), "Month": sum})
}
