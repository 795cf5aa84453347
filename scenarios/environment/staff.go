package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Staff: cleaners (保洁人员) enroll with the platform's enrollment code and
// are then known by the pseudonym the host gives them in this plugin. The
// host only lets logged-in visitors reach these routes; Handle refuses
// visitors who are not enrolled before any staff route runs.

// staffMember is the document of the staff collection, keyed by the
// cleaner's pseudonym: one enrollment serves every code of the platform.
type staffMember struct {
	Pseudonym  string `json:"pseudonym"`
	Name       string `json:"name,omitempty"` // masked, when the person authorized the scene
	EnrolledAt string `json:"enrolledAt"`
}

// checkinDoc is a daily check-in (每日打卡), one per cleaner, code and day.
type checkinDoc struct {
	Cleaner  string `json:"cleaner"`
	Time     string `json:"time"`
	Day      string `json:"day"`
	Kind     string `json:"kind"`
	Abnormal bool   `json:"abnormal"`
	Reason   string `json:"reason,omitempty"`
}

// cleaningDoc is a cleaning record (保洁记录).
type cleaningDoc struct {
	Cleaner string   `json:"cleaner"`
	Time    string   `json:"time"`
	Day     string   `json:"day"`
	Items   []string `json:"items"`
	Note    string   `json:"note,omitempty"`
	Photo   string   `json:"photo,omitempty"`
}

// learningDoc records that a cleaner studied a material.
type learningDoc struct {
	Cleaner  string `json:"cleaner"`
	Material string `json:"material"`
	Title    string `json:"title"`
	Time     string `json:"time"`
}

// Record ids derived from what a record is about make "one per …" rules
// hold without a lookup race: a second put of the same id replaces, it
// never adds.

func hashed(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + hex.EncodeToString(sum[:12])
}

func staffID(pseudonym string) string {
	if len(pseudonym) <= 60 && reportIDRe.MatchString(pseudonym) {
		return "st-" + pseudonym
	}
	return hashed("st-", pseudonym)
}

func checkinID(token, pseudonym string, day time.Time) string {
	return hashed("ck-", token, pseudonym) + "-" + day.In(cst).Format("20060102")
}

func learningID(pseudonym, materialID string) string { return hashed("ln-", pseudonym, materialID) }

// staffMember answers the enrolled cleaner of the request, or nil.
func (c *call) staffMember(ctx context.Context) (*staffMember, error) {
	rec, err := c.host.GetRecord(ctx, "staff", staffID(c.req.Visitor.Pseudonym))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m staffMember
	decode(*rec, &m)
	return &m, nil
}

// staffHome is the staff portal: the enrollment form for a logged-in
// visitor who is not enrolled, the cleaner's day otherwise.
func staffHome(ctx context.Context, c *call) (*plugin.Response, error) {
	m, err := c.staffMember(ctx)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return render(200, enrollPage, c, nil)
	}
	data := map[string]any{"Items": c.cfg.cleaningItemsFor(c.facility.Kind), "Hint": photoHint}
	if h, ok := parseHours(c.facility.OpeningHours); ok {
		data["Hours"] = h.String()
	}
	rec, err := c.host.GetRecord(ctx, "checkins", checkinID(c.req.Code.Token, m.Pseudonym, c.now))
	switch {
	case err == nil:
		var d checkinDoc
		decode(*rec, &d)
		data["CheckedIn"] = clockOf(d.Time)
	case !plugin.IsCode(err, plugin.ErrNotFound):
		return nil, err
	}
	open, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "reports", CodeToken: c.req.Code.Token,
		Where: map[string]any{"status": statusReceived}, Newest: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	var views []reportView
	for _, r := range open.Items {
		views = append(views, viewOf(r))
	}
	data["Open"] = views
	return render(200, staffPage, c, data)
}

// clockOf is the HH:MM of an RFC 3339 time.
func clockOf(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(cst).Format("15:04")
}

// enroll makes the visitor a cleaner when the code they give matches the
// platform's enrollment code. Enrolling twice is harmless.
func enroll(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	code := f.get("code")
	if code == "" {
		return nil, missing("请输入登记码")
	}
	if c.cfg.EnrollmentCode == "" {
		return nil, denied("本平台未开放保洁人员登记，请联系管理单位")
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(c.cfg.EnrollmentCode)) != 1 {
		return nil, denied("登记码不正确")
	}
	m, err := c.staffMember(ctx)
	if err != nil {
		return nil, err
	}
	if m == nil {
		id := staffID(c.req.Visitor.Pseudonym)
		m = &staffMember{Pseudonym: c.req.Visitor.Pseudonym, Name: c.req.Visitor.Name, EnrolledAt: stamp(c.now)}
		if _, err := c.put(ctx, "staff", id, m, 0); err != nil {
			return nil, err
		}
		if err := c.host.Audit(ctx, "staff.enroll", "staff:"+id, map[string]string{"code": c.req.Code.Token}); err != nil {
			c.warn(ctx, "staff.enroll audit", err)
		}
	}
	return plugin.Redirect(c.link("/staff")), nil
}

