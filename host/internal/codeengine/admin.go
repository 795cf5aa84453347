package codeengine

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Routes declares the console endpoints of specs, rules, versions, pools
// and app bindings.
func (s *Rules) Routes() []*httpapi.Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []*httpapi.Route{
		httpapi.Handle(post, "/console/specs", s.CreateSpec).Doc("新增码规范", "Creates a code spec (field layout). Main platform only.").Tag("specs").Console("spec.create"),
		httpapi.Handle(get, "/console/specs", s.ListSpecs).Doc("码规范列表", "Specs by fuzzy name and creation-time range.").Tag("specs").Console("spec.read"),
		httpapi.Handle(post, "/console/specs/:specId/status", s.SetSpecStatus).Doc("启用/停用码规范", "A disabled spec cannot be chosen for new rules.").Tag("specs").Console("spec.update"),
		httpapi.Handle(del, "/console/specs/:specId", s.DeleteSpec).Doc("删除码规范", "Rules that use the spec keep their copy of its fields.").Tag("specs").Console("spec.delete"),

		httpapi.Handle(post, "/console/rules", s.CreateRule).Doc("新增码规则", "Creates a code rule (pending) with version 1: base info, function settings, spec fields, extension and data-collection fields. Main platform only.").Tag("rules").Console("rule.create").Errors(fault.CodeFailedOperation),
		httpapi.Handle(get, "/console/rules", s.ListRules).Doc("码规则列表", "Rules in the caller's pool: all for the main platform, pushed ones for a sub-platform.").Tag("rules").Console("rule.read"),
		httpapi.Handle(get, "/console/rules/:ruleId", s.GetRule).Doc("码规则详情", "A rule with all its versions.").Tag("rules").Console("rule.read"),
		httpapi.Handle(post, "/console/rules/:ruleId/publish", s.Publish).Doc("发布码规则", "pending → published.").Tag("rules").Console("rule.publish"),
		httpapi.Handle(post, "/console/rules/:ruleId/status", s.SetRuleStatus).Doc("启用/停用码规则", "A disabled rule issues no codes and its codes stop verifying.").Tag("rules").Console("rule.update"),
		httpapi.Handle(post, "/console/rules/:ruleId/versions", s.NewVersion).Doc("新增版本", "Function, extension and data-collection settings make a new version (enabled).").Tag("rules").Console("rule.update"),
		httpapi.Handle(post, "/console/rules/:ruleId/versions/:version/status", s.SetVersionStatus).Doc("启用/停用版本", "Several versions may be enabled at once; codes of a disabled version answer FailedOperation.CodeNotActive.").Tag("rules").Console("rule.update"),
		httpapi.Handle(post, "/console/rules/:ruleId/push", s.Push).Doc("推送码规则", "Puts the rule (all versions) into its sub-platform's pool.").Tag("rules").Console("rule.push"),
		httpapi.Handle(del, "/console/rules/:ruleId", s.DeleteRule).Doc("删除码规则", "Refused while an app is bound to the rule.").Tag("rules").Console("rule.delete").Errors(fault.CodeResourceInUse),

		httpapi.Handle(put, "/console/apps/:appId/rules", s.Bind).Doc("关联码规则", "Binds the app to rules of its platform's pool.").Tag("rules").Console("rule.bind"),
		httpapi.Handle(del, "/console/apps/:appId/rules/:ruleId", s.Unbind).Doc("移除码规则", "Unbinds a rule from the app; the rule stays in the pool.").Tag("rules").Console("rule.bind"),
		httpapi.Handle(get, "/console/apps/:appId/rules", s.AppRules).Doc("应用关联的码规则", "").Tag("rules").Console("rule.read"),
	}
}

// SpecIn creates a spec.
type SpecIn struct {
	Name        string  `json:"name" validate:"required,max=64"`
	Description string  `json:"description" validate:"max=500"`
	Fields      []Field `json:"fields" validate:"max=100,dive"`
}

