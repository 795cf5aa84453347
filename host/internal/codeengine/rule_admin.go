package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
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

// Rule states (pending → published).
const (
	statusPending   = "pending"
	statusPublished = "published"
)

// RuleIn creates a rule: base information, function settings, spec fields,
// extension and data-collection fields, and the QR style.
type RuleIn struct {
	Name         string   `json:"name" validate:"required,max=64"`
	Form         string   `json:"form" validate:"required,oneof=dynamic static" doc:"dynamic | static (person and virtual codes are dynamic, object codes static)"`
	Kind         string   `json:"kind" validate:"omitempty,oneof=person enterprise object virtual" doc:"default: the family's"`
	Family       string   `json:"family" validate:"required,oneof=identity health payment enterprise object virtual" doc:"identity, health, payment (person codes), enterprise, object, virtual"`
	PlatformID   string   `json:"platformId" validate:"max=32" doc:"applicable platform: the main platform (default) or one sub-platform, whose pool gets the rule when it is pushed"`
	IndustryCode string   `json:"industryCode" validate:"max=32"`
	SpecID       string   `json:"specId" validate:"max=32" doc:"the spec (码规范) the rule follows; must be enabled"`
	SpecFields   []Field  `json:"specFields" validate:"max=100,dive" doc:"the spec's fields as this rule uses them (default: copied from the spec)"`
	Function     Function `json:"function"`
	Extension    []Field  `json:"extensionFields" validate:"max=50,dive" doc:"fields of the code's extension field; their lengths add up to at most 200"`
	Collection   []Field  `json:"collectionFields" validate:"max=50,dive" doc:"inputs every generate, show and verify call must carry (数据采集配置)"`
	QRStyle      QRStyle  `json:"qrStyle"`
}

// UpdateRuleIn replaces a rule's name, industry and QR style; none of them
// is versioned. Function, extension and collection settings change by
// versions.
type UpdateRuleIn struct {
	RuleID       string  `path:"ruleId" json:"-"`
	Name         string  `json:"name" validate:"required,max=64"`
	IndustryCode string  `json:"industryCode" validate:"max=32"`
	QRStyle      QRStyle `json:"qrStyle"`
}

// RuleIDIn names a rule.
type RuleIDIn struct {
	RuleID string `path:"ruleId" json:"-"`
}

