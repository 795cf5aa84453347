package openplatform

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The engine compiles and tests the policy bundle once per test binary.
var engine = sync.OnceValues(func() (*policy.Engine, error) {
	return policy.New(context.Background(), policy.Config{PollInterval: -1})
})

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sent records what the notifier was asked to deliver; fail makes it fail.
type sent struct {
	mu   sync.Mutex
	msgs []Message
	fail bool
}

func (s *sent) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	if s.fail {
		return errors.New("gateway down")
	}
	return nil
}

type noLogins struct{}

func (noLogins) RecordLogin(context.Context, auth.LoginEvent) error { return nil }

// env is a portal on its own database with the real policy engine and
// tenancy, a fake clock and a recording notifier.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	portal *Portal
	sealer *codec.Sealer
	clock  *fakeClock
	sent   *sent
}

func newEnv(t *testing.T) *env {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: storetest.New(t), sealer: sealer, clock: &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, sent: &sent{}}
	admins, err := auth.New(auth.Config{Pool: e.pool, Authz: eng, Sealer: sealer, MainPlatformID: tenancy.MainPlatformID, Logins: noLogins{}})
	if err != nil {
		t.Fatal(err)
	}
	ten, err := tenancy.New(tenancy.Config{Pool: e.pool, Authz: eng, Sealer: sealer, Admins: admins, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ten.Seed(e.ctx(actor.System())); err != nil {
		t.Fatal(err)
	}
	g := New(Config{Pool: e.pool, Eval: eng.Eval, Clock: e.clock.Now})
	g.KnowRoutes([]*httpapi.Route{
		httpapi.Handle("POST", "/identity/decodeIdentityCode", func(context.Context, *httpapi.Empty) (*httpapi.Empty, error) { return nil, nil }).
			Tag("code-decode").App(),
	})
	e.portal, err = NewPortal(PortalConfig{Pool: e.pool, Sealer: sealer, Grants: g, Apps: ten, Notifier: e.sent, Clock: e.clock.Now,
		Identity: NewLocalAccounts(LocalConfig{Pool: e.pool, Clock: e.clock.Now, MaxFailures: 3, LockFor: 10 * time.Minute,
			PasswordParams: auth.PasswordParams{Memory: 64, Time: 1}})})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) ctx(a *actor.Actor) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	if a == nil {
		return ctx
	}
	return actor.With(ctx, a)
}

// admin is a main-platform administrator with the scope the policy gives.
func (e *env) admin() context.Context {
	return policy.WithScope(e.ctx(&actor.Actor{Kind: actor.KindOperator, OperatorID: 1, Account: "admin", OperatorType: actor.Root,
		PlatformID: tenancy.MainPlatformID, MainPlatform: true}), policy.Scope{All: true})
}

// register registers and logs in a developer and answers its context.
func (e *env) register(account string, in RegisterIn) (context.Context, *Developer) {
	e.t.Helper()
	in.Account, in.Password = account, "Secret2026"
	d, err := e.portal.registerRoute(e.ctx(nil), &in)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: account, Password: "Secret2026"})
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.portal.Authenticate(e.ctx(nil), s.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.ctx(a), d
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if fault.CodeOf(err) != code {
		t.Fatalf("got %v (%s), want %s", err, fault.CodeOf(err), code)
	}
}

