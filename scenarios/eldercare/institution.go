package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The institution (养老服务机构) is the object code itself: its attributes
// are pushed with the pre-issue and activation interfaces and changed with
// modify-attributes (修改码属性). Its owner unit (权属单位) and region are
// the code's own columns.

// kind is one of the seven kinds of institution the requirements name
// (养老机构、长者照护之家、日间照护中心、老年助餐服务场所（社区长者食堂、助餐点等）、
// 综合为老服务中心、老年活动室、睦邻点), with the rows its page shows: the
// kinds differ in what a visitor needs to know.
type kind struct {
	ID      string   // stable id, for the configuration's defaultType
	Name    string   // as the requirements name it
	Aliases []string // other names codes and object types use
	Fields  []field
}

// field is one row of an institution's page: its label and the attribute
// keys it is read from, English first; unit follows a bare number.
type field struct {
	label string
	keys  []string
	unit  string
}

// Rows several kinds share.
var (
	fAddress  = field{"地址", []string{"address", "地址", "位置"}, ""}
	fPhone    = field{"联系电话", []string{"phone", "联系电话", "咨询电话", "电话"}, ""}
	fHours    = field{"服务时间", []string{"serviceHours", "服务时间", "openingHours", "开放时间", "营业时间"}, ""}
	fOperator = field{"运营机构", []string{"operator", "运营机构", "运营单位", "举办单位"}, ""}
	fFees     = field{"收费标准", []string{"fees", "收费标准", "收费"}, ""}
	fTarget   = field{"服务对象", []string{"serviceTarget", "服务对象", "收住对象"}, ""}
	fBeds     = field{"床位数", []string{"beds", "床位数", "核定床位", "床位"}, "张"}
	fArea     = field{"建筑面积", []string{"area", "建筑面积", "面积"}, "平方米"}
	fOpen     = field{"开放时间", []string{"openingHours", "开放时间", "serviceHours", "服务时间", "活动时间"}, ""}
)

// kinds are the seven kinds, in the requirements' order.
var kinds = []kind{
	{ID: "nursing-home", Name: "养老机构", Aliases: []string{"养老院", "敬老院", "社会福利院", "福利院", "老年公寓"}, Fields: []field{
		fAddress, fPhone,
		{"机构等级", []string{"level", "机构等级", "养老机构等级", "等级"}, ""},
		{"核定床位", []string{"beds", "核定床位", "床位数", "床位"}, "张"},
		{"收住对象", []string{"admission", "收住对象", "服务对象"}, ""},
		fFees,
		{"医养结合", []string{"medical", "医养结合", "内设医疗机构", "医疗服务"}, ""},
		fHours,
		{"探视时间", []string{"visitingHours", "探视时间"}, ""},
	}},
	{ID: "care-home", Name: "长者照护之家", Aliases: []string{"照护之家"}, Fields: []field{
		fAddress, fPhone, fHours, fBeds, fTarget, fFees, fOperator,
	}},
	{ID: "day-care", Name: "日间照护中心", Aliases: []string{"日间照料中心", "日间照护", "日间照料", "老年日托"}, Fields: []field{
		fAddress, fPhone, fHours,
		{"托位数", []string{"places", "托位数", "托位", "日托名额"}, "个"},
		fTarget,
		{"接送服务", []string{"shuttle", "接送服务"}, ""},
		fFees, fOperator,
	}},
	{ID: "meal", Name: "老年助餐服务场所", Aliases: []string{"社区长者食堂", "长者食堂", "助餐点", "老年助餐", "助餐服务点"}, Fields: []field{
		fAddress, fPhone,
		{"供餐时间", []string{"mealHours", "供餐时间", "serviceHours", "服务时间", "openingHours", "营业时间"}, ""},
		{"餐标", []string{"mealPrice", "餐标", "餐费", "价格"}, ""},
		{"助餐补贴", []string{"subsidy", "助餐补贴", "补贴政策"}, ""},
		{"送餐服务", []string{"delivery", "送餐服务", "送餐上门"}, ""},
		{"就餐座位", []string{"seats", "就餐座位", "座位数", "餐位"}, "个"},
		fOperator,
	}},
	{ID: "service-center", Name: "综合为老服务中心", Aliases: []string{"社区综合为老服务中心", "为老服务中心"}, Fields: []field{
		fAddress, fPhone, fHours,
		{"功能板块", []string{"functions", "功能板块", "服务功能"}, ""},
		fArea, fOperator,
	}},
	{ID: "activity-room", Name: "老年活动室", Aliases: []string{"老年活动中心", "活动室"}, Fields: []field{
		fAddress, fPhone, fOpen,
		{"活动项目", []string{"activities", "活动项目", "活动内容"}, ""},
		fArea,
		{"管理单位", []string{"manager", "管理单位", "operator", "运营单位"}, ""},
	}},
	{ID: "neighbourhood", Name: "睦邻点", Aliases: []string{"老年睦邻点", "睦邻互助点", "睦邻"}, Fields: []field{
		fAddress,
		{"活动时间", []string{"openingHours", "活动时间", "开放时间", "serviceHours", "服务时间"}, ""},
		{"活动内容", []string{"activities", "活动内容", "活动项目"}, ""},
		{"所在居委", []string{"community", "所在居委", "居委会", "居村委"}, ""},
		{"联系人", []string{"contact", "联系人", "负责人"}, ""},
		fPhone,
	}},
}

