package wasmrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Defaults of Config.
const (
	DefaultMemoryLimitMB = 64
	DefaultTimeout       = 2 * time.Second
	DefaultInstances     = 2
)

// maxMemoryLimitMB is what a 32-bit linear memory can address.
const maxMemoryLimitMB = 4096

// Config says what to run and within which limits.
type Config struct {
	// Name is the plugin's name, for logs and errors.
	Name string
	// Module is the .wasm file's content.
	Module []byte
	// CacheDir keeps wazero's compiled code across restarts; empty: no
	// on-disk cache. It must be reserved to wazero.
	CacheDir string
	// MemoryLimitMB caps each instance's linear memory; 0: 64.
	MemoryLimitMB int
	// Timeout bounds one call, capability calls included; 0: 2 s.
	Timeout time.Duration
	// Instances is the pool size, hence the plugin's concurrency; 0: 2.
	Instances int
	// Log receives the guest's output and the runner's events; nil:
	// discarded.
	Log *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, errors.New("wasmrt: Config.Name is required")
	}
	if c.MemoryLimitMB == 0 {
		c.MemoryLimitMB = DefaultMemoryLimitMB
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Instances == 0 {
		c.Instances = DefaultInstances
	}
	if c.MemoryLimitMB < 0 || c.MemoryLimitMB > maxMemoryLimitMB || c.Timeout < 0 || c.Instances < 0 {
		return c, fmt.Errorf("wasmrt: %s: limits out of range (memory %d MB of at most %d, timeout %s, %d instances)",
			c.Name, c.MemoryLimitMB, maxMemoryLimitMB, c.Timeout, c.Instances)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Runner runs one WASM plugin. It is safe for concurrent use; Close
// releases it.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	rt    wazero.Runtime
	cache wazero.CompilationCache // nil without CacheDir
	code  wazero.CompiledModule
	body  bool // the guest takes a body apart (citycode_handle_body)
	pool  *pool

	closeMu sync.Mutex
	closed  bool
}

var _ runner.Runner = (*Runner)(nil)

// New compiles the module, checks that it speaks this host's ABI and
// instantiates Config.Instances instances. ctx bounds that work only.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, log: cfg.Log.With("plugin", cfg.Name)}
	begin := time.Now()
	if err := r.start(ctx); err != nil {
		r.release(context.WithoutCancel(ctx))
		return nil, err
	}
	r.cfg.Module = nil // compiled: no need to keep megabytes of bytecode
	r.log.Info("wasm plugin ready", "instances", cfg.Instances, "memoryLimitMB", cfg.MemoryLimitMB,
		"timeout", cfg.Timeout, "took", time.Since(begin).Round(time.Millisecond))
	return r, nil
}

// Precompile compiles a module into the compilation cache at dir, so that a
// later New with that CacheDir, in a process of the same build of wazero on
// the same CPU, loads it instead of compiling. What is compiled does not
// depend on the rest of the Config.
func Precompile(ctx context.Context, dir string, module []byte) error {
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return fmt.Errorf("wasmrt: compilation cache: %w", err)
	}
	defer cache.Close(ctx)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, module); err != nil {
		return fmt.Errorf("wasmrt: not a usable WASM module: %w", err)
	}
	return nil
}

// start sets up the runtime, the module and the pool.
func (r *Runner) start(ctx context.Context) error {
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(r.cfg.MemoryLimitMB) * pagesPerMB)
	if r.cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(r.cfg.CacheDir)
		if err != nil {
			return fmt.Errorf("wasmrt: %s: compilation cache: %w", r.cfg.Name, err)
		}
		r.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		return fmt.Errorf("wasmrt: %s: WASI: %w", r.cfg.Name, err)
	}
	if err := instantiateHost(ctx, r.rt); err != nil {
		return fmt.Errorf("wasmrt: %s: host module: %w", r.cfg.Name, err)
	}
	code, err := r.rt.CompileModule(ctx, r.cfg.Module)
	if err != nil {
		return fmt.Errorf("wasmrt: %s: not a usable WASM module: %w", r.cfg.Name, err)
	}
	r.code = code
	if err := checkExports(code); err != nil {
		return fmt.Errorf("wasmrt: %s: %w", r.cfg.Name, err)
	}
	r.body = takesBody(code)
	first, err := r.instantiate(ctx)
	if err != nil {
		return err
	}
	r.pool = newPool(r.cfg.Instances, r.instantiate)
	r.pool.idle <- first // the pool owns it from here, even if the check fails
	if err := r.checkABI(ctx, first); err != nil {
		return err
	}
	return r.pool.warm(ctx)
}

// checkABI asks an instance which ABI it speaks.
func (r *Runner) checkABI(ctx context.Context, in *instance) error {
	v, err := in.abi(ctx)
	if err != nil {
		return fmt.Errorf("wasmrt: %s: reading the ABI version: %w", r.cfg.Name, err)
	}
	if major, minor := v>>16, v&0xffff; major != plugin.ABIMajor {
		return fmt.Errorf("wasmrt: %s: %w: the module speaks ABI %d.%d, this host speaks %s",
			r.cfg.Name, runner.ErrABI, major, minor, plugin.ABI)
	}
	return nil
}

// Handle gives the plugin one request on an instance of the pool, waiting
// for one while all are busy. A runtime failure fails this call only and
// discards its instance.
func (r *Runner) Handle(ctx context.Context, req []byte, host runner.HostFunc) ([]byte, error) {
	return r.serve(ctx, req, nil, host)
}

// TakesBody reports whether HandleBody may be used: the guest exports
// citycode_handle_body (ABI 1.1).
func (r *Runner) TakesBody() bool { return r.body }

// HandleBody is Handle for a request whose body is given apart from its
// JSON (which must then hold none).
func (r *Runner) HandleBody(ctx context.Context, req, body []byte, host runner.HostFunc) ([]byte, error) {
	if !r.body {
		return nil, fmt.Errorf("wasmrt: %s: %w: the module takes no body apart (built with an SDK before ABI 1.1)", r.cfg.Name, runner.ErrABI)
	}
	if body == nil {
		body = []byte{}
	}
	return r.serve(ctx, req, body, host)
}

func (r *Runner) serve(ctx context.Context, req, body []byte, host runner.HostFunc) ([]byte, error) {
	in, err := r.pool.get(ctx)
	if err != nil {
		return nil, r.poolError(ctx, err)
	}
	start := time.Now()
	out, err := in.call(ctx, r.cfg.Timeout, req, body, host)
	r.pool.put(ctx, in, err == nil)
	if err != nil {
		return nil, r.failure(in, err, time.Since(start))
	}
	return out, nil
}

// Health answers nil when a call could be served: an instance is idle or
// can be made, or every instance is busy serving.
func (r *Runner) Health(ctx context.Context) error {
	if err := r.pool.probe(ctx); err != nil {
		return r.poolError(ctx, err)
	}
	return nil
}

// Close stops accepting calls (they fail with runner.ErrClosed), waits for
// those in flight until ctx ends, and then releases the runtime, which
// interrupts calls still running. It answers ctx's error if it had to
// interrupt any. Closing twice is a no-op.
func (r *Runner) Close(ctx context.Context) error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.pool.close(ctx)
	r.release(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("wasmrt: %s: closing with calls in flight: %w", r.cfg.Name, err)
	}
	return nil
}

// release closes the runtime (and with it every instance) and the cache.
func (r *Runner) release(ctx context.Context) {
	if r.rt != nil {
		if err := r.rt.Close(ctx); err != nil {
			r.log.Warn("closing the wasm runtime", "err", err)
		}
	}
	if r.cache != nil {
		if err := r.cache.Close(ctx); err != nil {
			r.log.Warn("closing the compilation cache", "err", err)
		}
	}
}
