package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/auth/signature"
	"github.com/opencitycode/citycode/host/internal/codeapi"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/interop"
	"github.com/opencitycode/citycode/host/internal/monitor"
	"github.com/opencitycode/citycode/host/internal/nonce"
	"github.com/opencitycode/citycode/host/internal/openplatform"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/risk"
	"github.com/opencitycode/citycode/host/internal/scenes"
	"github.com/opencitycode/citycode/host/internal/stats"
	"github.com/opencitycode/citycode/host/internal/tenancy"
	"github.com/opencitycode/citycode/host/internal/traffic"
	"github.com/opencitycode/citycode/host/internal/ttlcache"
	"github.com/opencitycode/citycode/host/internal/webhooks"
	"github.com/opencitycode/citycode/host/internal/whitelist"
)

// Options are what tests may replace: the clock and the captcha answers.
// Production uses the zero value.
type Options struct {
	Clock          func() time.Time
	CaptchaAnswers func() string
	// WebhookInterval is how often due pushes are looked for (default 1 s).
	WebhookInterval time.Duration
	// InteropAllowInsecure lets business codes' parse services be plain
	// http on loopback (tests stand them up with httptest).
	InteropAllowInsecure bool
}

// wire builds the services and mounts their routes.
func (s *Server) wire(ctx context.Context) error {
	clock := s.opts.Clock
	if clock == nil {
		clock = time.Now
	}
	keyText, err := s.cfg.MasterKeyText(func(b []byte) error { _, err := rand.Read(b); return err })
	if err != nil {
		return err
	}
	key, err := codec.ParseMasterKey(keyText)
	if err != nil {
		return fmt.Errorf("server: master key: %w", err)
	}
	sealer, err := codec.NewSealer(key)
	if err != nil {
		return fmt.Errorf("server: master key: %w", err)
	}

	engine, err := policy.New(ctx, policy.Config{Dir: s.cfg.Policy.Dir, Log: s.log, PollInterval: s.cfg.Policy.PollInterval})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func(context.Context) error { engine.Close(); return nil })
	s.policy = engine

	trail := audit.New(audit.Config{Pool: s.pool, Log: s.log, Clock: clock})
	s.closers = append(s.closers, trail.Close)
	s.audit = trail

	authSvc, err := auth.New(auth.Config{
		Pool: s.pool, Authz: engine, Sealer: sealer, Log: s.log, Clock: clock,
		MainPlatformID: tenancy.MainPlatformID,
		Logins:         loginRecorder{trail},
		ClientInfo:     httpapi.ClientInfo,
		SessionIdle:    s.cfg.Auth.SessionIdle, SessionMax: s.cfg.Auth.SessionMax,
		MaxFailures: s.cfg.Auth.MaxFailures, LockFor: s.cfg.Auth.LockFor,
		Captcha: auth.CaptchaConfig{Answers: s.opts.CaptchaAnswers},
	})
	if err != nil {
		return err
	}
	ten, err := tenancy.New(tenancy.Config{Pool: s.pool, Authz: engine, Sealer: sealer, Admins: authSvc, Log: s.log, Clock: clock})
	if err != nil {
		return err
	}
	if err := ten.Seed(ctx); err != nil {
		return err
	}
	pw, created, err := authSvc.Seed(ctx)
	if err != nil {
		return err
	}
	s.FirstStart, s.InitialPassword = created, pw

	people, err := persons.New(persons.Config{Pool: s.pool, Sealer: sealer, Authz: engine, Log: s.log, Clock: clock})
	if err != nil {
		return err
	}

	// Retired keys verify for as long as anything they signed lasts: holder
	// certificates, the longest.
	keys, err := codekeys.New(codekeys.Config{Pool: s.pool, Sealer: sealer, Authz: engine, Log: s.log, Clock: clock,
		MaxCodeValidity: codeapi.MaxCertificate})
	if err != nil {
		return err
	}
	if err := keys.EnsureKey(ctx, tenancy.MainPlatformID); err != nil {
		return err
	}
	evw, err := events.New(ctx, events.Config{Pool: s.pool, Log: s.log, Clock: clock})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, evw.Close)
	rules, err := codeengine.New(codeengine.Config{Pool: s.pool, Authz: engine, Tenancy: ten, MainPlatformID: tenancy.MainPlatformID, Log: s.log, Clock: clock})
	if err != nil {
		return err
	}
	renderer, err := qr.NewRenderer("")
	if err != nil {
		return err
	}
	if renderer.FontPath() == "" {
		s.log.Warn("no CJK font found: QR captions in Chinese cannot be drawn (install fonts-wqy-microhei)")
	}
	jobs, err := qr.NewJobs(qr.Config{Pool: s.pool, Authz: engine, Log: s.log, Clock: clock, Renderer: renderer})
	if err != nil {
		return err
	}
	// Workers run until Close, not until the start-up context ends.
	jobs.Start(context.WithoutCancel(ctx))
	s.closers = append(s.closers, jobs.Close)
	lists := whitelist.New(whitelist.Config{Pool: s.pool, MainPlatformID: tenancy.MainPlatformID, Clock: clock})
	s.whitelist = lists
	objects, err := codeengine.NewObjects(rules, evw, s.publicBase(), codeengine.WithJobs(jobs),
		codeengine.WithScanWhitelist(func(ctx context.Context, platformID, u string) (bool, error) {
			ok, _, err := lists.Allowed(ctx, whitelist.KindScan, platformID, u)
			return ok, err
		}))
	if err != nil {
		return err
	}
	// Object codes waiting 72 hours for review are approved by every node's
	// sweep (SKIP LOCKED keeps them from approving a code twice).
	objects.Start(context.WithoutCancel(ctx), time.Minute)
	s.closers = append(s.closers, objects.Close)
	blacklists := risk.NewBlacklists(risk.Config{Pool: s.pool, Clock: clock, Log: s.log})
	// The guard needs Redis, connected below; verifies start only once the
	// wiring is done.
	var guard *risk.Guard
	var riskCheck func(ctx context.Context, event, userID, orgID, codeID string) error
	if s.cfg.Risk.Enabled {
		riskCheck = func(ctx context.Context, event, userID, orgID, codeID string) error {
			ev := risk.Event{Type: event, UserID: userID, OrgID: orgID, CodeID: codeID}
			if a := actor.From(ctx); a != nil {
				ev.AppID, ev.PlatformID, ev.IP = a.AppID, a.PlatformID, a.SourceIP
			}
			return guard.Check(ctx, ev)
		}
	}
	catalogue, err := scenes.New(scenes.Config{Pool: s.pool, MainPlatformID: tenancy.MainPlatformID, Log: s.log, Clock: clock,
		Department: func(ctx context.Context, operatorID int64) (string, error) {
			// The caller asks about itself: auth is asked as the system.
			o, err := authSvc.GetOperator(actor.With(ctx, actor.System()), operatorID)
			if err != nil {
				return "", err
			}
			return o.DepartmentID, nil
		}})
	if err != nil {
		return err
	}
	codes, err := codeapi.New(codeapi.Config{Pool: s.pool, Rules: ruleSource{rules}, Codes: codeSigner{keys: keys},
		Persons: people, Sealer: sealer, Events: eventSink{evw}, Log: s.log, Clock: clock, Users: blacklists.AllowUser, Risk: riskCheck,
		Scenes: catalogue.Check})
	if err != nil {
		return err
	}

	nonces, err := s.nonceStore(clock)
	if err != nil {
		return err
	}
	verifier := signature.New(signature.Config{
		Lookup: newAppLookup(ten), Nonces: nonces, Clock: clock,
		Window: s.cfg.Security.SignatureWindow, NonceTTL: s.cfg.Security.NonceTTL,
	})

	var shared redis.UniversalClient
	if s.redis != nil {
		shared = s.redis
	}
	limits := traffic.New(traffic.Config{Pool: s.pool, Redis: shared, Clock: clock, Log: s.log})
	var dbName string
	if err := s.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return err
	}
	guard = risk.NewGuard(risk.GuardConfig{Pool: s.pool, Eval: engine.Eval, Version: engine.Version, Redis: shared, Namespace: dbName,
		MainPlatformID: tenancy.MainPlatformID, Clock: clock, Log: s.log})

	grants := openplatform.New(openplatform.Config{Pool: s.pool, Eval: engine.Eval, Redis: shared, Namespace: dbName, Clock: clock, Log: s.log})
	portal, err := openplatform.NewPortal(openplatform.PortalConfig{Pool: s.pool, Sealer: sealer, Grants: grants, Apps: ten,
		MainPlatformID: tenancy.MainPlatformID, Logins: developerLogins{trail: trail, log: s.log}.record, Clock: clock, Log: s.log})
	if err != nil {
		return err
	}

	reg := s.registry()
	api, err := httpapi.New(httpapi.Config{
		Log:            s.log,
		MaxBodyBytes:   s.cfg.HTTP.MaxBodyBytes,
		Console:        authSvc,
		Developers:     portal,
		Authz:          engine,
		Apps:           appVerifier{verifier},
		Limiter:        limits,
		Gate:           blacklists,
		Grants:         grants,
		Observer:       &auditObserver{trail: trail, log: s.log},
		Registry:       reg,
		TrustedProxies: s.cfg.HTTP.TrustedProxies,
		Title:          "City Code Platform API (城市码平台开放接口)",
		Version:        Version,
	})
	if err != nil {
		return err
	}
	s.api = api
	api.MountHandler(http.MethodGet, "/healthz", http.HandlerFunc(s.health))
	api.MountHandler(http.MethodGet, "/readyz", http.HandlerFunc(s.readiness))
	api.Mount(authSvc.Routes()...)
	api.Mount(ten.Routes()...)
	api.Mount(ten.AppRoutes()...)
	api.Mount(people.Routes()...)
	api.Mount(people.ConsoleRoutes(evw)...)
	api.Mount(keys.Routes()...)
	api.Mount(rules.Routes()...)
	api.Mount(objects.Routes()...)
	api.Mount(objects.LegacyRoutes()...)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		api.MountHandler(m, codeengine.LegacyPrefix+"*", objects.LegacyRedirect())
	}
	api.Mount(jobs.Routes()...)
	api.Mount(jobs.AppRoutes()...)
	enterprises := codeengine.NewEnterprises(objects, nil, keys)
	api.Mount(enterprises.Routes()...)
	api.Mount(codeengine.NewRelations(objects).Routes()...)
	api.Mount(codes.Routes()...)
	api.Mount(codes.ScanRoutes()...)
	api.Mount(codes.HolderRoutes()...)
	api.Mount(codeapi.NewPayments(s.pool, people, clock).Routes()...)
	if err := s.wirePlugins(ctx, api, engine, trail, evw, landingCodes{objects, enterprises}, people, sealer, clock); err != nil {
		return err
	}
	hooks := webhooks.New(webhooks.Config{Pool: s.pool, PublicBase: s.publicBase(), AllowInsecure: s.cfg.Webhooks.AllowInsecure,
		Audit: trail, Log: s.log, Clock: clock, Interval: s.opts.WebhookInterval,
		Secret: func(ctx context.Context, appID string) ([]byte, error) {
			sec, err := ten.AppSecrets(ctx, appID)
			if err != nil {
				return nil, err
			}
			return sec.Secret, nil
		}})
	hooks.Start(context.WithoutCancel(ctx))
	s.closers = append(s.closers, hooks.Close)
	api.Mount(hooks.Routes()...)
	api.Mount(limits.Routes()...)
	api.Mount(lists.Routes()...)
	api.Mount(blacklists.Routes()...)
	api.Mount(guard.Routes()...)
	inter, err := interop.New(interop.Config{Pool: s.pool, Sealer: sealer, MainPlatformID: tenancy.MainPlatformID,
		AllowInsecure: s.opts.InteropAllowInsecure, Clock: clock, Log: s.log,
		App: func(ctx context.Context, appID string) (*interop.App, error) {
			// The caller's scope is judged by interop itself; tenancy is
			// only asked what the app is.
			a, err := ten.GetApp(actor.With(ctx, actor.System()), &tenancy.AppIDIn{AppID: appID})
			if err != nil {
				return nil, err
			}
			return &interop.App{ID: a.AppID, Name: a.Name, PlatformID: a.PlatformID, RegionCode: a.RegionCode}, nil
		},
		AllowTarget: func(ctx context.Context, platformID, u string) (bool, error) {
			ok, _, err := lists.Allowed(ctx, whitelist.KindService, platformID, u)
			return ok, err
		}})
	if err != nil {
		return err
	}
	api.Mount(inter.Routes()...)
	api.Mount(guard.ConfigRoutes()...)
	api.Mount(catalogue.Routes()...)
	api.Mount(catalogue.PageRoutes()...)
	checks := map[string]monitor.Check{"database": func(ctx context.Context) error { return s.pool.Ping(ctx) }}
	if s.redis != nil {
		checks["redis"] = func(ctx context.Context) error { return s.redis.Ping(ctx).Err() }
	}
	api.Mount(monitor.New(monitor.Config{Gatherer: reg, Checks: checks, Plugins: s.plugins.Health}).Routes()...)
	statistics, err := stats.New(stats.Config{Pool: s.pool, Clock: clock, Log: s.log,
		Profile: func(ctx context.Context) (stats.Profile, error) {
			me, err := authSvc.Me(ctx)
			if err != nil {
				return stats.Profile{}, err
			}
			return stats.Profile{Account: me.Operator.Account, Name: me.Operator.Name, LastLoginAt: me.Operator.LastLoginAt}, nil
		},
		// The workbench's interop alerts (互联互通告警记录), in the caller's scope.
		Alerts: func(ctx context.Context, limit int) ([]stats.Alert, error) {
			recs, err := inter.RecentAlerts(ctx, limit)
			if err != nil {
				return nil, err
			}
			out := make([]stats.Alert, len(recs))
			for i, r := range recs {
				out[i] = stats.Alert{CodeName: r.CodeName, AppName: r.AppName, PlatformID: r.PlatformID, At: r.CreatedAt, Reason: r.Reason}
			}
			return out, nil
		}})
	if err != nil {
		return err
	}
	api.Mount(statistics.Routes()...)
	api.Mount(trail.Routes()...)
	api.Mount(engine.Routes()...)
	api.Mount(grants.Routes()...)
	api.Mount(portal.Routes()...)
	docs := openplatform.NewDocs()
	api.Mount(docs.Routes()...)
	limits.KnowRoutes(api.Routes())
	grants.KnowRoutes(api.Routes())
	docs.Know(api.Routes())
	api.ServeOpenAPI()
	return nil
}

