package risk

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Modes of an app under risk control (风控应用).
const (
	ModeEnforce = "enforce" // decisions apply (the default for apps not listed)
	ModeMonitor = "monitor" // decisions are recorded, never enforced
	ModeOff     = "off"     // the app's events are not counted or checked
)

// Indicator is a risk indicator (风控指标): events of its types counted per
// value of its dimension over a sliding window.
type Indicator struct {
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	Dimension     string    `json:"dimension" doc:"ip, user, org (accepting organization), app or code"`
	WindowSeconds int       `json:"windowSeconds"`
	EventTypes    []string  `json:"eventTypes" doc:"generate, show, verify: the events counted (each type in its own count)"`
	Remark        string    `json:"remark,omitempty"`
	Builtin       bool      `json:"builtin" doc:"named by the shipped policy's default thresholds; cannot be deleted"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Window is the indicator's window length.
func (i Indicator) Window() time.Duration { return time.Duration(i.WindowSeconds) * time.Second }

// Rule is a risk rule (风控规则): an indicator's threshold and action for
// one app's (or all of a platform's apps') events of one model.
type Rule struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	PlatformID string    `json:"platformId"`
	AppID      string    `json:"appId,omitempty" doc:"empty: every app of the platform (of the city, for the main platform)"`
	Model      string    `json:"model" doc:"the event type the rule watches: generate, show or verify"`
	Indicator  string    `json:"indicator"`
	Threshold  float64   `json:"threshold"`
	Action     string    `json:"action" doc:"intercept (and flag near the threshold) or flag"`
	Status     string    `json:"status" doc:"enabled or disabled; an enabled rule cannot be edited or deleted"`
	Remark     string    `json:"remark,omitempty"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ruleInput is a rule as the policy reads it (input.rules).
type ruleInput struct {
	ID        int64   `json:"id"`
	Indicator string  `json:"indicator"`
	Threshold float64 `json:"threshold"`
	Action    string  `json:"action"`
}

// setup is the configuration the guard decides with.
type setup struct {
	indicators []Indicator
	rules      []Rule // enabled ones
	modes      map[string]string
}

// builtinIndicators are the shipped indicators, used when the configuration
// cannot be read at all (the migration seeds the same).
func builtinIndicators() []Indicator {
	all := []string{"generate", "show", "verify"}
	return []Indicator{
		{Code: "user_1m", Dimension: "user", WindowSeconds: 60, EventTypes: all, Builtin: true},
		{Code: "ip_1m", Dimension: "ip", WindowSeconds: 60, EventTypes: all, Builtin: true},
		{Code: "org_1m", Dimension: "org", WindowSeconds: 60, EventTypes: all, Builtin: true},
		{Code: "code_1m", Dimension: "code", WindowSeconds: 60, EventTypes: all, Builtin: true},
	}
}

// applicable answers the enabled rules for ev: per indicator, those of the
// most specific level present — the app's, else its platform's, else the
// city's (the main platform's rules for every app).
func (s *setup) applicable(ev Event, mainPlatformID string) []ruleInput {
	if len(s.rules) == 0 {
		return nil
	}
	level := map[string]int{}
	var out []ruleInput
	for _, r := range s.rules {
		if r.Model != ev.Type {
			continue
		}
		l := 0
		switch {
		case r.AppID != "" && r.AppID == ev.AppID:
			l = 3
		case r.AppID == "" && r.PlatformID == ev.PlatformID:
			l = 2
		case r.AppID == "" && r.PlatformID == mainPlatformID:
			l = 1
		default:
			continue
		}
		switch {
		case l > level[r.Indicator]:
			level[r.Indicator] = l
			out = slices.DeleteFunc(out, func(x ruleInput) bool { return x.Indicator == r.Indicator })
		case l < level[r.Indicator]:
			continue
		}
		out = append(out, ruleInput{ID: r.ID, Indicator: r.Indicator, Threshold: r.Threshold, Action: r.Action})
	}
	return out
}

// setup answers the configuration in force. When it cannot be read the
// last one stays (the built-in indicators before any was read).
func (g *Guard) setup(ctx context.Context) *setup {
	s, err := g.snap.Get(ctx)
	if err != nil {
		g.log.Warn("reading the risk configuration: the built-in indicators apply", "err", err)
		return &setup{indicators: builtinIndicators(), modes: map[string]string{}}
	}
	return s
}

func (g *Guard) read(ctx context.Context) (*setup, error) {
	s := &setup{modes: map[string]string{}}
	var err error
	if s.indicators, err = g.indicators(ctx, ""); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+ruleCols+` FROM risk_rules WHERE status = 'enabled' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	if s.rules, err = pgx.CollectRows(rows, scanRule); err != nil {
		return nil, err
	}
	rows, err = g.cfg.Pool.Query(ctx, `SELECT app_id, mode FROM risk_apps WHERE mode <> 'enforce'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var app, mode string
		if err := rows.Scan(&app, &mode); err != nil {
			return nil, err
		}
		s.modes[app] = mode
	}
	return s, rows.Err()
}

