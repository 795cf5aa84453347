package main

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// config is the platform's configuration of the plugin; plugin.json holds
// its JSON Schema, which the host checks when an operator sets it. Every
// field is optional: loadConfig fills in the defaults.
type config struct {
	// Policy is the rental policy (租赁政策) shown on every service
	// point's page, and the limits an application is checked against.
	Policy policy `json:"policy"`
	// Documents are the policy documents (政策文件): name, content, date
	// of publication and publisher. None by default: they are the
	// bureau's to publish.
	Documents []document `json:"documents"`
	// Catalogue is the list of aids (辅具目录) citizens may apply for;
	// default defaultCatalogue.
	Catalogue []aid `json:"catalogue"`
	// NotifyTo receives the notification of a new application; default
	// the code's owner unit, else "operator".
	NotifyTo string `json:"notifyTo"`
}

// policy is the rental policy. The texts are shown as written; MaxDays
// and MaxAdvanceDays bound applications.
type policy struct {
	Eligibility string `json:"eligibility"` // 申请条件
	Deposit     string `json:"deposit"`     // 押金说明
	Fees        string `json:"fees"`        // 租金说明
	Duration    string `json:"duration"`    // 租期说明; default from MaxDays
	// MaxDays is the longest rental one application may ask for (default
	// 90 days).
	MaxDays int `json:"maxDays"`
	// MaxAdvanceDays is how far ahead the rental may start (default 30
	// days; 0: today only).
	MaxAdvanceDays *int `json:"maxAdvanceDays"`
}

// document is a policy document.
type document struct {
	Title       string `json:"title"`
	Content     string `json:"content"`
	PublishedAt string `json:"publishedAt,omitempty"`
	Publisher   string `json:"publisher,omitempty"`
	URL         string `json:"url,omitempty"`
}

// aid is one entry of the catalogue. Money is in yuan.
type aid struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Category    string  `json:"category,omitempty"`
	Description string  `json:"description,omitempty"`
	Deposit     float64 `json:"deposit"`
	DailyFee    float64 `json:"dailyFee"`
	MaxDays     int     `json:"maxDays,omitempty"` // at most the policy's
	Available   *bool   `json:"available,omitempty"`
}

// rentable reports whether the aid can be applied for now.
func (a aid) rentable() bool { return a.Available == nil || *a.Available }

// The policy's defaults: general wording a platform replaces with its
// own.
const (
	defaultEligibility = "本市户籍或持本市居住证的老年人、残疾人及伤病康复期人员，凭本人身份证件（或代办人身份证件及委托书）申请。"
	defaultDeposit     = "按辅具目录所列金额在领取辅具时缴纳；辅具按期归还且无人为损坏的，押金全额退还。"
	defaultFees        = "按天计租，不足一天按一天计；低保、低收入及特困人员可按规定申请减免。"
	defaultMaxDays     = 90
	defaultMaxAdvance  = 30
)

var defaultCatalogue = []aid{
	{ID: "wheelchair", Name: "手动轮椅", Category: "移动辅具", Description: "折叠式，适合短期行动不便者", Deposit: 500, DailyFee: 2},
	{ID: "walker", Name: "助行器", Category: "移动辅具", Description: "四脚助行架，高度可调", Deposit: 200, DailyFee: 1},
	{ID: "crutches", Name: "腋下拐杖", Category: "移动辅具", Description: "一副，铝合金", Deposit: 100, DailyFee: 0.5},
	{ID: "commode", Name: "坐便椅", Category: "生活辅具", Description: "带扶手，可折叠", Deposit: 150, DailyFee: 1},
	{ID: "nursing-bed", Name: "手摇护理床", Category: "护理辅具", Description: "双摇，含床垫", Deposit: 1000, DailyFee: 5, MaxDays: 60},
}

// loadConfig decodes the platform's configuration and fills in defaults.
// The host validated it against the schema; one that still does not
// decode is the platform's fault, not the citizen's.
func loadConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, &plugin.Error{Code: plugin.ErrInternal, Message: "康复辅具的配置无法解析，请联系平台管理员"}
		}
	}
	p := &c.Policy
	if p.Eligibility == "" {
		p.Eligibility = defaultEligibility
	}
	if p.Deposit == "" {
		p.Deposit = defaultDeposit
	}
	if p.Fees == "" {
		p.Fees = defaultFees
	}
	if p.MaxDays < 1 {
		p.MaxDays = defaultMaxDays
	}
	if p.MaxAdvanceDays == nil || *p.MaxAdvanceDays < 0 {
		n := defaultMaxAdvance
		p.MaxAdvanceDays = &n
	}
	if p.Duration == "" {
		p.Duration = "单次租期 1 至 " + strconv.Itoa(p.MaxDays) + " 天，起租日最多可提前 " + strconv.Itoa(*p.MaxAdvanceDays) + " 天预约；到期需继续使用的，请重新申请。"
	}
	if len(c.Catalogue) == 0 {
		c.Catalogue = defaultCatalogue
	}
	return c, nil
}

// find answers the catalogue's aid of an id.
func (c config) find(id string) (aid, bool) {
	for _, a := range c.Catalogue {
		if a.ID == id {
			return a, true
		}
	}
	return aid{}, false
}

// maxDays is the longest rental of an aid: the policy's, or the aid's own
// when shorter.
func (c config) maxDays(a aid) int {
	if a.MaxDays > 0 && a.MaxDays < c.Policy.MaxDays {
		return a.MaxDays
	}
	return c.Policy.MaxDays
}

// cents converts yuan to whole fen, so that sums are exact.
func cents(yuan float64) int64 { return int64(math.Round(yuan * 100)) }

// yuan renders fen as yuan: 2 元, 0.5 元, 12.35 元.
func yuan(fen int64) string {
	return strconv.FormatFloat(float64(fen)/100, 'f', -1, 64) + " 元"
}