// checkin records the cleaner's check-in of the day at this code. A
// check-in outside the facility's opening hours is kept, marked abnormal,
// and alerts the owner unit (打卡异常预警). A missing check-in by a given
// hour would need a scheduler, which plugins do not have.
func checkin(ctx context.Context, c *call) (*plugin.Response, error) {
	id := checkinID(c.req.Code.Token, c.member.Pseudonym, c.now)
	rec, err := c.host.GetRecord(ctx, "checkins", id)
	if err == nil {
		var d checkinDoc
		decode(*rec, &d)
		return nil, conflict("AlreadyCheckedIn", "今天已于 "+clockOf(d.Time)+" 打卡，每天只需打卡一次")
	}
	if !plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, err
	}
	d := checkinDoc{Cleaner: c.member.Pseudonym, Time: stamp(c.now), Day: c.now.Format(time.DateOnly), Kind: "每日打卡"}
	if h, ok := parseHours(c.facility.OpeningHours); ok && !h.open(c.now) {
		d.Abnormal, d.Reason = true, "打卡时间 "+c.now.Format("15:04")+" 不在开放时间 "+h.String()+" 内"
	}
	if _, err := c.put(ctx, "checkins", id, d, 0); err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "checkin.created", map[string]any{"checkinId": id, "abnormal": d.Abnormal}); err != nil {
		c.warn(ctx, "checkin.created event", err)
	}
	if d.Abnormal {
		a := alert{Kind: "打卡异常预警", Reason: c.facility.Name + "：" + d.Reason, Subject: id, Recipient: c.recipient()}
		if err := c.raise(ctx, alertID("ck", id), a, tplAbnormalCheckin, "alert.abnormal_checkin", map[string]string{
			"code": c.req.Code.Token, "facility": c.facility.Name, "time": d.Time, "openingHours": c.facility.OpeningHours,
			"checkinId": id,
		}); err != nil {
			c.warn(ctx, "abnormal check-in alert", err)
		}
	}
	return render(http.StatusCreated, checkinDonePage, c, map[string]any{"Time": c.now.Format("2006-01-02 15:04"),
		"Abnormal": d.Abnormal, "Reason": d.Reason})
}

// cleaning records what the cleaner did, with an optional photo.
func cleaning(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	items, err := checkItems(f.values["items"], c.cfg.cleaningItemsFor(c.facility.Kind))
	if err != nil {
		return nil, err
	}
	note := f.get("note")
	if utf8.RuneCountInString(note) > 200 {
		return nil, invalid("说明不能超过 200 个字")
	}
	photo, err := c.storePhoto(ctx, f)
	if err != nil {
		return nil, err
	}
	d := cleaningDoc{Cleaner: c.member.Pseudonym, Time: stamp(c.now), Day: c.now.Format(time.DateOnly), Items: items,
		Note: note, Photo: photo}
	rec, err := c.put(ctx, "cleanings", "", d, 0)
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "cleaning.created", map[string]string{"cleaningId": rec.ID}); err != nil {
		c.warn(ctx, "cleaning.created event", err)
	}
	return render(http.StatusCreated, cleaningDonePage, c, map[string]any{"Time": c.now.Format("2006-01-02 15:04"),
		"Items": strings.Join(items, "、")})
}

// checkItems checks the ticked cleaning items: at least one, each one of
// the list, none twice.
func checkItems(got, allowed []string) ([]string, error) {
	var out []string
	for _, it := range got {
		it = strings.TrimSpace(it)
		if it == "" || contains(out, it) {
			continue
		}
		if !contains(allowed, it) {
			return nil, invalid("未知的保洁项目：" + it)
		}
		out = append(out, it)
	}
	if len(out) == 0 {
		return nil, missing("请至少选择一项保洁项目")
	}
	return out, nil
}

