package interop

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

const mainID, pdID = "P0000", "P0001"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is a service on its own database with a fake clock; apps and the
// whitelist are fakes (their own packages test them), the database real.
type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	clock *clock
	cfg   Config
	svc   *Service
}

var testApps = map[string]*App{
	"ccmain": {ID: "ccmain", Name: "市级支付", PlatformID: mainID},
	"ccpd":   {ID: "ccpd", Name: "浦东停车", PlatformID: pdID, RegionCode: "310115"},
	"ccscan": {ID: "ccscan", Name: "扫码终端", PlatformID: mainID},
}

func newEnv(t *testing.T, insecure bool) *env {
	t.Helper()
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: storetest.New(t), clock: &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}}
	e.cfg = Config{Pool: e.pool, Sealer: sealer, MainPlatformID: mainID, AllowInsecure: insecure, Clock: e.clock.Now,
		App: func(_ context.Context, id string) (*App, error) {
			if a := testApps[id]; a != nil {
				return a, nil
			}
			return nil, fault.NotFoundf("app %s not found", id)
		},
		AllowTarget: func(_ context.Context, _ string, raw string) (bool, error) {
			u, err := url.Parse(raw)
			return err == nil && u.Scheme == "https" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "land.example.cn"), nil
		}}
	e.svc = e.node()
	return e
}

// node is another host node on the same database.
func (e *env) node() *Service {
	s, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) ctx(a *actor.Actor, sc policy.Scope) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return policy.WithScope(actor.With(ctx, a), sc)
}

func (e *env) admin() context.Context {
	return e.ctx(&actor.Actor{Kind: actor.KindOperator, Account: "admin", OperatorType: actor.Root, PlatformID: mainID, MainPlatform: true},
		policy.Scope{All: true})
}

func (e *env) app(id string) context.Context {
	return e.ctx(&actor.Actor{Kind: actor.KindApp, AppID: id, PlatformID: testApps[id].PlatformID, RequestID: "req-1"}, policy.Scope{})
}

func (e *env) code(in *CodeIn) *Code {
	e.t.Helper()
	c, err := e.svc.createCode(e.admin(), in)
	if err != nil {
		e.t.Fatalf("create %s: %v", in.Name, err)
	}
	return c
}

func (e *env) records(svc *Service) int {
	e.t.Helper()
	p, err := svc.listRecords(e.admin(), &RecordsIn{})
	if err != nil {
		e.t.Fatal(err)
	}
	return int(p.Total)
}

// TestAlertWindowAndCooldown: a failure-rate rule waits for its minimum
// of parses, fires when the rate reaches the threshold, stays quiet for
// its cooldown however long the incident lasts, forgets parses older than
// its window, and fires again after the cooldown. Another node counting
// the same incident does not write a second record within the cooldown.
func TestAlertWindowAndCooldown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(svc.Close)
	c := e.code(&CodeIn{Name: "银联付款码", AppID: "ccmain", MatchKind: MatchPrefix, MatchValue: "62", TargetKind: TargetService, TargetURL: svc.URL})
	rule, err := e.svc.createRule(e.admin(), &RuleIn{CodeID: c.ID, RuleFields: RuleFields{TemplateID: "parse_failure_rate",
		Threshold: 50, WindowSeconds: 60, MinSamples: 4, CooldownSeconds: 120}})
	if err != nil {
		t.Fatal(err)
	}
	failOnce := func(s *Service) {
		t.Helper()
		_, err := s.parseRoute(e.app("ccscan"), &ParseIn{Content: "6212345678"})
		if fault.CodeOf(err) != fault.CodeServiceUnavailable || !strings.Contains(err.Error(), "HTTP 502") {
			t.Fatalf("parse: %v", err)
		}
	}
	for range 3 {
		failOnce(e.svc)
	}
	if n := e.records(e.svc); n != 0 {
		t.Fatalf("under the minimum of parses: %d records", n)
	}
	failOnce(e.svc)
	if n := e.records(e.svc); n != 1 {
		t.Fatalf("at the minimum, 100%%: %d records", n)
	}
	for range 10 {
		e.clock.Advance(time.Second)
		failOnce(e.svc)
	}
	if n := e.records(e.svc); n != 1 {
		t.Fatalf("the same incident: %d records", n)
	}
	// Another node sees the incident too but the cooldown is shared.
	other := e.node()
	for range 4 {
		failOnce(other)
	}
	if n := e.records(e.svc); n != 1 {
		t.Fatalf("another node: %d records", n)
	}

	// Past the window the old failures no longer count; past the cooldown
	// the rule fires again once the minimum is met.
	e.clock.Advance(115 * time.Second)
	for range 3 {
		failOnce(e.svc)
	}
	if n := e.records(e.svc); n != 1 {
		t.Fatalf("a fresh window under its minimum: %d records", n)
	}
	failOnce(e.svc)
	p, err := e.svc.listRecords(e.admin(), &RecordsIn{RuleID: rule.ID})
	if err != nil || p.Total != 2 {
		t.Fatalf("after the cooldown: %+v %v", p, err)
	}
	if r := p.Items[0]; r.Samples != 4 || r.Failures != 4 || r.Measured != 100 || r.WindowSeconds != 60 || *r.RuleID != rule.ID {
		t.Fatalf("the second record: %+v", r)
	}

	// Disabled, the rule is silent; enabled again, it judges afresh, from
	// an empty window.
	if _, err := e.svc.disableRule(e.admin(), &IDIn{ID: rule.ID}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		failOnce(e.svc)
	}
	if n := e.records(e.svc); n != 2 {
		t.Fatalf("a disabled rule: %d records", n)
	}
	if _, err := e.svc.enableRule(e.admin(), &IDIn{ID: rule.ID}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		failOnce(e.svc)
	}
	if n := e.records(e.svc); n != 2 {
		t.Fatalf("enabled again, under its minimum: %d records", n)
	}
	failOnce(e.svc)
	if n := e.records(e.svc); n != 3 {
		t.Fatalf("enabled again: %d records", n)
	}
}

