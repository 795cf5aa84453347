package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// connect serves h in-process over a real gRPC connection (go-plugin's
// test harness, a unix socket) and answers the host's Client.
func connect(t *testing.T, h plugin.Handler) *Client {
	t.Helper()
	ps := goplugin.PluginSet{plugin.NativePluginName: &grpcPlugin{server: &server{handler: h, log: hclog.NewNullLogger()}}}
	rpc, srv := goplugin.TestPluginGRPCConn(t, false, ps)
	_ = srv // rpc.Close stops it, through go-plugin's controller
	t.Cleanup(func() { _ = rpc.Close() })
	raw, err := rpc.Dispense(plugin.NativePluginName)
	if err != nil {
		t.Fatal(err)
	}
	c := raw.(*Client)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.init(ctx); err != nil {
		t.Fatal(err)
	}
	if c.ABI() != plugin.ABI {
		t.Fatalf("ABI = %q, want %q", c.ABI(), plugin.ABI)
	}
	return c
}

func request(t testing.TB, id, route string) []byte {
	b, err := json.Marshal(plugin.Request{ID: id, Route: route, Path: "/" + route})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, b []byte) plugin.Outcome {
	var o plugin.Outcome
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("outcome %q: %v", b, err)
	}
	return o
}

// echoHost answers every capability call with its own tag and checks that
// the call belongs to its request.
func echoHost(t testing.TB, requestID, tag string) HostFunc {
	return func(_ context.Context, call []byte) []byte {
		var c plugin.Call
		if err := json.Unmarshal(call, &c); err != nil || c.RequestID != requestID {
			t.Errorf("call %s reached the HostFunc of request %s", call, requestID)
		}
		b, _ := json.Marshal(plugin.CallResult{Result: json.RawMessage(fmt.Sprintf("%q", tag))})
		return b
	}
}

// invoker makes one capability call and answers its result.
var invoker = plugin.HandlerFunc(func(ctx context.Context, h *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	var tag string
	if err := h.Invoke(ctx, plugin.RecordsRead, "get", nil, &tag); err != nil {
		return nil, err
	}
	return &plugin.Response{Status: 200, Body: []byte(req.Path + " " + tag)}, nil
})

func TestCapabilityCallsReachTheirOwnRequest(t *testing.T) {
	t.Parallel()
	c := connect(t, invoker)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			id, tag := fmt.Sprintf("req-%d", i), fmt.Sprintf("tag-%d", i)
			out, err := c.Handle(t.Context(), request(t, id, "r"), echoHost(t, id, tag))
			if err != nil {
				t.Error(err)
				return
			}
			if o := decode(t, out); o.Response == nil || string(o.Response.Body) != "/r "+tag {
				t.Errorf("request %s answered %s", id, out)
			}
		})
	}
	wg.Wait()
}

func TestOutcomeErrors(t *testing.T) {
	t.Parallel()
	c := connect(t, plugin.HandlerFunc(func(ctx context.Context, h *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
		switch req.Route {
		case "coded":
			return nil, fmt.Errorf("wrapped: %w", &plugin.Error{Code: plugin.ErrNotFound + ".Record", Message: "no such record"})
		case "plain":
			return nil, errors.New("disk on fire")
		case "panic":
			panic("boom")
		case "nothing":
			return nil, nil
		case "denied":
			return nil, h.Invoke(ctx, plugin.AuditWrite, "write", nil, nil)
		}
		return plugin.HTML(200, "ok"), nil
	}))
	for _, tc := range []struct{ route, code, msg string }{
		{"coded", plugin.ErrNotFound + ".Record", "no such record"},
		{"plain", plugin.ErrInternal, "disk on fire"},
		{"panic", CodePanic, "boom"},
		{"nothing", plugin.ErrInternal, "neither"},
		{"denied", plugin.ErrDenied, "no capability"}, // nil HostFunc
		{"ok", "", ""},
	} {
		t.Run(tc.route, func(t *testing.T) {
			out, err := c.Handle(t.Context(), request(t, "id", tc.route), nil)
			if err != nil {
				t.Fatal(err)
			}
			o := decode(t, out)
			switch {
			case tc.code == "" && (o.Error != nil || o.Response == nil):
				t.Fatalf("outcome %s, want a response", out)
			case tc.code != "" && (o.Error == nil || o.Error.Code != tc.code || !strings.Contains(o.Error.Message, tc.msg)):
				t.Fatalf("outcome %s, want code %s with %q", out, tc.code, tc.msg)
			}
		})
	}
}

func TestCallAfterTheRequestEndedIsRefused(t *testing.T) {
	t.Parallel()
	kept := make(chan *plugin.Host, 1)
	c := connect(t, plugin.HandlerFunc(func(_ context.Context, h *plugin.Host, _ *plugin.Request) (*plugin.Response, error) {
		kept <- h
		return plugin.HTML(200, ""), nil
	}))
	var called atomic.Bool
	if _, err := c.Handle(t.Context(), request(t, "id", "r"), func(context.Context, []byte) []byte { called.Store(true); return nil }); err != nil {
		t.Fatal(err)
	}
	err := (<-kept).Invoke(t.Context(), plugin.RecordsRead, "get", nil, nil)
	if !plugin.IsCode(err, plugin.ErrUnavailable) || called.Load() {
		t.Fatalf("late call: err %v, HostFunc called %v", err, called.Load())
	}
}

func TestHostContextEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	type key struct{}
	c := connect(t, invoker)
	ctx := context.WithValue(t.Context(), key{}, "principal")
	var got any
	_, err := c.Handle(ctx, request(t, "id", "r"), func(hctx context.Context, _ []byte) []byte {
		got = hctx.Value(key{})
		return []byte(`{"result":"x"}`)
	})
	if err != nil || got != "principal" {
		t.Fatalf("err %v, request value in the HostFunc's context %v", err, got)
	}
}

func TestHandleDeadline(t *testing.T) {
	t.Parallel()
	c := connect(t, plugin.HandlerFunc(func(ctx context.Context, _ *plugin.Host, _ *plugin.Request) (*plugin.Response, error) {
		<-ctx.Done() // the host's deadline reaches the plugin
		return nil, ctx.Err()
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Handle(ctx, request(t, "id", "r"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestWatchParent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ppid := 42
	getppid := func() int { mu.Lock(); defer mu.Unlock(); return ppid }
	exited := make(chan struct{})
	go watchParent(42, getppid, time.Millisecond, func() { close(exited) })
	select {
	case <-exited:
		t.Fatal("exited while the parent lives")
	case <-time.After(20 * time.Millisecond):
	}
	mu.Lock()
	ppid = 1 // re-parented to init: the host died
	mu.Unlock()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("did not exit after the parent changed")
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	resp := plugin.HTML(200, "x")
	if o := outcome(resp, nil); o.Response != resp || o.Error != nil {
		t.Fatalf("outcome = %+v", o)
	}
}
