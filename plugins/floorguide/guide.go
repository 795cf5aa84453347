package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// A guide is the document of the guides collection: one per building's
// code, with the code's token as its id. Floors are kept in order, lowest
// first.
type guide struct {
	Building   string  `json:"building"`
	Floors     []floor `json:"floors"`
	FloorCount int     `json:"floorCount"`
	RoomCount  int     `json:"roomCount"`
	Editor     string  `json:"editor,omitempty"` // the operator of the last change
}

// floor is one floor of a guide. Plan and PlanID are the floor plan's
// file, set only through the plan routes.
type floor struct {
	ID     string `json:"id"` // B1, 1F, 2F, RF
	Name   string `json:"name,omitempty"`
	Level  int    `json:"level"` // the order: B1 is -1, 1F is 1
	Rooms  []room `json:"rooms"`
	Areas  []area `json:"areas"`
	Plan   string `json:"plan,omitempty"` // the image's URL
	PlanID string `json:"planId,omitempty"`
}

// room is a room of a floor.
type room struct {
	Number     string `json:"number"`
	Name       string `json:"name"`
	Department string `json:"department,omitempty"` // the function or the department in it
	Hours      string `json:"hours,omitempty"`      // opening hours, as written
}

// area is a functional area of a floor (等候区, 自助服务区).
type area struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose,omitempty"`
}

// Bounds of a guide. A guide is one record of at most 64 KB: the counts
// keep a normal building well inside it, and maxDoc refuses the rest with
// a message rather than a host error.
const (
	maxFloors        = 30
	maxRoomsPerFloor = 60
	maxRooms         = 300
	maxAreasPerFloor = 20
	maxDoc           = 56 << 10
	minLevel         = -9
	maxLevel         = 200
)

var (
	floorIDRe  = regexp.MustCompile(`^[A-Z0-9-]{1,8}$`)
	basementRe = regexp.MustCompile(`^B([1-9])$`)
	storeyRe   = regexp.MustCompile(`^(?:([0-9]{1,3})F?|[FL]([0-9]{1,3}))$`)
)

// levelOf derives a floor's order from its id: B2 is -2, 3F, F3, L3 and 3
// are 3. Other ids (RF, M) need an explicit level.
func levelOf(id string) (int, bool) {
	if m := basementRe.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[1])
		return -n, true
	}
	if m := storeyRe.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[1] + m[2])
		if n >= 1 {
			return n, true
		}
	}
	return 0, false
}

// guideInput is the body of PUT /guides.
type guideInput struct {
	Code     string       `json:"code"`
	Version  int64        `json:"version"` // 0 creates; the version read replaces
	Building string       `json:"building"`
	Floors   []floorInput `json:"floors"`
}

// floorInput is a floor as an operator sets it: no plan, which has its
// own routes.
type floorInput struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level *int   `json:"level"`
	Rooms []room `json:"rooms"`
	Areas []area `json:"areas"`
}

const guideShape = `{"code": 码, "version": 版本号（新建为 0）, "building": 楼宇名称, "floors": [{"id": "1F", "name": 楼层名称, "level": 顺序, "rooms": [{"number", "name", "department", "hours"}], "areas": [{"name", "purpose"}]}]}`

