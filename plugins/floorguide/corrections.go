package main

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Correction statuses: pending when submitted; an operator adopts or
// declines it (with a reason), once.
const (
	statusPending  = "待处理"
	statusAdopted  = "已采纳"
	statusDeclined = "未采纳"
)

// The correction types (纠错类型) a citizen chooses from.
const (
	typeRoomNumber = "房间号错误"
	typeName       = "名称/科室错误"
	typeArea       = "区域标识不清"
	typeHours      = "开放时间错误"
	typeOther      = "其他"
)

var correctionTypes = []string{typeRoomNumber, typeName, typeArea, typeHours, typeOther}

// needsRoom are the types about one room: the room must be named.
var needsRoom = map[string]bool{typeRoomNumber: true, typeName: true, typeHours: true}

// maxDescription bounds the description, in characters.
const maxDescription = 500

// correction is the document of the corrections collection. Floor, room
// and area are what the citizen chose, checked against the guide's
// version at the time (GuideVersion); their names are copied so that the
// record still reads right after the guide changed.
type correction struct {
	Building       string `json:"building"`
	Type           string `json:"type"`
	Floor          string `json:"floor,omitempty"`
	FloorName      string `json:"floorName,omitempty"`
	Room           string `json:"room,omitempty"`
	RoomName       string `json:"roomName,omitempty"`
	Area           string `json:"area,omitempty"`
	Description    string `json:"description"`
	Suggestion     string `json:"suggestion,omitempty"`
	Status         string `json:"status"`
	Reporter       string `json:"reporter,omitempty"`       // a logged-in citizen's pseudonym
	ReporterName   string `json:"reporterName,omitempty"`   // masked, when they authorized the scene
	ReporterMobile string `json:"reporterMobile,omitempty"` // masked, when they authorized the scene
	GuideVersion   int64  `json:"guideVersion"`
	Handler        string `json:"handler,omitempty"`
	HandledAt      string `json:"handledAt,omitempty"`
	HandleNote     string `json:"handleNote,omitempty"`
}

// correctionFields are the fields of the form; others are refused, so that
// a tourist cannot pass a name, a status or a reporter.
var correctionFields = map[string]bool{"type": true, "floor": true, "room": true, "area": true, "description": true, "suggestion": true}

