package main

import (
	"encoding/json"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// NotifyTo receives complaints, merchants' self-check reports and
	// rectifications (the inspectors' squad); default the code's owner
	// unit, else "operator".
	NotifyTo string `json:"notifyTo"`
	// SupervisionTo receives supervisions that found a problem; default
	// NotifyTo.
	SupervisionTo string `json:"supervisionTo"`
	// HandoffSecret is the HMAC-SM3 key that signs the supervision
	// hand-off list; without it the list is not served.
	HandoffSecret string `json:"handoffSecret"`
	// GrantHours is how long a binding code stays valid (default 72).
	GrantHours int `json:"grantHours"`
	// DailyLimit bounds one citizen's complaints and suggestions about one
	// shop in a day (default 5).
	DailyLimit int `json:"dailyLimit"`
	// Categories are the problem categories of complaints and suggestions.
	Categories []string `json:"categories"`
	// PatrolItems are the items a patrol checks.
	PatrolItems []string `json:"patrolItems"`
	// Questions are the satisfaction survey's questions, scored 1–5.
	Questions []question `json:"questions"`
	// Pledges are the documents merchants sign (码上签).
	Pledges []pledgeTemplate `json:"pledges"`
}

// question is one question of the satisfaction survey.
type question struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// pledgeTemplate is a document merchants sign. A changed text needs a new
// version: signatures are per version, so merchants sign the new text.
type pledgeTemplate struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Content string `json:"content"`
	Version string `json:"version"`
}

var (
	defaultCategories  = []string{"占道经营", "跨门营业", "乱设摊点", "噪声扰民", "油烟污染", "乱张贴", "门前环境卫生", "信息不符", "其他"}
	defaultPatrolItems = []string{"证照公示", "门前责任区", "占道经营", "跨门营业", "店招店牌", "油烟噪声", "垃圾分类"}
	defaultQuestions   = []question{{"order", "经营秩序"}, {"hygiene", "门前环境卫生"}, {"honesty", "诚信经营"}}
	defaultPledges     = []pledgeTemplate{
		{ID: "supervision", Title: "监管承诺书", Version: "1", Content: "本单位承诺：自觉接受城市管理执法部门的监督管理，如实提供经营信息，" +
			"信息变更时及时登记；对执法检查中发现的问题按期整改，并如实反馈整改情况。"},
		{ID: "conduct", Title: "规范经营承诺书", Version: "1", Content: "本单位承诺：落实门前责任区制度，保持门前市容整洁；不占道经营、不跨门营业、" +
			"不乱设摊点、不乱张贴；规范设置店招店牌；油烟、噪声达标排放；生活垃圾分类投放。"},
		{ID: "notice", Title: "监管事项告知书", Version: "1", Content: "城市管理执法部门依法对沿街经营单位的市容环境卫生、户外设施设置、" +
			"油烟噪声污染等事项实施监督检查。违反相关规定的，将依法责令改正并予以处罚。本单位已阅知上述监管事项。"},
	}
)

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the visitor's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "码上城管的配置无法解析，请联系平台管理员"}
		}
	}
	if c.GrantHours < 1 {
		c.GrantHours = 72
	}
	if c.DailyLimit < 1 {
		c.DailyLimit = 5
	}
	if len(c.Categories) == 0 {
		c.Categories = defaultCategories
	}
	if len(c.PatrolItems) == 0 {
		c.PatrolItems = defaultPatrolItems
	}
	if len(c.Questions) == 0 {
		c.Questions = defaultQuestions
	}
	if len(c.Pledges) == 0 {
		c.Pledges = defaultPledges
	}
	for i := range c.Pledges {
		if c.Pledges[i].Version == "" {
			c.Pledges[i].Version = "1"
		}
	}
	return c, nil
}

// pledge finds a document by id.
func (c config) pledge(id string) *pledgeTemplate {
	for i := range c.Pledges {
		if c.Pledges[i].ID == id {
			return &c.Pledges[i]
		}
	}
	return nil
}

// recipient is who hears of complaints, self-check reports and
// rectifications about the request's code.
func (c *call) recipient() string { return c.recipientFor(c.req.Code) }

// recipientFor is who hears of them about a code: notifyTo, else the
// code's owner unit, else the operators.
func (c *call) recipientFor(code *plugin.Code) string {
	switch {
	case c.cfg.NotifyTo != "":
		return c.cfg.NotifyTo
	case code != nil && code.OwnerUnit != "":
		return code.OwnerUnit
	}
	return "operator"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
