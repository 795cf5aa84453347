package nativert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// instance is one running plugin process.
type instance struct {
	client *goplugin.Client
	native *native.Client
	pid    int
	stdout *lineLog
	stderr *lineLog

	deadOnce sync.Once
	dead     chan struct{} // closed once the process is known gone

	active    atomic.Int64 // Handles in flight on this process
	recycling atomic.Bool  // a replacement is being started
}

func (i *instance) markDead() { i.deadOnce.Do(func() { close(i.dead) }) }

// waitExit reports whether the process exits within grace. go-plugin
// learns of the exit a moment after the connection breaks, when it has
// reaped the process.
func (i *instance) waitExit(grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for {
		if i.client.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(crashPoll)
	}
}

// kill stops the process (gracefully first, as go-plugin does), reaps it
// and flushes its last partial output lines.
func (i *instance) kill() {
	i.client.Kill()
	i.markDead()
	i.stdout.flush()
	i.stderr.flush()
}

// supervise watches the serving process and restarts it when it exits,
// until Close. Restarts wait Backoff, doubled for every failed restart and
// for every process that dies young, up to MaxBackoff. A restart refused
// (a changed executable, a process that does not start) leaves the runner
// unavailable and is retried on the same schedule, so putting the right
// file back heals the runner without restarting the host.
func (r *Runner) supervise(inst *instance) {
	defer close(r.stopped)
	backoff := r.cfg.Backoff
	for {
		if inst != nil {
			since := time.Now()
			exited, next := r.watch(inst)
			if !exited && next == nil {
				return
			}
			if next != nil {
				inst = next // recycled: the replacement is serving
				continue
			}
			r.markDown(inst)
			inst.kill()
			// A recycle may have swapped in a replacement just before this
			// process exited: serve with it rather than start another.
			select {
			case next := <-r.swapped:
				inst = next
				continue
			default:
			}
			if time.Since(since) >= stableUptime {
				backoff = r.cfg.Backoff
			}
		}
		if !r.sleep(backoff) {
			return
		}
		next, err := r.start(r.life)
		delay := backoff
		backoff = min(2*backoff, MaxBackoff)
		if err != nil {
			r.refused(err)
			r.log.Error("plugin restart failed", "error", err, "waited", delay, "retry_in", backoff)
			inst = nil
			continue
		}
		r.up(next)
		r.log.Info("plugin restarted", "pid", next.pid, "waited", delay)
		inst = next
	}
}

// watch waits for inst to exit (exited), for a recycle to replace it
// (next), or for Close (neither).
func (r *Runner) watch(inst *instance) (exited bool, next *instance) {
	t := time.NewTicker(exitPoll)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return false, nil
		case next := <-r.swapped:
			return false, next
		case <-inst.dead:
			return true, nil
		case <-t.C:
			if inst.client.Exited() {
				return true, nil
			}
		}
	}
}

// recycle replaces a process whose call timed out. Go cannot stop the
// handler goroutine that overran: left alone, an endless loop would burn a
// core for the life of the process. A replacement is started and swapped
// in first, so new calls never wait; the old process is killed once its
// other calls have finished or had their deadline.
func (r *Runner) recycle(old *instance) {
	if !old.recycling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		next, err := r.start(r.life)
		if err != nil {
			r.log.Error("plugin process not recycled after a timeout; the old one keeps serving", "pid", old.pid, "error", err)
			return
		}
		r.mu.Lock()
		if r.closed || r.cur != old {
			r.mu.Unlock()
			next.kill()
			return
		}
		r.cur = next
		// Buffered: the supervisor takes it in watch, or right after the
		// old process exits.
		r.swapped <- next
		r.mu.Unlock()
		deadline := time.Now().Add(r.cfg.Timeout)
		for old.active.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		old.kill()
		r.log.Warn("plugin process recycled after a call overran its deadline", "old_pid", old.pid, "pid", next.pid)
	}()
}

// sleep waits d, or answers false at Close.
func (r *Runner) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.stop:
		return false
	case <-t.C:
		return true
	}
}

// start verifies the executable, launches it and connects to it.
func (r *Runner) start(ctx context.Context) (*instance, error) {
	if err := r.verify(); err != nil {
		return nil, err
	}
	inst := &instance{dead: make(chan struct{})}
	inst.stdout = newLineLog(r.logCtx, r.log, "stdout", slogInfo)
	inst.stderr = newLineLog(r.logCtx, r.log, "stderr", slogWarn)
	inst.client = goplugin.NewClient(r.clientConfig(inst))
	var err error
	// The fork must happen on the spawner's thread: see spawner.
	r.spawn.do(func() { _, err = inst.client.Start() })
	if err == nil {
		err = r.connect(ctx, inst)
	}
	if err == nil && r.cfg.MemoryLimitMB > 0 {
		if lerr := limitMemory(inst.pid, uint64(r.cfg.MemoryLimitMB)<<20); lerr != nil {
			err = fmt.Errorf("limiting memory: %w", lerr)
		}
	}
	if err != nil {
		inst.kill()
		return nil, err
	}
	return inst, nil
}

// connect opens the protocol on a started process and checks its ABI.
func (r *Runner) connect(ctx context.Context, inst *instance) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	nc, err := native.Connect(ctx, inst.client)
	if err != nil {
		return err
	}
	if abiMajor(nc.ABI()) != plugin.ABIMajor {
		return fmt.Errorf("%w: the plugin speaks %q, the host %s", runner.ErrABI, nc.ABI(), plugin.ABI)
	}
	inst.native = nc
	inst.pid, _ = strconv.Atoi(inst.client.ID())
	return nil
}

// clientConfig is go-plugin's configuration for one process.
func (r *Runner) clientConfig(inst *instance) *goplugin.ClientConfig {
	cmd := exec.Command(r.cfg.Path)
	cmd.Dir = filepath.Dir(r.cfg.Path)
	cmd.Env = r.env()
	cmd.SysProcAttr = sysProcAttr()
	return &goplugin.ClientConfig{
		HandshakeConfig:  native.Handshake(),
		Plugins:          native.ClientPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     startTimeout,
		SkipHostEnv:      true,
		// The raw stderr carries the plugin's go-plugin log (JSON, parsed
		// back into levels) and Go's crash output; go-plugin hands both
		// to Logger, so Stderr stays unset to not log them twice.
		Logger:     r.hlog,
		SyncStdout: inst.stdout,
		SyncStderr: inst.stderr,
	}
}

// inherited are the host variables a plugin process gets.
var inherited = []string{"PATH", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// env is the process's environment: the few inherited variables, then
// Config.Env (go-plugin adds its own).
func (r *Runner) env() []string {
	var env []string
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, r.cfg.Env...)
}

// verify recomputes the executable's SM3 and compares it with Config.SM3.
//
// go-plugin's SecureConfig would do the same with sm3.New() as its hash,
// but its mismatch is its own error value; this check answers ours
// (runner.ErrChecksum) and names both sums.
func (r *Runner) verify() error {
	b, err := os.ReadFile(r.cfg.Path)
	if err != nil {
		return fmt.Errorf("reading the executable: %w", err)
	}
	if sum := codec.SM3(b); !bytes.Equal(sum[:], r.sum) {
		return fmt.Errorf("%w: %s has SM3 %x, expected %x", runner.ErrChecksum, r.cfg.Path, sum, r.sum)
	}
	return nil
}
