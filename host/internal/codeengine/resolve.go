package codeengine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Resolved is a code rule at one version, as issuing, showing and verifying
// codes need it. For a sub-platform's rule the version's content is the
// one last pushed to that platform. Values are shared through the cache:
// callers must not modify them.
type Resolved struct {
	RuleID       string // codeDefId
	Name         string
	Form         string // dynamic | static
	Kind         string // person | enterprise | object | virtual
	Family       string // identity | health | payment | enterprise | object | virtual
	PlatformID   string // the rule's applicable platform
	IndustryCode string
	Version      int
	Function     Function
	SpecFields   []Field
	Extension    []Field
	Collection   []Field // what generate, show and verify calls must carry
	QRStyle      QRStyle

	Published      bool // false while the rule is pending
	RuleEnabled    bool
	VersionEnabled bool
	// Available is false for a version of a sub-platform's rule that was
	// never pushed to that platform; always true on the main platform.
	Available bool
}

// Active reports whether codes of this version may be issued and verified.
func (r *Resolved) Active() bool {
	return r.Available && r.Published && r.RuleEnabled && r.VersionEnabled
}

// Inactive answers why codes of this version may not be issued or
// verified, or nil when they may: a FailedOperation.CodeNotActive
// *fault.Error wrapping ErrNotPushed, ErrNotPublished, ErrRuleDisabled or
// ErrVersionDisabled (the first that applies).
func (r *Resolved) Inactive() error {
	switch {
	case !r.Available:
		return notActive(ErrNotPushed, "version %d of code rule %s was never pushed to platform %s", r.Version, r.RuleID, r.PlatformID)
	case !r.Published:
		return notActive(ErrNotPublished, "code rule %s is not published", r.RuleID)
	case !r.RuleEnabled:
		return notActive(ErrRuleDisabled, "code rule %s is disabled", r.RuleID)
	case !r.VersionEnabled:
		return notActive(ErrVersionDisabled, "version %d of code rule %s is disabled", r.Version, r.RuleID)
	}
	return nil
}

func notActive(cause error, format string, args ...any) error {
	return fault.Wrap(cause, fault.Conflict, fault.CodeCodeNotActive, fmt.Sprintf(format, args...))
}

// CheckCollection checks that params carry the version's data-collection
// fields: the first required field that is absent, null or "" answers
// MissingParameter naming it; a value of the wrong type (or an enum value
// not listed, a string longer than the field's length) answers
// InvalidParameter naming it. Fields params carries beyond them are
// ignored.
func (r *Resolved) CheckCollection(params map[string]any) error {
	for i := range r.Collection {
		f := &r.Collection[i]
		v, ok := params[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required {
				return fault.Missing(f.Name)
			}
			continue
		}
		if err := f.checkValue(v); err != nil {
			return err
		}
	}
	return nil
}

// Resolve answers the rule codeDefID at its current version — the highest
// enabled one in force on the rule's platform — for appID, which must be
// bound to it. Errors are *fault.Error: ResourceNotFound for an unknown
// rule; UnauthorizedOperation (ErrNotBound) for an app not bound to it;
// FailedOperation.CodeNotActive for a rule not published (ErrNotPublished),
// disabled (ErrRuleDisabled) or without an enabled version
// (ErrNoEnabledVersion). Answers may be CacheTTL stale for changes made on
// other nodes.
func (s *Rules) Resolve(ctx context.Context, appID, codeDefID string) (*Resolved, error) {
	snap, err := s.snapshot(ctx, codeDefID)
	if err != nil {
		return nil, err
	}
	bound, err := s.bound(ctx, appID, codeDefID)
	if err != nil {
		return nil, err
	}
	if !bound {
		return nil, fault.Wrap(ErrNotBound, fault.Denied, fault.CodeUnauthorizedOperation,
			fmt.Sprintf("app %s is not bound to rule %s", appID, codeDefID))
	}
	switch {
	case !snap.published:
		return nil, notActive(ErrNotPublished, "code rule %s is not published", codeDefID)
	case !snap.enabled:
		return nil, notActive(ErrRuleDisabled, "code rule %s is disabled", codeDefID)
	case snap.current == nil:
		return nil, notActive(ErrNoEnabledVersion, "code rule %s has no enabled version", codeDefID)
	}
	return snap.current, nil
}