// TestParseServiceFailures: every way a parse service can fail answers
// 503 saying how, never what the service said, and is logged.
func TestParseServiceFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	mux := http.NewServeMux()
	// Slower than the code's timeout (100 ms), not so slow that closing
	// the server waits long for it.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>secret</html>") })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `"`+strings.Repeat("a", maxAnswer)+`"`)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for i, c := range []struct{ path, want string }{
		{srv.URL + "/slow", "no answer within 100 ms"},
		{srv.URL + "/html", "not JSON"},
		{srv.URL + "/huge", "larger than 64 KiB"},
		{srv.URL + "/moved", "HTTP 302"},
		{gone.URL, "could not be reached"},
	} {
		prefix := fmt.Sprintf("F%d-", i)
		e.code(&CodeIn{Name: "code " + prefix, AppID: "ccmain", MatchKind: MatchPrefix, MatchValue: prefix, TargetKind: TargetService,
			TargetURL: c.path, TimeoutMs: 100})
		_, err := e.svc.parseRoute(e.app("ccscan"), &ParseIn{Content: prefix + "123456789"})
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Unavailable || !strings.Contains(fe.Message, c.want) || strings.Contains(fe.Message, "secret") {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	logs, err := e.svc.listLogs(e.admin(), &LogsIn{Status: "failure"})
	if err != nil || logs.Total != 5 || !strings.Contains(logs.Items[0].Reason, "could not be reached") || logs.Items[0].Content != "F4-12****89" {
		t.Fatalf("logs: %+v %v", logs, err)
	}
}

// TestNoLoopbackInProduction: without the insecure option plain http is
// refused at save, and an https parse service that is (or resolves to)
// a loopback address is never connected to.
func TestNoLoopbackInProduction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var called bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { called = true; fmt.Fprint(w, "{}") }))
	t.Cleanup(srv.Close)
	_, err := e.svc.createCode(e.admin(), &CodeIn{Name: "http", AppID: "ccmain", MatchKind: MatchPrefix, MatchValue: "HT",
		TargetKind: TargetService, TargetURL: "http://127.0.0.1:9/parse"})
	if fault.CodeOf(err) != fault.CodeInvalidParameter || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http at save: %v", err)
	}
	e.code(&CodeIn{Name: "loopback", AppID: "ccmain", MatchKind: MatchPrefix, MatchValue: "LB", TargetKind: TargetService, TargetURL: srv.URL})
	_, err = e.svc.parseRoute(e.app("ccscan"), &ParseIn{Content: "LB-1"})
	if fault.CodeOf(err) != fault.CodeServiceUnavailable || !strings.Contains(err.Error(), "could not be reached") || called {
		t.Fatalf("a loopback service: %v (called %v)", err, called)
	}
}

// TestRecentAlerts: the workbench's feed is newest first, capped, and
// holds only the caller's platforms.
func TestRecentAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	for _, app := range []string{"ccmain", "ccpd"} {
		c := e.code(&CodeIn{Name: app, AppID: app, MatchKind: MatchPrefix, MatchValue: strings.ToUpper(app), TargetKind: TargetRedirect,
			TargetURL: "https://land.example.cn/{code}"})
		if _, err := e.svc.createRule(e.admin(), &RuleIn{CodeID: c.ID, RuleFields: RuleFields{TemplateID: "parse_volume", Threshold: 1,
			CooldownSeconds: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	caller := map[string]string{"ccmain": "ccscan", "ccpd": "ccpd"}
	for i := range 3 {
		for _, app := range []string{"ccmain", "ccpd"} {
			if _, err := e.svc.parseRoute(e.app(caller[app]), &ParseIn{Content: strings.ToUpper(app) + "-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if i < 2 {
			e.clock.Advance(11 * time.Second)
		}
	}
	all, err := e.svc.RecentAlerts(e.admin(), 4)
	if err != nil || len(all) != 4 || !all[0].CreatedAt.After(all[3].CreatedAt) {
		t.Fatalf("main platform: %+v %v", all, err)
	}
	pdAdmin := e.ctx(&actor.Actor{Kind: actor.KindOperator, Account: "pd", OperatorType: actor.PlatformAdmin, PlatformID: pdID},
		policy.Scope{PlatformIDs: []string{pdID}})
	pd, err := e.svc.RecentAlerts(pdAdmin, 50)
	if err != nil || len(pd) != 3 {
		t.Fatalf("sub-platform: %+v %v", pd, err)
	}
	for _, r := range pd {
		if r.PlatformID != pdID || r.AppName != "浦东停车" {
			t.Fatalf("sub-platform sees %+v", r)
		}
	}
	if none, err := e.svc.RecentAlerts(e.ctx(&actor.Actor{Kind: actor.KindOperator}, policy.Scope{}), 10); err != nil || len(none) != 0 {
		t.Fatalf("no scope: %+v %v", none, err)
	}
	// A region account sees its region's codes only.
	region, err := e.svc.RecentAlerts(e.ctx(&actor.Actor{Kind: actor.KindOperator}, policy.Scope{PlatformIDs: []string{pdID}, RegionPrefixes: []string{"3101"}}), 10)
	if err != nil || len(region) != 3 {
		t.Fatalf("region: %+v %v", region, err)
	}
}
