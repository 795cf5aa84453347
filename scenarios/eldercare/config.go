package main

import (
	"encoding/json"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Items are the sub-items (细分评价项) a citizen rates besides the
	// overall stars; default defaultItems. An empty list asks for the
	// overall stars only.
	Items *[]item `json:"items"`
	// SkillLevels are the values a caregiver's 职业技能等级 may take;
	// default the five levels of the national occupational standard for
	// caregivers of the elderly (养老护理员国家职业技能标准).
	SkillLevels []string `json:"skillLevels"`
	// DefaultType is the institution kind of a code whose attributes and
	// object type name say nothing (an id of kinds); default none: a
	// generic 养老服务机构 page.
	DefaultType string `json:"defaultType"`
	// Staff are the institutions' console accounts, each with the owner
	// unit (权属单位) of its institution's codes.
	Staff []staffEntry `json:"staff"`
	// Authorities are the civil-affairs accounts (民政部门), each with the
	// region it oversees.
	Authorities []authorityEntry `json:"authorities"`
}

// item is one sub-item of an evaluation.
type item struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type staffEntry struct {
	Account   string `json:"account"`
	OwnerUnit string `json:"ownerUnit"`
}

type authorityEntry struct {
	Account    string `json:"account"`
	RegionCode string `json:"regionCode"`
	Name       string `json:"name,omitempty"`
}

// defaultItems are what citizens judge a caregiver's service by.
var defaultItems = []item{
	{ID: "attitude", Text: "服务态度"},
	{ID: "skill", Text: "专业技能"},
	{ID: "communication", Text: "沟通耐心"},
	{ID: "punctuality", Text: "守时守约"},
	{ID: "safety", Text: "安全卫生"},
}

// defaultSkillLevels are the levels of 养老护理员国家职业技能标准 (2019).
var defaultSkillLevels = []string{"五级/初级工", "四级/中级工", "三级/高级工", "二级/技师", "一级/高级技师"}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode, or that names a sub-item twice, is the platform's fault, not the
// citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "码上养老的配置无法解析，请联系平台管理员"}
		}
	}
	if c.Items == nil {
		items := defaultItems
		c.Items = &items
	}
	seen := map[string]bool{}
	for _, it := range *c.Items {
		if seen[it.ID] {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "码上养老的配置中评价项 " + it.ID + " 重复，请联系平台管理员"}
		}
		seen[it.ID] = true
	}
	if len(c.SkillLevels) == 0 {
		c.SkillLevels = defaultSkillLevels
	}
	for i := range c.Staff {
		c.Staff[i].Account, c.Staff[i].OwnerUnit = strings.TrimSpace(c.Staff[i].Account), strings.TrimSpace(c.Staff[i].OwnerUnit)
	}
	for i := range c.Authorities {
		c.Authorities[i].Account = strings.TrimSpace(c.Authorities[i].Account)
	}
	return c, nil
}

// items answers the sub-items to rate.
func (c config) items() []item { return *c.Items }