// Version answers rule ruleID at version v for verifying codes issued under
// it, also when the rule or the version is disabled: Active reports whether
// its codes still verify and Inactive why not. ResourceNotFound when the
// rule or the version does not exist.
func (s *Rules) Version(ctx context.Context, ruleID string, v int) (*Resolved, error) {
	snap, err := s.snapshot(ctx, ruleID)
	if err != nil {
		return nil, err
	}
	for _, r := range snap.versions {
		if r.Version == v {
			return r, nil
		}
	}
	return nil, fault.NotFoundf("code rule %s has no version %d", ruleID, v)
}

// snapshot is a rule with its versions as issuing and verifying see them.
type snapshot struct {
	published, enabled bool
	versions           []*Resolved // by version
	current            *Resolved   // the highest enabled available version; nil: none
}

func (s *Rules) snapshot(ctx context.Context, ruleID string) (*snapshot, error) {
	gen := s.gen.Load()
	if e, ok := s.rules.Get(ruleID); ok && e.gen == gen {
		return e.snap, e.err
	}
	snap, err := s.loadSnapshot(ctx, ruleID)
	if err == nil || fault.KindOf(err) != fault.Internal { // never cache a failure of the database
		s.rules.Put(ruleID, ruleEntry{gen: gen, snap: snap, err: err})
	}
	return snap, err
}

func (s *Rules) bound(ctx context.Context, appID, ruleID string) (bool, error) {
	gen, k := s.gen.Load(), bindKey{appID, ruleID}
	if e, ok := s.binds.Get(k); ok && e.gen == gen {
		return e.bound, nil
	}
	var bound bool
	err := s.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_rule_bindings WHERE app_id = $1 AND rule_id = $2)`, appID, ruleID).Scan(&bound)
	if err != nil {
		return false, fmt.Errorf("codeengine: binding: %w", err)
	}
	s.binds.Put(k, bindEntry{gen: gen, bound: bound})
	return bound, nil
}

// pushedContent is what a push copies of a version to the sub-platform.
type pushedContent struct {
	Function   Function `json:"function"`
	Extension  []Field  `json:"extensionFields"`
	Collection []Field  `json:"collectionFields"`
}

// pushedJSON is the SQL of a version's content as a push records it.
const pushedJSON = `jsonb_build_object('function', function, 'extensionFields', ext_fields, 'collectionFields', collection)`

func (s *Rules) loadSnapshot(ctx context.Context, ruleID string) (*snapshot, error) {
	base := Resolved{RuleID: ruleID}
	var status string
	var spec, style []byte
	err := s.cfg.Pool.QueryRow(ctx, `SELECT name, form, kind, family, platform_id, industry_code, spec_fields, qr_style, status, enabled
		FROM code_rules WHERE id = $1`, ruleID).
		Scan(&base.Name, &base.Form, &base.Kind, &base.Family, &base.PlatformID, &base.IndustryCode, &spec, &style, &status, &base.RuleEnabled)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code rule %s does not exist", ruleID)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: load rule: %w", err)
	}
	base.Published = status == statusPublished
	if err := unmarshalAll(spec, &base.SpecFields, style, &base.QRStyle); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT version, enabled, function, ext_fields, collection, pushed
		FROM code_rule_versions WHERE rule_id = $1 ORDER BY version`, ruleID)
	if err != nil {
		return nil, fmt.Errorf("codeengine: load versions: %w", err)
	}
	defer rows.Close()
	snap := &snapshot{published: base.Published, enabled: base.RuleEnabled}
	onMain := base.PlatformID == s.cfg.MainPlatformID
	for rows.Next() {
		r := base
		var fn, ext, coll, pushed []byte
		if err := rows.Scan(&r.Version, &r.VersionEnabled, &fn, &ext, &coll, &pushed); err != nil {
			return nil, fmt.Errorf("codeengine: load versions: %w", err)
		}
		r.Available = onMain || pushed != nil
		if onMain || pushed == nil {
			err = unmarshalAll(fn, &r.Function, ext, &r.Extension, coll, &r.Collection)
		} else {
			var c pushedContent
			err = json.Unmarshal(pushed, &c)
			r.Function, r.Extension, r.Collection = c.Function, c.Extension, c.Collection
		}
		if err != nil {
			return nil, fmt.Errorf("codeengine: rule %s version %d: %w", ruleID, r.Version, err)
		}
		snap.versions = append(snap.versions, &r)
		if r.VersionEnabled && r.Available {
			snap.current = &r
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("codeengine: load versions: %w", err)
	}
	return snap, nil
}

// unmarshalAll decodes pairs of JSON documents and destinations.
func unmarshalAll(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := json.Unmarshal(pairs[i].([]byte), pairs[i+1]); err != nil {
			return fmt.Errorf("codeengine: stored JSON: %w", err)
		}
	}
	return nil
}
