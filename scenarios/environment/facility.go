package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// facility is what an object code stands for, from its attributes (the
// field worker fills them in when activating the code, or the bureau's
// system through the modify-attributes API).
type facility struct {
	Kind         string // toilet or transfer
	KindName     string // 公共厕所, 垃圾中转站
	Name         string
	Rows         []row  // the attributes to show, in a fixed order
	OpeningHours string // as written on the code, or the configured default
	OwnerUnit    string
}

type row struct{ Label, Value string }

// attribute is one attribute the landing page shows. Keys are the names
// the code's type may use, English first; unit is appended to numbers.
type attribute struct {
	keys        []string
	label       string
	unit        string
	transferLbl string // a different label at transfer stations
}

var attributes = []attribute{
	{keys: []string{"address", "地址", "位置"}, label: "位置"},
	{keys: []string{"district", "区县", "所属区县"}, label: "所属区县"},
	{keys: []string{"street", "街镇", "所属街镇"}, label: "所属街镇"},
	{keys: []string{"openingHours", "开放时间"}, label: "开放时间"},
	{keys: []string{"capacity", "处置能力"}, label: "厕位数", unit: "个", transferLbl: "处置能力（吨/日）"},
	{keys: []string{"transferCapacity", "转运能力"}, label: "转运能力（吨/日）"},
	{keys: []string{"area", "面积"}, label: "面积", unit: "平方米"},
	{keys: []string{"operator", "运营单位"}, label: "运营单位"},
	{keys: []string{"thirdToilet", "第三卫生间"}, label: "第三卫生间"},
	{keys: []string{"accessible", "无障碍设施"}, label: "无障碍设施"},
	{keys: []string{"phone", "联系电话"}, label: "联系电话"},
}

// facilityOf reads a code's attributes. Attributes that are absent, empty
// or not scalars are left out; the page says so when none is left.
func facilityOf(code *plugin.Code, cfg config) facility {
	var attrs map[string]any
	if len(code.Attributes) > 0 {
		_ = json.Unmarshal(code.Attributes, &attrs)
	}
	f := facility{Kind: kindOf(code, attrs, cfg.DefaultFacility), OwnerUnit: code.OwnerUnit}
	f.KindName = map[string]string{toilet: "公共厕所", transfer: "垃圾中转站"}[f.Kind]
	f.Name = firstOf(attrs, "name", "名称")
	if f.Name == "" {
		f.Name = code.Name
	}
	if f.Name == "" {
		f.Name = f.KindName
	}
	for _, a := range attributes {
		label, unit := a.label, a.unit
		if f.Kind == transfer && a.transferLbl != "" {
			label, unit = a.transferLbl, "" // the label carries the unit
		}
		v := scalar(attrs, unit, a.keys...)
		if v == "" {
			continue
		}
		if a.keys[0] == "openingHours" {
			f.OpeningHours = v
		}
		f.Rows = append(f.Rows, row{label, v})
	}
	if lng, lat := scalar(attrs, "", "lng", "longitude", "经度"), scalar(attrs, "", "lat", "latitude", "纬度"); lng != "" && lat != "" {
		f.Rows = append(f.Rows, row{"经纬度", lng + ", " + lat})
	}
	if f.OpeningHours == "" {
		f.OpeningHours = cfg.OpeningHours
	}
	return f
}

// kindOf tells a toilet from a transfer station: an explicit attribute
// first, then the words in the type's or the code's name, then the
// platform's default.
func kindOf(code *plugin.Code, attrs map[string]any, def string) string {
	t := firstOf(attrs, "facilityType", "设施类型")
	switch t {
	case toilet, "公厕", "公共厕所", "环卫公厕":
		return toilet
	case transfer, "中转站", "垃圾中转站":
		return transfer
	}
	for _, s := range []string{t, code.TypeName, code.Name} {
		switch {
		case strings.Contains(s, "厕"):
			return toilet
		case strings.Contains(s, "中转"):
			return transfer
		}
	}
	return def
}

func firstOf(attrs map[string]any, keys ...string) string {
	return scalar(attrs, "", keys...)
}

// scalar renders the first present attribute of keys: strings as they
// are, booleans as 有/无, numbers with the unit.
func scalar(attrs map[string]any, unit string, keys ...string) string {
	for _, k := range keys {
		switch v := attrs[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case bool:
			if v {
				return "有"
			}
			return "无"
		case float64:
			s := strconv.FormatFloat(v, 'f', -1, 64)
			if unit != "" {
				s += " " + unit
			}
			return s
		}
	}
	return ""
}

// home is the landing page: the facility and what a citizen can do.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	return render(200, homePage, c, nil)
}

// Opening hours.

// hours is a daily opening period in minutes after midnight; to may be
// smaller than from (open past midnight). always is a facility open day
// and night.
type hours struct {
	always   bool
	from, to int
}

// parseHours reads "05:00-22:00" (also with ~, ～, 至, —, full-width
// colons) and "全天", "24小时". It answers false when it cannot tell: an
// opening time it does not understand raises no alerts.
func parseHours(s string) (hours, bool) {
	s = strings.TrimSpace(strings.NewReplacer("：", ":", " ", "", "　", "").Replace(s))
	switch strings.ToLower(s) {
	case "":
		return hours{}, false
	case "全天", "全天开放", "24小时", "24小时开放", "24h", "00:00-24:00", "0:00-24:00":
		return hours{always: true}, true
	}
	for _, sep := range []string{"-", "~", "～", "至", "—", "–", "－"} {
		a, b, ok := strings.Cut(s, sep)
		if !ok {
			continue
		}
		from, ok1 := clock(a)
		to, ok2 := clock(b)
		if !ok1 || !ok2 || from == to {
			return hours{}, false
		}
		return hours{from: from, to: to}, true
	}
	return hours{}, false
}

func clock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// open reports whether t (in Beijing time) falls within the hours.
func (h hours) open(t time.Time) bool {
	if h.always {
		return true
	}
	t = t.In(cst)
	m := t.Hour()*60 + t.Minute()
	if h.from < h.to {
		return m >= h.from && m < h.to
	}
	return m >= h.from || m < h.to
}

func (h hours) String() string {
	if h.always {
		return "全天"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.from/60, h.from%60, h.to/60, h.to%60)
}
