package stats_test

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
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/stats"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The engine compiles and tests the policy bundle once per test binary.
var engine = sync.OnceValues(func() (*policy.Engine, error) {
	return policy.New(context.Background(), policy.Config{PollInterval: -1})
})

var cst = time.FixedZone("CST", 8*3600)

// now is 10:30 on 5 March 2025, Beijing time: the clock of every test.
var now = time.Date(2025, 3, 5, 10, 30, 0, 0, cst)

// clock is a settable fake clock: the only thing faked.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is one test's services on their own database: the real policy
// engine, tenancy, rules, persons and event writer, and two sub-platforms
// (徐汇 and 静安) with an app each, besides an app of the main platform.
type env struct {
	t      testing.TB
	pool   *pgxpool.Pool
	eng    *policy.Engine
	ten    *tenancy.Service
	people *persons.Service
	ev     *events.Writer
	clock  *clock
	svc    *stats.Service

	xh, ja             string // sub-platform ids
	xhApp, jaApp, mApp string // app ids
	rule               *codeengine.Rule
	alerts             []stats.Alert
	alertsErr          error
}

type envOpt func(*stats.Config)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("policy engine: %v", err)
	}
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: storetest.New(t), eng: eng, clock: &clock{t: now}}
	admins, err := auth.New(auth.Config{Pool: e.pool, Authz: eng, Sealer: sealer, MainPlatformID: tenancy.MainPlatformID, Logins: noLogins{}})
	if err != nil {
		t.Fatal(err)
	}
	if e.ten, err = tenancy.New(tenancy.Config{Pool: e.pool, Authz: eng, Sealer: sealer, Admins: admins, Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if err := e.ten.Seed(e.ctx(actor.System(), "")); err != nil {
		t.Fatal(err)
	}
	if e.people, err = persons.New(persons.Config{Pool: e.pool, Sealer: sealer, Authz: eng, Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.ev, err = events.New(context.Background(), events.Config{Pool: e.pool, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.ev.Close(ctx)
	})
	cfg := stats.Config{Pool: e.pool, Clock: e.clock.Now,
		Alerts: func(ctx context.Context, limit int) ([]stats.Alert, error) { return e.alerts, e.alertsErr }}
	for _, o := range opts {
		o(&cfg)
	}
	if e.svc, err = stats.New(cfg); err != nil {
		t.Fatal(err)
	}

	e.xh, e.ja = e.platform("徐汇区子平台", "310104"), e.platform("静安区子平台", "310106")
	e.xhApp, e.jaApp, e.mApp = e.app(e.xh, "徐汇医院通"), e.app(e.ja, "静安养老"), e.app(tenancy.MainPlatformID, "随申办")
	rules, err := codeengine.New(codeengine.Config{Pool: e.pool, Authz: eng, Tenancy: e.ten, MainPlatformID: tenancy.MainPlatformID, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if e.rule, err = rules.CreateRule(e.ctx(mainAdmin(), ""), &codeengine.RuleIn{Name: "随申码·身份码", Form: "dynamic", Family: "identity",
		Function: codeengine.Function{ValiditySeconds: 60}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// noLogins: nobody logs in here; auth wants somewhere to report logins.
type noLogins struct{}

func (noLogins) RecordLogin(context.Context, auth.LoginEvent) error { return nil }

// ctx carries a, and when action is set the data scope the policy
// engine decides for a and action, as the HTTP layer would.
func (e *env) ctx(a *actor.Actor, action string) context.Context {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	ctx = actor.With(ctx, a)
	if action == "" {
		return ctx
	}
	ctx, err := e.eng.AuthorizeAction(ctx, action)
	if err != nil {
		e.t.Fatalf("authorize %s for %s: %v", action, a.Account, err)
	}
	return ctx
}

func mainAdmin() *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 1, Account: "main", OperatorType: actor.PlatformAdmin,
		PlatformID: tenancy.MainPlatformID, MainPlatform: true}
}

func subAdmin(platformID string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 2, Account: "admin-" + platformID, OperatorType: actor.PlatformAdmin,
		PlatformID: platformID}
}

// regionStaff is a main-platform account of one district with perms.
func regionStaff(region string, perms ...string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 3, Account: "region-" + region, OperatorType: actor.Staff,
		PlatformID: tenancy.MainPlatformID, MainPlatform: true, RegionCode: region, Permissions: perms}
}

func (e *env) platform(name, region string) string {
	e.t.Helper()
	p, err := e.ten.CreatePlatform(e.ctx(actor.System(), ""), &tenancy.CreatePlatformIn{
		PlatformFields: tenancy.PlatformFields{Name: name, RegionCode: region, ServiceURL: "https://" + region + ".example.cn"},
		AdminAccount:   "admin_" + region,
	})
	if err != nil {
		e.t.Fatalf("create platform %s: %v", name, err)
	}
	return p.ID
}

func (e *env) app(platformID, name string) string {
	e.t.Helper()
	a, err := e.ten.CreateApp(e.ctx(actor.System(), ""), &tenancy.CreateAppIn{PlatformID: platformID,
		AppFields: tenancy.AppFields{Name: name, BusinessUnit: "市大数据中心"}, Developer: tenancy.DeveloperFields{Name: "开发者"}})
	if err != nil {
		e.t.Fatalf("create app %s: %v", name, err)
	}
	return a.AppID
}

// use writes n successful events of typ by app (of platform) at at,
// each of subject subjects[i % len].
func (e *env) use(at time.Time, platform, app string, typ events.Type, n int, subjects ...string) {
	e.t.Helper()
	e.write(at, platform, app, typ, events.Success, n, subjects...)
}

func (e *env) write(at time.Time, platform, app string, typ events.Type, res events.Result, n int, subjects ...string) {
	e.t.Helper()
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = events.Event{At: at, Type: typ, Result: res, PlatformID: platform, AppID: app, RuleID: e.rule.ID, Kind: "person"}
		if len(subjects) > 0 {
			evs[i].SubjectID = subjects[i%len(subjects)]
		}
	}
	if err := e.ev.Write(context.Background(), evs...); err != nil {
		e.t.Fatal(err)
	}
}

// day is 10:00 Beijing time, d days from today (negative: before).
func day(d int) time.Time { return time.Date(2025, 3, 5+d, 10, 0, 0, 0, cst) }

// wantCode fails unless err is a *fault.Error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}