// Rule is a code rule (码规则). codeDefId is its id.
type Rule struct {
	ID             string     `json:"id" doc:"codeDefId"`
	Name           string     `json:"name"`
	Form           string     `json:"form"`
	Kind           string     `json:"kind"`
	Family         string     `json:"family"`
	PlatformID     string     `json:"platformId" doc:"applicable platform"`
	IndustryCode   string     `json:"industryCode"`
	SpecID         string     `json:"specId" doc:"empty when none or when the spec was deleted"`
	SpecName       string     `json:"specName"`
	SpecFields     []Field    `json:"specFields"`
	QRStyle        QRStyle    `json:"qrStyle"`
	Status         string     `json:"status" doc:"pending | published"`
	Enabled        bool       `json:"enabled"`
	CurrentVersion int        `json:"currentVersion" doc:"the version codes are issued by: the highest enabled one in force on the platform; 0 = none"`
	LatestVersion  int        `json:"latestVersion"`
	InPool         bool       `json:"inPool" doc:"in its platform's pool: always for the main platform's rules; after a push (and until removed) for a sub-platform's"`
	PushedAt       *time.Time `json:"pushedAt,omitempty"`
	PushedVersion  int        `json:"pushedVersion" doc:"the highest version pushed to the sub-platform"`
	Dirty          bool       `json:"dirty" doc:"a sub-platform's rule changed since its last push (or never pushed): push it for the platform's apps to see the change"`
	Versions       []Version  `json:"versions,omitempty" doc:"in the rule's detail"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// ListRulesIn filters the rule list.
type ListRulesIn struct {
	Name         string `query:"name" doc:"part of the name"`
	PlatformID   string `query:"platformId" doc:"applicable platform"`
	Pool         string `query:"pool" doc:"only rules in this platform's pool: the ones its apps may bind"`
	Status       string `query:"status" validate:"omitempty,oneof=pending published"`
	Enabled      *bool  `query:"enabled"`
	IndustryCode string `query:"industryCode"`
	Kind         string `query:"kind" validate:"omitempty,oneof=person enterprise object virtual"`
	Family       string `query:"family" validate:"omitempty,oneof=identity health payment enterprise object virtual"`
	TimeRange
	PageIn
}

// ruleFrom joins a rule with its pool entry and a summary of its versions;
// $1 is the main platform's id.
const ruleFrom = `code_rules r
	LEFT JOIN code_rule_pool p ON p.rule_id = r.id AND p.platform_id = r.platform_id
	CROSS JOIN LATERAL (SELECT max(v.version) AS latest,
		coalesce(max(v.version) FILTER (WHERE v.enabled AND (r.platform_id = $1 OR v.pushed IS NOT NULL)), 0) AS current,
		coalesce(max(v.version) FILTER (WHERE v.pushed IS NOT NULL), 0) AS pushed_version,
		coalesce(bool_or(v.pushed IS DISTINCT FROM ` + pushedJSON + `), false) AS changed
		FROM code_rule_versions v WHERE v.rule_id = r.id) vs`

const ruleCols = `r.id, r.name, r.form, r.kind, r.family, r.platform_id, r.industry_code, coalesce(r.spec_id, ''), r.spec_name,
	r.spec_fields, r.qr_style, r.status, r.enabled, r.created_at, r.updated_at, p.pushed_at, vs.latest, vs.current, vs.pushed_version,
	(r.platform_id = $1 OR p.pushed_at IS NOT NULL), (r.platform_id <> $1 AND (p.pushed_at IS NULL OR vs.changed))`

// inPool is the SQL condition of a rule being in its platform's pool.
const inPool = `(r.platform_id = $1 OR p.pushed_at IS NOT NULL)`

func scanRule(row pgx.Row) (Rule, error) {
	var r Rule
	var spec, style []byte
	err := row.Scan(&r.ID, &r.Name, &r.Form, &r.Kind, &r.Family, &r.PlatformID, &r.IndustryCode, &r.SpecID, &r.SpecName,
		&spec, &style, &r.Status, &r.Enabled, &r.CreatedAt, &r.UpdatedAt, &r.PushedAt, &r.LatestVersion, &r.CurrentVersion, &r.PushedVersion,
		&r.InPool, &r.Dirty)
	if err != nil {
		return r, err
	}
	return r, unmarshalAll(spec, &r.SpecFields, style, &r.QRStyle)
}

func (s *Rules) rule(ctx context.Context, q queryer, id string) (*Rule, error) {
	r, err := scanRule(q.QueryRow(ctx, "SELECT "+ruleCols+" FROM "+ruleFrom+" WHERE r.id = $2", s.cfg.MainPlatformID, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: rule: %w", err)
	}
	return &r, nil
}

// seesAll reports whether a caller with scope sc sees every rule: the main
// platform's operators do, others see their platforms' pools.
func seesAll(ctx context.Context, sc policy.Scope) bool {
	a := actor.From(ctx)
	return sc.All || len(sc.PlatformIDs) == 0 && a != nil && a.MainPlatform
}

// readable loads a rule for a caller with action (rule.read): another
// platform's rule, or one not in the caller's pool, is 403.
func (s *Rules) readable(ctx context.Context, id string) (*Rule, error) {
	sc, err := s.cfg.Authz.Require(ctx, "rule.read", nil)
	if err != nil {
		return nil, err
	}
	r, err := s.rule(ctx, s.cfg.Pool, id)
	if err != nil {
		return nil, err
	}
	if !seesAll(ctx, sc) && !(r.InPool && slices.Contains(sc.PlatformIDs, r.PlatformID)) {
		return nil, fault.Deniedf("code rule %s is not in your platform's pool", id)
	}
	return r, nil
}

// ListRules answers the rules in the caller's scope — every rule for the
// main platform, the pool for a sub-platform's operators — by fuzzy name,
// applicable platform, pool, status, enabled, industry, kind, family and
// creation time, newest first.
func (s *Rules) ListRules(ctx context.Context, in *ListRulesIn) (*Page[Rule], error) {
	sc, err := s.cfg.Authz.Require(ctx, "rule.read", nil)
	if err != nil {
		return nil, err
	}
	var f filter
	f.arg(s.cfg.MainPlatformID)
	if !seesAll(ctx, sc) {
		f.add("r.platform_id = ANY(" + f.arg(sc.PlatformIDs) + ") AND " + inPool)
	}
	if in.Pool != "" {
		f.add("r.platform_id = " + f.arg(in.Pool) + " AND " + inPool)
	}
	f.contains("r.name", in.Name)
	f.eq("r.platform_id", in.PlatformID)
	f.eq("r.status", in.Status)
	if in.Enabled != nil {
		f.add("r.enabled = " + f.arg(*in.Enabled))
	}
	f.eq("r.industry_code", in.IndustryCode)
	f.eq("r.kind", in.Kind)
	f.eq("r.family", in.Family)
	if err := f.timeRange("r.created_at", in.TimeRange); err != nil {
		return nil, err
	}
	return list(ctx, s.cfg.Pool, ruleFrom, ruleCols, "r.created_at DESC, r.id DESC", &f, in.PageIn, scanRule)
}

// GetRule answers a rule with its versions (码规则详情).
func (s *Rules) GetRule(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	r, err := s.readable(ctx, in.RuleID)
	if err != nil {
		return nil, err
	}
	vs, err := s.versions(ctx, s.cfg.Pool, r.ID, PageIn{PageSize: 500})
	if err != nil {
		return nil, err
	}
	r.Versions = vs.Items
	return r, nil
}

// kindOf checks that kind (default: the family's) and form suit the family:
// identity, health and payment codes are for persons; person and virtual
// codes are dynamic, object codes static, enterprise codes either.
func kindOf(form, kind, family string) (string, error) {
	var want string
	switch family {
	case "identity", "health", "payment":
		want = "person"
	case "enterprise", "object", "virtual":
		want = family
	default:
		return "", fault.Invalidf("parameter %q must be identity, health, payment, enterprise, object or virtual", "family")
	}
	if kind == "" {
		kind = want
	}
	if kind != want {
		return "", fault.Invalidf("parameter %q: %s codes are %s codes, not %s codes", "kind", family, want, kind)
	}
	ok := form == FormDynamic && kind != "object" || form == FormStatic && (kind == "object" || kind == "enterprise")
	if !ok {
		return "", fault.Invalidf("parameter %q: %s codes cannot be %s", "form", kind, form)
	}
	return kind, nil
}

// CreateRule creates a pending, enabled rule with version 1 (main platform
// only). A disabled spec is refused (FailedOperation).
func (s *Rules) CreateRule(ctx context.Context, in *RuleIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.create", nil); err != nil {
		return nil, err
	}
	in.Name, in.PlatformID, in.SpecID = strings.TrimSpace(in.Name), strings.TrimSpace(in.PlatformID), strings.TrimSpace(in.SpecID)
	in.IndustryCode = strings.TrimSpace(in.IndustryCode)
	if err := checkText("name", in.Name, true, 64); err != nil {
		return nil, err
	}
	kind, err := kindOf(in.Form, in.Kind, in.Family)
	if err != nil {
		return nil, err
	}
	settings := VersionIn{Function: in.Function, Extension: in.Extension, Collection: in.Collection}
	fn, ext, coll, err := settings.check(in.Form)
	if err != nil {
		return nil, err
	}
	if err := in.QRStyle.normalize(); err != nil {
		return nil, err
	}
	if in.PlatformID == "" {
		in.PlatformID = s.cfg.MainPlatformID
	}
	if ok, err := s.cfg.Tenancy.PlatformExists(ctx, in.PlatformID); err != nil || !ok {
		if err == nil {
			err = fault.Invalidf("parameter %q: platform %s does not exist", "platformId", in.PlatformID)
		}
		return nil, err
	}
	if err := s.cfg.Tenancy.UsableIndustry(ctx, in.IndustryCode); err != nil {
		return nil, err
	}
	if in.SpecID == "" && len(in.SpecFields) > 0 {
		return nil, fault.Invalidf("parameter %q needs a specId", "specFields")
	}
	var r *Rule
	err = s.change(ctx, func(tx pgx.Tx) error {
		var spec any // NULL without a spec
		specName, specFields := "", []Field{}
		if in.SpecID != "" {
			sp, err := s.spec(ctx, tx, in.SpecID)
			if fault.KindOf(err) == fault.NotFound {
				return fault.Invalidf("parameter %q: code spec %s does not exist", "specId", in.SpecID)
			}
			if err != nil {
				return err
			}
			if sp.Status != StatusEnabled {
				return fault.Conflictf(fault.CodeFailedOperation, "code spec %s is disabled and cannot be chosen for new rules", in.SpecID)
			}
			spec, specName, specFields = sp.ID, sp.Name, sp.Fields
			if in.SpecFields != nil {
				if specFields, err = checkFields("specFields", in.SpecFields, true); err != nil {
					return err
				}
			}
		}
		sf, _ := json.Marshal(specFields)
		style, _ := json.Marshal(in.QRStyle)
		now := s.now()
		var id string
		err := tx.QueryRow(ctx, `INSERT INTO code_rules (id, name, form, kind, family, platform_id, industry_code, spec_id, spec_name, spec_fields,
				qr_style, status, enabled, created_at, updated_at)
			VALUES (`+nextID("R", "code_rule_seq")+`, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', true, $11, $11) RETURNING id`,
			in.Name, in.Form, kind, in.Family, in.PlatformID, in.IndustryCode, spec, specName, sf, style, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("codeengine: create rule: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO code_rule_versions (rule_id, version, function, ext_fields, collection, enabled, created_at, updated_at)
			VALUES ($1, 1, $2, $3, $4, true, $5, $5)`, id, fn, ext, coll, now); err != nil {
			return fmt.Errorf("codeengine: create rule version: %w", err)
		}
		r, err = s.rule(ctx, tx, id)
		return err
	})
	return r, err
}

// UpdateRule replaces a rule's name, industry and QR style (main platform
// only). They are not versioned and apply at once everywhere.
func (s *Rules) UpdateRule(ctx context.Context, in *UpdateRuleIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.update", nil); err != nil {
		return nil, err
	}
	in.Name, in.IndustryCode = strings.TrimSpace(in.Name), strings.TrimSpace(in.IndustryCode)
	if err := checkText("name", in.Name, true, 64); err != nil {
		return nil, err
	}
	if err := in.QRStyle.normalize(); err != nil {
		return nil, err
	}
	if err := s.cfg.Tenancy.UsableIndustry(ctx, in.IndustryCode); err != nil {
		return nil, err
	}
	style, _ := json.Marshal(in.QRStyle)
	return s.updateRule(ctx, in.RuleID, "name = $2, industry_code = $3, qr_style = $4", in.Name, in.IndustryCode, style)
}

// Publish moves a pending rule to published; publishing a published rule
// changes nothing (main platform only).
func (s *Rules) Publish(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.publish", nil); err != nil {
		return nil, err
	}
	return s.updateRule(ctx, in.RuleID, "status = $2", statusPublished)
}

// EnableRule enables a rule (main platform only).
func (s *Rules) EnableRule(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.enable", nil); err != nil {
		return nil, err
	}
	return s.updateRule(ctx, in.RuleID, "enabled = $2", true)
}

// DisableRule disables a rule: it issues no codes and its codes stop
// verifying, on every platform at once (main platform only).
func (s *Rules) DisableRule(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.disable", nil); err != nil {
		return nil, err
	}
	return s.updateRule(ctx, in.RuleID, "enabled = $2", false)
}

// updateRule sets columns (set uses $2...) of rule id and answers it.
func (s *Rules) updateRule(ctx context.Context, id, set string, args ...any) (*Rule, error) {
	var r *Rule
	err := s.change(ctx, func(tx pgx.Tx) error {
		args = append([]any{id}, args...)
		args = append(args, s.now())
		tag, err := tx.Exec(ctx, fmt.Sprintf("UPDATE code_rules SET %s, updated_at = $%d WHERE id = $1", set, len(args)), args...)
		if err != nil {
			return fmt.Errorf("codeengine: update rule: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("code rule %s does not exist", id)
		}
		r, err = s.rule(ctx, tx, id)
		return err
	})
	return r, err
}

// lockedRule is what changes need to know of a rule they locked.
type lockedRule struct {
	platform, form     string
	published, enabled bool
}

// lockRule locks rule id for a change.
func lockRule(ctx context.Context, tx pgx.Tx, id string) (*lockedRule, error) {
	var l lockedRule
	var status string
	err := tx.QueryRow(ctx, `SELECT platform_id, form, status, enabled FROM code_rules WHERE id = $1 FOR UPDATE`, id).
		Scan(&l.platform, &l.form, &status, &l.enabled)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: lock rule: %w", err)
	}
	l.published = status == statusPublished
	return &l, nil
}

// DeleteRule deletes a rule with its versions (main platform only); it is
// refused while any app is bound to it (ResourceInUse naming the apps).
func (s *Rules) DeleteRule(ctx context.Context, in *RuleIDIn) (*httpapi.Empty, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.delete", nil); err != nil {
		return nil, err
	}
	err := s.change(ctx, func(tx pgx.Tx) error {
		if _, err := lockRule(ctx, tx, in.RuleID); err != nil {
			return err
		}
		var apps []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(app_id ORDER BY app_id), '{}') FROM app_rule_bindings WHERE rule_id = $1`, in.RuleID).Scan(&apps); err != nil {
			return fmt.Errorf("codeengine: rule bindings: %w", err)
		}
		if len(apps) > 0 {
			return fault.Conflictf(fault.CodeResourceInUse, "code rule %s is bound to apps %s: unbind them first", in.RuleID, strings.Join(apps, ", "))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM code_rules WHERE id = $1`, in.RuleID); err != nil {
			return fmt.Errorf("codeengine: delete rule: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, nil
}
