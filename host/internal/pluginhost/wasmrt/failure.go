package wasmrt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
)

// failure turns the error of a failed call into the runner error it
// means. The instance has been discarded already.
func (r *Runner) failure(in *instance, err error, elapsed time.Duration) error {
	name := r.cfg.Name
	var exit *sys.ExitError
	errors.As(err, &exit)
	switch {
	case exit != nil && exit.ExitCode() == sys.ExitCodeDeadlineExceeded, errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("wasmrt: %s: %w: interrupted after %s (limit %s); instance discarded",
			name, runner.ErrTimeout, elapsed.Round(time.Millisecond), r.cfg.Timeout)
	case exit != nil && exit.ExitCode() == sys.ExitCodeContextCanceled, errors.Is(err, context.Canceled):
		return fmt.Errorf("wasmrt: %s: call canceled after %s; instance discarded: %w",
			name, elapsed.Round(time.Millisecond), context.Canceled)
	case r.pool.stopped() && exit != nil && exit.ExitCode() == 0:
		return fmt.Errorf("wasmrt: %s: %w: the call was interrupted", name, runner.ErrClosed)
	case in.outOfMemory(r.cfg.MemoryLimitMB):
		return fmt.Errorf("wasmrt: %s: %w of %d MB: %s; instance discarded",
			name, runner.ErrOutOfMemory, r.cfg.MemoryLimitMB, in.describe(err))
	}
	return fmt.Errorf("wasmrt: %s: %w: %s; instance discarded", name, runner.ErrCrashed, in.describe(err))
}

// describe says what went wrong in the guest: the failure line it printed
// (a Go panic or fatal error) and how it stopped.
func (in *instance) describe(err error) string {
	var how string
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		how = "deadline exceeded"
	case exit != nil && exit.ExitCode() == sys.ExitCodeContextCanceled:
		how = "canceled"
	case exit != nil:
		how = fmt.Sprintf("exited with code %d", exit.ExitCode())
	default:
		how, _, _ = strings.Cut(err.Error(), "\n") // the trap; a wasm stack trace follows
	}
	if in.stderr.failure != "" {
		return in.stderr.failure + " (" + how + ")"
	}
	return how
}

// oomMargin: a guest that failed within this much of its memory limit is
// taken to have run out of memory (a memory.grow beyond the limit fails,
// and guests then abort in their own ways).
const oomMargin = 4 << 20

// outOfMemory reports whether a failed call ran out of memory: the guest
// said so (Go's "fatal error: out of memory"), or it failed, without a
// panic of its own, with its memory at the limit.
func (in *instance) outOfMemory(limitMB int) bool {
	msg := in.stderr.failure
	if strings.Contains(msg, "out of memory") {
		return true
	}
	if strings.HasPrefix(msg, "panic: ") {
		return false
	}
	return in.memoryBytes()+oomMargin >= uint64(limitMB)<<20
}

// poolError explains why no instance could be had.
func (r *Runner) poolError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, runner.ErrClosed):
		return fmt.Errorf("wasmrt: %s: %w", r.cfg.Name, runner.ErrClosed)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("wasmrt: %s: %w: all %d instances stayed busy: %w", r.cfg.Name, runner.ErrTimeout, r.cfg.Instances, ctx.Err())
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("wasmrt: %s: canceled waiting for an instance: %w", r.cfg.Name, err)
	}
	return err // from instantiate, which names the plugin
}
