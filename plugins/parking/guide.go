package main

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// codeName is what a code stands for: its name attribute, else its name.
func codeName(code *plugin.Code) string {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	for _, k := range []string{"name", "名称", "停车场名称"} {
		if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	if code.Name != "" {
		return code.Name
	}
	return "停车场"
}

// yuan renders an amount: 10 元, 2.5 元.
func yuan(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + " 元"
}

// feeLines renders the fee standard as people read it.
func feeLines(l lot) []string {
	var out []string
	if l.FreeMinutes > 0 {
		out = append(out, strconv.Itoa(l.FreeMinutes)+" 分钟内免费")
	}
	switch {
	case l.FeeFirstHour == 0 && l.FeeNextHour == 0:
		out = append(out, "免费停车")
	case l.FeeFirstHour == l.FeeNextHour:
		out = append(out, "每小时 "+yuan(l.FeeFirstHour))
	default:
		out = append(out, "首小时 "+yuan(l.FeeFirstHour)+"，之后每小时 "+yuan(l.FeeNextHour))
	}
	if l.DailyCap != nil && (l.FeeFirstHour > 0 || l.FeeNextHour > 0) {
		out = append(out, "每日最高 "+yuan(*l.DailyCap))
	}
	return out
}

// spacesView is the remaining spaces on the page.
type spacesView struct {
	Total     int
	Known     bool // a count was ever made
	Remaining int
	Full      bool
	Updated   string // 09:30, or 11-02 09:30 when not today
	Stale     bool
}

func (c *call) spacesOf(l lot, s *spaces) spacesView {
	v := spacesView{Total: l.TotalSpaces}
	if s == nil || s.Remaining == nil {
		return v
	}
	// The guide's total is the operator's latest word; a count above it
	// (set before the total shrank) is shown as the total.
	v.Known, v.Remaining = true, min(*s.Remaining, l.TotalSpaces)
	v.Full, v.Stale = v.Remaining == 0, c.stale(*s)
	if t, err := time.Parse(time.RFC3339, s.UpdatedAt); err == nil {
		t = t.In(cst)
		if t.Format(time.DateOnly) == c.now.Format(time.DateOnly) {
			v.Updated = t.Format("15:04")
		} else {
			v.Updated = t.Format("01-02 15:04")
		}
	}
	return v
}

// home is the landing page: the car park's guide, or 暂无 where it is not
// set, and a logged-in citizen's own feedback with the replies.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	id := lotID(c.req.Code.Token)
	data := map[string]any{"Name": codeName(c.req.Code), "Stale": c.cfg.StaleMinutes}
	rec, err := c.get(ctx, "lots", id)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		var l lot
		decode(*rec, &l)
		var s *spaces
		if sp, err := c.get(ctx, "spaces", id); err != nil {
			return nil, err
		} else if sp != nil {
			s = new(spaces)
			decode(*sp, s)
		}
		data["Name"], data["Lot"], data["Fees"], data["Spaces"] = l.Name, l, feeLines(l), c.spacesOf(l, s)
		if l.Longitude != nil {
			data["Coords"] = strconv.FormatFloat(*l.Longitude, 'f', -1, 64) + ", " + strconv.FormatFloat(*l.Latitude, 'f', -1, 64)
		}
	}
	if v := c.req.Visitor; !v.Tourist && v.Pseudonym != "" {
		mine, err := c.myFeedback(ctx)
		if err != nil {
			return nil, err
		}
		data["Mine"] = mine
	}
	return render(200, homePage, c, data)
}