// checkCorrection validates the form against the current guide: a type
// of the list; the floor, required unless the type is 其他; the room,
// required for the types about a room; room and area, when given, must be
// on that floor; a description of 1–500 characters and a suggestion of at
// most 200.
func checkCorrection(v url.Values, g guide) (correction, error) {
	var out correction
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !correctionFields[name] {
			return out, invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return out, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	get := func(label, name string, max int) (string, error) {
		return text(label, v.Get(name), max, false)
	}
	t, err := get("纠错类型", "type", 20)
	if err != nil {
		return out, err
	}
	switch {
	case t == "":
		return out, missing("请选择纠错类型")
	case !contains(correctionTypes, t):
		return out, invalid("纠错类型须为 房间号错误、名称/科室错误、区域标识不清、开放时间错误 或 其他")
	}
	out.Type = t
	floorID, err := get("楼层", "floor", 8)
	if err != nil {
		return out, err
	}
	roomNo, err := get("房间号", "room", 12)
	if err != nil {
		return out, err
	}
	areaName, err := get("区域", "area", 20)
	if err != nil {
		return out, err
	}
	if floorID == "" {
		switch {
		case t != typeOther:
			return out, missing("请选择纠错涉及的楼层")
		case roomNo != "" || areaName != "":
			return out, missing("请先选择房间或区域所在的楼层")
		}
	} else {
		f, ok := g.find(floorID)
		if !ok {
			return out, invalid("楼层导览中没有楼层 " + floorID)
		}
		out.Floor, out.FloorName = f.ID, f.Name
		if roomNo == "" && needsRoom[t] {
			return out, missing("「" + t + "」请选择涉及的房间")
		}
		if roomNo != "" {
			r, ok := f.room(roomNo)
			if !ok {
				return out, invalid("楼层 " + f.ID + " 没有房间号为 " + roomNo + " 的房间；房间号本身有误的，请选择实际显示的房间号")
			}
			out.Room, out.RoomName = r.Number, r.Name
		}
		if areaName != "" {
			a, ok := f.area(areaName)
			if !ok {
				return out, invalid("楼层 " + f.ID + " 没有名为「" + areaName + "」的区域")
			}
			out.Area = a.Name
		}
	}
	if out.Description, err = text("问题描述", v.Get("description"), maxDescription, true); err != nil {
		return out, err
	}
	if out.Description == "" {
		return out, missing("请描述发现的问题")
	}
	if out.Suggestion, err = text("建议的正确信息", v.Get("suggestion"), 200, true); err != nil {
		return out, err
	}
	out.Status = statusPending
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// reporter is who is correcting, as the form shows it and the record
// keeps it.
type reporter struct {
	Pseudonym, Name, Mobile string
	LoggedIn                bool
}

// reporterOf reads the citizen behind a request: nobody for a tourist;
// the pseudonym for a logged-in citizen; and, when they authorized the
// scene, their (masked) name and mobile from visitor.read, so that they
// need not type them. The host's answer is used, not anything the page
// sent. A failed read leaves the correction anonymous rather than losing
// it.
func (c *call) reporterOf(ctx context.Context) reporter {
	v := c.req.Visitor
	if v.Tourist || v.Pseudonym == "" {
		return reporter{}
	}
	r := reporter{Pseudonym: v.Pseudonym, LoggedIn: true}
	if !v.Authorized {
		return r
	}
	d, err := c.host.Visitor(ctx)
	if err != nil {
		c.host.Log(ctx, "warn", "visitor.read: "+err.Error())
		return r
	}
	if d.Pseudonym == v.Pseudonym && d.Authorized {
		r.Name, r.Mobile = d.Name, d.Mobile
	}
	return r
}

// guideOrNotFound reads the scanned code's guide; a code without one
// takes no corrections.
func (c *call) guideOrNotFound(ctx context.Context) (*plugin.Record, guide, error) {
	rec, g, found, err := c.loadGuide(ctx, c.req.Code.Token)
	if err != nil {
		return nil, g, err
	}
	if !found {
		return nil, g, notFound("本楼宇尚未设置楼层导览，暂不能纠错")
	}
	return rec, g, nil
}

// correctionForm is the form, with the floor and room the landing page's
// link preselected.
func correctionForm(ctx context.Context, c *call) (*plugin.Response, error) {
	_, g, err := c.guideOrNotFound(ctx)
	if err != nil {
		return nil, err
	}
	return render(200, correctPage, c, buildingName(g, c.req.Code), map[string]any{"Guide": g, "Types": correctionTypes,
		"Floor": c.req.QueryValue("floor"), "Room": c.req.QueryValue("room"), "Reporter": c.reporterOf(ctx), "Max": maxDescription})
}

// submitCorrection stores a correction as pending.
func submitCorrection(ctx context.Context, c *call) (*plugin.Response, error) {
	rec, g, err := c.guideOrNotFound(ctx)
	if err != nil {
		return nil, err
	}
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	corr, err := checkCorrection(v, g)
	if err != nil {
		return nil, err
	}
	who := c.reporterOf(ctx)
	corr.Building, corr.GuideVersion = buildingName(g, c.req.Code), rec.Version
	corr.Reporter, corr.ReporterName, corr.ReporterMobile = who.Pseudonym, who.Name, who.Mobile
	stored, err := c.put(ctx, "corrections", "", c.req.Code.Token, corr, 0, false)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "correction.submitted", map[string]any{"correctionId": stored.ID, "type": corr.Type, "floor": corr.Floor,
		"room": corr.Room, "anonymous": !who.LoggedIn})
	return render(http.StatusCreated, correctedPage, c, corr.Building, map[string]any{"ID": stored.ID, "Correction": corr})
}