// checkGuide validates a guide as an operator set it and answers it in
// order, lowest floor first, with its code's token. Floor ids are unique
// (case does not count), room numbers and area names unique on their
// floor, every text bounded, and the counts too.
func checkGuide(in guideInput) (string, guide, error) {
	var g guide
	token := tokenOf(in.Code)
	switch {
	case token == "":
		return "", g, missing("请用 code 指明楼宇的码（token 或码的网址）")
	case !tokenRe.MatchString(token):
		return "", g, invalid("码的格式不正确")
	case in.Version < 0:
		return "", g, invalid("版本号 version 不能为负数")
	}
	var err error
	if g.Building, err = text("楼宇名称", in.Building, 40, false); err != nil {
		return "", g, err
	}
	switch n := len(in.Floors); {
	case n == 0:
		return "", g, missing("请至少设置一个楼层 floors")
	case n > maxFloors:
		return "", g, invalid(fmt.Sprintf("楼层不能超过 %d 个", maxFloors))
	}
	ids := map[string]bool{}
	for i, fi := range in.Floors {
		f, err := checkFloor(i, fi)
		if err != nil {
			return "", g, err
		}
		if ids[f.ID] {
			return "", g, invalid("楼层号 " + f.ID + " 重复")
		}
		ids[f.ID] = true
		g.RoomCount += len(f.Rooms)
		g.Floors = append(g.Floors, f)
	}
	if g.RoomCount > maxRooms {
		return "", g, invalid(fmt.Sprintf("房间总数不能超过 %d 个", maxRooms))
	}
	sort.SliceStable(g.Floors, func(i, j int) bool { return g.Floors[i].Level < g.Floors[j].Level })
	g.FloorCount = len(g.Floors)
	return token, g, nil
}

// checkFloor validates the i-th floor of a guide.
func checkFloor(i int, in floorInput) (floor, error) {
	f := floor{ID: strings.ToUpper(strings.TrimSpace(in.ID)), Rooms: []room{}, Areas: []area{}}
	where := fmt.Sprintf("第 %d 个楼层", i+1)
	switch {
	case f.ID == "":
		return f, missing(where + "缺少楼层号 id（如 B1、1F、2F）")
	case !floorIDRe.MatchString(f.ID):
		return f, invalid(where + "的楼层号须为 1–8 位字母、数字或 -（如 B1、1F、RF）")
	}
	where = "楼层 " + f.ID
	var err error
	if f.Name, err = text(where+"的名称", in.Name, 20, false); err != nil {
		return f, err
	}
	if in.Level != nil {
		f.Level = *in.Level
	} else if l, ok := levelOf(f.ID); ok {
		f.Level = l
	} else {
		return f, missing(where + "无法从楼层号推断顺序，请填写 level（地下为负数，如 B1 为 -1）")
	}
	if f.Level < minLevel || f.Level > maxLevel {
		return f, invalid(fmt.Sprintf("%s的 level 须在 %d 到 %d 之间", where, minLevel, maxLevel))
	}
	if len(in.Rooms) > maxRoomsPerFloor {
		return f, invalid(fmt.Sprintf("%s的房间不能超过 %d 个", where, maxRoomsPerFloor))
	}
	numbers := map[string]bool{}
	for _, r := range in.Rooms {
		if r, err = checkRoom(where, r); err != nil {
			return f, err
		}
		key := strings.ToUpper(r.Number)
		if numbers[key] {
			return f, invalid(where + "的房间号 " + r.Number + " 重复")
		}
		numbers[key] = true
		f.Rooms = append(f.Rooms, r)
	}
	if len(in.Areas) > maxAreasPerFloor {
		return f, invalid(fmt.Sprintf("%s的功能区域不能超过 %d 个", where, maxAreasPerFloor))
	}
	names := map[string]bool{}
	for _, a := range in.Areas {
		if a.Name, err = text(where+"的区域名称", a.Name, 20, false); err != nil {
			return f, err
		}
		if a.Name == "" {
			return f, missing(where + "有功能区域缺少名称 name")
		}
		if a.Purpose, err = text(where+"「"+a.Name+"」的用途", a.Purpose, 60, false); err != nil {
			return f, err
		}
		if names[a.Name] {
			return f, invalid(where + "的功能区域 " + a.Name + " 重复")
		}
		names[a.Name] = true
		f.Areas = append(f.Areas, a)
	}
	return f, nil
}