// Spec is a code spec.
type Spec struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Fields      []Field   `json:"fields"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
}

// CreateSpec creates a spec.
func (s *Rules) CreateSpec(ctx context.Context, in *SpecIn) (*Spec, error) {
	fields, _ := json.Marshal(orEmpty(in.Fields))
	sp := &Spec{Name: in.Name, Description: in.Description, Fields: orEmpty(in.Fields), Status: "enabled", CreatedAt: s.cfg.Clock()}
	err := s.cfg.Pool.QueryRow(ctx, `INSERT INTO code_specs (id, name, description, fields, created_at, updated_at)
		VALUES ('S' || lpad(nextval('code_spec_seq')::text, 4, '0'), $1, $2, $3, $4, $4) RETURNING id`,
		in.Name, in.Description, fields, sp.CreatedAt).Scan(&sp.ID)
	return sp, err
}

// SpecFilter selects specs.
type SpecFilter struct {
	Name string    `query:"name" validate:"max=64"`
	From time.Time `query:"from"`
	To   time.Time `query:"to"`
}

// SpecPage is a list of specs.
type SpecPage struct {
	Total int64  `json:"total"`
	Items []Spec `json:"items"`
}

// ListSpecs lists specs.
func (s *Rules) ListSpecs(ctx context.Context, in *SpecFilter) (*SpecPage, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, name, description, fields, status, created_at FROM code_specs
		WHERE ($1 = '' OR name ILIKE '%' || $1 || '%') AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
		ORDER BY id`, in.Name, nullTime(in.From), nullTime(in.To))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &SpecPage{Items: []Spec{}}
	for rows.Next() {
		var sp Spec
		var f []byte
		if err := rows.Scan(&sp.ID, &sp.Name, &sp.Description, &f, &sp.Status, &sp.CreatedAt); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(f, &sp.Fields)
		out.Items = append(out.Items, sp)
	}
	out.Total = int64(len(out.Items))
	return out, rows.Err()
}

// SpecStatusIn enables or disables a spec.
type SpecStatusIn struct {
	SpecID string `path:"specId" json:"-"`
	Status string `json:"status" validate:"required,oneof=enabled disabled"`
}

