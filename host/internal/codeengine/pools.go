package codeengine

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Push puts a published sub-platform rule into that platform's pool with
// the current content of all its versions (推送). Pushing again refreshes
// the content; nothing else changes (main platform only).
func (s *Rules) Push(ctx context.Context, in *RuleIDIn) (*Rule, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.push", nil); err != nil {
		return nil, err
	}
	var r *Rule
	err := s.change(ctx, func(tx pgx.Tx) error {
		l, err := lockRule(ctx, tx, in.RuleID)
		if err != nil {
			return err
		}
		switch {
		case l.platform == s.cfg.MainPlatformID:
			return fault.Conflictf(fault.CodeFailedOperation, "code rule %s applies to the main platform, whose pool holds it already: there is nothing to push", in.RuleID)
		case !l.published:
			return fault.Conflictf(fault.CodeFailedOperation, "code rule %s is pending: publish it before pushing it", in.RuleID)
		}
		exists, err := s.cfg.Tenancy.PlatformExists(ctx, l.platform)
		if err != nil {
			return err
		}
		if !exists {
			return fault.Conflictf(fault.CodeFailedOperation, "platform %s of code rule %s no longer exists", l.platform, in.RuleID)
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO code_rule_pool (platform_id, rule_id, pushed_at) VALUES ($1, $2, $3)
			ON CONFLICT (platform_id, rule_id) DO UPDATE SET pushed_at = EXCLUDED.pushed_at`, l.platform, in.RuleID, now); err != nil {
			return fmt.Errorf("codeengine: push: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE code_rule_versions SET pushed = `+pushedJSON+` WHERE rule_id = $1`, in.RuleID); err != nil {
			return fmt.Errorf("codeengine: push versions: %w", err)
		}
		r, err = s.rule(ctx, tx, in.RuleID)
		return err
	})
	return r, err
}

// PoolRemoval answers RemoveFromPool.
type PoolRemoval struct {
	RuleID      string   `json:"ruleId"`
	PlatformID  string   `json:"platformId"`
	UnboundApps []string `json:"unboundApps" doc:"apps of the platform that were bound to the rule: their bindings went with it"`
}

// RemoveFromPool takes a disabled rule out of its sub-platform's pool
// (移除): the pool no longer shows it, the platform's apps can no longer
// bind it, and their bindings to it are removed. An enabled rule is refused
// (FailedOperation). A later push puts it back (main platform only).
func (s *Rules) RemoveFromPool(ctx context.Context, in *RuleIDIn) (*PoolRemoval, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.remove", nil); err != nil {
		return nil, err
	}
	out := &PoolRemoval{RuleID: in.RuleID, UnboundApps: []string{}}
	err := s.change(ctx, func(tx pgx.Tx) error {
		l, err := lockRule(ctx, tx, in.RuleID)
		if err != nil {
			return err
		}
		out.PlatformID = l.platform
		switch {
		case l.platform == s.cfg.MainPlatformID:
			return fault.Conflictf(fault.CodeFailedOperation, "code rule %s applies to the main platform: it is in no sub-platform's pool", in.RuleID)
		case l.enabled:
			return fault.Conflictf(fault.CodeFailedOperation, "code rule %s is enabled: only a disabled rule can be removed from a pool", in.RuleID)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM code_rule_pool WHERE platform_id = $1 AND rule_id = $2`, l.platform, in.RuleID)
		if err != nil {
			return fmt.Errorf("codeengine: remove from pool: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.Conflictf(fault.CodeFailedOperation, "code rule %s is not in the pool of platform %s", in.RuleID, l.platform)
		}
		if _, err := tx.Exec(ctx, `UPDATE code_rule_versions SET pushed = NULL WHERE rule_id = $1`, in.RuleID); err != nil {
			return fmt.Errorf("codeengine: remove from pool: %w", err)
		}
		rows, err := tx.Query(ctx, `DELETE FROM app_rule_bindings WHERE rule_id = $1 RETURNING app_id`, in.RuleID)
		if err != nil {
			return fmt.Errorf("codeengine: remove bindings: %w", err)
		}
		out.UnboundApps, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("codeengine: remove bindings: %w", err)
		}
		slices.Sort(out.UnboundApps)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
