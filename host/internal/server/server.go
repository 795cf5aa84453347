// Package server is the host's composition root: it turns a config.Config
// into running services — store, policy engine, audit, tenancy, auth, the
// signed-API verifier, and the HTTP layer — and shuts them down in order.
//
// Nothing imports server but the citycode command and end-to-end tests.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/pluginhost"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/whitelist"
)

// Version is the host's version, set at build time with -ldflags.
var Version = "dev"

// Server is a wired host.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	opts  Options
	pool  *pgxpool.Pool
	redis *redis.Client
	// whitelist is the scan and service whitelists, for the plugin host.
	whitelist *whitelist.Service
	policy    *policy.Engine
	audit     *audit.Logger
	plugins   *pluginhost.Service
	api       *httpapi.API
	ready     atomic.Bool
	closers   []func(context.Context) error

	// FirstStart is set when this start created the initial administrator;
	// InitialPassword is its one-time password.
	FirstStart      bool
	InitialPassword string
}

// New connects, migrates, seeds and wires every service.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Server, error) {
	s := &Server{cfg: cfg, log: log, opts: opts}
	if cfg.Database.URL == "" {
		return nil, errors.New("server: no database configured (database.url / DATABASE_URL); `make run` starts a private one")
	}
	pool, err := store.Open(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return nil, err
	}
	s.pool = pool
	s.closers = append(s.closers, func(context.Context) error { pool.Close(); return nil })
	if cfg.Database.AutoMigrate {
		if _, err := store.Migrate(ctx, pool, log); err != nil {
			s.Close(ctx)
			return nil, err
		}
	}
	if err := s.wire(ctx); err != nil {
		s.Close(ctx)
		return nil, err
	}
	s.ready.Store(true)
	return s, nil
}

func (s *Server) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler is the host's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.api.Handler() }

// API exposes the HTTP layer (for the OpenAPI document in tests).
func (s *Server) API() *httpapi.API { return s.api }

// Pool exposes the database pool (for end-to-end tests).
func (s *Server) Pool() *pgxpool.Pool { return s.pool }

// health answers liveness: the process is up and serving.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// readiness answers whether this node should get traffic: not while shutting
// down, and only when the database answers within a second.
func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"shutting down"}`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"database unavailable"}`)
		return
	}
	_, _ = io.WriteString(w, `{"status":"ready","database":"ok"}`)
}

// Run serves until ctx is cancelled, then drains in-flight requests within
// the shutdown timeout and closes every service.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.cfg.HTTP.DebugAddr != "" {
		dbg := &http.Server{Addr: s.cfg.HTTP.DebugAddr, Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				s.log.Error("debug listener", "err", err)
			}
		}()
		defer dbg.Close()
	}
	select {
	case err := <-errc:
		s.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.HTTP.ShutdownTimeout)
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if cerr := s.Close(sctx); err == nil {
		err = cerr
	}
	if err == nil {
		s.log.Info("shutdown complete")
	}
	return err
}

// Close releases every service in reverse order of creation.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// publicBase is the URL prefix of object codes: the configured public base,
// else the listen address.
func (s *Server) publicBase() string {
	if s.cfg.HTTP.PublicBaseURL != "" {
		return strings.TrimRight(s.cfg.HTTP.PublicBaseURL, "/")
	}
	host, port, err := net.SplitHostPort(s.cfg.HTTP.Addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ConsoleURL is where people open the console.
func (s *Server) ConsoleURL(ln net.Listener) string {
	if s.cfg.HTTP.PublicBaseURL != "" {
		return strings.TrimRight(s.cfg.HTTP.PublicBaseURL, "/") + "/"
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s/", net.JoinHostPort(host, port))
}

// NewLogger builds the slog logger of cfg.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