// SetSpecStatus enables or disables a spec.
func (s *Rules) SetSpecStatus(ctx context.Context, in *SpecStatusIn) (*httpapi.Empty, error) {
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE code_specs SET status = $2, updated_at = $3 WHERE id = $1`, in.SpecID, in.Status, s.cfg.Clock())
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("spec %s does not exist", in.SpecID)
	}
	return &httpapi.Empty{}, err
}

// SpecIDIn names a spec.
type SpecIDIn struct {
	SpecID string `path:"specId" json:"-"`
}

// DeleteSpec deletes a spec; rules keep their copy of its fields.
func (s *Rules) DeleteSpec(ctx context.Context, in *SpecIDIn) (*httpapi.Empty, error) {
	tag, err := s.cfg.Pool.Exec(ctx, `DELETE FROM code_specs WHERE id = $1`, in.SpecID)
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("spec %s does not exist", in.SpecID)
	}
	return &httpapi.Empty{}, err
}

// RuleIn creates a rule.
type RuleIn struct {
	Name       string   `json:"name" validate:"required,max=64"`
	Form       string   `json:"form" validate:"required,oneof=dynamic static"`
	Family     string   `json:"family" validate:"required,oneof=identity health payment enterprise object virtual" doc:"identity, health, payment (person codes), enterprise, object, virtual"`
	PlatformID string   `json:"platformId" validate:"max=32" doc:"applicable platform: the main platform (default) or one sub-platform"`
	Industry   string   `json:"industryCode" validate:"max=32"`
	SpecID     string   `json:"specId" validate:"max=32"`
	Function   Function `json:"function"`
	Extension  []Field  `json:"extensionFields" validate:"max=50,dive"`
	Collection []Field  `json:"collectionFields" validate:"max=50,dive"`
}

// kindOf maps a family to the kind of subject its codes are for.
var kindOf = map[string]string{"identity": "person", "health": "person", "payment": "person",
	"enterprise": "enterprise", "object": "object", "virtual": "virtual"}

// Rule is a rule with its versions.
type Rule struct {
	ID         string        `json:"id" doc:"codeDefId"`
	Name       string        `json:"name"`
	Form       string        `json:"form"`
	Kind       string        `json:"kind"`
	Family     string        `json:"family"`
	PlatformID string        `json:"platformId"`
	Status     string        `json:"status" doc:"pending | published"`
	Enabled    bool          `json:"enabled"`
	Versions   []VersionInfo `json:"versions"`
	CreatedAt  time.Time     `json:"createdAt"`
}

// VersionInfo is one version of a rule.
type VersionInfo struct {
	Version    int       `json:"version"`
	Function   Function  `json:"function"`
	Collection []Field   `json:"collectionFields"`
	Extension  []Field   `json:"extensionFields"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"createdAt"`
}

func (in *RuleIn) check() error {
	fn := in.Function
	if in.Form == "dynamic" && (fn.ValiditySeconds < 10 || fn.ValiditySeconds > 86400) {
		return fault.Invalidf("a dynamic code's validitySeconds must be between 10 and 86400")
	}
	if fn.RefreshSeconds > fn.ValiditySeconds && fn.ValiditySeconds > 0 {
		return fault.Invalidf("refreshSeconds must not exceed validitySeconds")
	}
	if in.Form == "static" && kindOf[in.Family] == "person" {
		return fault.Invalidf("personal codes are dynamic")
	}
	return nil
}

// CreateRule creates a pending rule with version 1.
func (s *Rules) CreateRule(ctx context.Context, in *RuleIn) (*Rule, error) {
	if in.PlatformID == "" {
		in.PlatformID = s.cfg.MainPlatformID
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var id string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var specFields []byte = []byte("[]")
		if in.SpecID != "" {
			var status string
			err := tx.QueryRow(ctx, `SELECT status, fields FROM code_specs WHERE id = $1`, in.SpecID).Scan(&status, &specFields)
			if store.NoRows(err) {
				return fault.Invalidf("spec %s does not exist", in.SpecID)
			}
			if err != nil {
				return err
			}
			if status != "enabled" {
				return fault.Conflictf(fault.CodeFailedOperation, "spec %s is disabled and cannot be chosen for new rules", in.SpecID)
			}
		}
		now := s.cfg.Clock()
		var spec any
		if in.SpecID != "" {
			spec = in.SpecID
		}
		if err := tx.QueryRow(ctx, `INSERT INTO code_rules (id, name, form, kind, family, platform_id, industry, spec_id, created_at, updated_at)
			VALUES ('R' || lpad(nextval('code_rule_seq')::text, 4, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			in.Name, in.Form, kindOf[in.Family], in.Family, in.PlatformID, in.Industry, spec, now).Scan(&id); err != nil {
			return err
		}
		return insertVersion(ctx, tx, id, 1, in.Function, specFields, in.Extension, in.Collection, now)
	})
	if err != nil {
		return nil, err
	}
	return s.GetRule(ctx, &RuleIDIn{RuleID: id})
}

