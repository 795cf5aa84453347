package interop

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

func (s *Service) alertRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/interop/alert-templates", s.listTemplates).
			Doc("告警模板", "What an alert rule may watch: 解析失败率 (failures per 100 parses in a window, judged from a minimum number of parses) and 解析量突增 (parses in a window), with their default thresholds.").
			Tag("interop").Console("interopalert.read"),
		httpapi.Handle(http.MethodGet, "/console/interop/alert-rules", s.listRules).
			Doc("告警规则列表", "Alert rules of the business codes in the caller's scope, by business code name, app name, platform and status.").
			Tag("interop").Console("interopalert.read"),
		httpapi.Handle(http.MethodPost, "/console/interop/alert-rules", s.createRule).
			Doc("新增告警规则", "Watches a business code with a template and custom thresholds: once the measured value reaches the threshold (value >= threshold) an alert record is written, then none for that rule until its cooldown has passed (default: its window). Created enabled.").
			Tag("interop").Console("interopalert.create").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodGet, "/console/interop/alert-rules/:id", s.getRule).
			Doc("告警规则详情", "One alert rule.").
			Tag("interop").Console("interopalert.read").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPut, "/console/interop/alert-rules/:id", s.updateRule).
			Doc("修改告警规则", "Replaces a rule's template, thresholds, window and cooldown (its business code stays); it may fire afresh at once.").
			Tag("interop").Console("interopalert.update").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodDelete, "/console/interop/alert-rules/:id", s.deleteRule).
			Doc("删除告警规则", "Deletes a rule; the records it wrote stay.").
			Tag("interop").Console("interopalert.delete").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/alert-rules/:id/enable", s.enableRule).
			Doc("启用告警规则", "Enables a rule.").
			Tag("interop").Console("interopalert.enable").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/alert-rules/:id/disable", s.disableRule).
			Doc("停用告警规则", "Disables a rule: it writes no records until enabled.").
			Tag("interop").Console("interopalert.disable").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodGet, "/console/interop/alert-records", s.listRecords).
			Doc("告警记录", "Alert records of the platforms in the caller's scope, newest first, by business code name, app name, platform and time: the rule, the measured value and the threshold.").
			Tag("interop").Console("interopalertrecord.read"),
	}
}

// Template is an alert template (告警模板).
type Template struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Metric            string  `json:"metric" doc:"failure_rate | volume"`
	Unit              string  `json:"unit"`
	Description       string  `json:"description"`
	DefaultThreshold  float64 `json:"defaultThreshold"`
	DefaultWindow     int     `json:"defaultWindowSeconds"`
	DefaultMinSamples int     `json:"defaultMinSamples"`
}

// TemplateList is every template.
type TemplateList struct {
	Items []Template `json:"items"`
}

const templateCols = `id, name, metric, unit, description, default_threshold, default_window, default_min_samples`

func scanTemplate(r pgx.Row) (Template, error) {
	var t Template
	err := r.Scan(&t.ID, &t.Name, &t.Metric, &t.Unit, &t.Description, &t.DefaultThreshold, &t.DefaultWindow, &t.DefaultMinSamples)
	return t, err
}

func (s *Service) listTemplates(ctx context.Context, _ *httpapi.Empty) (*TemplateList, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+templateCols+` FROM interop_alert_templates ORDER BY sort, id`)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Template, error) { return scanTemplate(r) })
	if err != nil {
		return nil, err
	}
	return &TemplateList{Items: items}, nil
}

// Rule is an alert rule (告警规则).
type Rule struct {
	ID              int64      `json:"id"`
	CodeID          int64      `json:"codeId"`
	CodeName        string     `json:"codeName"`
	AppID           string     `json:"appId"`
	AppName         string     `json:"appName"`
	PlatformID      string     `json:"platformId"`
	TemplateID      string     `json:"templateId"`
	TemplateName    string     `json:"templateName"`
	Metric          string     `json:"metric"`
	Unit            string     `json:"unit"`
	Threshold       float64    `json:"threshold"`
	WindowSeconds   int        `json:"windowSeconds"`
	MinSamples      int        `json:"minSamples"`
	CooldownSeconds int        `json:"cooldownSeconds"`
	Note            string     `json:"note,omitempty"`
	Status          string     `json:"status" doc:"enabled | disabled"`
	LastFiredAt     *time.Time `json:"lastFiredAt,omitempty"`
	CreatedBy       string     `json:"createdBy"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`

	regionCode string
}

const ruleFrom = `interop_alert_rules r JOIN interop_codes c ON c.id = r.code_id JOIN interop_alert_templates t ON t.id = r.template_id`

