package codeengine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// BindIn binds an app to rules.
type BindIn struct {
	AppID   string   `path:"appId" json:"-"`
	RuleIDs []string `json:"ruleIds" validate:"required,min=1,max=100,dive,required,max=32" doc:"codeDefIds of rules in the pool of the app's platform"`
}

// UnbindIn removes one binding.
type UnbindIn struct {
	AppID  string `path:"appId" json:"-"`
	RuleID string `path:"ruleId" json:"-"`
}

// AppRulesIn pages the rules an app is bound to.
type AppRulesIn struct {
	AppID string `path:"appId" json:"-"`
	PageIn
}

// Bindings are the rules an app is bound to.
type Bindings struct {
	AppID   string   `json:"appId"`
	RuleIDs []string `json:"ruleIds"`
}

// app answers the resource of an app the caller may perform action on.
func (s *Rules) app(ctx context.Context, appID, action string) (*policy.Resource, error) {
	res, err := s.cfg.Tenancy.AppResource(ctx, appID)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Authz.Require(ctx, action, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Bind binds the app to rules of its platform's pool (关联码规则), all or
// none: a rule of another platform, or a sub-platform's rule not pushed to
// it, is refused (FailedOperation). Rules already bound stay bound.
// Operators bind the apps of their own platform.
func (s *Rules) Bind(ctx context.Context, in *BindIn) (*Bindings, error) {
	res, err := s.app(ctx, in.AppID, "rule.bind")
	if err != nil {
		return nil, err
	}
	if len(in.RuleIDs) == 0 {
		return nil, fault.Missing("ruleIds")
	}
	var out *Bindings
	err = s.change(ctx, func(tx pgx.Tx) error {
		now := s.now()
		for _, id := range in.RuleIDs {
			id = strings.TrimSpace(id)
			// FOR SHARE: a rule cannot be deleted or removed from the pool
			// while it is being bound.
			var platform string
			var pooled bool
			err := tx.QueryRow(ctx, `SELECT r.platform_id, `+inPool+` FROM code_rules r
				LEFT JOIN code_rule_pool p ON p.rule_id = r.id AND p.platform_id = r.platform_id
				WHERE r.id = $2 FOR SHARE OF r`, s.cfg.MainPlatformID, id).Scan(&platform, &pooled)
			if store.NoRows(err) {
				return fault.NotFoundf("code rule %s does not exist", id)
			}
			if err != nil {
				return fmt.Errorf("codeengine: bind: %w", err)
			}
			if platform != res.PlatformID || !pooled {
				return fault.Conflictf(fault.CodeFailedOperation, "code rule %s is not in the pool of platform %s", id, res.PlatformID)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO app_rule_bindings (app_id, rule_id, platform_id, bound_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (app_id, rule_id) DO NOTHING`, in.AppID, id, res.PlatformID, now); err != nil {
				return fmt.Errorf("codeengine: bind: %w", err)
			}
		}
		b, err := bindings(ctx, tx, in.AppID)
		out = b
		return err
	})
	return out, err
}

// Unbind removes a binding (移除): the rule stays in the pool.
func (s *Rules) Unbind(ctx context.Context, in *UnbindIn) (*Bindings, error) {
	if _, err := s.app(ctx, in.AppID, "rule.bind"); err != nil {
		return nil, err
	}
	var out *Bindings
	err := s.change(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM app_rule_bindings WHERE app_id = $1 AND rule_id = $2`, in.AppID, in.RuleID)
		if err != nil {
			return fmt.Errorf("codeengine: unbind: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("app %s is not bound to rule %s", in.AppID, in.RuleID)
		}
		b, err := bindings(ctx, tx, in.AppID)
		out = b
		return err
	})
	return out, err
}

func bindings(ctx context.Context, tx pgx.Tx, appID string) (*Bindings, error) {
	rows, err := tx.Query(ctx, `SELECT rule_id FROM app_rule_bindings WHERE app_id = $1`, appID)
	if err != nil {
		return nil, fmt.Errorf("codeengine: bindings: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("codeengine: bindings: %w", err)
	}
	slices.Sort(ids)
	return &Bindings{AppID: appID, RuleIDs: ids}, nil
}

// AppRules answers the rules an app is bound to (应用关联的码规则), by id.
func (s *Rules) AppRules(ctx context.Context, in *AppRulesIn) (*Page[Rule], error) {
	if _, err := s.app(ctx, in.AppID, "rule.read"); err != nil {
		return nil, err
	}
	var f filter
	f.arg(s.cfg.MainPlatformID)
	f.add("r.id IN (SELECT rule_id FROM app_rule_bindings WHERE app_id = " + f.arg(in.AppID) + ")")
	return list(ctx, s.cfg.Pool, ruleFrom, ruleCols, "r.id", &f, in.PageIn, scanRule)
}