func insertVersion(ctx context.Context, tx pgx.Tx, id string, v int, fn Function, spec []byte, ext, coll []Field, now time.Time) error {
	f, _ := json.Marshal(fn)
	e, _ := json.Marshal(orEmpty(ext))
	c, _ := json.Marshal(orEmpty(coll))
	_, err := tx.Exec(ctx, `INSERT INTO code_rule_versions (rule_id, version, function, spec_fields, ext_fields, collection, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, v, f, spec, e, c, now)
	return err
}

// RuleIDIn names a rule.
type RuleIDIn struct {
	RuleID string `path:"ruleId" json:"-"`
}

// GetRule answers a rule with its versions.
func (s *Rules) GetRule(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	r := &Rule{Versions: []VersionInfo{}}
	err := s.cfg.Pool.QueryRow(ctx, `SELECT id, name, form, kind, family, platform_id, status, enabled, created_at FROM code_rules WHERE id = $1`, in.RuleID).
		Scan(&r.ID, &r.Name, &r.Form, &r.Kind, &r.Family, &r.PlatformID, &r.Status, &r.Enabled, &r.CreatedAt)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s does not exist", in.RuleID)
	}
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, r.ID, r.PlatformID); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT version, function, collection, ext_fields, enabled, created_at FROM code_rule_versions WHERE rule_id = $1 ORDER BY version`, r.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v VersionInfo
		var fn, coll, ext []byte
		if err := rows.Scan(&v.Version, &fn, &coll, &ext, &v.Enabled, &v.CreatedAt); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(fn, &v.Function)
		_ = json.Unmarshal(coll, &v.Collection)
		_ = json.Unmarshal(ext, &v.Extension)
		r.Versions = append(r.Versions, v)
	}
	return r, rows.Err()
}

// visible checks the caller may see the rule: main-platform operators see
// every rule; others only rules in their platform's pool.
func (s *Rules) visible(ctx context.Context, ruleID, platformID string) error {
	sc := policy.ScopeFrom(ctx)
	if sc.All {
		return nil
	}
	var inPool bool
	err := s.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM code_rule_pool WHERE rule_id = $1 AND platform_id = ANY($2))`, ruleID, sc.PlatformIDs).Scan(&inPool)
	if err != nil {
		return err
	}
	if !inPool {
		return fault.Deniedf("code rule %s is not in your platform's pool", ruleID)
	}
	return nil
}

// RuleFilter selects rules.
type RuleFilter struct {
	Name       string `query:"name" validate:"max=64"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Status     string `query:"status" validate:"omitempty,oneof=pending published"`
}

// RulePage is a list of rules.
type RulePage struct {
	Total int64  `json:"total"`
	Items []Rule `json:"items"`
}

// ListRules lists the rules of the caller's pool.
func (s *Rules) ListRules(ctx context.Context, in *RuleFilter) (*RulePage, error) {
	sc := policy.ScopeFrom(ctx)
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, name, form, kind, family, platform_id, status, enabled, created_at FROM code_rules r
		WHERE ($1 OR EXISTS (SELECT 1 FROM code_rule_pool p WHERE p.rule_id = r.id AND p.platform_id = ANY($2)))
		  AND ($3 = '' OR name ILIKE '%' || $3 || '%') AND ($4 = '' OR platform_id = $4) AND ($5 = '' OR status = $5)
		ORDER BY id`, sc.All, sc.PlatformIDs, in.Name, in.PlatformID, in.Status)
	return rulePage(rows, err)
}

// rulePage reads rule rows (id, name, form, kind, family, platform_id,
// status, enabled, created_at) into a page.
func rulePage(rows pgx.Rows, err error) (*RulePage, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &RulePage{Items: []Rule{}}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.ID, &r.Name, &r.Form, &r.Kind, &r.Family, &r.PlatformID, &r.Status, &r.Enabled, &r.CreatedAt); err != nil {
			return nil, err
		}
		out.Items = append(out.Items, r)
	}
	out.Total = int64(len(out.Items))
	return out, rows.Err()
}

// Publish moves a rule from pending to published.
func (s *Rules) Publish(ctx context.Context, in *RuleIDIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.exec(ctx, in.RuleID, `UPDATE code_rules SET status = 'published', updated_at = $2 WHERE id = $1`)
}

// StatusIn enables or disables a rule.
type StatusIn struct {
	RuleID  string `path:"ruleId" json:"-"`
	Enabled *bool  `json:"enabled" validate:"required"`
}

// VersionStatusIn enables or disables one version.
type VersionStatusIn struct {
	StatusIn
	Version int `path:"version" json:"-"`
}

// SetRuleStatus enables or disables a rule.
func (s *Rules) SetRuleStatus(ctx context.Context, in *StatusIn) (*httpapi.Empty, error) {
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE code_rules SET enabled = $2, updated_at = $3 WHERE id = $1`, in.RuleID, *in.Enabled, s.cfg.Clock())
	s.invalidate()
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("code rule %s does not exist", in.RuleID)
	}
	return &httpapi.Empty{}, err
}