const ruleCols = `r.id, r.code_id, c.name, c.app_id, c.app_name, c.platform_id, c.region_code, t.id, t.name, t.metric, t.unit, r.threshold,
	r.window_sec, r.min_samples, r.cooldown_sec, r.note, r.status, r.last_fired_at, r.created_by, r.created_at, r.updated_at`

func scanRule(r pgx.Row) (Rule, error) {
	var x Rule
	err := r.Scan(&x.ID, &x.CodeID, &x.CodeName, &x.AppID, &x.AppName, &x.PlatformID, &x.regionCode, &x.TemplateID, &x.TemplateName,
		&x.Metric, &x.Unit, &x.Threshold, &x.WindowSeconds, &x.MinSamples, &x.CooldownSeconds, &x.Note, &x.Status, &x.LastFiredAt,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// RulesIn filters alert rules.
type RulesIn struct {
	CodeName   string `query:"codeName" validate:"max=64" doc:"part of the business code's name"`
	AppName    string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Status     string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	PageIn
}

func (s *Service) listRules(ctx context.Context, in *RulesIn) (*Page[Rule], error) {
	var w where
	w.like("c.name", in.CodeName)
	w.like("c.app_name", in.AppName)
	w.eq("c.platform_id", in.PlatformID)
	w.eq("r.status", in.Status)
	w.scope(ctx, policy.ScopeColumns{Platform: "c.platform_id", Region: "c.region_code"})
	p := &Page[Rule]{Items: []Rule{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM `+ruleFrom+` WHERE `+w.String(), w.args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+ruleCols+` FROM `+ruleFrom+` WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY r.id DESC LIMIT %d OFFSET %d`, limit, offset), w.args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) { return scanRule(r) })
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}

func (s *Service) rule(ctx context.Context, id int64) (*Rule, error) {
	r, err := scanRule(s.cfg.Pool.QueryRow(ctx, `SELECT `+ruleCols+` FROM `+ruleFrom+` WHERE r.id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("alert rule %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := inScope(ctx, fmt.Sprintf("alert rule %d", id), r.PlatformID, r.regionCode); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *Service) getRule(ctx context.Context, in *IDIn) (*Rule, error) { return s.rule(ctx, in.ID) }

// RuleFields are a rule's settings; zero values take the template's
// defaults.
type RuleFields struct {
	TemplateID      string  `json:"templateId" validate:"required,max=64" doc:"an alert template's id (parse_failure_rate, parse_volume)"`
	Threshold       float64 `json:"threshold" doc:"failure_rate: percent, above 0 and at most 100; volume: parses, at least 1 (default: the template's)"`
	WindowSeconds   int     `json:"windowSeconds" validate:"omitempty,min=10,max=3600" doc:"default: the template's"`
	MinSamples      int     `json:"minSamples" validate:"omitempty,min=1,max=1000000" doc:"failure_rate only: parses needed before the rate is judged (default: the template's)"`
	CooldownSeconds int     `json:"cooldownSeconds" validate:"omitempty,min=10,max=86400" doc:"no second record of the rule within this time (default: the window)"`
	Note            string  `json:"note" validate:"max=200"`
}

// RuleIn creates a rule.
type RuleIn struct {
	CodeID int64 `json:"codeId" validate:"required,min=1"`
	RuleFields
}

// settle checks f against its template and fills the defaults.
func (s *Service) settle(ctx context.Context, f *RuleFields) error {
	t, err := scanTemplate(s.cfg.Pool.QueryRow(ctx, `SELECT `+templateCols+` FROM interop_alert_templates WHERE id = $1`, f.TemplateID))
	if store.NoRows(err) {
		return fault.Invalidf("parameter %q: there is no alert template %q (see GET /console/interop/alert-templates)", "templateId", f.TemplateID)
	}
	if err != nil {
		return err
	}
	if f.Threshold == 0 {
		f.Threshold = t.DefaultThreshold
	}
	if f.WindowSeconds == 0 {
		f.WindowSeconds = t.DefaultWindow
	}
	if f.CooldownSeconds == 0 {
		f.CooldownSeconds = f.WindowSeconds
	}
	switch t.Metric {
	case MetricFailureRate:
		if f.Threshold <= 0 || f.Threshold > 100 || math.IsNaN(f.Threshold) {
			return fault.Invalidf("parameter %q: a failure rate threshold is a percentage above 0 and at most 100", "threshold")
		}
		if f.MinSamples == 0 {
			f.MinSamples = t.DefaultMinSamples
		}
	case MetricVolume:
		if f.Threshold < 1 || f.Threshold > 1e9 || f.Threshold != math.Trunc(f.Threshold) {
			return fault.Invalidf("parameter %q: a volume threshold is a whole number of parses, at least 1", "threshold")
		}
		if f.MinSamples != 0 {
			return fault.Invalidf("parameter %q applies to failure rates only", "minSamples")
		}
	}
	return nil
}

func (s *Service) createRule(ctx context.Context, in *RuleIn) (*Rule, error) {
	if _, err := s.code(ctx, s.cfg.Pool, in.CodeID, false); err != nil {
		return nil, err
	}
	if err := s.settle(ctx, &in.RuleFields); err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	var id int64
	err := s.cfg.Pool.QueryRow(ctx, `INSERT INTO interop_alert_rules (code_id, template_id, threshold, window_sec, min_samples, cooldown_sec,
		note, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
		in.CodeID, in.TemplateID, in.Threshold, in.WindowSeconds, in.MinSamples, in.CooldownSeconds, in.Note, actor.AccountOf(ctx), now).Scan(&id)
	if store.IsForeignKeyViolation(err) {
		return nil, fault.NotFoundf("business code %d not found", in.CodeID)
	}
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.rule(ctx, id)
}

// UpdateRuleIn replaces a rule's settings.
type UpdateRuleIn struct {
	ID int64 `path:"id" json:"-" validate:"min=1"`
	RuleFields
}

func (s *Service) updateRule(ctx context.Context, in *UpdateRuleIn) (*Rule, error) {
	if _, err := s.rule(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := s.settle(ctx, &in.RuleFields); err != nil {
		return nil, err
	}
	// A changed rule judges afresh: the cooldown of its old self is over.
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE interop_alert_rules SET template_id = $2, threshold = $3, window_sec = $4, min_samples = $5,
		cooldown_sec = $6, note = $7, last_fired_at = NULL, updated_at = $8 WHERE id = $1`,
		in.ID, in.TemplateID, in.Threshold, in.WindowSeconds, in.MinSamples, in.CooldownSeconds, in.Note, s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.NotFoundf("alert rule %d not found", in.ID)
	}
	s.forget(in.ID)
	return s.rule(ctx, in.ID)
}

func (s *Service) deleteRule(ctx context.Context, in *IDIn) (*httpapi.Empty, error) {
	if _, err := s.rule(ctx, in.ID); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `DELETE FROM interop_alert_rules WHERE id = $1`, in.ID); err != nil {
		return nil, err
	}
	s.forget(in.ID)
	return &httpapi.Empty{}, nil
}

func (s *Service) setRuleStatus(ctx context.Context, id int64, status string) (*Rule, error) {
	if _, err := s.rule(ctx, id); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE interop_alert_rules SET status = $2, last_fired_at = NULL, updated_at = $3 WHERE id = $1`,
		id, status, s.cfg.Clock()); err != nil {
		return nil, err
	}
	s.forget(id)
	return s.rule(ctx, id)
}

func (s *Service) enableRule(ctx context.Context, in *IDIn) (*Rule, error) {
	return s.setRuleStatus(ctx, in.ID, "enabled")
}

func (s *Service) disableRule(ctx context.Context, in *IDIn) (*Rule, error) {
	return s.setRuleStatus(ctx, in.ID, "disabled")
}

// forget drops what this node remembers of a changed rule and re-reads
// the snapshot.
func (s *Service) forget(ruleID int64) {
	s.tmu.Lock()
	delete(s.fired, ruleID)
	s.tmu.Unlock()
	s.invalidate()
}

// AlertRecord is an alert (告警记录).
type AlertRecord struct {
	ID            int64     `json:"id"`
	RuleID        *int64    `json:"ruleId,omitempty" doc:"absent once the rule is deleted"`
	TemplateID    string    `json:"templateId"`
	CodeID        int64     `json:"codeId"`
	CodeName      string    `json:"codeName"`
	AppID         string    `json:"appId"`
	AppName       string    `json:"appName"`
	PlatformID    string    `json:"platformId"`
	Measured      float64   `json:"measured" doc:"the value that reached the threshold"`
	Threshold     float64   `json:"threshold"`
	Samples       int64     `json:"samples" doc:"parses in the window"`
	Failures      int64     `json:"failures" doc:"failed parses in the window"`
	WindowSeconds int       `json:"windowSeconds"`
	Reason        string    `json:"reason"`
	CreatedAt     time.Time `json:"createdAt"`
}

const recordCols = `id, rule_id, template_id, code_id, code_name, app_id, app_name, platform_id, measured, threshold, samples, failures,
	window_sec, reason, created_at`

func scanRecord(r pgx.Row) (AlertRecord, error) {
	var x AlertRecord
	err := r.Scan(&x.ID, &x.RuleID, &x.TemplateID, &x.CodeID, &x.CodeName, &x.AppID, &x.AppName, &x.PlatformID, &x.Measured, &x.Threshold,
		&x.Samples, &x.Failures, &x.WindowSeconds, &x.Reason, &x.CreatedAt)
	return x, err
}

// RecordsIn filters alert records.
type RecordsIn struct {
	CodeName   string `query:"codeName" validate:"max=64" doc:"part of the business code's name"`
	AppName    string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	PlatformID string `query:"platformId" validate:"max=32"`
	RuleID     int64  `query:"ruleId" validate:"min=0"`
	TimeRange
	PageIn
}

func (s *Service) listRecords(ctx context.Context, in *RecordsIn) (*Page[AlertRecord], error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var w where
	w.like("code_name", in.CodeName)
	w.like("app_name", in.AppName)
	w.eq("platform_id", in.PlatformID)
	if in.RuleID != 0 {
		w.add("rule_id = %s", in.RuleID)
	}
	w.between("created_at", in.TimeRange)
	w.scope(ctx, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"})
	p := &Page[AlertRecord]{Items: []AlertRecord{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM interop_alert_records WHERE `+w.String(), w.args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	items, err := s.records(ctx, w, limit, offset)
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}

func (s *Service) records(ctx context.Context, w where, limit, offset int) ([]AlertRecord, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+recordCols+` FROM interop_alert_records WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d OFFSET %d`, limit, offset), w.args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AlertRecord, error) { return scanRecord(r) })
}

// RecentAlerts answers the newest alert records (at most limit, at most
// 100) of the platforms in the caller's data scope, as put in ctx by the
// console route being served: the statistics workbench shows them.
func (s *Service) RecentAlerts(ctx context.Context, limit int) ([]AlertRecord, error) {
	var w where
	w.scope(ctx, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"})
	out, err := s.records(ctx, w, min(max(limit, 1), 100), 0)
	if err != nil {
		return nil, fmt.Errorf("interop: recent alerts: %w", err)
	}
	if out == nil {
		out = []AlertRecord{}
	}
	return out, nil
}

// observe counts a parse of c and judges c's enabled rules over their
// windows; a rule that reaches its threshold writes a record unless it is
// cooling down. It never fails the parse: a record that cannot be written
// is logged.
func (s *Service) observe(ctx context.Context, snap *registered, c *codeEntry, failed bool, now time.Time) {
	rules := snap.rules[c.ID]
	if len(rules) == 0 {
		return
	}
	s.tmu.Lock()
	t := s.tallies[c.ID]
	if t == nil {
		t = &tally{}
		s.tallies[c.ID] = t
	}
	s.tmu.Unlock()
	t.add(now, failed)
	for _, r := range rules {
		m := t.sum(now, r.Window)
		value, fire := judge(r.Metric, r.Threshold, r.MinSamples, m)
		if !fire {
			continue
		}
		s.tmu.Lock()
		last, seen := s.fired[r.ID]
		cooling := seen && now.Sub(last) < r.Cooldown
		s.tmu.Unlock()
		if cooling {
			continue
		}
		if err := s.fire(ctx, c, r, m, value, now); err != nil {
			s.log.Error("writing an alert record", "rule", r.ID, "err", err)
		}
	}
}

// fire writes rule r's record, once per cooldown across every node: the
// rule's last_fired_at is claimed first, and a node that loses the claim
// writes nothing.
func (s *Service) fire(ctx context.Context, c *codeEntry, r ruleEntry, m measurement, value float64, now time.Time) error {
	claimed := false
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE interop_alert_rules SET last_fired_at = $2
			WHERE id = $1 AND status = 'enabled' AND (last_fired_at IS NULL OR last_fired_at <= $2::timestamptz - make_interval(secs => cooldown_sec))`,
			r.ID, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		claimed = true
		_, err = tx.Exec(ctx, `INSERT INTO interop_alert_records (rule_id, template_id, code_id, code_name, app_id, app_name, platform_id,
			region_code, measured, threshold, samples, failures, window_sec, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			r.ID, r.TemplateID, c.ID, c.Name, c.AppID, c.AppName, c.PlatformID, c.RegionCode, value, r.Threshold, m.Total, m.Failures,
			r.Window, reason(r.TemplateName, r.Metric, value, r.Threshold, r.Window, m), now)
		return err
	})
	if err != nil {
		return err
	}
	// Claimed here or by another node: either way the rule cools down.
	s.tmu.Lock()
	s.fired[r.ID] = now
	s.tmu.Unlock()
	if claimed {
		s.log.Info("interop alert", "rule", r.ID, "code", c.ID, "value", value, "threshold", r.Threshold)
	}
	return nil
}
