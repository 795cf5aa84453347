package tenancy_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The engine compiles and tests the policy bundle once per test binary.
var engine = sync.OnceValues(func() (*policy.Engine, error) {
	return policy.New(context.Background(), policy.Config{})
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

// provisioner records administrator creations and answers a fixed password,
// or fails with err.
type provisioner struct {
	mu    sync.Mutex
	calls []provisionCall
	err   error
}

type provisionCall struct {
	platformID, account, regionCode string
	hadTx                           bool
}

const oneTimePassword = "Otp-123456"

func (p *provisioner) CreatePlatformAdmin(ctx context.Context, tx pgx.Tx, platformID, account, regionCode string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, provisionCall{platformID, account, regionCode, tx != nil})
	if p.err != nil {
		return "", p.err
	}
	return oneTimePassword, nil
}

// env is one test's service on its own database.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	svc    *tenancy.Service
	eng    *policy.Engine
	sealer *codec.Sealer
	clock  *clock
	admins *provisioner
}

var testMasterKey = bytes.Repeat([]byte{7}, 16)

func newEnv(t *testing.T) *env {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("policy engine: %v", err)
	}
	sealer, err := codec.NewSealer(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t:      t,
		pool:   storetest.New(t),
		eng:    eng,
		sealer: sealer,
		clock:  &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		admins: &provisioner{},
	}
	e.svc = e.service(2 * time.Second)
	if err := e.svc.Seed(e.ctx(root())); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return e
}

// service is another Service on the same database, as another host would be.
func (e *env) service(ttl time.Duration) *tenancy.Service {
	e.t.Helper()
	s, err := tenancy.New(tenancy.Config{
		Pool: e.pool, Authz: e.eng, Sealer: e.sealer, Admins: e.admins,
		Clock: e.clock.Now, SecretsCacheTTL: ttl,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// ctx carries a, as the HTTP layer would after authentication.
func (e *env) ctx(a *actor.Actor) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return actor.With(ctx, a)
}

// Actors.

func root() *actor.Actor { return actor.System() }

func mainAdmin() *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 1, Account: "main", OperatorType: actor.PlatformAdmin,
		PlatformID: tenancy.MainPlatformID, MainPlatform: true}
}

func subAdmin(platformID string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 2, Account: "admin-" + platformID, OperatorType: actor.PlatformAdmin,
		PlatformID: platformID}
}

func staff(platformID, region string, perms ...string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 3, Account: "staff", OperatorType: actor.Staff,
		PlatformID: platformID, MainPlatform: platformID == tenancy.MainPlatformID, RegionCode: region, Permissions: perms}
}

// Fixtures.

func (e *env) platform(name, region string) *tenancy.CreatedPlatform {
	e.t.Helper()
	p, err := e.svc.CreatePlatform(e.ctx(mainAdmin()), &tenancy.CreatePlatformIn{
		PlatformFields: tenancy.PlatformFields{Name: name, ServiceURL: "https://" + region + ".example.cn", RegionCode: region},
		AdminAccount:   "admin_" + region,
	})
	if err != nil {
		e.t.Fatalf("create platform %s: %v", name, err)
	}
	return p
}

func appIn(platformID, name, region string) *tenancy.CreateAppIn {
	return &tenancy.CreateAppIn{
		PlatformID: platformID,
		AppFields:  tenancy.AppFields{Name: name, BusinessUnit: "市大数据中心", IndustryCode: "health", RegionCode: region},
		Developer:  tenancy.DeveloperFields{Name: "开发者" + name, Contact: "张工", Mobile: "13812345678", Email: "dev@example.cn"},
	}
}

func (e *env) app(as *actor.Actor, platformID, name, region string) *tenancy.CreatedApp {
	e.t.Helper()
	a, err := e.svc.CreateApp(e.ctx(as), appIn(platformID, name, region))
	if err != nil {
		e.t.Fatalf("create app %s: %v", name, err)
	}
	return a
}

func (e *env) count(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// wantCode fails unless err carries the API code (a client mistake is never
// an internal error).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := fault.CodeOf(err); got != code {
		t.Fatalf("got %s (%v), want %s", got, err, code)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	t.Parallel()
	if _, err := tenancy.New(tenancy.Config{}); err == nil {
		t.Fatal("New without dependencies succeeded")
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())

	p := must[*tenancy.Platform](t)(e.svc.GetPlatform(ctx, &tenancy.PlatformIDIn{ID: tenancy.MainPlatformID}))
	if p.Kind != tenancy.KindMain || p.Name != "城市码主平台" || p.Status != tenancy.StatusEnabled || p.RegionCode != "310000" {
		t.Fatalf("main platform = %+v", p)
	}
	r := must[*tenancy.Region](t)(e.svc.GetRegion(ctx, &tenancy.RegionCodeIn{Code: "310104"}))
	if r.Name != "徐汇区" || r.ParentCode != "310000" || r.Level != 3 {
		t.Fatalf("310104 = %+v", r)
	}
	regions, industries := e.count("SELECT count(*) FROM regions"), e.count("SELECT count(*) FROM industries")
	if regions < 17 || industries < 6 {
		t.Fatalf("seeded %d regions and %d industries", regions, industries)
	}

	// Seeding again changes nothing and does not bring back what an
	// administrator deleted.
	ok(t, e.svc.DeleteIndustry(ctx, &tenancy.IndustryCodeIn{Code: "education"}))
	ok(t, e.svc.Seed(ctx))
	ok(t, e.service(0).Seed(ctx))
	if n := e.count("SELECT count(*) FROM platforms"); n != 1 {
		t.Fatalf("%d platforms after reseeding", n)
	}
	if n := e.count("SELECT count(*) FROM regions"); n != regions {
		t.Fatalf("%d regions after reseeding, want %d", n, regions)
	}
	if n := e.count("SELECT count(*) FROM industries"); n != industries-1 {
		t.Fatalf("%d industries after reseeding, want %d", n, industries-1)
	}
}

func TestRoutesDeclareActions(t *testing.T) {
	t.Parallel()
	eng, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := codec.NewSealer(testMasterKey)
	svc, err := tenancy.New(tenancy.Config{Pool: &pgxpool.Pool{}, Authz: eng, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range svc.Routes() {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("%s declared twice", key)
		}
		seen[key] = true
		if r.Action == "" || r.Summary == "" || r.Description == "" || len(r.Tags) == 0 {
			t.Errorf("%s lacks an action or documentation", key)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d routes", len(seen))
	}
}

var errBoom = errors.New("boom")
