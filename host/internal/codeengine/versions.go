package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// VersionIn is a version's settings: function, extension and data
// collection (the part of a rule that is versioned).
type VersionIn struct {
	RuleID     string   `path:"ruleId" json:"-"`
	Function   Function `json:"function"`
	Extension  []Field  `json:"extensionFields" validate:"max=50,dive" doc:"fields of the code's extension field; their lengths add up to at most 200"`
	Collection []Field  `json:"collectionFields" validate:"max=50,dive" doc:"inputs every generate, show and verify call must carry"`
}

// UpdateVersionIn replaces one version's settings.
type UpdateVersionIn struct {
	VersionIn
	Version int `path:"version" json:"-" validate:"min=1,max=1000000"`
}

// VersionIDIn names one version of a rule.
type VersionIDIn struct {
	RuleID  string `path:"ruleId" json:"-"`
	Version int    `path:"version" json:"-" validate:"min=1,max=1000000"`
}

// ListVersionsIn pages the versions of a rule.
type ListVersionsIn struct {
	RuleID string `path:"ruleId" json:"-"`
	PageIn
}

// Version is one version of a rule (码规则版本).
type Version struct {
	RuleID     string    `json:"ruleId"`
	Version    int       `json:"version"`
	Function   Function  `json:"function"`
	Extension  []Field   `json:"extensionFields"`
	Collection []Field   `json:"collectionFields"`
	Enabled    bool      `json:"enabled"`
	Pushed     bool      `json:"pushed" doc:"a sub-platform's rule: the platform holds this version (as last pushed)"`
	Changed    bool      `json:"changed" doc:"a sub-platform's rule: new or edited since the last push; the platform's apps see it after the next push"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// check validates the settings for a rule of form and answers them as
// stored.
func (in *VersionIn) check(form string) (fn, ext, coll []byte, err error) {
	if err := in.Function.check(form); err != nil {
		return nil, nil, nil, err
	}
	if in.Extension, err = checkExtension(in.Extension); err != nil {
		return nil, nil, nil, err
	}
	if in.Collection, err = checkFields("collectionFields", in.Collection, false); err != nil {
		return nil, nil, nil, err
	}
	fn, _ = json.Marshal(in.Function)
	ext, _ = json.Marshal(in.Extension)
	coll, _ = json.Marshal(in.Collection)
	return fn, ext, coll, nil
}

// versionFrom joins a version with its rule; $1 is the main platform's id,
// as in ruleFrom.
const versionFrom = `code_rule_versions v JOIN code_rules r ON r.id = v.rule_id CROSS JOIN (SELECT $1::text AS id) main`

const versionCols = `v.rule_id, v.version, v.function, v.ext_fields, v.collection, v.enabled, v.pushed IS NOT NULL,
	(r.platform_id <> main.id AND v.pushed IS DISTINCT FROM ` + pushedJSON + `), v.created_at, v.updated_at`

func scanVersion(row pgx.Row) (Version, error) {
	var v Version
	var fn, ext, coll []byte
	if err := row.Scan(&v.RuleID, &v.Version, &fn, &ext, &coll, &v.Enabled, &v.Pushed, &v.Changed, &v.CreatedAt, &v.UpdatedAt); err != nil {
		return v, err
	}
	return v, unmarshalAll(fn, &v.Function, ext, &v.Extension, coll, &v.Collection)
}

func (s *Rules) versions(ctx context.Context, q queryer, ruleID string, p PageIn) (*Page[Version], error) {
	var f filter
	f.arg(s.cfg.MainPlatformID)
	f.eq("v.rule_id", ruleID)
	return list(ctx, q, versionFrom, versionCols, "v.version", &f, p, scanVersion)
}

func (s *Rules) version(ctx context.Context, q queryer, ruleID string, n int) (*Version, error) {
	v, err := scanVersion(q.QueryRow(ctx, "SELECT "+versionCols+" FROM "+versionFrom+" WHERE v.rule_id = $2 AND v.version = $3",
		s.cfg.MainPlatformID, ruleID, n))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s has no version %d", ruleID, n)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: version: %w", err)
	}
	return &v, nil
}

// ListVersions answers a rule's versions in order (版本列表).
func (s *Rules) ListVersions(ctx context.Context, in *ListVersionsIn) (*Page[Version], error) {
	if _, err := s.readable(ctx, in.RuleID); err != nil {
		return nil, err
	}
	return s.versions(ctx, s.cfg.Pool, in.RuleID, in.PageIn)
}

// GetVersion answers one version (版本详情).
func (s *Rules) GetVersion(ctx context.Context, in *VersionIDIn) (*Version, error) {
	if _, err := s.readable(ctx, in.RuleID); err != nil {
		return nil, err
	}
	return s.version(ctx, s.cfg.Pool, in.RuleID, in.Version)
}

// NewVersion adds the next version with new settings, enabled: issuing
// uses it from now on on the main platform, and on a sub-platform after
// the next push (编辑码规则 / 新增版本; main platform only).
func (s *Rules) NewVersion(ctx context.Context, in *VersionIn) (*Version, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.update", nil); err != nil {
		return nil, err
	}
	var v *Version
	err := s.change(ctx, func(tx pgx.Tx) error {
		l, err := lockRule(ctx, tx, in.RuleID)
		if err != nil {
			return err
		}
		fn, ext, coll, err := in.check(l.form)
		if err != nil {
			return err
		}
		var n int
		err = tx.QueryRow(ctx, `INSERT INTO code_rule_versions (rule_id, version, function, ext_fields, collection, enabled, created_at, updated_at)
			SELECT $1, max(version) + 1, $2, $3, $4, true, $5, $5 FROM code_rule_versions WHERE rule_id = $1 RETURNING version`,
			in.RuleID, fn, ext, coll, s.now()).Scan(&n)
		if err != nil {
			return fmt.Errorf("codeengine: new version: %w", err)
		}
		v, err = s.version(ctx, tx, in.RuleID, n)
		return err
	})
	return v, err
}

// UpdateVersion replaces a version's settings in place (编辑版本; main
// platform only). Codes already issued under it keep verifying; a
// sub-platform's apps see the change after the next push.
func (s *Rules) UpdateVersion(ctx context.Context, in *UpdateVersionIn) (*Version, error) {
	if _, err := s.cfg.Authz.Require(ctx, "rule.update", nil); err != nil {
		return nil, err
	}
	var v *Version
	err := s.change(ctx, func(tx pgx.Tx) error {
		l, err := lockRule(ctx, tx, in.RuleID)
		if err != nil {
			return err
		}
		fn, ext, coll, err := in.check(l.form)
		if err != nil {
			return err
		}
		v, err = s.setVersion(ctx, tx, in.RuleID, in.Version, "function = $3, ext_fields = $4, collection = $5", fn, ext, coll)
		return err
	})
	return v, err
}

// EnableVersion enables a version; several may be enabled at once, and
// issuing uses the highest (main platform only).
func (s *Rules) EnableVersion(ctx context.Context, in *VersionIDIn) (*Version, error) {
	return s.enableVersion(ctx, "rule.enable", in, true)
}

// DisableVersion disables a version: its codes are no longer issued and no
// longer verify (main platform only).
func (s *Rules) DisableVersion(ctx context.Context, in *VersionIDIn) (*Version, error) {
	return s.enableVersion(ctx, "rule.disable", in, false)
}

func (s *Rules) enableVersion(ctx context.Context, action string, in *VersionIDIn, enabled bool) (*Version, error) {
	if _, err := s.cfg.Authz.Require(ctx, action, nil); err != nil {
		return nil, err
	}
	var v *Version
	err := s.change(ctx, func(tx pgx.Tx) error {
		var err error
		v, err = s.setVersion(ctx, tx, in.RuleID, in.Version, "enabled = $3", enabled)
		return err
	})
	return v, err
}

// setVersion sets columns (set uses $3...) of one version and answers it.
func (s *Rules) setVersion(ctx context.Context, tx pgx.Tx, ruleID string, n int, set string, args ...any) (*Version, error) {
	args = append([]any{ruleID, n}, args...)
	args = append(args, s.now())
	tag, err := tx.Exec(ctx, fmt.Sprintf("UPDATE code_rule_versions SET %s, updated_at = $%d WHERE rule_id = $1 AND version = $2", set, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("codeengine: update version: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.NotFoundf("code rule %s has no version %d", ruleID, n)
	}
	return s.version(ctx, tx, ruleID, n)
}
