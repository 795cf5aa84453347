package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Codes is what the host needs of the code engine.
type Codes interface {
	// Resolve verifies a scanned code and answers it with the platform
	// that owns it. A code that exists but cannot be used (revoked, not
	// active) answers the code with a *fault.Error.
	Resolve(ctx context.Context, code string) (*plugin.Code, string, error)
	// MergeAttributes updates an object code of the platform.
	MergeAttributes(ctx context.Context, pluginName, platformID, code string, patch []byte) (*plugin.Code, error)
}

// Runtimes starts a runner for a plugin version.
type Runtimes interface {
	Start(ctx context.Context, m *plugin.Manifest, artefact []byte, sm3 string) (runner.Runner, error)
}

// Auditor records audit entries.
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Config holds the dependencies of the plugin host.
type Config struct {
	Pool     *pgxpool.Pool
	Authz    *policy.Engine
	Audit    Auditor
	Events   *events.Writer
	Codes    Codes
	Persons  Persons // nil: every visitor is a tourist
	Runtimes Runtimes
	Log      *slog.Logger
	Clock    func() time.Time
	// PublicBase is the absolute base URL of landing pages, without a
	// trailing slash: codes hold {PublicBase}/c/{token}.
	PublicBase string
	// PseudonymKey keys the per-plugin visitor pseudonyms (HMAC-SM3).
	PseudonymKey []byte
	// Reload is how often a node looks for versions activated elsewhere;
	// default 2 s.
	Reload time.Duration
	// CallTimeout bounds one plugin call; default 5 s.
	CallTimeout time.Duration
	// MainPlatformID is the main platform: its admins manage plugins.
	MainPlatformID string
	// Services answers whether a URL outside the code's own pages is on
	// the platform's service whitelist (服务白名单), where a plugin may then
	// redirect; nil: only the code's own pages.
	Services func(ctx context.Context, platformID, url string) (bool, error)
}

// Service is the plugin host.
type Service struct {
	cfg Config
	log *slog.Logger

	live   atomic.Pointer[map[string]*loaded] // copy on write
	loadMu sync.Mutex                         // serializes (re)loads
	// breakers rest plugin versions failing in a row (breaker.go), by
	// name@version.
	breakers sync.Map

	decisions     sync.Map // decisionKey → decision
	decisionCount atomic.Int64

	stop chan struct{}
	done chan struct{}
}

// loaded is one running plugin version.
type loaded struct {
	name       string
	version    string
	generation int64
	manifest   *plugin.Manifest
	run        runner.Runner
}

// New makes the plugin host; Start loads the active plugins.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Authz == nil || cfg.Codes == nil || cfg.Runtimes == nil || cfg.Events == nil {
		return nil, errors.New("pluginhost: Pool, Authz, Codes, Events and Runtimes are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 5 * time.Second
	}
	if len(cfg.PseudonymKey) == 0 {
		return nil, errors.New("pluginhost: PseudonymKey is required")
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "pluginhost"), stop: make(chan struct{}), done: make(chan struct{})}
	empty := map[string]*loaded{}
	s.live.Store(&empty)
	return s, nil
}

// Start loads the active version of every plugin and keeps following the
// registry until Close. A plugin that fails to load is logged and left
// out; the others serve.
func (s *Service) Start(ctx context.Context) error {
	// A plugin that fails to load is logged by sync and left out; only a
	// registry that cannot be read stops the start.
	if _, err := s.cfg.Pool.Exec(ctx, `SELECT 1 FROM plugins LIMIT 1`); err != nil {
		return fmt.Errorf("pluginhost: %w", err)
	}
	_ = s.sync(ctx)
	go s.follow()
	return nil
}

func (s *Service) follow() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Reload)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.sync(ctx); err != nil {
				s.log.Warn("plugin registry not followed", "err", err)
			}
			cancel()
		}
	}
}

// Close stops every plugin, waiting for calls in flight until ctx ends.
func (s *Service) Close(ctx context.Context) error {
	s.loadMu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	defer s.loadMu.Unlock()
	old := *s.live.Load()
	empty := map[string]*loaded{}
	s.live.Store(&empty)
	var errs []error
	for _, l := range old {
		if err := l.run.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) get(name string) *loaded { return (*s.live.Load())[name] }

// Health answers every plugin running on this node with its health (nil
// when it can serve).
func (s *Service) Health(ctx context.Context) (map[string]error, error) {
	out := map[string]error{}
	for name, l := range *s.live.Load() {
		out[name] = l.run.Health(ctx)
		if st := s.breakerOf(l).state(s.cfg.Clock()); st != "" && out[name] == nil {
			out[name] = errors.New(st)
		}
	}
	return out, nil
}
