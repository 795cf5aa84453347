package main

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// lot is a car park's guide (停车信息), the document of the lots
// collection: one per code, set by operators. Money is in yuan.
type lot struct {
	Name         string   `json:"name"`
	Address      string   `json:"address"`
	Longitude    *float64 `json:"longitude,omitempty"`
	Latitude     *float64 `json:"latitude,omitempty"`
	FeeFirstHour float64  `json:"feeFirstHour"`
	FeeNextHour  float64  `json:"feeNextHour"`
	DailyCap     *float64 `json:"dailyCap,omitempty"` // none: no daily cap
	FreeMinutes  int      `json:"freeMinutes"`
	FeeNote      string   `json:"feeNote,omitempty"`
	TotalSpaces  int      `json:"totalSpaces"`
	OpeningHours string   `json:"openingHours,omitempty"`
	TimeLimit    string   `json:"timeLimit,omitempty"`
	Entrances    []string `json:"entrances,omitempty"`
	Contact      string   `json:"contact,omitempty"`
	UpdatedBy    string   `json:"updatedBy,omitempty"`
}

// spaces is a car park's remaining spaces, the document of the spaces
// collection. It is kept apart from the guide so that the frequent counts
// of the car park's system neither collide with an operator editing the
// guide (each has its own version) nor rewrite it; Total is copied from
// the guide so that a count is checked with one read.
type spaces struct {
	Name      string `json:"name"`
	Total     int    `json:"total"`
	Remaining *int   `json:"remaining,omitempty"` // none: never counted
	UpdatedAt string `json:"updatedAt,omitempty"` // when Remaining was counted
	UpdatedBy string `json:"updatedBy,omitempty"`
}

// lotInput is the body of PUT /lot.
type lotInput struct {
	Code            string     `json:"code"`
	Version         int64      `json:"version"`
	Name            string     `json:"name"`
	Address         string     `json:"address"`
	Longitude       *float64   `json:"longitude"`
	Latitude        *float64   `json:"latitude"`
	Fees            *feesInput `json:"fees"`
	TotalSpaces     *int       `json:"totalSpaces"`
	RemainingSpaces *int       `json:"remainingSpaces"`
	OpeningHours    string     `json:"openingHours"`
	TimeLimit       string     `json:"timeLimit"`
	Entrances       []string   `json:"entrances"`
	Contact         string     `json:"contact"`
}

type feesInput struct {
	FirstHour   *float64 `json:"firstHour"`
	NextHour    *float64 `json:"nextHour"`
	DailyCap    *float64 `json:"dailyCap"`
	FreeMinutes *int     `json:"freeMinutes"`
	Note        string   `json:"note"`
}

const (
	maxSpaces     = 100000
	maxFee        = 10000
	maxEntrances  = 20
	lotShape      = `{"code","version","name","address","longitude","latitude","fees":{"firstHour","nextHour","dailyCap","freeMinutes","note"},"totalSpaces","remainingSpaces","openingHours","timeLimit","entrances":[…],"contact"}`
	spacesShape   = `{"code","remaining","version","at"}`
	spacesRetries = 8
)

// money checks an amount in yuan: given, not negative, at most maxFee,
// whole fen.
func money(label string, v *float64, required bool) error {
	switch {
	case v == nil && required:
		return missing("请填写" + label)
	case v == nil:
		return nil
	case *v < 0:
		return invalid(label + "不能为负数")
	case *v > maxFee:
		return invalid(label + "不能超过 " + strconv.Itoa(maxFee) + " 元")
	case math.Abs(*v*100-math.Round(*v*100)) > 1e-6:
		return invalid(label + "最多保留两位小数（元）")
	}
	return nil
}