// SetVersionStatus enables or disables one version.
func (s *Rules) SetVersionStatus(ctx context.Context, in *VersionStatusIn) (*httpapi.Empty, error) {
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE code_rule_versions SET enabled = $3, updated_at = $4 WHERE rule_id = $1 AND version = $2`,
		in.RuleID, in.Version, *in.Enabled, s.cfg.Clock())
	s.invalidate()
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("code rule %s has no version %d", in.RuleID, in.Version)
	}
	return &httpapi.Empty{}, err
}

// VersionIn makes a new version.
type VersionIn struct {
	RuleID     string   `path:"ruleId" json:"-"`
	Function   Function `json:"function"`
	Extension  []Field  `json:"extensionFields" validate:"max=50,dive"`
	Collection []Field  `json:"collectionFields" validate:"max=50,dive"`
}

// NewVersion adds a version with new function, extension and collection
// settings; it is enabled, and issuing uses it from now on.
func (s *Rules) NewVersion(ctx context.Context, in *VersionIn) (*Rule, error) {
	r, err := s.GetRule(ctx, &RuleIDIn{RuleID: in.RuleID})
	if err != nil {
		return nil, err
	}
	chk := RuleIn{Form: r.Form, Family: r.Family, Function: in.Function}
	if err := chk.check(); err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var next int
		var spec []byte
		if err := tx.QueryRow(ctx, `SELECT max(version) + 1, (array_agg(spec_fields ORDER BY version DESC))[1] FROM code_rule_versions WHERE rule_id = $1`, in.RuleID).Scan(&next, &spec); err != nil {
			return err
		}
		return insertVersion(ctx, tx, in.RuleID, next, in.Function, spec, in.Extension, in.Collection, s.cfg.Clock())
	})
	if err != nil {
		return nil, err
	}
	return s.GetRule(ctx, &RuleIDIn{RuleID: in.RuleID})
}

// Push puts the rule into its sub-platform's pool (all versions).
func (s *Rules) Push(ctx context.Context, in *RuleIDIn) (*httpapi.Empty, error) {
	var platform string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM code_rules WHERE id = $1`, in.RuleID).Scan(&platform)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s does not exist", in.RuleID)
	}
	if err != nil {
		return nil, err
	}
	if platform == s.cfg.MainPlatformID {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "code rule %s belongs to the main platform: there is nothing to push", in.RuleID)
	}
	_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO code_rule_pool (platform_id, rule_id, pushed_at) VALUES ($1, $2, $3)
		ON CONFLICT (platform_id, rule_id) DO UPDATE SET pushed_at = EXCLUDED.pushed_at`, platform, in.RuleID, s.cfg.Clock())
	s.invalidate()
	return &httpapi.Empty{}, err
}

// DeleteRule deletes a rule no app is bound to.
func (s *Rules) DeleteRule(ctx context.Context, in *RuleIDIn) (*httpapi.Empty, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var apps []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(app_id ORDER BY app_id), '{}') FROM app_rule_bindings WHERE rule_id = $1`, in.RuleID).Scan(&apps); err != nil {
			return err
		}
		if len(apps) > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "code rule %s is bound to apps %s", in.RuleID, strings.Join(apps, ", "))
		}
		tag, err := tx.Exec(ctx, `DELETE FROM code_rules WHERE id = $1`, in.RuleID)
		if err == nil && tag.RowsAffected() == 0 {
			err = fault.NotFoundf("code rule %s does not exist", in.RuleID)
		}
		return err
	})
	return &httpapi.Empty{}, err
}