// Repeated wrong passwords lock the account, even against the right one,
// until the lock ends; unknown accounts answer like wrong passwords.
func TestLocalAccountLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("lockme", RegisterIn{})
	login := func(pw string) error {
		_, err := e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: "LockMe", Password: pw})
		return err
	}
	wantCode(t, login("Nobody2026x"), fault.CodeInvalidCredential)
	_, err := e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: "ghost", Password: "Secret2026"})
	wantCode(t, err, fault.CodeInvalidCredential)
	wantCode(t, login("Wrong2026"), fault.CodeInvalidCredential)
	wantCode(t, login("Wrong2026"), fault.CodeInvalidCredential)
	wantCode(t, login("Secret2026"), fault.CodeAccountLocked)
	e.clock.Advance(9 * time.Minute)
	wantCode(t, login("Secret2026"), fault.CodeAccountLocked)
	e.clock.Advance(2 * time.Minute)
	if err := login("Secret2026"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// A success resets the count: two more failures do not lock.
	wantCode(t, login("Wrong2026"), fault.CodeInvalidCredential)
	wantCode(t, login("Wrong2026"), fault.CodeInvalidCredential)
	if err := login("Secret2026"); err != nil {
		t.Fatalf("after a reset count: %v", err)
	}
	var hash string
	if err := e.pool.QueryRow(e.ctx(nil), `SELECT password_hash FROM open_local_accounts WHERE account = 'lockme'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := (auth.PasswordParams{Memory: 64, Time: 1}).Verify(hash, "Secret2026"); !ok || err != nil {
		t.Fatalf("the stored hash is not argon2id of the password: %s", hash)
	}
}

// Sessions end when idle for SessionIdle and at SessionMax however
// active; bad tokens are expired sessions; logout ends them.
func TestDeveloperSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("sessions", RegisterIn{})
	s, err := e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: "sessions", Password: "Secret2026"})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(tok string) error { _, err := e.portal.Authenticate(e.ctx(nil), tok); return err }
	for _, bad := range []string{"", "short", s.Token[:42] + "!", codec.RandomToken(32)} {
		wantCode(t, auth(bad), fault.CodeSessionExpired)
	}
	// Active every 20 minutes: alive until the 12 hours are up.
	for range 35 {
		e.clock.Advance(20 * time.Minute)
		if err := auth(s.Token); err != nil {
			t.Fatalf("an active session ended early: %v", err)
		}
	}
	e.clock.Advance(20 * time.Minute)
	wantCode(t, auth(s.Token), fault.CodeSessionExpired)

	s, _ = e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: "sessions", Password: "Secret2026"})
	e.clock.Advance(31 * time.Minute)
	wantCode(t, auth(s.Token), fault.CodeSessionExpired)

	s, _ = e.portal.loginRoute(e.ctx(nil), &LoginIn{Account: "sessions", Password: "Secret2026"})
	a, err := e.portal.Authenticate(e.ctx(nil), s.Token)
	if err != nil || a.Kind != actor.KindDeveloper || a.Account != "sessions" || a.DeveloperID == "" {
		t.Fatalf("actor %+v, %v", a, err)
	}
	if _, err := e.portal.logoutRoute(e.ctx(a), &httpapi.Empty{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, auth(s.Token), fault.CodeSessionExpired)
}

// The profile: personal data sealed at rest and masked in answers; skill
// tags deduplicated; bad URLs, mobiles and emails refused.
func TestDeveloperProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, d := e.register("profile", RegisterIn{Mobile: "13812345678"})
	if d.Mobile != "138****5678" || d.Nickname != "profile" {
		t.Fatalf("registered: %+v", d)
	}
	mobile, email := "13900001111", "someone@example.cn"
	got, err := e.portal.profileRoute(ctx, &ProfileIn{Nickname: "码农", AvatarURL: "https://cdn.example.cn/a.png", Bio: "做闸机的",
		Skills: []string{"Go", " Go", "SM2", ""}, Mobile: &mobile, Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	if got.Mobile != "139****1111" || got.Email != "s***@example.cn" || len(got.Skills) != 2 || got.Nickname != "码农" {
		t.Fatalf("profile: %+v", got)
	}
	var sealedMobile, sealedEmail string
	if err := e.pool.QueryRow(ctx, `SELECT mobile_sealed, email_sealed FROM open_developers WHERE id = $1`, d.ID).Scan(&sealedMobile, &sealedEmail); err != nil {
		t.Fatal(err)
	}
	if plain, err := e.sealer.Open(sealedMobile, purposeMobile); err != nil || string(plain) != mobile || bytes.Contains([]byte(sealedMobile), []byte(mobile)) {
		t.Fatalf("mobile at rest: %q", sealedMobile)
	}
	// Absent mobile and email stay; an empty one is removed.
	empty := ""
	got, err = e.portal.profileRoute(ctx, &ProfileIn{Nickname: "码农", Email: &empty})
	if err != nil || got.Mobile != "139****1111" || got.Email != "" {
		t.Fatalf("partial update: %+v %v", got, err)
	}
	bad := "12345"
	for name, in := range map[string]*ProfileIn{
		"avatar not http": {Nickname: "x", AvatarURL: "ftp://example.cn/a.png"},
		"bad mobile":      {Nickname: "x", Mobile: &bad},
		"bad email":       {Nickname: "x", Email: &bad},
	} {
		if _, err := e.portal.profileRoute(ctx, in); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Files: the content decides the type; too large, empty and foreign
// types are refused.
func TestLicenceUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, _ := e.register("uploader", RegisterIn{})
	up := func(b []byte) (*File, error) {
		return e.portal.uploadRoute(ctx, &UploadIn{Filename: `C:\scans\执照.pdf`, Content: base64.StdEncoding.EncodeToString(b)})
	}
	f, err := up([]byte("%PDF-1.7\n1 0 obj\n"))
	if err != nil || f.ContentType != "application/pdf" || f.Filename != "执照.pdf" {
		t.Fatalf("a PDF: %+v %v", f, err)
	}
	if _, err := up(append([]byte("\xff\xd8\xff"), make([]byte, MaxLicenceBytes)...)); fault.CodeOf(err) != fault.CodeRequestTooLarge {
		t.Fatalf("too large: %v", err)
	}
	if _, err := up([]byte("<html><body>hi</body></html>")); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("HTML: %v", err)
	}
	if _, err := up(nil); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("empty: %v", err)
	}
}

// Review results go to the outbox on every channel of the template the
// developer has an address for (recipients masked there, in full to the
// notifier); a failed delivery is recorded, the review stands.
func TestReviewNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, d := e.register("notified", RegisterIn{Mobile: "13812345678", Email: "dev@example.cn"})
	q, err := e.portal.submitQualificationRoute(ctx, &QualificationIn{Kind: KindPersonal, RealName: "李四", CertNo: "11010519491231002x", Contact: "dev@example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	if q.RealName != "李*" || q.CertNo != "110***********002X" || q.Contact != "d***@example.cn" {
		t.Fatalf("masked: %+v", q)
	}
	e.sent.fail = true
	no := false
	if _, err := e.portal.reviewQualificationRoute(e.admin(), &ReviewIn{ID: q.ID, Approve: &no, Reason: "证件过期"}); err != nil {
		t.Fatal(err)
	}
	rows, err := e.pool.Query(ctx, `SELECT channel, recipient, status, body FROM open_outbox WHERE developer_id = $1 AND template = 'qualification.rejected' ORDER BY channel`, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var ch, to, status, body string
		if err := rows.Scan(&ch, &to, &status, &body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains([]byte(body), []byte("证件过期")) {
			t.Errorf("%s body without the reason: %s", ch, body)
		}
		got = append(got, ch+" "+to+" "+status)
	}
	want := []string{"email d***@example.cn failed", "site  recorded", "sms 138****5678 failed"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("outbox: %q", got)
	}
	if len(e.sent.msgs) != 2 || e.sent.msgs[0].Recipient != "13812345678" && e.sent.msgs[1].Recipient != "13812345678" {
		t.Fatalf("delivered: %+v", e.sent.msgs)
	}
	me, _ := e.portal.meRoute(ctx, &httpapi.Empty{})
	if me.Certification != ReviewRejected {
		t.Fatalf("certification after rejection: %s", me.Certification)
	}
	// Resubmitted and approved: the developer is certified.
	q, err = e.portal.submitQualificationRoute(ctx, &QualificationIn{Kind: KindPersonal, RealName: "李四", CertNo: "11010519491231002X", Contact: "13812345678"})
	if err != nil {
		t.Fatal(err)
	}
	e.sent.fail = false
	yes := true
	if _, err := e.portal.reviewQualificationRoute(e.admin(), &ReviewIn{ID: q.ID, Approve: &yes}); err != nil {
		t.Fatal(err)
	}
	var sentCount int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM open_outbox WHERE developer_id = $1 AND template = 'qualification.approved' AND status = 'sent'`, d.ID).Scan(&sentCount); err != nil {
		t.Fatal(err)
	}
	if sentCount != 2 {
		t.Fatalf("approved and sent: %d", sentCount)
	}
	if _, err := e.portal.submitQualificationRoute(ctx, &QualificationIn{Kind: KindPersonal, RealName: "李四", CertNo: "11010519491231002X", Contact: "13812345678"}); fault.CodeOf(err) != fault.CodeFailedOperation {
		t.Fatalf("a certified developer resubmits: %v", err)
	}
}