// invalidate makes the next event re-read the configuration.
func (g *Guard) invalidate() { g.snap.Invalidate() }

// ConfigRoutes declares the risk configuration (风控配置): indicators,
// rules, risk apps and the risk dictionary, and the indicators' live data.
func (g *Guard) ConfigRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/risk/indicators", g.listIndicatorsRoute).
			Doc("风控指标列表", "Risk indicators: what is counted (event types), per what (IP, user, accepting organization, app, code) and over which sliding window; filter by code or name.").
			Tag("risk").Console("riskindicator.read"),
		httpapi.Handle(http.MethodPost, "/console/risk/indicators", g.createIndicatorRoute).
			Doc("新增风控指标", "Adds an indicator; it is counted from the next event on every node (within two seconds). Main platform only: indicators are the city's.").
			Tag("risk").Console("riskindicator.create"),
		httpapi.Handle(http.MethodPut, "/console/risk/indicators/:code", g.updateIndicatorRoute).
			Doc("修改风控指标", "Changes an indicator's name, window, event types or remark; refused while an enabled rule uses it (disable the rule first). The dimension of a built-in indicator cannot change.").
			Tag("risk").Console("riskindicator.update"),
		httpapi.Handle(http.MethodDelete, "/console/risk/indicators/:code", g.deleteIndicatorRoute).
			Doc("删除风控指标", "Deletes an indicator no rule uses; built-in ones cannot be deleted.").
			Tag("risk").Console("riskindicator.delete"),
		httpapi.Handle(http.MethodGet, "/console/risk/indicators/:code/data", g.indicatorDataRoute).
			Doc("风控指标数据", "The live sliding-window count of an indicator for one value of its dimension (an IP, a user id ...) and event type, as the guard sees it now.").
			Tag("risk").Console("riskindicator.read"),

		httpapi.Handle(http.MethodGet, "/console/risk/rules", g.listRulesRoute).
			Doc("风控规则列表", "Risk rules of the platforms in the caller's scope, by app, model, name and status.").
			Tag("risk").Console("riskrule.read"),
		httpapi.Handle(http.MethodGet, "/console/risk/rules/:id", g.getRuleRoute).
			Doc("风控规则详情", "One risk rule.").
			Tag("risk").Console("riskrule.read"),
		httpapi.Handle(http.MethodPost, "/console/risk/rules", g.createRuleRoute).
			Doc("新增风控规则", "Adds a rule, disabled: an indicator's threshold and action for one app's events of one model (or every app of the caller's platform when appId is empty). Enable it to apply it.").
			Tag("risk").Console("riskrule.create"),
		httpapi.Handle(http.MethodPut, "/console/risk/rules/:id", g.updateRuleRoute).
			Doc("修改风控规则", "Changes a disabled rule; an enabled rule cannot be edited.").
			Tag("risk").Console("riskrule.update"),
		httpapi.Handle(http.MethodDelete, "/console/risk/rules/:id", g.deleteRuleRoute).
			Doc("删除风控规则", "Deletes a disabled rule.").
			Tag("risk").Console("riskrule.delete"),
		httpapi.Handle(http.MethodPost, "/console/risk/rules/:id/enable", g.ruleStatusRoute("enabled")).
			Doc("启用风控规则", "Enables a rule: it replaces the default threshold of its indicator for its app and model, on every node within two seconds.").
			Tag("risk").Console("riskrule.enable"),
		httpapi.Handle(http.MethodPost, "/console/risk/rules/:id/disable", g.ruleStatusRoute("disabled")).
			Doc("停用风控规则", "Disables a rule; it can then be edited.").
			Tag("risk").Console("riskrule.disable"),

		httpapi.Handle(http.MethodGet, "/console/risk/apps", g.listAppsRoute).
			Doc("风控应用列表", "Apps of the caller's scope with their risk mode: enforce (the default), monitor (decisions recorded, never enforced) or off.").
			Tag("risk").Console("riskapp.read"),
		httpapi.Handle(http.MethodPut, "/console/risk/apps/:appId", g.putAppRoute).
			Doc("设置风控应用", "Sets an app's risk mode and remark.").
			Tag("risk").Console("riskapp.update"),

		httpapi.Handle(http.MethodGet, "/console/risk/dict", g.listDictRoute).
			Doc("风控字典", "Risk dictionary entries (parameter items and sub-items), by item code and sub-item code.").
			Tag("risk").Console("riskdict.read"),
		httpapi.Handle(http.MethodPost, "/console/risk/dict", g.createDictRoute).
			Doc("新增风控字典", "Adds a dictionary entry; an item's code and sub-item code are unique together.").
			Tag("risk").Console("riskdict.create"),
		httpapi.Handle(http.MethodPut, "/console/risk/dict/:id", g.updateDictRoute).
			Doc("修改风控字典", "Changes a dictionary entry.").
			Tag("risk").Console("riskdict.update"),
		httpapi.Handle(http.MethodPost, "/console/risk/dict/delete", g.deleteDictRoute).
			Doc("删除风控字典", "Deletes dictionary entries (one or a batch of at most 500).").
			Tag("risk").Console("riskdict.delete"),
	}
}

