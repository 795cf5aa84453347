package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// ErrTransport is a Handle that failed in the connection to the plugin
// process rather than in the plugin: the process died, or a message was too
// large. The host decides which by looking at the process.
var ErrTransport = errors.New("native: plugin connection failed")

// HostFunc answers one capability call (plugin.Call JSON) with a
// plugin.CallResult JSON. It has the shape of the host's runner.HostFunc.
type HostFunc = func(ctx context.Context, call []byte) []byte

// Client is the host's end of one plugin process. It is safe for
// concurrent use; it lives as long as the go-plugin client it came from,
// whose Kill closes it.
type Client struct {
	conn   *grpc.ClientConn
	broker *goplugin.GRPCBroker
	abi    string

	next  atomic.Uint64
	mu    sync.RWMutex
	calls map[uint64]pending // the Handles in flight, by call id
}

// pending is a Handle in flight: where its capability calls go.
type pending struct {
	ctx  context.Context
	host HostFunc
}

func newClient(broker *goplugin.GRPCBroker, conn *grpc.ClientConn) *Client {
	return &Client{conn: conn, broker: broker, calls: map[uint64]pending{}}
}

// Connect dispenses the plugin from a started go-plugin client (configured
// with Handshake and ClientPlugins) and opens the capability channel: it
// serves the host service on a broker id and tells the plugin with Init.
// It returns once the plugin has dialled back, so a Client it answers can
// take capability calls from the first Handle on.
func Connect(ctx context.Context, c *goplugin.Client) (*Client, error) {
	rpc, err := c.Client()
	if err != nil {
		return nil, fmt.Errorf("native: connecting: %w", err)
	}
	raw, err := rpc.Dispense(plugin.NativePluginName)
	if err != nil {
		return nil, fmt.Errorf("native: dispensing %q: %w", plugin.NativePluginName, err)
	}
	cl, ok := raw.(*Client)
	if !ok {
		return nil, fmt.Errorf("native: dispensed a %T, not a *native.Client (plugin set not from ClientPlugins)", raw)
	}
	if err := cl.init(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// init serves the host service through the broker and hands the plugin its
// id.
func (c *Client) init(ctx context.Context) error {
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, c.newHostServer)
	in, err := json.Marshal(initRequest{Broker: id})
	if err != nil {
		return err
	}
	out, err := invoke(ctx, c.conn, initMethod, in)
	if err != nil {
		return fmt.Errorf("native: init: %w", err)
	}
	var ans initAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		return fmt.Errorf("native: init: undecodable answer: %w", err)
	}
	c.abi = ans.ABI
	return nil
}

// newHostServer is the gRPC server of the host service, on the broker.
func (c *Client) newHostServer(opts []grpc.ServerOption) *grpc.Server {
	s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))...)
	s.RegisterService(serviceDesc(plugin.NativeHostService, method{"Call", callMethod, c.serveCall}), c)
	return s
}

// ABI is the contract version the plugin says it was built for ("1.0").
func (c *Client) ABI() string { return c.abi }

// Handle gives the plugin one request (plugin.Request JSON) and answers its
// plugin.Outcome JSON. The capability calls the plugin makes while serving
// it go to host, with a context that carries ctx's values and ends when
// either ctx or the plugin's call ends; host may be nil for a request that
// may call nothing. An error wraps context.DeadlineExceeded when the
// deadline passed, ctx's error when ctx ended, ErrTransport otherwise.
func (c *Client) Handle(ctx context.Context, req []byte, host HostFunc) ([]byte, error) {
	id := c.register(ctx, host)
	defer c.unregister(id)
	out, err := invoke(withCallID(ctx, id), c.conn, handleMethod, req)
	switch {
	case err == nil:
		return out, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("native: %w", ctx.Err())
	case status.Code(err) == codes.DeadlineExceeded:
		// The plugin's copy of the deadline can fire a moment before ctx's.
		return nil, fmt.Errorf("native: %w", context.DeadlineExceeded)
	default:
		return nil, fmt.Errorf("%w: %w", ErrTransport, err)
	}
}

// Ping asks the plugin process whether it serves (gRPC health check).
func (c *Client) Ping(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	return nil
}

func (c *Client) register(ctx context.Context, host HostFunc) uint64 {
	id := c.next.Add(1)
	c.mu.Lock()
	c.calls[id] = pending{ctx: ctx, host: host}
	c.mu.Unlock()
	return id
}

func (c *Client) unregister(id uint64) {
	c.mu.Lock()
	delete(c.calls, id)
	c.mu.Unlock()
}

func (c *Client) lookup(id uint64) (pending, bool) {
	c.mu.RLock()
	p, ok := c.calls[id]
	c.mu.RUnlock()
	return p, ok
}

// serveCall answers a capability call with the HostFunc of the Handle whose
// id it carries. The plugin cannot reach a request that is not in flight.
func (c *Client) serveCall(ctx context.Context, in []byte) ([]byte, error) {
	id, ok := callID(ctx)
	if !ok {
		return nil, errNoCallID
	}
	p, ok := c.lookup(id)
	if !ok || p.host == nil {
		return refusal(ok), nil
	}
	hctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return p.host(hctx, in), nil
}

// refusal answers a call that no HostFunc may take.
func refusal(inFlight bool) []byte {
	e := &plugin.Error{Code: plugin.ErrUnavailable, Message: "the request is no longer in flight"}
	if inFlight {
		e = &plugin.Error{Code: plugin.ErrDenied, Message: "this request may call no capability"}
	}
	b, _ := json.Marshal(plugin.CallResult{Error: e})
	return b
}
