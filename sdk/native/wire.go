package native

import (
	"context"
	"errors"
	"strconv"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// CodePanic is the Outcome error code of a handler that panicked.
const CodePanic = plugin.ErrInternal + ".PluginPanic"

// MaxMessage bounds one message either way (a request with its body, an
// answer, a capability call): gRPC's default of 4 MiB is too small for
// uploaded photos, and an unbounded size lets one call exhaust memory.
const MaxMessage = 64 << 20

// The full gRPC method names of the protocol.
const (
	initMethod   = "/" + plugin.NativeService + "/Init"
	handleMethod = "/" + plugin.NativeService + "/Handle"
	callMethod   = "/" + plugin.NativeHostService + "/Call"
)

// Handshake is the go-plugin handshake of citycode plugins: the protocol
// version is the contract's ABI major, so a host refuses a plugin built for
// another major before any call.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  plugin.ABIMajor,
		MagicCookieKey:   plugin.NativeCookieKey,
		MagicCookieValue: plugin.NativeCookieValue,
	}
}

// ClientPlugins is the plugin set a host gives its go-plugin client.
func ClientPlugins() goplugin.PluginSet {
	return goplugin.PluginSet{plugin.NativePluginName: &grpcPlugin{}}
}

// grpcPlugin is the go-plugin glue of both ends: with a handler it serves,
// without one it dispenses a Client.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server *server
}

// GRPCServer registers the plugin service (plugin side).
func (p *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	p.server.broker = broker
	s.RegisterService(serviceDesc(plugin.NativeService,
		method{"Init", initMethod, p.server.init},
		method{"Handle", handleMethod, p.server.handle}), p.server)
	return nil
}

// GRPCClient opens the host end (host side).
func (p *grpcPlugin) GRPCClient(_ context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newClient(broker, conn), nil
}

// bytesFunc is one unary method of the protocol: JSON in, JSON out.
type bytesFunc func(ctx context.Context, in []byte) ([]byte, error)

// method binds a method name to its implementation.
type method struct {
	name, full string
	fn         bytesFunc
}

// serviceDesc declares a gRPC service by hand, as protoc-gen-go-grpc would
// from a .proto whose methods all take and answer BytesValue. The methods
// close over their implementation, so the handler type is any.
func serviceDesc(service string, methods ...method) *grpc.ServiceDesc {
	d := &grpc.ServiceDesc{ServiceName: service, HandlerType: (*any)(nil)}
	for _, m := range methods {
		d.Methods = append(d.Methods, grpc.MethodDesc{MethodName: m.name, Handler: unary(m.full, m.fn)})
	}
	return d
}

// unary adapts a bytesFunc to a gRPC method handler, honouring interceptors.
func unary(full string, fn bytesFunc) grpc.MethodHandler {
	call := func(ctx context.Context, req any) (any, error) {
		out, err := fn(ctx, req.(*wrapperspb.BytesValue).GetValue())
		if err != nil {
			return nil, err
		}
		return wrapperspb.Bytes(out), nil
	}
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.BytesValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		if icpt == nil {
			return call(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, call)
	}
}

// invoke makes one unary call of the protocol.
func invoke(ctx context.Context, conn *grpc.ClientConn, full string, in []byte) ([]byte, error) {
	out := new(wrapperspb.BytesValue)
	if err := conn.Invoke(ctx, full, wrapperspb.Bytes(in), out); err != nil {
		return nil, err
	}
	return out.GetValue(), nil
}

// callID reads the NativeCallHeader of an incoming call; ok is false
// without one.
func callID(ctx context.Context) (uint64, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(plugin.NativeCallHeader)
	if len(v) != 1 {
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 64)
	return id, err == nil
}

// withCallID tags an outgoing call with a Handle's id.
func withCallID(ctx context.Context, id uint64) context.Context {
	return metadata.AppendToOutgoingContext(ctx, plugin.NativeCallHeader, strconv.FormatUint(id, 10))
}

// initRequest is Init's argument: where the host serves capability calls.
type initRequest struct {
	Broker uint32 `json:"broker"`
}

// initAnswer is Init's answer: the ABI the plugin was built for.
type initAnswer struct {
	ABI string `json:"abi"`
}

// errNoCallID refuses a message without the call header.
var errNoCallID = errors.New("native: the call carries no " + plugin.NativeCallHeader)