// ---- indicators ----

const indicatorCols = `code, name, dimension, window_seconds, event_types, remark, builtin, created_at, updated_at`

func scanIndicator(r pgx.CollectableRow) (Indicator, error) {
	var i Indicator
	err := r.Scan(&i.Code, &i.Name, &i.Dimension, &i.WindowSeconds, &i.EventTypes, &i.Remark, &i.Builtin, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

func (g *Guard) indicators(ctx context.Context, keyword string) ([]Indicator, error) {
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+indicatorCols+` FROM risk_indicators
		WHERE $1 = '' OR strpos(code, $1) > 0 OR strpos(name, $1) > 0 ORDER BY builtin DESC, code`, keyword)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanIndicator)
}

// IndicatorsIn filters indicators.
type IndicatorsIn struct {
	Keyword string `query:"keyword" validate:"max=64" doc:"part of the code or name"`
}

// Indicators lists indicators.
type Indicators struct {
	Items []Indicator `json:"items"`
}

func (g *Guard) listIndicatorsRoute(ctx context.Context, in *IndicatorsIn) (*Indicators, error) {
	items, err := g.indicators(ctx, in.Keyword)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []Indicator{}
	}
	return &Indicators{Items: items}, nil
}

// IndicatorIn is a new indicator.
type IndicatorIn struct {
	Code string `json:"code" validate:"required,max=32"`
	IndicatorFields
}

// IndicatorUpdateIn names an indicator and its new settings.
type IndicatorUpdateIn struct {
	Code string `path:"code" validate:"required,max=32"`
	IndicatorFields
}

// IndicatorFields are an indicator's settings.
type IndicatorFields struct {
	Name          string   `json:"name" validate:"required,max=64"`
	Dimension     string   `json:"dimension" validate:"required,oneof=ip user org app code"`
	WindowSeconds int      `json:"windowSeconds" validate:"min=10,max=86400"`
	EventTypes    []string `json:"eventTypes" validate:"required,min=1,max=3,dive,oneof=generate show verify"`
	Remark        string   `json:"remark" validate:"max=200"`
}

var indicatorCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

func (in *IndicatorFields) check(code string) error {
	if !indicatorCode.MatchString(code) {
		return fault.Invalidf("parameter %q: %q must be 2 to 32 lower-case letters, digits and underscores, starting with a letter", "code", code)
	}
	slices.Sort(in.EventTypes)
	in.EventTypes = slices.Compact(in.EventTypes)
	return nil
}