// checkLot validates a guide: a name and an address, coordinates both or
// neither and in range, the fee standard (amounts not negative, the daily
// cap not below the first hour), the total spaces and, when given, the
// remaining ones (not above the total), and the short texts. It answers
// the document and the remaining spaces given.
func checkLot(in lotInput) (lot, *int, error) {
	var l lot
	var err error
	if l.Name, err = text("停车场名称", in.Name, 60, false); err != nil {
		return l, nil, err
	}
	if l.Name == "" {
		return l, nil, missing("请填写停车场名称 name")
	}
	if l.Address, err = text("地址", in.Address, 200, false); err != nil {
		return l, nil, err
	}
	if l.Address == "" {
		return l, nil, missing("请填写停车场地址 address")
	}
	switch {
	case (in.Longitude == nil) != (in.Latitude == nil):
		return l, nil, invalid("经度 longitude 与纬度 latitude 须同时填写")
	case in.Longitude != nil && (*in.Longitude < -180 || *in.Longitude > 180):
		return l, nil, invalid("经度须在 -180 到 180 之间")
	case in.Latitude != nil && (*in.Latitude < -90 || *in.Latitude > 90):
		return l, nil, invalid("纬度须在 -90 到 90 之间")
	}
	l.Longitude, l.Latitude = in.Longitude, in.Latitude

	f := in.Fees
	if f == nil {
		return l, nil, missing("请填写收费标准 fees")
	}
	for _, m := range []struct {
		label    string
		v        *float64
		required bool
	}{{"首小时收费 fees.firstHour", f.FirstHour, true}, {"续时每小时收费 fees.nextHour", f.NextHour, true}, {"每日封顶 fees.dailyCap", f.DailyCap, false}} {
		if err := money(m.label, m.v, m.required); err != nil {
			return l, nil, err
		}
	}
	if f.DailyCap != nil && *f.DailyCap < *f.FirstHour {
		return l, nil, invalid("每日封顶不能低于首小时收费")
	}
	if f.FreeMinutes != nil && (*f.FreeMinutes < 0 || *f.FreeMinutes > 1440) {
		return l, nil, invalid("免费时长 fees.freeMinutes 须为 0–1440 分钟")
	}
	l.FeeFirstHour, l.FeeNextHour, l.DailyCap = *f.FirstHour, *f.NextHour, f.DailyCap
	if f.FreeMinutes != nil {
		l.FreeMinutes = *f.FreeMinutes
	}
	if l.FeeNote, err = text("收费说明", f.Note, 500, true); err != nil {
		return l, nil, err
	}

	switch t := in.TotalSpaces; {
	case t == nil:
		return l, nil, missing("请填写总车位数 totalSpaces")
	case *t < 1 || *t > maxSpaces:
		return l, nil, invalid("总车位数须为 1–" + strconv.Itoa(maxSpaces) + " 的整数")
	}
	l.TotalSpaces = *in.TotalSpaces
	if r := in.RemainingSpaces; r != nil {
		if err := checkRemaining(*r, l.TotalSpaces); err != nil {
			return l, nil, err
		}
	}

	for _, t := range []struct {
		label, in string
		max       int
		out       *string
	}{{"开放时间", in.OpeningHours, 100, &l.OpeningHours}, {"停车时间限制", in.TimeLimit, 200, &l.TimeLimit}, {"联系电话", in.Contact, 60, &l.Contact}} {
		if *t.out, err = text(t.label, t.in, t.max, false); err != nil {
			return l, nil, err
		}
	}
	if len(in.Entrances) > maxEntrances {
		return l, nil, invalid("出入口最多 " + strconv.Itoa(maxEntrances) + " 个")
	}
	for _, e := range in.Entrances {
		s, err := text("出入口", e, 100, false)
		if err != nil {
			return l, nil, err
		}
		if s == "" {
			return l, nil, invalid("出入口不能为空")
		}
		l.Entrances = append(l.Entrances, s)
	}
	return l, in.RemainingSpaces, nil
}

// checkRemaining checks a remaining-space count against the total.
func checkRemaining(remaining, total int) error {
	switch {
	case remaining < 0:
		return invalid("剩余车位不能为负数")
	case remaining > total:
		return invalid("剩余车位（" + strconv.Itoa(remaining) + "）不能大于总车位数（" + strconv.Itoa(total) + "）")
	}
	return nil
}

// lotView is what GET /lot and PUT /lot answer.
type lotView struct {
	Code          string  `json:"code"`
	CodeName      string  `json:"codeName,omitempty"`
	Lot           *lot    `json:"lot"`
	Version       int64   `json:"version,omitempty"`
	Spaces        *spaces `json:"spaces"`
	SpacesVersion int64   `json:"spacesVersion,omitempty"`
	Stale         bool    `json:"stale"`
}

// getLot answers a code's guide and spaces with their versions, for the
// console's form (code= or q= names the code).
func getLot(ctx context.Context, c *call) (*plugin.Response, error) {
	code := c.req.QueryValue("code")
	if code == "" {
		code = c.req.QueryValue("q")
	}
	obj, err := c.resolve(ctx, code)
	if err != nil {
		return nil, err
	}
	out := lotView{Code: obj.Token, CodeName: obj.Name}
	id := lotID(obj.Token)
	if rec, err := c.get(ctx, "lots", id); err != nil {
		return nil, err
	} else if rec != nil {
		out.Lot, out.Version = new(lot), rec.Version
		decode(*rec, out.Lot)
	}
	if rec, err := c.get(ctx, "spaces", id); err != nil {
		return nil, err
	} else if rec != nil {
		out.Spaces, out.SpacesVersion = new(spaces), rec.Version
		decode(*rec, out.Spaces)
		out.Stale = c.stale(*out.Spaces)
	}
	return plugin.JSON(200, out)
}