// resolve marks a report of this code handled (问题办结); the citizen sees
// it on the status page and the work order says so.
func resolve(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	rec, err := c.findReport(ctx, f.get("id"))
	if err != nil {
		return nil, err
	}
	note := f.get("note")
	if utf8.RuneCountInString(note) > 200 {
		return nil, invalid("办结说明不能超过 200 个字")
	}
	var r report
	decode(*rec, &r)
	if r.Status == statusHandled {
		return nil, conflict("AlreadyHandled", "该问题已办结")
	}
	r.Status, r.HandledAt, r.HandledNote, r.Handler = statusHandled, stamp(c.now), note, c.member.Pseudonym
	// The version makes a concurrent change fail (409) instead of being
	// overwritten.
	if _, err := c.put(ctx, "reports", rec.ID, r, rec.Version); err != nil {
		return nil, err
	}
	if err := c.host.Audit(ctx, "report.resolve", "report:"+rec.ID, map[string]string{"note": note}); err != nil {
		c.warn(ctx, "report.resolve audit", err)
	}
	if err := c.host.Event(ctx, "report.resolved", map[string]string{"reportId": rec.ID}); err != nil {
		c.warn(ctx, "report.resolved event", err)
	}
	return plugin.Redirect(c.link("/staff")), nil
}

// dayCount is one day of the monthly report.
type dayCount struct {
	Day                                    string
	Checkins, Abnormal, Cleanings, Reports int
}

// monthRange answers the month named "2006-01" in Beijing time, or the
// month of now when the name is empty.
func monthRange(name string, now time.Time) (from, to time.Time, err error) {
	if name == "" {
		name = now.In(cst).Format("2006-01")
	}
	from, perr := time.ParseInLocation("2006-01", name, cst)
	if perr != nil || from.Year() < 2000 || from.Year() > 2100 {
		return from, to, invalid("月份格式应为 2026-01")
	}
	return from, from.AddDate(0, 1, 0), nil
}

// countByDay tallies a month: one row per day, and the totals.
func countByDay(from, to time.Time, checkins, cleanings, reports []plugin.Record) ([]dayCount, dayCount) {
	var days []dayCount
	index := map[string]int{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(days)
		days = append(days, dayCount{Day: d.Format(time.DateOnly)})
	}
	day := func(r plugin.Record) *dayCount {
		if i, ok := index[r.CreatedAt.In(cst).Format(time.DateOnly)]; ok {
			return &days[i]
		}
		return &dayCount{} // outside the month: not counted
	}
	var total dayCount
	for _, r := range checkins {
		var d checkinDoc
		decode(r, &d)
		day(r).Checkins++
		total.Checkins++
		if d.Abnormal {
			day(r).Abnormal++
			total.Abnormal++
		}
	}
	for _, r := range cleanings {
		day(r).Cleanings++
		total.Cleanings++
	}
	for _, r := range reports {
		day(r).Reports++
		total.Reports++
	}
	return days, total
}

// monthly is the code's monthly self-inspection report (每月自查报告):
// check-ins, cleanings and reports per day.
func monthly(ctx context.Context, c *call) (*plugin.Response, error) {
	from, to, err := monthRange(c.req.QueryValue("month"), c.now)
	if err != nil {
		return nil, err
	}
	var lists [3][]plugin.Record
	for i, col := range []string{"checkins", "cleanings", "reports"} {
		if lists[i], err = c.all(ctx, plugin.RecordQuery{Collection: col, CodeToken: c.req.Code.Token, From: from, To: to}); err != nil {
			return nil, err
		}
	}
	days, total := countByDay(from, to, lists[0], lists[1], lists[2])
	return render(200, monthlyPage, c, map[string]any{"Month": from.Format("2006-01"), "Days": days, "Total": total})
}

// materialView is a training material and whether the cleaner studied it.
type materialView struct {
	material
	Done bool
}

// learn lists the platform's training materials (学习小助手).
func learn(ctx context.Context, c *call) (*plugin.Response, error) {
	done, err := c.all(ctx, plugin.RecordQuery{Collection: "learnings", Where: map[string]any{"cleaner": c.member.Pseudonym}})
	if err != nil {
		return nil, err
	}
	studied := map[string]bool{}
	for _, r := range done {
		var d learningDoc
		decode(r, &d)
		studied[d.Material] = true
	}
	var list []materialView
	for _, m := range c.cfg.Materials {
		if m.Kind == "" {
			m.Kind = "文档"
		}
		list = append(list, materialView{material: m, Done: studied[m.ID]})
	}
	return render(200, learnPage, c, map[string]any{"Materials": list})
}

// learned records that the cleaner studied a material, once.
func learned(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	id := f.get("material")
	if id == "" {
		return nil, missing("请指明学习材料")
	}
	var mat *material
	for i := range c.cfg.Materials {
		if c.cfg.Materials[i].ID == id {
			mat = &c.cfg.Materials[i]
		}
	}
	if mat == nil {
		return nil, invalid("未知的学习材料：" + id)
	}
	d := learningDoc{Cleaner: c.member.Pseudonym, Material: mat.ID, Title: mat.Title, Time: stamp(c.now)}
	if _, err := c.put(ctx, "learnings", learningID(c.member.Pseudonym, mat.ID), d, 0); err != nil {
		return nil, err
	}
	return plugin.Redirect(c.link("/staff/learn")), nil
}
