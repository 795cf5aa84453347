package nativert

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
)

// Defaults and bounds of a Runner.
const (
	DefaultTimeout = 5 * time.Second        // per-call deadline
	DefaultBackoff = 200 * time.Millisecond // first restart delay
	MaxBackoff     = 10 * time.Second       // restart delays double up to this

	startTimeout = 10 * time.Second      // launch, handshake and Init
	exitPoll     = 50 * time.Millisecond // how often the supervisor looks at the process
	crashGrace   = time.Second           // how long a failed call waits to see the process gone
	crashPoll    = 5 * time.Millisecond  // and how often it looks meanwhile
	stableUptime = MaxBackoff            // a process up this long resets the backoff
)

// Config configures a Runner.
type Config struct {
	// Name is the plugin's name: the plugin attribute of its log lines and
	// the prefix of errors.
	Name string
	// Path is the plugin executable.
	Path string
	// SM3 is the hex SM3 checksum of the executable. Every start checks it
	// and refuses a file that does not match.
	SM3 string
	// Log is the host log; nil discards.
	Log *slog.Logger
	// Timeout is the deadline of one call (DefaultTimeout when zero).
	Timeout time.Duration
	// Backoff is the delay before the first restart after the process
	// exited (DefaultBackoff when zero); it doubles, up to MaxBackoff, for
	// every restart that fails or whose process exits again before
	// MaxBackoff has passed.
	Backoff time.Duration
	// MemoryLimitMB caps the process's writable memory (heap, stacks);
	// 0: no cap.
	MemoryLimitMB int
	// Env is the process's environment ("KEY=value") besides PATH, LANG,
	// LC_ALL, TZ and TMPDIR: the host's own environment holds its secrets
	// and is not inherited.
	Env []string
}

// check validates c and fills in the defaults.
func (c Config) check() (Config, []byte, error) {
	if c.Name == "" {
		return c, nil, errors.New("nativert: Config.Name is required")
	}
	if c.Path == "" {
		return c, nil, fmt.Errorf("nativert: %s: Config.Path is required", c.Name)
	}
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return c, nil, fmt.Errorf("nativert: %s: %w", c.Name, err)
	}
	c.Path = abs
	sum, err := hex.DecodeString(c.SM3)
	if err != nil || len(sum) != 32 {
		return c, nil, fmt.Errorf("nativert: %s: Config.SM3 must be 64 hex digits", c.Name)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, sum, nil
}

// Runner runs one native plugin version as a supervised process. It is
// safe for concurrent use; calls run concurrently in the one process.
type Runner struct {
	cfg    Config
	sum    []byte // the expected SM3
	log    *slog.Logger
	logCtx context.Context // values for log lines of no request
	hlog   hclog.Logger    // go-plugin's log, into log
	spawn  *spawner

	life   context.Context // ends when Close stops the supervisor
	cancel context.CancelFunc

	mu     sync.Mutex
	cur    *instance // the serving process; nil during an outage
	down   error     // why cur is nil
	closed bool
	calls  sync.WaitGroup // Handles in flight

	closeOnce sync.Once
	closeErr  error
	swapped   chan *instance // a recycle's replacement, for the supervisor to watch
	stop      chan struct{}  // closed by Close: the supervisor stops
	stopped   chan struct{}  // closed by the supervisor when it stopped
}

var _ runner.Runner = (*Runner)(nil)

