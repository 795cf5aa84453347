package codeengine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// A sub-platform's rule: invisible and unbindable until pushed; its apps
// issue by the pushed content; edits need another push; a disabled rule can
// be removed from the pool, taking its bindings with it.
func TestSubPlatformPool(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	main := e.ctx(mainAdmin())
	sub := e.platform("徐汇", "310104")
	other := e.platform("静安", "310106")
	subCtx, otherCtx := e.ctx(subAdmin(sub)), e.ctx(subAdmin(other))
	app := e.app(sub, "徐汇通")
	otherApp := e.app(other, "静安通")
	mainApp := e.app(tenancy.MainPlatformID, "随申办")
	mainRule := e.rule(identityRule(""))
	r := e.rule(identityRule(sub))
	if r.InPool || !r.Dirty || r.PushedAt != nil {
		t.Fatalf("a new sub-platform rule: %+v", r)
	}

	ids := func(p *codeengine.Page[codeengine.Rule]) []string {
		var out []string
		for _, r := range p.Items {
			out = append(out, r.ID)
		}
		return out
	}

	// Before the push the pool is empty and binding is refused.
	if got := ids(must(e.rules.ListRules(subCtx, &codeengine.ListRulesIn{}))(t)); len(got) != 0 {
		t.Fatalf("pool before the push: %v", got)
	}
	_, err := e.rules.GetRule(subCtx, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.rules.Bind(subCtx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}})
	wantCode(t, err, fault.CodeFailedOperation)
	_, err = e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeFailedOperation) // pending
	must(e.rules.Publish(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	pushed := must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if !pushed.InPool || pushed.Dirty || pushed.PushedVersion != 1 || pushed.PushedAt == nil {
		t.Fatalf("pushed %+v", pushed)
	}
	must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t) // idempotent
	_, err = e.rules.Push(main, &codeengine.RuleIDIn{RuleID: mainRule.ID})
	wantCode(t, err, fault.CodeFailedOperation)
	_, err = e.rules.Push(main, &codeengine.RuleIDIn{RuleID: "R9999"})
	wantCode(t, err, fault.CodeResourceNotFound)

	// Scope: each sub-platform sees its own pool only; the main platform all.
	if got := ids(must(e.rules.ListRules(subCtx, &codeengine.ListRulesIn{}))(t)); !slices.Equal(got, []string{r.ID}) {
		t.Fatalf("sub pool: %v", got)
	}
	if got := ids(must(e.rules.ListRules(subCtx, &codeengine.ListRulesIn{PlatformID: tenancy.MainPlatformID}))(t)); len(got) != 0 {
		t.Fatalf("a sub-platform lists the main platform's rules: %v", got)
	}
	if got := ids(must(e.rules.ListRules(otherCtx, &codeengine.ListRulesIn{}))(t)); len(got) != 0 {
		t.Fatalf("another sub-platform's pool: %v", got)
	}
	if got := ids(must(e.rules.ListRules(main, &codeengine.ListRulesIn{}))(t)); len(got) != 2 {
		t.Fatalf("main platform: %v", got)
	}
	if got := ids(must(e.rules.ListRules(main, &codeengine.ListRulesIn{Pool: sub}))(t)); !slices.Equal(got, []string{r.ID}) {
		t.Fatalf("the sub-platform's pool as the main platform sees it: %v", got)
	}
	must(e.rules.GetRule(subCtx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	must(e.rules.ListVersions(subCtx, &codeengine.ListVersionsIn{RuleID: r.ID}))(t)
	for _, err := range []error{
		second(e.rules.GetRule(subCtx, &codeengine.RuleIDIn{RuleID: mainRule.ID})),
		second(e.rules.GetRule(otherCtx, &codeengine.RuleIDIn{RuleID: r.ID})),
		second(e.rules.GetVersion(otherCtx, &codeengine.VersionIDIn{RuleID: r.ID, Version: 1})),
	} {
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	}

	// Bindings: own platform's apps and pool only.
	must(e.rules.Bind(subCtx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}))(t)
	for name, err := range map[string]error{
		"main app to a sub rule":             second(e.rules.Bind(main, &codeengine.BindIn{AppID: mainApp, RuleIDs: []string{r.ID}})),
		"sub app to a main rule":             second(e.rules.Bind(main, &codeengine.BindIn{AppID: app, RuleIDs: []string{mainRule.ID}})),
		"other platform's app to a sub rule": second(e.rules.Bind(main, &codeengine.BindIn{AppID: otherApp, RuleIDs: []string{r.ID}})),
		"all or none":                        second(e.rules.Bind(main, &codeengine.BindIn{AppID: mainApp, RuleIDs: []string{mainRule.ID, r.ID}})),
	} {
		if fault.CodeOf(err) != fault.CodeFailedOperation {
			t.Errorf("%s: %v", name, err)
		}
	}
	if b := must(e.rules.AppRules(main, &codeengine.AppRulesIn{AppID: mainApp}))(t); b.Total != 0 {
		t.Fatalf("a refused batch bound %d rules", b.Total)
	}
	for name, err := range map[string]error{
		"sub binds another platform's app": second(e.rules.Bind(subCtx, &codeengine.BindIn{AppID: otherApp, RuleIDs: []string{r.ID}})),
		"sub unbinds another's app":        second(e.rules.Unbind(otherCtx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID})),
		"sub lists another's bindings":     second(e.rules.AppRules(otherCtx, &codeengine.AppRulesIn{AppID: app})),
	} {
		if fault.CodeOf(err) != fault.CodeUnauthorizedOperation {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = e.rules.Bind(subCtx, &codeengine.BindIn{AppID: "cc-no-such-app", RuleIDs: []string{r.ID}})
	wantCode(t, err, fault.CodeResourceNotFound)
	_, err = e.rules.Bind(subCtx, &codeengine.BindIn{AppID: app, RuleIDs: []string{"R9999"}})
	wantCode(t, err, fault.CodeResourceNotFound)
	if b := must(e.rules.AppRules(subCtx, &codeengine.AppRulesIn{AppID: app}))(t); b.Total != 1 || b.Items[0].ID != r.ID {
		t.Fatalf("bound rules %+v", b)
	}

	// The platform's apps issue by the pushed content: a new version or an
	// edit is not theirs until pushed again.
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Version != 1 || res.Function.ValiditySeconds != 60 {
		t.Fatalf("resolved %+v", res)
	}
	must(e.rules.NewVersion(main, &codeengine.VersionIn{RuleID: r.ID, Function: codeengine.Function{ValiditySeconds: 120}}))(t)
	if got := must(e.rules.GetRule(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t); !got.Dirty || got.PushedVersion != 1 || got.CurrentVersion != 1 ||
		!got.Versions[0].Pushed || got.Versions[1].Pushed || !got.Versions[1].Changed {
		t.Fatalf("after a new version: %+v", got)
	}
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Version != 1 {
		t.Fatalf("an unpushed version is in force: %+v", res)
	}
	v2 := must(e.rules.Version(subCtx, r.ID, 2))(t)
	wantCause(t, v2.Inactive(), fault.CodeCodeNotActive, codeengine.ErrNotPushed)
	must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Version != 2 || res.Function.ValiditySeconds != 120 {
		t.Fatalf("after the push: %+v", res)
	}
	must(e.rules.UpdateVersion(main, &codeengine.UpdateVersionIn{Version: 2, VersionIn: codeengine.VersionIn{RuleID: r.ID,
		Function: codeengine.Function{ValiditySeconds: 30}}}))(t)
	if v := must(e.rules.GetVersion(main, &codeengine.VersionIDIn{RuleID: r.ID, Version: 2}))(t); !v.Changed || !v.Pushed || v.Function.ValiditySeconds != 30 {
		t.Fatalf("edited version: %+v", v)
	}
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Function.ValiditySeconds != 120 {
		t.Fatalf("an edit applied before its push: %+v", res)
	}
	must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Function.ValiditySeconds != 30 {
		t.Fatalf("the pushed edit: %+v", res)
	}
	// Enabling and disabling need no push.
	must(e.rules.DisableVersion(main, &codeengine.VersionIDIn{RuleID: r.ID, Version: 2}))(t)
	if res := must(e.rules.Resolve(subCtx, app, r.ID))(t); res.Version != 1 {
		t.Fatalf("after disabling version 2: %+v", res)
	}

	// Removal: refused while enabled, and for main-platform rules.
	_, err = e.rules.RemoveFromPool(main, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeFailedOperation)
	must(e.rules.DisableRule(main, &codeengine.RuleIDIn{RuleID: mainRule.ID}))(t)
	_, err = e.rules.RemoveFromPool(main, &codeengine.RuleIDIn{RuleID: mainRule.ID})
	wantCode(t, err, fault.CodeFailedOperation)
	must(e.rules.DisableRule(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	rm := must(e.rules.RemoveFromPool(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if rm.PlatformID != sub || !slices.Equal(rm.UnboundApps, []string{app}) {
		t.Fatalf("removal %+v", rm)
	}
	_, err = e.rules.RemoveFromPool(main, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeFailedOperation) // not in the pool any more
	if got := ids(must(e.rules.ListRules(subCtx, &codeengine.ListRulesIn{}))(t)); len(got) != 0 {
		t.Fatalf("the pool shows a removed rule: %v", got)
	}
	_, err = e.rules.GetRule(subCtx, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.rules.Bind(subCtx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}})
	wantCode(t, err, fault.CodeFailedOperation)
	_, err = e.rules.Resolve(subCtx, app, r.ID)
	wantCause(t, err, fault.CodeUnauthorizedOperation, codeengine.ErrNotBound)
	wantCause(t, must(e.rules.Version(main, r.ID, 1))(t).Inactive(), fault.CodeCodeNotActive, codeengine.ErrNotPushed)

	// A push brings it back, and with no binding left it can be deleted.
	must(e.rules.EnableRule(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if back := must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t); !back.InPool || back.Dirty {
		t.Fatalf("pushed back: %+v", back)
	}
	must(e.rules.Bind(subCtx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}))(t)
	must(e.rules.Unbind(subCtx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID}))(t)
	must(e.rules.DeleteRule(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
}

// Only the main platform writes specs and rules; a sub-platform
// administrator gets 403 for every write, and staff need the permission.
func TestWritesAreMainOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	main := e.ctx(mainAdmin())
	sub := e.platform("徐汇", "310104")
	spec := must(e.rules.CreateSpec(main, &codeengine.SpecIn{Name: "通用", Fields: []codeengine.Field{{Name: "a", Length: 4}}}))(t)
	r := e.rule(identityRule(sub))
	must(e.rules.Publish(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	specIn := &codeengine.SpecIn{Name: "x", Fields: []codeengine.Field{{Name: "a", Length: 4}}}
	id := &codeengine.RuleIDIn{RuleID: r.ID}
	ver := &codeengine.VersionIDIn{RuleID: r.ID, Version: 1}
	writes := map[string]func(ctx context.Context) error{
		"create spec": func(ctx context.Context) error { return second(e.rules.CreateSpec(ctx, specIn)) },
		"update spec": func(ctx context.Context) error {
			return second(e.rules.UpdateSpec(ctx, &codeengine.UpdateSpecIn{SpecID: spec.ID, SpecIn: *specIn}))
		},
		"disable spec": func(ctx context.Context) error {
			return second(e.rules.DisableSpec(ctx, &codeengine.SpecIDIn{SpecID: spec.ID}))
		},
		"enable spec": func(ctx context.Context) error {
			return second(e.rules.EnableSpec(ctx, &codeengine.SpecIDIn{SpecID: spec.ID}))
		},
		"delete spec": func(ctx context.Context) error {
			return second(e.rules.DeleteSpec(ctx, &codeengine.SpecIDIn{SpecID: spec.ID}))
		},
		"create rule": func(ctx context.Context) error { return second(e.rules.CreateRule(ctx, identityRule(sub))) },
		"update rule": func(ctx context.Context) error {
			return second(e.rules.UpdateRule(ctx, &codeengine.UpdateRuleIn{RuleID: r.ID, Name: "x"}))
		},
		"publish":      func(ctx context.Context) error { return second(e.rules.Publish(ctx, id)) },
		"push":         func(ctx context.Context) error { return second(e.rules.Push(ctx, id)) },
		"enable rule":  func(ctx context.Context) error { return second(e.rules.EnableRule(ctx, id)) },
		"disable rule": func(ctx context.Context) error { return second(e.rules.DisableRule(ctx, id)) },
		"remove":       func(ctx context.Context) error { return second(e.rules.RemoveFromPool(ctx, id)) },
		"delete rule":  func(ctx context.Context) error { return second(e.rules.DeleteRule(ctx, id)) },
		"new version": func(ctx context.Context) error {
			return second(e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: r.ID}))
		},
		"edit version": func(ctx context.Context) error {
			return second(e.rules.UpdateVersion(ctx, &codeengine.UpdateVersionIn{Version: 1, VersionIn: codeengine.VersionIn{RuleID: r.ID}}))
		},
		"enable version":  func(ctx context.Context) error { return second(e.rules.EnableVersion(ctx, ver)) },
		"disable version": func(ctx context.Context) error { return second(e.rules.DisableVersion(ctx, ver)) },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			wantCode(t, write(e.ctx(subAdmin(sub))), fault.CodeUnauthorizedOperation)
			wantCode(t, write(e.ctx(staff(tenancy.MainPlatformID, "rule.read", "spec.read"))), fault.CodeUnauthorizedOperation)
		})
	}
	// Reading is open to sub-platform administrators and to staff holding
	// the read permissions; nothing changed.
	sc := e.ctx(subAdmin(sub))
	if p := must(e.rules.ListSpecs(sc, &codeengine.ListSpecsIn{}))(t); p.Total != 1 || p.Items[0].Name != "通用" {
		t.Fatalf("specs as a sub-platform sees them: %+v", p)
	}
	if got := must(e.rules.GetRule(sc, id))(t); got.Name != r.Name || !got.Enabled || got.LatestVersion != 1 {
		t.Fatalf("rule after refused writes: %+v", got)
	}
	_, err := e.rules.ListRules(e.ctx(staff(tenancy.MainPlatformID, "spec.read")), &codeengine.ListRulesIn{})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	if p := must(e.rules.ListRules(e.ctx(staff(sub, "rule.read")), &codeengine.ListRulesIn{}))(t); p.Total != 1 {
		t.Fatalf("staff of the sub-platform: %+v", p)
	}
}

// second answers the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }
