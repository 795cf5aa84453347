package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// parentPoll is how often Serve checks that its host is still alive.
const parentPoll = 200 * time.Millisecond

// exitOrphaned is the exit status of a plugin whose host died.
const exitOrphaned = 2

// Serve serves h as a native plugin until the host stops it, then returns;
// a plugin's main calls it and nothing else. Run by hand (without the
// host's handshake cookie) it prints a notice and exits with status 1.
//
// Requests are served concurrently, each on its own goroutine: h must be
// safe for concurrent use. A panic in h answers the request with an Outcome
// error CodePanic and the process goes on serving; a panic in a goroutine
// that h started kills the process, which the host then restarts. h's
// context ends at the host's deadline; whatever h answers after that is
// dropped and the host sees a timeout.
//
// After Serve starts, what the plugin writes to os.Stdout, os.Stderr and
// the standard log package reaches the host's log under the plugin's name.
func Serve(h plugin.Handler) {
	go watchParent(os.Getppid(), os.Getppid, parentPoll, func() { os.Exit(exitOrphaned) })
	// The log package captured the process's stderr when it was
	// initialised; go-plugin swaps os.Stderr for a stream to the host only
	// inside goplugin.Serve, so log through whatever os.Stderr is then.
	log.SetOutput(stderrNow{})
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Info,
		JSONFormat: true, // the host parses the levels back out
		Output:     os.Stderr,
	})
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         goplugin.PluginSet{plugin.NativePluginName: &grpcPlugin{server: &server{handler: h, log: logger}}},
		GRPCServer:      newGRPCServer,
		Logger:          logger,
	})
}

// newGRPCServer is the plugin's gRPC server, with our message bound.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))...)
}

// stderrNow writes to the current os.Stderr.
type stderrNow struct{}

func (stderrNow) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

// watchParent calls exit once getppid stops answering parent: the host
// died and the process was re-parented. It is the portable half of the
// no-orphan guarantee; the host's parent-death signal is the fast half, but
// that signal is tied to the host thread that started the process and can
// be lost (another exec wrapper in between, a host that is not Go on
// Linux), and a SIGKILLed host runs no cleanup at all.
func watchParent(parent int, getppid func() int, every time.Duration, exit func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if getppid() != parent {
			exit()
			return
		}
	}
}

// server is the plugin end: it runs the handler and carries its capability
// calls to the host.
type server struct {
	handler plugin.Handler
	log     hclog.Logger
	broker  *goplugin.GRPCBroker

	mu   sync.Mutex
	host *grpc.ClientConn // the host's capability service, once Init dialled it
}

// init dials the host's capability service on the broker id it names.
func (s *server) init(_ context.Context, in []byte) ([]byte, error) {
	var req initRequest
	if err := json.Unmarshal(in, &req); err != nil {
		return nil, fmt.Errorf("native: init: %w", err)
	}
	conn, err := s.broker.DialWithOptions(req.Broker, grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxMessage)))
	if err != nil {
		return nil, fmt.Errorf("native: init: dialling the host on broker id %d: %w", req.Broker, err)
	}
	s.mu.Lock()
	old := s.host
	s.host = conn
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return json.Marshal(initAnswer{ABI: plugin.ABI})
}

// handle serves one Request.
func (s *server) handle(ctx context.Context, in []byte) ([]byte, error) {
	id, ok := callID(ctx)
	if !ok {
		return nil, errNoCallID
	}
	out := s.run(ctx, in, &caller{s: s, id: id})
	if err := ctx.Err(); err != nil {
		// The host has given up or is about to (the plugin's copy of the
		// deadline can fire first): say so, rather than answer an error
		// the handler only made because its context ended.
		return nil, status.FromContextError(err).Err()
	}
	return json.Marshal(out)
}

// run decodes the request and runs the handler, turning its error or panic
// into the Outcome.
func (s *server) run(ctx context.Context, in []byte, c plugin.Caller) (out plugin.Outcome) {
	var req plugin.Request
	if err := json.Unmarshal(in, &req); err != nil {
		return failed(&plugin.Error{Code: plugin.ErrInvalid, Message: "undecodable request: " + err.Error()})
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "route", req.Route, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out = failed(&plugin.Error{Code: CodePanic, Message: fmt.Sprint(r)})
		}
	}()
	return outcome(s.handler.Handle(ctx, plugin.NewHost(c, req.ID), &req))
}

// outcome is what a handler's return values look like on the wire. An
// *plugin.Error keeps its code; any other error is internal.
func outcome(resp *plugin.Response, err error) plugin.Outcome {
	var pe *plugin.Error
	switch {
	case errors.As(err, &pe):
		return failed(pe)
	case err != nil:
		return failed(&plugin.Error{Code: plugin.ErrInternal, Message: err.Error()})
	case resp == nil:
		return failed(&plugin.Error{Code: plugin.ErrInternal, Message: "the handler answered neither a response nor an error"})
	}
	return plugin.Outcome{Response: resp}
}

func failed(e *plugin.Error) plugin.Outcome { return plugin.Outcome{Error: e} }

// caller carries one request's capability calls to the host, tagged with
// that request's call id.
type caller struct {
	s  *server
	id uint64
}

var _ plugin.Caller = (*caller)(nil)

// errNoHost answers capability calls made before the host's Init.
var errNoHost = errors.New("native: the host has not opened its capability service")

// Call implements plugin.Caller.
func (c *caller) Call(ctx context.Context, call []byte) ([]byte, error) {
	c.s.mu.Lock()
	conn := c.s.host
	c.s.mu.Unlock()
	if conn == nil {
		return nil, errNoHost
	}
	return invoke(withCallID(ctx, c.id), conn, callMethod, call)
}
