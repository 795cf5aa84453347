package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Questions is the rating question bank (题库). A question applies to
	// the facility kinds it lists, or to every kind when it lists none; the
	// questions that apply to a code make its questionnaire (组卷).
	Questions []question `json:"questions"`
	// Categories are the problem types a citizen picks from; default per
	// facility kind.
	Categories []string `json:"categories"`
	// CleaningItems are what a cleaning record ticks; default per kind.
	CleaningItems []string `json:"cleaningItems"`
	// DefaultFacility is the kind of codes whose attributes and type name
	// tell neither: toilet (default) or transfer.
	DefaultFacility string `json:"defaultFacility"`
	// AlertThreshold reports on one code within one window raise an alert
	// (default 3, as in the pilot: three reports in a day).
	AlertThreshold int `json:"alertThreshold"`
	// AlertWindowHours is the window's length (default 24); windows are
	// aligned on Beijing midnight, so 24 means calendar days.
	AlertWindowHours int `json:"alertWindowHours"`
	// AlertTo receives alerts; default the code's owner unit.
	AlertTo string `json:"alertTo"`
	// EnrollmentCode lets a logged-in visitor enroll as a cleaner; without
	// it nobody can enroll.
	EnrollmentCode string `json:"enrollmentCode"`
	// OpeningHours applies to codes without an openingHours attribute
	// ("05:00-22:00", "全天"); without either, check-ins are never
	// abnormal.
	OpeningHours string `json:"openingHours"`
	// Materials are the training materials of 学习小助手.
	Materials []material `json:"materials"`
}

type question struct {
	ID         string   `json:"id"`
	Text       string   `json:"text"`
	Facilities []string `json:"facilities,omitempty"`
}

type material struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Summary string `json:"summary,omitempty"`
	URL     string `json:"url,omitempty"`
	Kind    string `json:"kind,omitempty"`
}

// Facility kinds.
const (
	toilet   = "toilet"
	transfer = "transfer"
)

// defaultQuestions are the pilot's rating items: five for toilets, three
// for transfer stations.
var defaultQuestions = []question{
	{ID: "signage", Text: "导向标识设置", Facilities: []string{toilet}},
	{ID: "surroundings", Text: "周边环境管理", Facilities: []string{toilet}},
	{ID: "interior", Text: "内部环境管理", Facilities: []string{toilet}},
	{ID: "equipment", Text: "设施设备管理", Facilities: []string{toilet}},
	{ID: "service", Text: "服务规范执行", Facilities: []string{toilet}},
	{ID: "operation", Text: "作业规范", Facilities: []string{transfer}},
	{ID: "pollution", Text: "环境污染", Facilities: []string{transfer}},
	{ID: "disturbance", Text: "扰民情况", Facilities: []string{transfer}},
}

var defaultCategories = map[string][]string{
	toilet:   {"厕位不洁", "缺少手纸或洗手液", "设施破损", "异味", "管理日志不规范", "其他"},
	transfer: {"中转站污染", "异味", "作业扰民", "渗滤液外溢", "设施破损", "其他"},
}

var defaultCleaningItems = map[string][]string{
	toilet:   {"地面清洁", "便器清洗", "洗手台清洁", "补充手纸和洗手液", "垃圾清运", "除臭消杀"},
	transfer: {"场地冲洗", "设备清洁", "除臭消杀", "渗滤液处理", "周边保洁"},
}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "码上环境的配置无法解析，请联系平台管理员"}
		}
	}
	if c.Questions == nil {
		c.Questions = defaultQuestions
	}
	if c.DefaultFacility != transfer {
		c.DefaultFacility = toilet
	}
	if c.AlertThreshold < 2 {
		c.AlertThreshold = 3
	}
	if c.AlertWindowHours < 1 {
		c.AlertWindowHours = 24
	}
	return c, nil
}

// questionsFor is the questionnaire of a facility kind.
func (c config) questionsFor(kind string) []question {
	var out []question
	for _, q := range c.Questions {
		if len(q.Facilities) == 0 || contains(q.Facilities, kind) {
			out = append(out, q)
		}
	}
	return out
}

func (c config) categoriesFor(kind string) []string {
	if len(c.Categories) > 0 {
		return c.Categories
	}
	return defaultCategories[kind]
}

func (c config) cleaningItemsFor(kind string) []string {
	if len(c.CleaningItems) > 0 {
		return c.CleaningItems
	}
	return defaultCleaningItems[kind]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