func checkRoom(where string, r room) (room, error) {
	var err error
	if r.Number, err = text(where+"的房间号", r.Number, 12, false); err != nil {
		return r, err
	}
	if r.Number == "" {
		return r, missing(where + "有房间缺少房间号 number")
	}
	where += "的房间 " + r.Number
	if r.Name, err = text(where+"的名称", r.Name, 30, false); err != nil {
		return r, err
	}
	if r.Name == "" {
		return r, missing(where + "缺少名称 name")
	}
	if r.Department, err = text(where+"的科室/功能", r.Department, 30, false); err != nil {
		return r, err
	}
	if r.Hours, err = text(where+"的开放时间", r.Hours, 40, false); err != nil {
		return r, err
	}
	return r, nil
}

// keepPlans carries the floor plans of the floors a new version keeps
// (by floor id) over from the old one.
func keepPlans(g *guide, old guide) {
	plans := map[string]floor{}
	for _, f := range old.Floors {
		if f.PlanID != "" {
			plans[f.ID] = f
		}
	}
	for i := range g.Floors {
		if p, ok := plans[g.Floors[i].ID]; ok {
			g.Floors[i].Plan, g.Floors[i].PlanID = p.Plan, p.PlanID
		}
	}
}

// find answers a floor of the guide by its id (case does not count).
func (g guide) find(id string) (*floor, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	for i := range g.Floors {
		if g.Floors[i].ID == id {
			return &g.Floors[i], true
		}
	}
	return nil, false
}

// room answers a room of the floor by its number (case does not count).
func (f floor) room(number string) (room, bool) {
	for _, r := range f.Rooms {
		if strings.EqualFold(r.Number, strings.TrimSpace(number)) {
			return r, true
		}
	}
	return room{}, false
}

func (f floor) area(name string) (area, bool) {
	for _, a := range f.Areas {
		if a.Name == strings.TrimSpace(name) {
			return a, true
		}
	}
	return area{}, false
}

// label is how a floor is named on pages and in corrections: 2F 政务服务大厅.
func (f floor) label() string {
	if f.Name == "" {
		return f.ID
	}
	return f.ID + " " + f.Name
}

// matches reports whether a room matches a search: its number, name or
// department contains the words, case aside.
func (r room) matches(q string) bool {
	q = strings.ToLower(q)
	for _, s := range []string{r.Number, r.Name, r.Department} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// search answers the floors with the rooms matching q, leaving out
// floors with none, and the number of rooms found. An empty q answers the
// guide as it is.
func (g guide) search(q string) ([]floor, int) {
	if q == "" {
		return g.Floors, g.RoomCount
	}
	var out []floor
	n := 0
	for _, f := range g.Floors {
		var rooms []room
		for _, r := range f.Rooms {
			if r.matches(q) {
				rooms = append(rooms, r)
			}
		}
		if len(rooms) > 0 {
			f.Rooms, f.Areas = rooms, nil
			out = append(out, f)
			n += len(rooms)
		}
	}
	return out, n
}

// loadGuide reads the guide of a code; found is false when none was set.
func (c *call) loadGuide(ctx context.Context, token string) (*plugin.Record, guide, bool, error) {
	var g guide
	rec, err := c.host.GetRecord(ctx, "guides", token)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, g, false, nil
	}
	if err != nil {
		return nil, g, false, err
	}
	decode(*rec, &g)
	return rec, g, true, nil
}

// buildingName is what the page calls the building: the guide's name,
// else the code's.
func buildingName(g guide, code *plugin.Code) string {
	if g.Building != "" {
		return g.Building
	}
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	if s, ok := attrs["name"].(string); ok && strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s)
	}
	if code.Name != "" {
		return code.Name
	}
	return "本楼宇"
}

// home is the landing page: the building's floors, lowest first, with
// their rooms, areas and plans; q searches the rooms.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	q, err := text("搜索内容", c.req.QueryValue("q"), 30, false)
	if err != nil {
		return nil, err
	}
	_, g, found, err := c.loadGuide(ctx, c.req.Code.Token)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Found": found, "Q": q}
	if found {
		floors, n := g.search(q)
		data["Floors"], data["Matches"], data["All"] = floors, n, g.Floors
	}
	return render(200, homePage, c, buildingName(g, c.req.Code), data)
}
