package auth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

const mainID = "P0000"

// testParams keep argon2id cheap in tests; production uses the defaults.
var testParams = PasswordParams{Memory: 64, Time: 1, Threads: 1}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// loginLog collects login events as the audit trail would.
type loginLog struct {
	mu     sync.Mutex
	events []LoginEvent
}

func (l *loginLog) RecordLogin(_ context.Context, ev LoginEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	return nil
}

func (l *loginLog) last() LoginEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return LoginEvent{}
	}
	return l.events[len(l.events)-1]
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	pool   *pgxpool.Pool
	svc    *Service
	authz  *policy.Engine
	clock  *clock
	logins *loginLog

	mu     sync.Mutex
	answer string // the answer of the last captcha drawn
	n      int
	tokens map[*actor.Actor]string
}

func newFixture(t *testing.T, tweak ...func(*Config)) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	pool := storetest.New(t)
	eng, err := policy.New(ctx, policy.Config{})
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	t.Cleanup(eng.Close)
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, pool: pool, authz: eng, logins: &loginLog{}, tokens: map[*actor.Actor]string{},
		clock: &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}}
	cfg := Config{
		Pool: pool, Authz: eng, Sealer: sealer, Clock: f.clock.Now, MainPlatformID: mainID,
		Log: slog.New(slog.DiscardHandler), Logins: f.logins, PasswordParams: testParams,
		ClientInfo: func(context.Context) (string, string) { return "192.0.2.7", "test-agent" },
		Captcha: CaptchaConfig{Answers: func() string {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.n++
			f.answer = fmt.Sprintf("%05d", 10000+f.n*7)
			return f.answer
		}},
	}
	for _, fn := range tweak {
		fn(&cfg)
	}
	f.svc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// captcha draws a captcha and returns its id and answer.
func (f *fixture) captcha() (string, string) {
	f.t.Helper()
	c, err := f.svc.NewCaptcha(f.ctx)
	if err != nil {
		f.t.Fatalf("captcha: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return c.CaptchaID, f.answer
}

// login logs in with a correct captcha.
func (f *fixture) login(account, password string) (*LoginResult, error) {
	id, answer := f.captcha()
	return f.svc.Login(f.ctx, LoginInput{Account: account, Password: password, CaptchaID: id, CaptchaCode: answer})
}

// session logs in and returns the authenticated actor, as the HTTP layer
// would see it.
func (f *fixture) session(account, password string) *actor.Actor {
	f.t.Helper()
	res, err := f.login(account, password)
	if err != nil {
		f.t.Fatalf("login %s: %v", account, err)
	}
	a, err := f.svc.Authenticate(f.ctx, res.Token)
	if err != nil {
		f.t.Fatalf("authenticate %s: %v", account, err)
	}
	f.tokens[a] = res.Token
	return a
}

// reauth authenticates a's session again, as its next request would.
func (f *fixture) reauth(a *actor.Actor) *actor.Actor {
	f.t.Helper()
	b, err := f.svc.Authenticate(f.ctx, f.tokens[a])
	if err != nil {
		f.t.Fatalf("authenticate %s: %v", a.Account, err)
	}
	return b
}

// with returns a context carrying a only (no scope).
func (f *fixture) with(a *actor.Actor) context.Context { return actor.With(f.ctx, a) }

// as returns a context for a's call of a route requiring action: the actor
// and, as the HTTP layer does, the decision's scope.
func (f *fixture) as(a *actor.Actor, action string) context.Context {
	f.t.Helper()
	ctx := actor.With(f.ctx, a)
	sc, err := f.authz.Require(ctx, action, nil)
	if err != nil {
		f.t.Fatalf("%s may not %s: %v", a.Account, action, err)
	}
	return policy.WithScope(ctx, sc)
}

// seedRoot seeds and returns the initial administrator's actor.
func (f *fixture) seedRoot() *actor.Actor {
	f.t.Helper()
	pw, created, err := f.svc.Seed(f.ctx)
	if err != nil || !created {
		f.t.Fatalf("seed: %v %v", created, err)
	}
	return f.session("admin", pw)
}

// platformAdmin creates a platform's administrator as tenancy does and
// returns its actor.
func (f *fixture) platformAdmin(platformID, account, region string) *actor.Actor {
	f.t.Helper()
	var pw string
	err := store.Tx(f.ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		pw, err = f.svc.CreatePlatformAdmin(f.ctx, tx, platformID, account, region)
		return err
	})
	if err != nil {
		f.t.Fatalf("platform admin %s: %v", account, err)
	}
	return f.session(account, pw)
}

// operator creates an operator as by and returns its actor.
func (f *fixture) operator(by *actor.Actor, in OperatorInput) (*Operator, *actor.Actor) {
	f.t.Helper()
	n, err := f.svc.CreateOperator(f.as(by, "operator.create"), in)
	if err != nil {
		f.t.Fatalf("create operator %s: %v", in.Account, err)
	}
	return n.Operator, f.session(in.Account, n.Password)
}

// role creates a role granting perms as by.
func (f *fixture) role(by *actor.Actor, code string, perms ...string) *Role {
	f.t.Helper()
	ids := f.menuIDs(perms...)
	r, err := f.svc.CreateRole(f.as(by, "role.create"), RoleInput{Code: code, Name: code, MenuIDs: ids})
	if err != nil {
		f.t.Fatalf("create role %s: %v", code, err)
	}
	return r
}

// menuIDs returns the ids of the built-in menus carrying perms.
func (f *fixture) menuIDs(perms ...string) []int64 {
	f.t.Helper()
	var ids []int64
	rows, err := f.pool.Query(f.ctx, `SELECT id FROM auth_menus WHERE permission = ANY($1)`, perms)
	if err != nil {
		f.t.Fatal(err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		f.t.Fatal(err)
	}
	if len(ids) != len(perms) {
		f.t.Fatalf("menus for %v: found %d", perms, len(ids))
	}
	return ids
}

// wantCode fails unless err carries the API code want ("" = no error).
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %s", want)
	}
	if got := fault.CodeOf(err); got != want {
		t.Fatalf("error %v: code %s, want %s", err, got, want)
	}
}

func accounts(ops []*Operator) []string {
	var out []string
	for _, o := range ops {
		out = append(out, o.Account)
	}
	slices.Sort(out)
	return out
}
