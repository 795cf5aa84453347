package codeengine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The engine compiles and tests the policy bundle once per test binary.
var engine = sync.OnceValues(func() (*policy.Engine, error) {
	return policy.New(context.Background(), policy.Config{PollInterval: -1})
})

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one test's services on their own database: the real policy
// engine, tenancy and console auth (which provisions platform admins).
type env struct {
	t     testing.TB
	pool  *pgxpool.Pool
	eng   *policy.Engine
	ten   *tenancy.Service
	rules *codeengine.Rules
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("policy engine: %v", err)
	}
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: storetest.New(t), eng: eng, clock: &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}}
	admins, err := auth.New(auth.Config{Pool: e.pool, Authz: eng, Sealer: sealer, MainPlatformID: tenancy.MainPlatformID, Logins: noLogins{}})
	if err != nil {
		t.Fatal(err)
	}
	e.ten, err = tenancy.New(tenancy.Config{Pool: e.pool, Authz: eng, Sealer: sealer, Admins: admins, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ten.Seed(e.ctx(root())); err != nil {
		t.Fatal(err)
	}
	e.rules = e.service()
	return e
}

// service is another rule service on the same database, as another host
// node would have.
func (e *env) service() *codeengine.Rules {
	e.t.Helper()
	r, err := codeengine.New(codeengine.Config{Pool: e.pool, Authz: e.eng, Tenancy: e.ten, MainPlatformID: tenancy.MainPlatformID,
		Clock: e.clock.Now, CacheTTL: 2 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// noLogins: nobody logs in here; auth wants somewhere to report logins.
type noLogins struct{}

func (noLogins) RecordLogin(context.Context, auth.LoginEvent) error { return nil }

// ctx carries a, as the HTTP layer would after authentication.
func (e *env) ctx(a *actor.Actor) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return actor.With(ctx, a)
}

func root() *actor.Actor { return actor.System() }

func mainAdmin() *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 1, Account: "main", OperatorType: actor.PlatformAdmin,
		PlatformID: tenancy.MainPlatformID, MainPlatform: true}
}

func subAdmin(platformID string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 2, Account: "admin-" + platformID, OperatorType: actor.PlatformAdmin,
		PlatformID: platformID}
}

func staff(platformID string, perms ...string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 3, Account: "staff", OperatorType: actor.Staff,
		PlatformID: platformID, MainPlatform: platformID == tenancy.MainPlatformID, Permissions: perms}
}

// platform creates a sub-platform and answers its id.
func (e *env) platform(name, region string) string {
	e.t.Helper()
	p, err := e.ten.CreatePlatform(e.ctx(root()), &tenancy.CreatePlatformIn{
		PlatformFields: tenancy.PlatformFields{Name: name, RegionCode: region, ServiceURL: "https://" + region + ".example.cn"},
		AdminAccount:   "admin_" + region,
	})
	if err != nil {
		e.t.Fatalf("create platform %s: %v", name, err)
	}
	return p.ID
}

// app creates an app of a platform and answers its id.
func (e *env) app(platformID, name string) string {
	e.t.Helper()
	a, err := e.ten.CreateApp(e.ctx(root()), &tenancy.CreateAppIn{PlatformID: platformID,
		AppFields: tenancy.AppFields{Name: name, BusinessUnit: "市大数据中心"}, Developer: tenancy.DeveloperFields{Name: "开发者"}})
	if err != nil {
		e.t.Fatalf("create app %s: %v", name, err)
	}
	return a.AppID
}

// rule creates a rule as the main platform's administrator.
func (e *env) rule(in *codeengine.RuleIn) *codeengine.Rule {
	e.t.Helper()
	r, err := e.rules.CreateRule(e.ctx(mainAdmin()), in)
	if err != nil {
		e.t.Fatalf("create rule %s: %v", in.Name, err)
	}
	return r
}

// identityRule is a dynamic identity rule for platform that requires the
// data-collection field "location".
func identityRule(platform string) *codeengine.RuleIn {
	return &codeengine.RuleIn{Name: "身份码", Form: "dynamic", Family: "identity", PlatformID: platform,
		Function:   codeengine.Function{ValiditySeconds: 60, Offline: true},
		Collection: []codeengine.Field{{Name: "location", Label: "扫码地点", Required: true}}}
}

// must(f())(t) answers f's value, failing t if f answered an error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantCode fails unless err carries the API code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := fault.CodeOf(err); err == nil || got != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// wantCause fails unless err carries the API code and wraps cause.
func wantCause(t *testing.T, err error, code string, cause error) {
	t.Helper()
	wantCode(t, err, code)
	if !errors.Is(err, cause) {
		t.Fatalf("%v does not wrap %v", err, cause)
	}
}