func (s *Rules) exec(ctx context.Context, id, q string) error {
	tag, err := s.cfg.Pool.Exec(ctx, q, id, s.cfg.Clock())
	s.invalidate()
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("code rule %s does not exist", id)
	}
	return err
}

// BindIn binds an app to rules.
type BindIn struct {
	AppID   string   `path:"appId" json:"-"`
	RuleIDs []string `json:"ruleIds" validate:"required,min=1,max=100"`
}

// Bind binds the app to rules of its platform's pool.
func (s *Rules) Bind(ctx context.Context, in *BindIn) (*httpapi.Empty, error) {
	platform, err := s.appPlatform(ctx, in.AppID, "rule.bind")
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		for _, id := range in.RuleIDs {
			var owner string
			var inPool bool
			err := tx.QueryRow(ctx, `SELECT platform_id, EXISTS (SELECT 1 FROM code_rule_pool WHERE rule_id = $1 AND platform_id = $2)
				FROM code_rules WHERE id = $1`, id, platform).Scan(&owner, &inPool)
			if store.NoRows(err) {
				return fault.NotFoundf("code rule %s does not exist", id)
			}
			if err != nil {
				return err
			}
			if owner != platform || (platform != s.cfg.MainPlatformID && !inPool) {
				return fault.Conflictf(fault.CodeFailedOperation, "code rule %s is not in the pool of platform %s", id, platform)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO app_rule_bindings (app_id, rule_id, platform_id, bound_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, in.AppID, id, platform, s.cfg.Clock()); err != nil {
				return err
			}
		}
		return nil
	})
	return &httpapi.Empty{}, err
}

// UnbindIn removes one binding.
type UnbindIn struct {
	AppID  string `path:"appId" json:"-"`
	RuleID string `path:"ruleId" json:"-"`
}

// Unbind removes a binding; the rule stays in the pool.
func (s *Rules) Unbind(ctx context.Context, in *UnbindIn) (*httpapi.Empty, error) {
	if _, err := s.appPlatform(ctx, in.AppID, "rule.bind"); err != nil {
		return nil, err
	}
	_, err := s.cfg.Pool.Exec(ctx, `DELETE FROM app_rule_bindings WHERE app_id = $1 AND rule_id = $2`, in.AppID, in.RuleID)
	s.invalidate()
	return &httpapi.Empty{}, err
}

// AppIDIn names an app.
type AppIDIn struct {
	AppID string `path:"appId" json:"-"`
}

// AppRules lists the rules bound to an app.
func (s *Rules) AppRules(ctx context.Context, in *AppIDIn) (*RulePage, error) {
	if _, err := s.appPlatform(ctx, in.AppID, "rule.read"); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT r.id, r.name, r.form, r.kind, r.family, r.platform_id, r.status, r.enabled, r.created_at
		FROM app_rule_bindings b JOIN code_rules r ON r.id = b.rule_id WHERE b.app_id = $1 ORDER BY r.id`, in.AppID)
	return rulePage(rows, err)
}

// appPlatform answers the app's platform after checking the caller may act
// on it.
func (s *Rules) appPlatform(ctx context.Context, appID, action string) (string, error) {
	platform, err := s.cfg.Apps.AppPlatform(ctx, appID)
	if err != nil {
		return "", err
	}
	if _, err := s.cfg.Authz.Require(ctx, action, &policy.Resource{PlatformID: platform, RegionCode: ""}); err != nil {
		return "", err
	}
	return platform, nil
}

func orEmpty(f []Field) []Field {
	if f == nil {
		return []Field{}
	}
	return f
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