// stale reports a count older than the configured minutes.
func (c *call) stale(s spaces) bool {
	t, err := time.Parse(time.RFC3339, s.UpdatedAt)
	return s.Remaining != nil && (err != nil || c.now.Sub(t) > time.Duration(c.cfg.StaleMinutes)*time.Minute)
}

// setLot creates (no version) or replaces (the version read) a code's
// guide. Everything is checked before anything is stored: a remaining
// count the new total would fall below refuses the change unless the
// body sets the count too.
func setLot(ctx context.Context, c *call) (*plugin.Response, error) {
	var in lotInput
	if err := readJSON(c.req.Body, &in, lotShape); err != nil {
		return nil, err
	}
	l, remaining, err := checkLot(in)
	if err != nil {
		return nil, err
	}
	if in.Version < 0 {
		return nil, invalid("version 不能为负数")
	}
	obj, err := c.resolve(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	id := lotID(obj.Token)
	old, err := c.get(ctx, "lots", id)
	switch {
	case err != nil:
		return nil, err
	case old == nil && in.Version > 0:
		return nil, notFound("该码尚未设置停车信息；新建时请勿提供 version")
	case old != nil && in.Version == 0:
		return nil, conflict("VersionConflict", "该码已设置停车信息（版本 "+strconv.FormatInt(old.Version, 10)+"），修改时请提供读取到的 version")
	case old != nil && old.Version != in.Version:
		return nil, conflict("VersionConflict", "停车信息已被他人修改（当前版本 "+strconv.FormatInt(old.Version, 10)+"），请刷新后重试")
	}
	sp, err := c.get(ctx, "spaces", id)
	if err != nil {
		return nil, err
	}
	if remaining == nil && sp != nil {
		var s spaces
		decode(*sp, &s)
		if s.Remaining != nil && *s.Remaining > l.TotalSpaces {
			return nil, invalid("当前剩余车位（" + strconv.Itoa(*s.Remaining) + "）大于新的总车位数（" + strconv.Itoa(l.TotalSpaces) + "），请同时提供 remainingSpaces")
		}
	}
	l.UpdatedBy = c.req.Operator.Account
	var rec *plugin.Record
	if old == nil {
		rec, err = c.create(ctx, "lots", id, obj.Token, l)
		if plugin.IsCode(err, "FailedOperation.RecordExists") {
			return nil, conflict("VersionConflict", "该码的停车信息刚被他人设置，请刷新后重试")
		}
	} else {
		rec, err = c.put(ctx, "lots", id, obj.Token, l, in.Version)
		if isConflict(err) {
			return nil, conflict("VersionConflict", "停车信息已被他人修改，请刷新后重试")
		}
	}
	if err != nil {
		return nil, err
	}
	s, sv, err := c.syncSpaces(ctx, id, obj.Token, l, remaining)
	if err != nil {
		return nil, err
	}
	action := "lot.update"
	if old == nil {
		action = "lot.create"
	}
	detail := map[string]any{"code": obj.Token, "version": rec.Version, "lot": l}
	if remaining != nil {
		detail["remainingSpaces"] = *remaining
	}
	c.audit(ctx, action, "lot:"+obj.Token, detail)
	return plugin.JSON(200, lotView{Code: obj.Token, CodeName: obj.Name, Lot: &l, Version: rec.Version, Spaces: &s, SpacesVersion: sv,
		Stale: c.stale(s)})
}

// syncSpaces carries the guide's name and total, and the count when the
// operator gave one, to the spaces record, against its version: a count
// from the car park's system landing meanwhile is read again. A count
// that arrived between setLot's check and now and exceeds the new total
// is cut to the total, so the page never shows more free spaces than
// there are.
func (c *call) syncSpaces(ctx context.Context, id, token string, l lot, remaining *int) (spaces, int64, error) {
	for range spacesRetries {
		rec, err := c.get(ctx, "spaces", id)
		if err != nil {
			return spaces{}, 0, err
		}
		var s spaces
		if rec != nil {
			decode(*rec, &s)
		}
		s.Name, s.Total = l.Name, l.TotalSpaces
		if remaining != nil {
			r := *remaining
			s.Remaining, s.UpdatedAt, s.UpdatedBy = &r, stamp(c.now), c.req.Operator.Account
		} else if s.Remaining != nil && *s.Remaining > s.Total {
			r := s.Total
			s.Remaining = &r
		}
		if rec == nil {
			rec, err = c.create(ctx, "spaces", id, token, s)
			if plugin.IsCode(err, "FailedOperation.RecordExists") {
				continue
			}
		} else {
			rec, err = c.put(ctx, "spaces", id, token, s, rec.Version)
			if isConflict(err) {
				continue
			}
		}
		if err != nil {
			return spaces{}, 0, err
		}
		return s, rec.Version, nil
	}
	return spaces{}, 0, conflict("Busy", "剩余车位更新频繁，请稍后重试")
}

// spacesInput is the body of POST /lot/spaces.
type spacesInput struct {
	Code      string `json:"code"`
	Remaining *int   `json:"remaining"`
	Version   int64  `json:"version"`
	At        string `json:"at"`
}

// checkSpaces validates a count: a code, a count not negative, a version
// not negative, and the time it was counted (RFC 3339, default now; not
// more than five minutes ahead of the clock).
func checkSpaces(in spacesInput, now time.Time) (string, time.Time, error) {
	token := tokenOf(in.Code)
	switch {
	case token == "":
		return "", time.Time{}, missing("请提供停车场的码 code")
	case len(token) > 128:
		return "", time.Time{}, invalid("code 须为码值或码的网址")
	case in.Remaining == nil:
		return "", time.Time{}, missing("请提供剩余车位数 remaining")
	case *in.Remaining < 0:
		return "", time.Time{}, invalid("剩余车位不能为负数")
	case in.Version < 0:
		return "", time.Time{}, invalid("version 不能为负数")
	}
	at := now
	if in.At != "" {
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			return "", time.Time{}, invalid("at 须为 RFC 3339 时间，如 2026-11-03T09:30:00+08:00")
		}
		if t.After(now.Add(5 * time.Minute)) {
			return "", time.Time{}, invalid("at 不能晚于当前时间")
		}
		at = t
	}
	return token, at.In(cst).Truncate(time.Second), nil
}