// generic is the page of a code whose kind cannot be told.
var generic = kind{Name: "养老服务机构", Fields: []field{fAddress, fPhone, fHours, fOperator}}

// Text blocks every kind shows under its rows.
var (
	servicesKeys = []string{"services", "服务内容", "服务项目"}
	introKeys    = []string{"intro", "机构简介", "简介", "description"}
	typeKeys     = []string{"institutionType", "机构类型", "类型", "type"}
	nameKeys     = []string{"name", "名称", "机构名称"}
)

// kindByID answers the kind of an id.
func kindByID(id string) (kind, bool) {
	for _, k := range kinds {
		if k.ID == id {
			return k, true
		}
	}
	return kind{}, false
}

// kindOf tells an institution's kind from a name: the kind's own name or
// an alias exactly; else the kind whose name or alias the text contains,
// the longest match winning (日间照护中心 over 照护中心, should both exist).
func kindOf(text string) (kind, bool) {
	text = strings.TrimSpace(text)
	if text == "" {
		return kind{}, false
	}
	best, bestLen := kind{}, 0
	for _, k := range kinds {
		for _, name := range append([]string{k.Name}, k.Aliases...) {
			if text == name || text == k.ID {
				return k, true
			}
			if strings.Contains(text, name) && len(name) > bestLen {
				best, bestLen = k, len(name)
			}
		}
	}
	return best, bestLen > 0
}

// institution is what a page shows of the code: its name, kind, rows (暂无
// where absent), services and introduction; OwnerUnit and Region scope
// who may see its evaluations.
type institution struct {
	Token     string
	Name      string
	Kind      kind
	Rows      []row
	Services  string
	Intro     string
	OwnerUnit string
	Region    string
}

type row struct {
	Label, Value string
	Missing      bool
}

// none is what a page shows for an attribute the code does not have.
const none = "暂无"

// institutionOf reads the institution of a code. Its kind comes from the
// attribute 机构类型 (institutionType, 类型, type), else from the code's
// object type name, else from the configuration's defaultType; else the
// page is a generic one.
func institutionOf(code *plugin.Code, cfg config) institution {
	var attrs map[string]any
	if len(code.Attributes) > 0 {
		_ = json.Unmarshal(code.Attributes, &attrs)
	}
	in := institution{Token: code.Token, Name: scalar(attrs, "", nameKeys...), OwnerUnit: strings.TrimSpace(code.OwnerUnit),
		Region: strings.TrimSpace(code.RegionCode)}
	k, ok := kindOf(scalar(attrs, "", typeKeys...))
	if !ok {
		k, ok = kindOf(code.TypeName)
	}
	if !ok {
		k, ok = kindByID(cfg.DefaultType)
	}
	if !ok {
		k = generic
	}
	in.Kind = k
	if in.Name == "" {
		in.Name = strings.TrimSpace(code.Name)
	}
	if in.Name == "" {
		in.Name = k.Name
	}
	for _, f := range k.Fields {
		if v := scalar(attrs, f.unit, f.keys...); v != "" {
			in.Rows = append(in.Rows, row{Label: f.label, Value: v})
		} else {
			in.Rows = append(in.Rows, row{Label: f.label, Value: none, Missing: true})
		}
	}
	in.Services = scalar(attrs, "", servicesKeys...)
	in.Intro = scalar(attrs, "", introKeys...)
	return in
}

// scalar renders the first present attribute of keys: a string as it is;
// a number as written, followed by unit when there is one; a boolean as
// 是 or 否; a list as its items joined by 、. Anything else is left out.
func scalar(attrs map[string]any, unit string, keys ...string) string {
	for _, k := range keys {
		if s := render1(attrs[k], unit); s != "" {
			return s
		}
	}
	return ""
}

func render1(v any, unit string) string {
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		if _, err := strconv.ParseFloat(s, 64); err == nil && unit != "" {
			return s + " " + unit
		}
		return s
	case float64:
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if unit != "" {
			s += " " + unit
		}
		return s
	case bool:
		if v {
			return "是"
		}
		return "否"
	case []any:
		var parts []string
		for _, x := range v {
			if s := render1(x, ""); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "、")
	}
	return ""
}

// home is the landing page: the institution and its caregivers in
// service.
func home(ctx context.Context, c *call) (*plugin.Response, error) {
	list, err := c.caregiversOf(ctx, c.inst.Token, true)
	if err != nil {
		return nil, err
	}
	views := make([]caregiverView, 0, len(list))
	for _, rec := range list {
		views = append(views, c.publicView(rec))
	}
	return render(200, homePage, c, map[string]any{"Caregivers": views})
}