// nonceStore is Redis when configured (shared by every node), else memory.
func (s *Server) nonceStore(clock func() time.Time) (signature.NonceStore, error) {
	if s.cfg.Redis.URL == "" {
		s.log.Info("nonces kept in memory: single node (set REDIS_URL to share them across nodes)")
		return nonce.NewMemory(clock), nil
	}
	opt, err := redis.ParseURL(s.cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("server: redis url: %w", err)
	}
	rc := redis.NewClient(opt)
	s.closers = append(s.closers, func(context.Context) error { return rc.Close() })
	pctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rc.Ping(pctx).Err(); err != nil {
		return nil, fmt.Errorf("server: redis: %w", err)
	}
	s.redis = rc
	return nonce.NewRedis(rc, "citycode:nonce:"), nil
}

// appLookup adapts tenancy's app secrets to the signature verifier.
type appLookup struct {
	t *tenancy.Service
	// keys holds parsed SM2 public keys by their text: parsing one (DER,
	// point decompression checks) costs more than the HMAC of a request,
	// and the text of an app's key changes only when the app is edited.
	keys *ttlcache.Cache[string, *codec.SM2PublicKey]
}

func newAppLookup(t *tenancy.Service) *appLookup {
	return &appLookup{t: t, keys: ttlcache.New[string, *codec.SM2PublicKey](time.Hour, 4096, nil)}
}