func (g *Guard) createIndicatorRoute(ctx context.Context, in *IndicatorIn) (*Indicator, error) {
	if err := mainOnlyConfig(ctx, "indicators"); err != nil {
		return nil, err
	}
	if err := in.check(in.Code); err != nil {
		return nil, err
	}
	now := g.cfg.Clock()
	rows, err := g.cfg.Pool.Query(ctx, `INSERT INTO risk_indicators (code, name, dimension, window_seconds, event_types, remark, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (code) DO NOTHING RETURNING `+indicatorCols,
		in.Code, in.Name, in.Dimension, in.WindowSeconds, in.EventTypes, in.Remark, now)
	if err != nil {
		return nil, err
	}
	i, err := pgx.CollectExactlyOneRow(rows, scanIndicator)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "indicator %s already exists", in.Code)
	}
	if err != nil {
		return nil, err
	}
	g.invalidate()
	return &i, nil
}

func (g *Guard) updateIndicatorRoute(ctx context.Context, in *IndicatorUpdateIn) (*Indicator, error) {
	if err := mainOnlyConfig(ctx, "indicators"); err != nil {
		return nil, err
	}
	if err := in.check(in.Code); err != nil {
		return nil, err
	}
	var out Indicator
	err := store.Tx(ctx, g.cfg.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+indicatorCols+` FROM risk_indicators WHERE code = $1 FOR UPDATE`, in.Code)
		if err != nil {
			return err
		}
		cur, err := pgx.CollectExactlyOneRow(rows, scanIndicator)
		if store.NoRows(err) {
			return fault.NotFoundf("indicator %s not found", in.Code)
		}
		if err != nil {
			return err
		}
		if cur.Builtin && cur.Dimension != in.Dimension {
			return fault.Invalidf("parameter %q: the built-in indicator %s counts per %s; add a new indicator to count per %s", "dimension", cur.Code, cur.Dimension, in.Dimension)
		}
		var used int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM risk_rules WHERE indicator = $1 AND status = 'enabled'`, in.Code).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "indicator %s is used by %d enabled rule(s); disable them before editing it", in.Code, used)
		}
		rows, err = tx.Query(ctx, `UPDATE risk_indicators SET name = $2, dimension = $3, window_seconds = $4, event_types = $5, remark = $6, updated_at = $7
			WHERE code = $1 RETURNING `+indicatorCols, in.Code, in.Name, in.Dimension, in.WindowSeconds, in.EventTypes, in.Remark, g.cfg.Clock())
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanIndicator)
		return err
	})
	if err != nil {
		return nil, err
	}
	g.invalidate()
	return &out, nil
}

// CodeIn names an indicator.
type CodeIn struct {
	Code string `path:"code" validate:"required,max=32"`
}

func (g *Guard) deleteIndicatorRoute(ctx context.Context, in *CodeIn) (*httpapi.Empty, error) {
	if err := mainOnlyConfig(ctx, "indicators"); err != nil {
		return nil, err
	}
	var builtin bool
	err := g.cfg.Pool.QueryRow(ctx, `SELECT builtin FROM risk_indicators WHERE code = $1`, in.Code).Scan(&builtin)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("indicator %s not found", in.Code)
	}
	if err != nil {
		return nil, err
	}
	if builtin {
		return nil, fault.Conflictf(fault.CodeResourceInUse, "indicator %s is built in: the shipped policy's default thresholds name it", in.Code)
	}
	_, err = g.cfg.Pool.Exec(ctx, `DELETE FROM risk_indicators WHERE code = $1`, in.Code)
	if store.IsForeignKeyViolation(err) {
		return nil, fault.Conflictf(fault.CodeResourceInUse, "indicator %s is used by rules; delete them first", in.Code)
	}
	if err != nil {
		return nil, err
	}
	g.invalidate()
	return &httpapi.Empty{}, nil
}

// DataIn asks an indicator's live count.
type DataIn struct {
	Code      string `path:"code" validate:"required,max=32"`
	EventType string `query:"eventType" validate:"required,oneof=generate show verify"`
	Value     string `query:"value" validate:"required,max=128" doc:"the IP, user id, organization, app id or code id"`
}

// Data is an indicator's live count.
type Data struct {
	Indicator string    `json:"indicator"`
	EventType string    `json:"eventType"`
	Value     string    `json:"value"`
	Count     float64   `json:"count" doc:"events in the sliding window ending now"`
	Window    int       `json:"windowSeconds"`
	At        time.Time `json:"at"`
}

func (g *Guard) indicatorDataRoute(ctx context.Context, in *DataIn) (*Data, error) {
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+indicatorCols+` FROM risk_indicators WHERE code = $1`, in.Code)
	if err != nil {
		return nil, err
	}
	ind, err := pgx.CollectExactlyOneRow(rows, scanIndicator)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("indicator %s not found", in.Code)
	}
	if err != nil {
		return nil, err
	}
	// An app's count belongs to the app's platform: others' apps are not
	// shown to a sub-platform. IPs, users and codes are not tied to one
	// platform; their counts are the city's, shown to the main platform.
	if ind.Dimension == "app" {
		if err := g.appInScope(ctx, in.Value); err != nil {
			return nil, err
		}
	} else if !actor.OnMainPlatform(ctx) {
		return nil, fault.Deniedf("counts per %s span every platform: they are shown to the main platform's administrators", ind.Dimension)
	}
	now := g.cfg.Clock()
	n, err := g.win.peek(ctx, windowKey{ind.Code + ":" + in.EventType + ":" + in.Value, ind.Window()}, now)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the risk windows are unavailable; try again")
	}
	return &Data{Indicator: ind.Code, EventType: in.EventType, Value: in.Value, Count: n, Window: ind.WindowSeconds, At: now}, nil
}

// ---- rules ----

const ruleCols = `id, name, platform_id, app_id, model, indicator, threshold, action, status, remark, created_by, created_at, updated_at`

func scanRule(r pgx.CollectableRow) (Rule, error) {
	var x Rule
	err := r.Scan(&x.ID, &x.Name, &x.PlatformID, &x.AppID, &x.Model, &x.Indicator, &x.Threshold, &x.Action, &x.Status, &x.Remark,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// RulesIn filters rules.
type RulesIn struct {
	AppID    string `query:"appId" validate:"max=32"`
	Model    string `query:"model" validate:"omitempty,oneof=generate show verify"`
	Name     string `query:"name" validate:"max=64" doc:"part of the name"`
	Status   string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// RulePage is a page of rules.
type RulePage struct {
	Total int64  `json:"total"`
	Items []Rule `json:"items"`
}

func (g *Guard) listRulesRoute(ctx context.Context, in *RulesIn) (*RulePage, error) {
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	where := `($1 = '' OR app_id = $1) AND ($2 = '' OR model = $2) AND ($3 = '' OR strpos(name, $3) > 0) AND ($4 = '' OR status = $4)`
	args := []any{in.AppID, in.Model, in.Name, in.Status}
	clause, more := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	p := &RulePage{}
	if err := g.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM risk_rules WHERE `+where, args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+ruleCols+` FROM risk_rules WHERE `+where+
		fmt.Sprintf(` ORDER BY id DESC OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	if p.Items, err = pgx.CollectRows(rows, scanRule); err != nil {
		return nil, err
	}
	if p.Items == nil {
		p.Items = []Rule{}
	}
	return p, nil
}

// RuleIDIn names a rule.
type RuleIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// rule answers a rule in the caller's scope; others are not found.
func (g *Guard) rule(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id int64, lock bool) (Rule, error) {
	sql := `SELECT ` + ruleCols + ` FROM risk_rules WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return Rule{}, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRule)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(r.PlatformID, "", "")) {
		return Rule{}, fault.NotFoundf("risk rule %d not found", id)
	}
	return r, err
}