// New verifies the executable, starts it and answers a Runner serving it.
// It fails when the checksum does not match (an error wrapping
// runner.ErrChecksum) or the first start fails; later exits are the
// supervisor's to restart. ctx bounds the first start, and its values go
// with the runner's log lines.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	cfg, sum, err := cfg.check()
	if err != nil {
		return nil, err
	}
	log := cfg.Log.With("plugin", cfg.Name)
	logCtx := context.WithoutCancel(ctx)
	r := &Runner{
		cfg: cfg, sum: sum, log: log, logCtx: logCtx,
		hlog:    newHCLogger(logCtx, log),
		spawn:   newSpawner(),
		swapped: make(chan *instance, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	r.life, r.cancel = context.WithCancel(logCtx)
	inst, err := r.start(ctx)
	if err != nil {
		r.cancel()
		r.spawn.close()
		return nil, fmt.Errorf("nativert: %s: %w", cfg.Name, err)
	}
	r.cur = inst
	log.Info("plugin serving", "pid", inst.pid, "abi", inst.native.ABI())
	go r.supervise(inst)
	return r, nil
}

// Handle implements runner.Runner. The call gets the runner's deadline (or
// ctx's, when sooner): past it the error wraps runner.ErrTimeout. During
// an outage it fails at once with runner.ErrUnavailable; a call in flight
// when the process dies fails with runner.ErrCrashed.
func (r *Runner) Handle(ctx context.Context, req []byte, host runner.HostFunc) ([]byte, error) {
	inst, err := r.acquire(true)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer r.calls.Done()
	inst.active.Add(1)
	defer inst.active.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	out, err := inst.native.Handle(ctx, req, host)
	if err != nil {
		err = r.failure(inst, err)
		if errors.Is(err, runner.ErrTimeout) {
			r.recycle(inst)
		}
		return nil, r.wrap(err)
	}
	return out, nil
}

// Health implements runner.Runner: nil when the process is up and answers
// a gRPC health check; during an outage an error wrapping
// runner.ErrUnavailable and its cause (runner.ErrChecksum when the
// executable changed).
func (r *Runner) Health(ctx context.Context) error {
	inst, err := r.acquire(false)
	if err != nil {
		return r.wrap(err)
	}
	if err := inst.native.Ping(ctx); err != nil {
		return r.wrap(fmt.Errorf("%w: %w", runner.ErrUnavailable, err))
	}
	return nil
}

// Close implements runner.Runner: new calls fail with runner.ErrClosed,
// calls in flight have until ctx ends to finish, then the process is
// stopped whatever remains. Later Closes answer the first one's error.
func (r *Runner) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.shutdown(ctx) })
	return r.closeErr
}

func (r *Runner) shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	drained := make(chan struct{})
	go func() { r.calls.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("nativert: %s: stopped with calls in flight: %w", r.cfg.Name, ctx.Err())
	}
	r.cancel()
	close(r.stop)
	<-r.stopped
	r.mu.Lock()
	inst := r.cur
	r.cur, r.down = nil, runner.ErrClosed
	r.mu.Unlock()
	if inst != nil {
		inst.kill()
	}
	r.spawn.close()
	r.log.Info("plugin stopped")
	return err
}

// acquire answers the serving process, or why there is none. With track,
// the caller is a Handle: Close waits for it until the caller calls
// r.calls.Done.
func (r *Runner) acquire(track bool) (*instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return nil, runner.ErrClosed
	case r.cur == nil:
		return nil, r.down
	case r.cur.client.Exited():
		r.markDownLocked(r.cur)
		return nil, r.down
	}
	if track {
		r.calls.Add(1)
	}
	return r.cur, nil
}

// failure says why a call failed: its deadline, its caller, the death of
// the process, or the connection.
func (r *Runner) failure(inst *instance, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", runner.ErrTimeout, err)
	case errors.Is(err, context.Canceled):
		return err
	case inst.waitExit(crashGrace):
		r.markDown(inst)
		return fmt.Errorf("%w: process %d exited while serving the call", runner.ErrCrashed, inst.pid)
	}
	return fmt.Errorf("%w: %w", runner.ErrUnavailable, err)
}

// markDown takes inst out of service, if it still is, and wakes the
// supervisor.
func (r *Runner) markDown(inst *instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.markDownLocked(inst)
}

func (r *Runner) markDownLocked(inst *instance) {
	inst.markDead()
	if r.cur != inst {
		return
	}
	r.cur = nil
	r.down = fmt.Errorf("%w: process %d exited; restarting", runner.ErrUnavailable, inst.pid)
	r.log.Warn("plugin process exited", "pid", inst.pid)
}

// up puts a started process in service.
func (r *Runner) up(inst *instance) {
	r.mu.Lock()
	r.cur, r.down = inst, nil
	r.mu.Unlock()
}

// refused records why a restart failed.
func (r *Runner) refused(err error) {
	r.mu.Lock()
	r.down = fmt.Errorf("%w: %w", runner.ErrUnavailable, err)
	r.mu.Unlock()
}

func (r *Runner) wrap(err error) error { return fmt.Errorf("plugin %s: %w", r.cfg.Name, err) }

// abiMajor is the major of an "x.y" ABI version; -1 when malformed.
func abiMajor(v string) int {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return -1
	}
	return n
}
