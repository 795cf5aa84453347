//go:build wasip1

package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"unsafe"

	"github.com/opencitycode/citycode/sdk/plugin"
)

var (
	handlerMu sync.Mutex
	handler   plugin.Handler
)

// Handle registers the plugin's handler. Call it once, from an init
// function of the plugin's main package: the host may hand the instance a
// request as soon as initialization ends. A later call replaces the
// handler.
func Handle(h plugin.Handler) {
	handlerMu.Lock()
	handler = h
	handlerMu.Unlock()
}

func registered() plugin.Handler {
	handlerMu.Lock()
	defer handlerMu.Unlock()
	return handler
}

// host is the guest's one transport to the host's capabilities.
var host = &caller{}

// handle serves one Request JSON and answers the Outcome JSON; a body
// given apart (citycode_handle_body) becomes the request's. A panic in the
// handler is not recovered (see the package documentation).
func handle(in, body []byte) []byte {
	var req plugin.Request
	if err := json.Unmarshal(in, &req); err != nil {
		return encode(failure(&plugin.Error{Code: plugin.ErrInvalid, Message: "undecodable request: " + err.Error()}))
	}
	if body != nil {
		req.Body = body
	}
	h := registered()
	if h == nil {
		return encode(failure(&plugin.Error{Code: plugin.ErrUnavailable, Message: "no handler: the plugin must call wasm.Handle in an init function"}))
	}
	resp, err := h.Handle(context.Background(), plugin.NewHost(host, req.ID), &req)
	switch {
	case err != nil:
		return encode(failure(err))
	case resp == nil:
		return encode(failure(errors.New("the handler answered neither a response nor an error")))
	}
	return encode(plugin.Outcome{Response: resp})
}

// failure turns a handler error into an Outcome: a *plugin.Error keeps its
// code, anything else is an internal error.
func failure(err error) plugin.Outcome {
	var pe *plugin.Error
	if !errors.As(err, &pe) {
		pe = &plugin.Error{Code: plugin.ErrInternal, Message: err.Error()}
	}
	return plugin.Outcome{Error: pe}
}

func encode(o plugin.Outcome) []byte {
	b, err := json.Marshal(o)
	if err != nil {
		b, _ = json.Marshal(failure(errors.New("encoding the response: " + err.Error())))
	}
	return b
}

// caller carries capability calls over the imports call and take. A call
// and its take must not interleave with another goroutine's, hence the
// lock.
type caller struct{ mu sync.Mutex }

// Call implements plugin.Caller. The context is not consulted: the host
// enforces the call's deadline.
func (c *caller) Call(_ context.Context, call []byte) ([]byte, error) {
	if len(call) == 0 {
		return nil, errors.New("wasm: empty capability call")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := importCall(unsafe.Pointer(unsafe.SliceData(call)), uint32(len(call)))
	runtime.KeepAlive(call)
	if n == 0 {
		return nil, errors.New("wasm: the host answered nothing")
	}
	out := make([]byte, n)
	importTake(unsafe.Pointer(unsafe.SliceData(out)))
	return out, nil
}

var _ plugin.Caller = (*caller)(nil)
