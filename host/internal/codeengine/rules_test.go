package codeengine_test

import (
	"context"
	"testing"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

type env struct {
	rules *codeengine.Rules
	ten   *tenancy.Service
	ctx   context.Context // the host itself: root, every scope
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := storetest.New(t)
	sealer, _ := codec.NewSealer([]byte("0123456789abcdef"))
	eng, err := policy.New(t.Context(), policy.Config{PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	admins, err := auth.New(auth.Config{Pool: pool, Authz: eng, Sealer: sealer, MainPlatformID: tenancy.MainPlatformID, Logins: noLogins{}})
	if err != nil {
		t.Fatal(err)
	}
	ten, err := tenancy.New(tenancy.Config{Pool: pool, Authz: eng, Sealer: sealer, Admins: admins})
	if err != nil {
		t.Fatal(err)
	}
	ctx := policy.WithScope(actor.With(context.Background(), actor.System()), policy.Scope{All: true})
	if err := ten.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	rules, err := codeengine.New(codeengine.Config{Pool: pool, Authz: eng, Apps: ten, MainPlatformID: tenancy.MainPlatformID})
	if err != nil {
		t.Fatal(err)
	}
	return &env{rules: rules, ten: ten, ctx: ctx}
}

func (e *env) app(t *testing.T, platform string) string {
	t.Helper()
	a, err := e.ten.CreateApp(e.ctx, &tenancy.CreateAppIn{PlatformID: platform,
		AppFields: tenancy.AppFields{Name: "app-" + platform, BusinessUnit: "x"}, Developer: tenancy.DeveloperFields{Name: "d"}})
	if err != nil {
		t.Fatal(err)
	}
	return a.AppID
}

func identityRule(platform string) *codeengine.RuleIn {
	return &codeengine.RuleIn{Name: "身份码", Form: "dynamic", Family: "identity", PlatformID: platform,
		Function:   codeengine.Function{ValiditySeconds: 60, Offline: true},
		Collection: []codeengine.Field{{Name: "location", Required: true}}}
}

// noLogins: nobody logs in here; auth wants somewhere to report logins.
type noLogins struct{}

func (noLogins) RecordLogin(context.Context, auth.LoginEvent) error { return nil }

func code(err error) string { return fault.CodeOf(err) }

func TestRuleLifecycleAndResolve(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	app := e.app(t, tenancy.MainPlatformID)
	r, err := e.rules.CreateRule(ctx, identityRule(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rules.Resolve(ctx, app, r.ID); code(err) != fault.CodeUnauthorizedOperation {
		t.Fatalf("unbound app: %v", err)
	}
	e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}})
	if _, err := e.rules.Resolve(ctx, app, r.ID); code(err) != fault.CodeCodeNotActive {
		t.Fatalf("unpublished rule: %v", err)
	}
	e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID})
	res, err := e.rules.Resolve(ctx, app, r.ID)
	if err != nil || res.Version != 1 || !res.Active() || res.Kind != "person" {
		t.Fatalf("resolve: %+v %v", res, err)
	}
	if err := res.CheckCollection(map[string]any{}); code(err) != fault.CodeMissingParameter {
		t.Fatalf("missing collection field: %v", err)
	}
	if err := res.CheckCollection(map[string]any{"location": 12.0}); code(err) != fault.CodeInvalidParameter {
		t.Fatalf("wrongly typed collection field: %v", err)
	}

	// A new version takes over; disabling it falls back to version 1, whose
	// codes still resolve; the disabled version answers inactive.
	if _, err := e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: r.ID, Function: codeengine.Function{ValiditySeconds: 120}}); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.rules.Resolve(ctx, app, r.ID); res.Version != 2 || res.Function.ValiditySeconds != 120 {
		t.Fatalf("new version not current: %+v", res)
	}
	off := false
	e.rules.SetVersionStatus(ctx, &codeengine.VersionStatusIn{StatusIn: codeengine.StatusIn{RuleID: r.ID, Enabled: &off}, Version: 2})
	if res, _ := e.rules.Resolve(ctx, app, r.ID); res.Version != 1 {
		t.Fatalf("after disabling v2: %+v", res)
	}
	if v2, _ := e.rules.Version(ctx, r.ID, 2); v2.Active() {
		t.Fatal("a disabled version is active")
	}
	e.rules.SetRuleStatus(ctx, &codeengine.StatusIn{RuleID: r.ID, Enabled: &off})
	if _, err := e.rules.Resolve(ctx, app, r.ID); code(err) != fault.CodeCodeNotActive {
		t.Fatalf("disabled rule: %v", err)
	}
	if _, err := e.rules.DeleteRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}); code(err) != fault.CodeResourceInUse {
		t.Fatalf("delete while bound: %v", err)
	}
	e.rules.Unbind(ctx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID})
	if _, err := e.rules.DeleteRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}); err != nil {
		t.Fatalf("delete after unbinding: %v", err)
	}
}

func TestSubPlatformPoolAndSpecs(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	sub, err := e.ten.CreatePlatform(ctx, &tenancy.CreatePlatformIn{PlatformFields: tenancy.PlatformFields{Name: "徐汇", RegionCode: "310104", ServiceURL: "https://xh.example.cn"}, AdminAccount: "xh_admin"})
	if err != nil {
		t.Fatal(err)
	}
	app := e.app(t, sub.ID)
	mainApp := e.app(t, tenancy.MainPlatformID)
	r, err := e.rules.CreateRule(ctx, identityRule(sub.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}); code(err) != fault.CodeFailedOperation {
		t.Fatalf("binding before push: %v", err)
	}
	if _, err := e.rules.Push(ctx, &codeengine.RuleIDIn{RuleID: r.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}); err != nil {
		t.Fatalf("binding after push: %v", err)
	}
	if _, err := e.rules.Bind(ctx, &codeengine.BindIn{AppID: mainApp, RuleIDs: []string{r.ID}}); code(err) != fault.CodeFailedOperation {
		t.Fatalf("binding another platform's rule: %v", err)
	}

	spec, err := e.rules.CreateSpec(ctx, &codeengine.SpecIn{Name: "城市码通用规范", Fields: []codeengine.Field{{Name: "certNo", Length: 18}}})
	if err != nil {
		t.Fatal(err)
	}
	e.rules.SetSpecStatus(ctx, &codeengine.SpecStatusIn{SpecID: spec.ID, Status: "disabled"})
	in := identityRule("")
	in.SpecID = spec.ID
	if _, err := e.rules.CreateRule(ctx, in); code(err) != fault.CodeFailedOperation {
		t.Fatalf("rule on a disabled spec: %v", err)
	}
	e.rules.SetSpecStatus(ctx, &codeengine.SpecStatusIn{SpecID: spec.ID, Status: "enabled"})
	withSpec, err := e.rules.CreateRule(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rules.DeleteSpec(ctx, &codeengine.SpecIDIn{SpecID: spec.ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.rules.GetRule(ctx, &codeengine.RuleIDIn{RuleID: withSpec.ID}); err != nil || len(got.Versions) != 1 {
		t.Fatalf("rule lost with its spec: %+v %v", got, err)
	}

	for label, bad := range map[string]*codeengine.RuleIn{
		"validity too short": {Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 5}},
		"refresh > validity": {Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 30, RefreshSeconds: 60}},
		"static person code": {Name: "x", Form: "static", Family: "health"},
	} {
		if _, err := e.rules.CreateRule(ctx, bad); code(err) != fault.CodeInvalidParameter {
			t.Errorf("%s: %v", label, err)
		}
	}
}
