package wasmrt

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
)

// pagesPerMB is the number of 64 KiB WASM pages in a MiB.
const pagesPerMB = 16

// errABIViolation is a guest breaking the ABI: a buffer outside its
// memory, a missing answer. Such a call fails as a crash.
var errABIViolation = errors.New("ABI violation")

// instance is one instantiated module. It serves one call at a time; the
// pool hands it from call to call, which orders the accesses to its fields.
type instance struct {
	mod                 api.Module
	alloc, free, handle api.Function
	handleBody          api.Function // nil when the guest lacks it
	stdout, stderr      *lineWriter

	// Set while serving a call.
	host    runner.HostFunc // where the guest's capability calls go
	pending []byte          // the CallResult the guest is to take
	done    <-chan struct{} // the call's end, which cuts guest sleeps short

	stack [3]uint64 // arguments and results of calls into the guest
}

// instanceKey carries the instance being called in the context of the
// call, for the host functions.
type instanceKey struct{}

// initTimeout bounds an instance's initialization (the guest's runtime and
// init functions), which is not a call and may take longer than one.
const initTimeout = 10 * time.Second

// instantiate makes a new instance and runs its initialization.
func (r *Runner) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, max(initTimeout, r.cfg.Timeout))
	defer cancel()
	in := &instance{
		stdout: newLineWriter(r.log, slog.LevelInfo, "stdout"),
		stderr: newLineWriter(r.log, slog.LevelWarn, "stderr"),
		done:   ctx.Done(),
	}
	defer func() { in.done = nil }()
	mc := wazero.NewModuleConfig().
		WithName(""). // anonymous: the pool instantiates the module many times
		WithStartFunctions("_initialize").
		WithStdout(in.stdout).
		WithStderr(in.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(in.sleep).
		WithRandSource(rand.Reader)
	mod, err := r.rt.InstantiateModule(context.WithValue(ctx, instanceKey{}, in), r.code, mc)
	if err != nil {
		in.flush()
		return nil, fmt.Errorf("wasmrt: %s: %w: instantiating: %s", r.cfg.Name, runner.ErrUnavailable, in.describe(err))
	}
	in.mod = mod
	in.alloc = mod.ExportedFunction(exportAlloc)
	in.free = mod.ExportedFunction(exportFree)
	in.handle = mod.ExportedFunction(exportHandle)
	if r.body {
		in.handleBody = mod.ExportedFunction(exportHandleBody)
	}
	return in, nil
}

// abi calls citycode_abi.
func (in *instance) abi(ctx context.Context) (uint32, error) {
	v, err := in.invoke(ctx, in.mod.ExportedFunction(exportABI))
	return uint32(v), err
}

// call serves one request: it copies it into a guest buffer, runs
// citycode_handle, copies the Outcome out and frees it in the guest. A
// body given apart follows the JSON in the buffer, for
// citycode_handle_body (the runner passes one only when the guest has it).
func (in *instance) call(ctx context.Context, timeout time.Duration, req, body []byte, host runner.HostFunc) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = context.WithValue(ctx, instanceKey{}, in)
	if host == nil {
		host = refuse
	}
	in.host, in.done = host, ctx.Done()
	in.stderr.failure = ""
	defer func() { in.host, in.pending, in.done = nil, nil, nil }()

	framed := body != nil && in.handleBody != nil
	size := len(req)
	if framed {
		size += len(body)
	}
	ptr, err := in.invoke(ctx, in.alloc, uint64(size))
	if err != nil {
		return nil, err
	}
	mem := in.mod.Memory()
	if !mem.Write(uint32(ptr), req) || (framed && !mem.Write(uint32(ptr)+uint32(len(req)), body)) {
		return nil, fmt.Errorf("%w: citycode_alloc answered %#x, outside its memory", errABIViolation, ptr)
	}
	var res uint64
	if framed {
		res, err = in.invoke(ctx, in.handleBody, ptr, uint64(size), uint64(len(req)))
	} else {
		res, err = in.invoke(ctx, in.handle, ptr, uint64(len(req)))
	}
	if err != nil {
		return nil, err
	}
	outPtr, outLen := uint32(res>>32), uint32(res)
	b, ok := in.mod.Memory().Read(outPtr, outLen)
	if !ok || outLen == 0 {
		return nil, fmt.Errorf("%w: citycode_handle answered %d bytes at %#x", errABIViolation, outLen, outPtr)
	}
	out := bytes.Clone(b)
	if _, err := in.invoke(ctx, in.free, uint64(outPtr)); err != nil {
		return nil, err
	}
	return out, nil
}

// invoke calls a guest function without allocating; it answers the first
// result, if any.
func (in *instance) invoke(ctx context.Context, fn api.Function, args ...uint64) (uint64, error) {
	stack := in.stack[:]
	copy(stack, args)
	if err := fn.CallWithStack(ctx, stack); err != nil {
		return 0, err
	}
	return stack[0], nil
}

// capability answers a capability call of the guest through the call's
// host function.
func (in *instance) capability(ctx context.Context, call []byte) []byte {
	res := noRequest
	if in.host != nil {
		res = in.host(ctx, call)
	}
	if len(res) == 0 {
		res = noAnswer
	}
	in.pending = res
	return res
}

// Answers to capability calls the host cannot carry: one made outside a
// request (during initialization), one the host function left unanswered,
// one made in a call given no host function.
var (
	noRequest = []byte(`{"error":{"code":"ServiceUnavailable","message":"no request in flight"}}`)
	noAnswer  = []byte(`{"error":{"code":"InternalError","message":"the host answered nothing"}}`)
	noHost    = []byte(`{"error":{"code":"ServiceUnavailable","message":"no capabilities in this call"}}`)
)

func refuse(context.Context, []byte) []byte { return noHost }

// sleep is the guest's clock sleep: it ends early when the call does, so
// that a sleeping guest cannot outlive its deadline.
func (in *instance) sleep(ns int64) {
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-in.done:
	}
}

// dead reports whether the instance was closed, by a failure or its
// context.
func (in *instance) dead() bool { return in.mod.IsClosed() }

// memoryBytes is the size of the guest's linear memory.
func (in *instance) memoryBytes() uint64 {
	if mem := in.mod.Memory(); mem != nil {
		return uint64(mem.Size())
	}
	return 0
}

// close discards the instance.
func (in *instance) close(ctx context.Context) {
	in.flush()
	_ = in.mod.Close(ctx) // nothing to do about a failure: the instance is gone
}

// flush logs what the guest printed without a final newline.
func (in *instance) flush() {
	in.stdout.flush()
	in.stderr.flush()
}