func (l *appLookup) AppCredentials(ctx context.Context, appID string) (*signature.Credentials, error) {
	sec, err := l.t.AppSecrets(ctx, appID)
	if errors.Is(err, tenancy.ErrAppNotFound) {
		return nil, fmt.Errorf("%w: %s", signature.ErrUnknownApp, appID)
	}
	if err != nil {
		return nil, err
	}
	cred := &signature.Credentials{
		AppID: sec.AppID, PlatformID: sec.PlatformID, Enabled: sec.Enabled,
		Secret: sec.Secret, DataKey: sec.DataKey,
	}
	if sec.SM2PublicKey != "" {
		// Keys are validated when registered; one that no longer parses
		// simply cannot verify SM2 signatures.
		if pk, ok := l.keys.Get(sec.SM2PublicKey); ok {
			cred.SM2PublicKey = pk
		} else if pk, err := codec.ParseSM2PublicKey(sec.SM2PublicKey); err == nil {
			l.keys.Put(sec.SM2PublicKey, pk)
			cred.SM2PublicKey = pk
		}
	}
	return cred, nil
}

// appVerifier adapts the signature verifier to the HTTP layer.
type appVerifier struct{ v *signature.Verifier }

func (a appVerifier) VerifyApp(ctx context.Context, r httpapi.SignedRequest) (*httpapi.VerifiedApp, error) {
	res, err := a.v.Verify(ctx, signature.Request{Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Header: r.Header, Body: r.Body})
	if err != nil {
		return nil, err
	}
	out := &httpapi.VerifiedApp{AppID: res.Credentials.AppID, PlatformID: res.Credentials.PlatformID, Body: res.Body}
	if res.Encrypted {
		cred := res.Credentials
		out.Seal = func(b []byte) ([]byte, error) { return signature.SealResponse(cred, b) }
	}
	return out, nil
}
