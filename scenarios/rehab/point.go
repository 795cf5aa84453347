package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// point is the rental service point (租赁服务点) an object code stands
// for, from its attributes (pushed with the pre-issue and activation
// interfaces, changed with modify-attributes).
type point struct {
	Name    string
	Rows    []row // name aside, the point's information, 暂无 where absent
	Address string
	Hours   string
}

type row struct {
	Label, Value string
	Missing      bool
}

// none is what a page shows for an attribute the code does not have.
const none = "暂无"

// attributes the page shows, by label; keys are the names a code's type
// may use, English first.
var attributes = []struct {
	label string
	keys  []string
}{
	{"地址", []string{"address", "地址", "位置"}},
	{"开放时间", []string{"openingHours", "开放时间", "营业时间", "服务时间"}},
	{"咨询电话", []string{"phone", "咨询电话", "联系电话", "电话"}},
	{"运营服务商", []string{"operator", "运营服务商", "运营单位", "服务商"}},
}

func pointOf(code *plugin.Code) point {
	var attrs map[string]any
	if len(code.Attributes) > 0 {
		_ = json.Unmarshal(code.Attributes, &attrs)
	}
	p := point{Name: scalar(attrs, "name", "名称", "服务点名称", "租赁点名称")}
	if p.Name == "" {
		p.Name = "康复辅具租赁服务点"
	}
	for _, a := range attributes {
		v := scalar(attrs, a.keys...)
		switch a.label {
		case "地址":
			p.Address = v
		case "开放时间":
			p.Hours = v
		}
		if v == "" {
			p.Rows = append(p.Rows, row{Label: a.label, Value: none, Missing: true})
		} else {
			p.Rows = append(p.Rows, row{Label: a.label, Value: v})
		}
	}
	return p
}

// scalar renders the first present attribute of keys: strings as they
// are, numbers as written; anything else is left out.
func scalar(attrs map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := attrs[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// catalogueItem is an aid on a page.
type catalogueItem struct {
	aid
	DepositText, FeeText string
	Rentable             bool
	MaxDays              int
}

func (c *call) catalogue() []catalogueItem {
	out := make([]catalogueItem, len(c.cfg.Catalogue))
	for i, a := range c.cfg.Catalogue {
		out[i] = catalogueItem{aid: a, DepositText: yuan(cents(a.Deposit)), FeeText: yuan(cents(a.DailyFee)) + "/天",
			Rentable: a.rentable(), MaxDays: c.cfg.maxDays(a)}
	}
	return out
}

// home is the landing page: the service point, the rental policy, the
// policy documents and the catalogue.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	return render(200, homePage, c, map[string]any{"Policy": c.cfg.Policy, "Documents": c.cfg.Documents, "Catalogue": c.catalogue()})
}