// setSpaces records a car park's remaining spaces: what the car park's
// system (through the console API) or an operator calls often, so it
// costs one read and one write. The count is absolute, so repeating a
// call changes nothing; a count older than the one stored (a delayed
// delivery) is not applied; with a version the call fails when the
// record changed since, without one it retries on its own. A changed
// count is audited; the same count again only refreshes its time.
func setSpaces(ctx context.Context, c *call) (*plugin.Response, error) {
	var in spacesInput
	if err := readJSON(c.req.Body, &in, spacesShape); err != nil {
		return nil, err
	}
	token, at, err := checkSpaces(in, c.now)
	if err != nil {
		return nil, err
	}
	id := lotID(token)
	for range spacesRetries {
		rec, err := c.get(ctx, "spaces", id)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.CodeToken != token {
			return nil, notFound("该码尚未设置停车信息，请先设置总车位等停车信息")
		}
		if in.Version > 0 && rec.Version != in.Version {
			return nil, conflict("VersionConflict", "剩余车位已被更新（当前版本 "+strconv.FormatInt(rec.Version, 10)+"）")
		}
		var s spaces
		decode(*rec, &s)
		if err := checkRemaining(*in.Remaining, s.Total); err != nil {
			return nil, err
		}
		answer := func(version int64, applied bool) (*plugin.Response, error) {
			return plugin.JSON(200, map[string]any{"code": token, "remaining": s.Remaining, "total": s.Total, "updatedAt": s.UpdatedAt,
				"version": version, "applied": applied, "stale": c.stale(s)})
		}
		if prev, err := time.Parse(time.RFC3339, s.UpdatedAt); err == nil && s.Remaining != nil &&
			(at.Before(prev) || at.Equal(prev) && *s.Remaining == *in.Remaining) {
			return answer(rec.Version, false)
		}
		var before *int
		if s.Remaining != nil {
			before = new(int)
			*before = *s.Remaining
		}
		r := *in.Remaining
		s.Remaining, s.UpdatedAt, s.UpdatedBy = &r, stamp(at), c.req.Operator.Account
		out, err := c.put(ctx, "spaces", id, token, s, rec.Version)
		if isConflict(err) {
			if in.Version > 0 {
				return nil, conflict("VersionConflict", "剩余车位已被更新，请读取最新版本后重试")
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if before == nil || *before != r {
			c.audit(ctx, "spaces.update", "lot:"+token, map[string]any{"code": token, "from": before, "to": r, "at": s.UpdatedAt})
		}
		return answer(out.Version, true)
	}
	return nil, conflict("Busy", "剩余车位更新频繁，请稍后重试")
}