func (g *Guard) getRuleRoute(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	r, err := g.rule(ctx, g.cfg.Pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RuleIn is a rule's settings.
type RuleIn struct {
	Name      string  `json:"name" validate:"required,max=64"`
	AppID     string  `json:"appId" validate:"max=32" doc:"empty: every app of the caller's platform"`
	Model     string  `json:"model" validate:"required,oneof=generate show verify"`
	Indicator string  `json:"indicator" validate:"required,max=32"`
	Threshold float64 `json:"threshold" validate:"gt=0,lte=100000000"`
	Action    string  `json:"action" validate:"required,oneof=flag intercept"`
	Remark    string  `json:"remark" validate:"max=200"`
}

// resolve checks a rule's app and indicator and answers its platform.
func (g *Guard) resolve(ctx context.Context, in *RuleIn) (string, error) {
	var platformID string
	if in.AppID != "" {
		var err error
		if platformID, err = g.appPlatform(ctx, in.AppID); err != nil {
			return "", err
		}
	} else {
		a := actor.From(ctx)
		if a == nil || a.PlatformID == "" {
			return "", fault.Invalidf("parameter %q: name the app the rule is for", "appId")
		}
		platformID = a.PlatformID
	}
	var types []string
	err := g.cfg.Pool.QueryRow(ctx, `SELECT event_types FROM risk_indicators WHERE code = $1`, in.Indicator).Scan(&types)
	if store.NoRows(err) {
		return "", fault.Invalidf("parameter %q: no indicator %s (see /console/risk/indicators)", "indicator", in.Indicator)
	}
	if err != nil {
		return "", err
	}
	if !slices.Contains(types, in.Model) {
		return "", fault.Invalidf("parameter %q: indicator %s does not count %s events (it counts %s)", "model", in.Indicator, in.Model, strings.Join(types, ", "))
	}
	return platformID, nil
}

func (g *Guard) createRuleRoute(ctx context.Context, in *RuleIn) (*Rule, error) {
	platformID, err := g.resolve(ctx, in)
	if err != nil {
		return nil, err
	}
	now := g.cfg.Clock()
	rows, err := g.cfg.Pool.Query(ctx, `INSERT INTO risk_rules (name, platform_id, app_id, model, indicator, threshold, action, remark, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING `+ruleCols,
		in.Name, platformID, in.AppID, in.Model, in.Indicator, in.Threshold, in.Action, in.Remark, actor.AccountOf(ctx), now)
	if err != nil {
		return nil, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRule)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RuleUpdateIn names a rule and its new settings.
type RuleUpdateIn struct {
	ID int64 `path:"id" validate:"min=1"`
	RuleIn
}

func (g *Guard) updateRuleRoute(ctx context.Context, in *RuleUpdateIn) (*Rule, error) {
	platformID, err := g.resolve(ctx, &in.RuleIn)
	if err != nil {
		return nil, err
	}
	var out Rule
	err = store.Tx(ctx, g.cfg.Pool, func(tx pgx.Tx) error {
		cur, err := g.rule(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if cur.Status == "enabled" {
			return fault.Conflictf(fault.CodeResourceInUse, "risk rule %d is enabled: disable it before editing", in.ID)
		}
		rows, err := tx.Query(ctx, `UPDATE risk_rules SET name = $2, platform_id = $3, app_id = $4, model = $5, indicator = $6, threshold = $7,
			action = $8, remark = $9, updated_at = $10 WHERE id = $1 RETURNING `+ruleCols,
			in.ID, in.Name, platformID, in.AppID, in.Model, in.Indicator, in.Threshold, in.Action, in.Remark, g.cfg.Clock())
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanRule)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (g *Guard) deleteRuleRoute(ctx context.Context, in *RuleIDIn) (*httpapi.Empty, error) {
	err := store.Tx(ctx, g.cfg.Pool, func(tx pgx.Tx) error {
		cur, err := g.rule(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if cur.Status == "enabled" {
			return fault.Conflictf(fault.CodeResourceInUse, "risk rule %d is enabled: disable it before deleting", in.ID)
		}
		_, err = tx.Exec(ctx, `DELETE FROM risk_rules WHERE id = $1`, in.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, nil
}

func (g *Guard) ruleStatusRoute(status string) func(context.Context, *RuleIDIn) (*Rule, error) {
	return func(ctx context.Context, in *RuleIDIn) (*Rule, error) {
		var out Rule
		err := store.Tx(ctx, g.cfg.Pool, func(tx pgx.Tx) error {
			if _, err := g.rule(ctx, tx, in.ID, true); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE risk_rules SET status = $2, updated_at = $3 WHERE id = $1 RETURNING `+ruleCols, in.ID, status, g.cfg.Clock())
			if err != nil {
				return err
			}
			out, err = pgx.CollectExactlyOneRow(rows, scanRule)
			return err
		})
		if err != nil {
			return nil, err
		}
		g.invalidate()
		return &out, nil
	}
}

// ---- risk apps ----

// App is an app's risk mode (风控应用).
type App struct {
	AppID      string     `json:"appId"`
	AppName    string     `json:"appName"`
	PlatformID string     `json:"platformId"`
	Mode       string     `json:"mode" doc:"enforce, monitor or off"`
	Remark     string     `json:"remark,omitempty"`
	UpdatedBy  string     `json:"updatedBy,omitempty"`
	UpdatedAt  *time.Time `json:"updatedAt,omitempty"`
}

// AppsIn filters risk apps.
type AppsIn struct {
	Mode     string `query:"mode" validate:"omitempty,oneof=enforce monitor off"`
	Keyword  string `query:"keyword" validate:"max=64" doc:"part of the app's id or name"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// AppPage is a page of risk apps.
type AppPage struct {
	Total int64 `json:"total"`
	Items []App `json:"items"`
}

func (g *Guard) listAppsRoute(ctx context.Context, in *AppsIn) (*AppPage, error) {
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	where := `($1 = '' OR coalesce(r.mode, 'enforce') = $1) AND ($2 = '' OR strpos(a.id, $2) > 0 OR strpos(a.name, $2) > 0)`
	args := []any{in.Mode, in.Keyword}
	clause, more := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "a.platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	from := ` FROM apps a LEFT JOIN risk_apps r ON r.app_id = a.id WHERE `
	p := &AppPage{Items: []App{}}
	if err := g.cfg.Pool.QueryRow(ctx, `SELECT count(*)`+from+where, args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT a.id, a.name, a.platform_id, coalesce(r.mode, 'enforce'), coalesce(r.remark, ''), coalesce(r.updated_by, ''), r.updated_at`+
		from+where+fmt.Sprintf(` ORDER BY a.id OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (App, error) {
		var x App
		return x, r.Scan(&x.AppID, &x.AppName, &x.PlatformID, &x.Mode, &x.Remark, &x.UpdatedBy, &x.UpdatedAt)
	})
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}

// AppIn sets an app's risk mode.
type AppIn struct {
	AppID  string `path:"appId" validate:"required,max=32"`
	Mode   string `json:"mode" validate:"required,oneof=enforce monitor off"`
	Remark string `json:"remark" validate:"max=200"`
}

func (g *Guard) putAppRoute(ctx context.Context, in *AppIn) (*App, error) {
	if err := g.appInScope(ctx, in.AppID); err != nil {
		return nil, err
	}
	now := g.cfg.Clock()
	var x App
	err := g.cfg.Pool.QueryRow(ctx, `INSERT INTO risk_apps (app_id, platform_id, mode, remark, updated_by, updated_at)
		SELECT id, platform_id, $2, $3, $4, $5 FROM apps WHERE id = $1
		ON CONFLICT (app_id) DO UPDATE SET mode = EXCLUDED.mode, remark = EXCLUDED.remark, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
		RETURNING app_id, platform_id, mode, remark, updated_by, updated_at`,
		in.AppID, in.Mode, in.Remark, actor.AccountOf(ctx), now).Scan(&x.AppID, &x.PlatformID, &x.Mode, &x.Remark, &x.UpdatedBy, &x.UpdatedAt)
	if err != nil {
		return nil, err
	}
	_ = g.cfg.Pool.QueryRow(ctx, `SELECT name FROM apps WHERE id = $1`, in.AppID).Scan(&x.AppName)
	g.invalidate()
	return &x, nil
}

// appInScope answers NotFound for an app that does not exist or is outside
// the caller's scope: the two look alike to the caller.
func (g *Guard) appInScope(ctx context.Context, appID string) error {
	_, err := g.appPlatform(ctx, appID)
	return err
}

// appPlatform answers the platform of an app in the caller's scope, or
// NotFound as appInScope does.
func (g *Guard) appPlatform(ctx context.Context, appID string) (string, error) {
	var platformID string
	err := g.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM apps WHERE id = $1`, appID).Scan(&platformID)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(platformID, "", "")) {
		return "", fault.NotFoundf("app %s not found", appID)
	}
	return platformID, err
}

// ---- dictionary ----

// DictEntry is a risk dictionary entry (风控字典).
type DictEntry struct {
	ID        int64     `json:"id"`
	ItemCode  string    `json:"itemCode" doc:"参数项编码"`
	ItemName  string    `json:"itemName"`
	SubCode   string    `json:"subCode" doc:"参数子项代码"`
	SubName   string    `json:"subName"`
	Sort      int       `json:"sort"`
	Remark    string    `json:"remark,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

const dictCols = `id, item_code, item_name, sub_code, sub_name, sort, remark, updated_at`

func scanDict(r pgx.CollectableRow) (DictEntry, error) {
	var d DictEntry
	return d, r.Scan(&d.ID, &d.ItemCode, &d.ItemName, &d.SubCode, &d.SubName, &d.Sort, &d.Remark, &d.UpdatedAt)
}

// DictIn filters the dictionary.
type DictIn struct {
	ItemCode string `query:"itemCode" validate:"max=64" doc:"part of the item code"`
	SubCode  string `query:"subCode" validate:"max=64" doc:"part of the sub-item code"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// DictPage is a page of the dictionary.
type DictPage struct {
	Total int64       `json:"total"`
	Items []DictEntry `json:"items"`
}

func (g *Guard) listDictRoute(ctx context.Context, in *DictIn) (*DictPage, error) {
	size := in.PageSize
	if size == 0 {
		size = 50
	}
	where := `($1 = '' OR strpos(item_code, $1) > 0) AND ($2 = '' OR strpos(sub_code, $2) > 0)`
	p := &DictPage{}
	if err := g.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM risk_dict WHERE `+where, in.ItemCode, in.SubCode).Scan(&p.Total); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+dictCols+` FROM risk_dict WHERE `+where+` ORDER BY item_code, sort, sub_code OFFSET $3 LIMIT $4`,
		in.ItemCode, in.SubCode, (max(in.PageNo, 1)-1)*size, size)
	if err != nil {
		return nil, err
	}
	if p.Items, err = pgx.CollectRows(rows, scanDict); err != nil {
		return nil, err
	}
	if p.Items == nil {
		p.Items = []DictEntry{}
	}
	return p, nil
}

// DictEntryIn is a dictionary entry's fields.
type DictEntryIn struct {
	ItemCode string `json:"itemCode" validate:"required,max=64"`
	ItemName string `json:"itemName" validate:"required,max=64"`
	SubCode  string `json:"subCode" validate:"required,max=64"`
	SubName  string `json:"subName" validate:"required,max=64"`
	Sort     int    `json:"sort" validate:"min=0,max=100000"`
	Remark   string `json:"remark" validate:"max=200"`
}

func (g *Guard) createDictRoute(ctx context.Context, in *DictEntryIn) (*DictEntry, error) {
	if err := mainOnlyConfig(ctx, "the risk dictionary"); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `INSERT INTO risk_dict (item_code, item_name, sub_code, sub_name, sort, remark, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (item_code, sub_code) DO NOTHING RETURNING `+dictCols,
		in.ItemCode, in.ItemName, in.SubCode, in.SubName, in.Sort, in.Remark, g.cfg.Clock())
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDict)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "the dictionary already has %s/%s", in.ItemCode, in.SubCode)
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// DictUpdateIn names a dictionary entry and its new fields.
type DictUpdateIn struct {
	ID int64 `path:"id" validate:"min=1"`
	DictEntryIn
}

func (g *Guard) updateDictRoute(ctx context.Context, in *DictUpdateIn) (*DictEntry, error) {
	if err := mainOnlyConfig(ctx, "the risk dictionary"); err != nil {
		return nil, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `UPDATE risk_dict SET item_code = $2, item_name = $3, sub_code = $4, sub_name = $5, sort = $6, remark = $7, updated_at = $8
		WHERE id = $1 RETURNING `+dictCols, in.ID, in.ItemCode, in.ItemName, in.SubCode, in.SubName, in.Sort, in.Remark, g.cfg.Clock())
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDict)
	if store.IsUniqueViolation(err, "") {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "the dictionary already has %s/%s", in.ItemCode, in.SubCode)
	}
	if store.NoRows(err) {
		return nil, fault.NotFoundf("dictionary entry %d not found", in.ID)
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// IDsIn names dictionary entries.
type IDsIn struct {
	IDs []int64 `json:"ids" validate:"required,min=1,max=500"`
}

// Deleted counts deleted entries.
type Deleted struct {
	Deleted int64 `json:"deleted"`
}

func (g *Guard) deleteDictRoute(ctx context.Context, in *IDsIn) (*Deleted, error) {
	if err := mainOnlyConfig(ctx, "the risk dictionary"); err != nil {
		return nil, err
	}
	tag, err := g.cfg.Pool.Exec(ctx, `DELETE FROM risk_dict WHERE id = ANY($1)`, in.IDs)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.NotFoundf("none of the dictionary entries %v exists", in.IDs)
	}
	return &Deleted{Deleted: tag.RowsAffected()}, nil
}

// mainOnlyConfig keeps city-wide settings to the main platform.
func mainOnlyConfig(ctx context.Context, what string) error {
	if !actor.OnMainPlatform(ctx) {
		return fault.Deniedf("%s are the city's: the main platform's administrators keep them", what)
	}
	return nil
}