// certified registers a developer whose enterprise qualification is
// approved.
func (e *env) certified(account string) context.Context {
	e.t.Helper()
	ctx, _ := e.register(account, RegisterIn{Email: account + "@example.cn"})
	f, err := e.portal.uploadRoute(ctx, &UploadIn{Filename: "l.pdf", Content: base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 licence"))})
	if err != nil {
		e.t.Fatal(err)
	}
	q, err := e.portal.submitQualificationRoute(ctx, &QualificationIn{Kind: KindEnterprise, EnterpriseName: account + "科技有限公司",
		CreditCode: "91310104MA1FR9XK8E", LicenceFileID: f.ID, Contact: "13812345678"})
	if err != nil {
		e.t.Fatal(err)
	}
	yes := true
	if _, err := e.portal.reviewQualificationRoute(e.admin(), &ReviewIn{ID: q.ID, Approve: &yes}); err != nil {
		e.t.Fatal(err)
	}
	return ctx
}

// Apps are restricted from their creation; an approved application joins
// the grants (an administrator's quota overriding the one applied for),
// a rejected one does not; a frozen developer's app is refused even what
// it holds, until restored.
func TestApplicationsAndFreeze(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.certified("gatemaker")
	other := e.certified("othermaker")
	app, err := e.portal.createAppRoute(ctx, &NewAppIn{Name: "闸机", Type: "server"})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.AppSecret) != 64 || app.Status != "enabled" || len(app.Grants) != 0 {
		t.Fatalf("created: %+v", app)
	}
	if _, err := e.portal.createAppRoute(other, &NewAppIn{Name: "闸机", Type: "server"}); fault.CodeOf(err) != fault.CodeResourceAlreadyExists {
		t.Fatalf("a second app of the same name: %v", err)
	}
	var unit string
	if err := e.pool.QueryRow(ctx, `SELECT business_unit FROM apps WHERE id = $1`, app.AppID).Scan(&unit); err != nil || unit != "gatemaker科技有限公司" {
		t.Fatalf("business unit %q %v", unit, err)
	}
	route := e.portal.cfg.Grants.catalogue["code-decode"]
	decodeRoute := httpapi.Handle("POST", route.Routes[0].Path, func(context.Context, *httpapi.Empty) (*httpapi.Empty, error) { return nil, nil }).
		Tag("code-decode").App()
	permit := func() error { return e.portal.cfg.Grants.Permit(e.ctx(nil), decodeRoute, app.AppID) }
	wantCode(t, permit(), fault.CodeUnauthorizedOperation)

	apply := func(quota int64) *Application {
		t.Helper()
		a, err := e.portal.applyRoute(ctx, &ApplyIn{AppID: app.AppID, Capability: "code-decode", Quota: &quota, Reason: "验码"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if _, err := e.portal.applyRoute(other, &ApplyIn{AppID: app.AppID, Capability: "code-decode", Reason: "x"}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("another developer applies for the app: %v", err)
	}
	no, yes := false, true
	a := apply(100)
	if _, err := e.portal.reviewApplicationRoute(e.admin(), &ApplicationReviewIn{ReviewIn: ReviewIn{ID: a.ID, Approve: &no, Reason: "用途不明"}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, permit(), fault.CodeUnauthorizedOperation)
	a = apply(100)
	two := int64(2)
	got, err := e.portal.reviewApplicationRoute(e.admin(), &ApplicationReviewIn{ReviewIn: ReviewIn{ID: a.ID, Approve: &yes}, Quota: &two})
	if err != nil || got.Status != ReviewApproved || *got.Quota != 2 {
		t.Fatalf("approved: %+v %v", got, err)
	}
	for range 2 {
		if err := permit(); err != nil {
			t.Fatalf("within the quota: %v", err)
		}
	}
	wantCode(t, permit(), fault.CodeQuota)

	dev := developerOf(ctx)
	if _, err := e.portal.freezeRoute(e.admin(), &FreezeIn{ID: dev, Reason: "违规"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.portal.freezeRoute(e.admin(), &FreezeIn{ID: dev, Reason: "违规"}); fault.CodeOf(err) != fault.CodeFailedOperation {
		t.Fatalf("frozen twice: %v", err)
	}
	wantCode(t, permit(), fault.CodeUnauthorizedOperation)
	// Lifting the app's restriction does not thaw a frozen developer's app.
	if _, err := e.pool.Exec(ctx, `UPDATE app_grant_modes SET restricted = false WHERE app_id = $1`, app.AppID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Second)
	wantCode(t, permit(), fault.CodeUnauthorizedOperation)
	if _, err := e.portal.restoreRoute(e.admin(), &DeveloperIDIn{ID: dev}); err != nil {
		t.Fatal(err)
	}
	if err := permit(); err != nil {
		t.Fatalf("restored and unrestricted: %v", err)
	}
	// A sub-platform administrator's scope holds no developer.
	sub := policy.WithScope(e.ctx(&actor.Actor{Kind: actor.KindOperator, Account: "sub", OperatorType: actor.PlatformAdmin, PlatformID: "P0001"}),
		policy.Scope{PlatformIDs: []string{"P0001"}})
	if _, err := e.portal.freezeRoute(sub, &FreezeIn{ID: dev, Reason: "x"}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("a sub-platform freezes: %v", err)
	}
	if page, err := e.portal.applicationsRoute(sub, &ApplicationsIn{}); err != nil || page.Total != 0 {
		t.Fatalf("a sub-platform's applications: %+v %v", page, err)
	}
	if page, err := e.portal.applicationsRoute(e.admin(), &ApplicationsIn{Status: ReviewRejected}); err != nil || page.Total != 1 || page.Items[0].ReviewReason != "用途不明" {
		t.Fatalf("rejected applications: %+v %v", page, err)
	}
}
