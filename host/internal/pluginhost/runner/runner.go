// Package runner is what the plugin host asks of a runtime: run one version
// of one plugin, hand it requests, carry its capability calls back, and
// report its health. Package wasmrt implements it with wazero, package
// nativert with hashicorp/go-plugin processes; both carry the JSON messages
// of sdk/plugin unchanged.
package runner

import (
	"context"
	"errors"
)

// Runner runs one version of one plugin. It is safe for concurrent use.
type Runner interface {
	// Handle gives the plugin one request (plugin.Request JSON) and
	// answers its plugin.Outcome JSON. Capability calls the plugin makes
	// while serving it go to host. An error means the call failed in the
	// runtime (ErrTimeout, ErrCrashed, ErrUnavailable, ErrClosed ...),
	// not that the plugin answered an error: that is in the Outcome.
	Handle(ctx context.Context, req []byte, host HostFunc) ([]byte, error)
	// Health reports whether the plugin can serve now.
	Health(ctx context.Context) error
	// Close stops accepting calls, waits for those in flight (until ctx
	// ends) and releases the runtime.
	Close(ctx context.Context) error
}

// HostFunc answers one capability call: plugin.Call JSON in,
// plugin.CallResult JSON out. It never fails: errors are in the result.
// BodyRunner is a Runner that can take a request's body apart from its
// JSON: the plugin then need not decode an upload of megabytes as a JSON
// string (WASM code takes ~0.4 s per MB for that).
type BodyRunner interface {
	Runner
	// TakesBody reports whether HandleBody may be used.
	TakesBody() bool
	// HandleBody is Handle with the request's body apart (req holds none).
	HandleBody(ctx context.Context, req, body []byte, host HostFunc) ([]byte, error)
}

type HostFunc func(ctx context.Context, call []byte) []byte

// Runtime failures. Runners wrap them with the plugin's name and details;
// test with errors.Is.
var (
	ErrTimeout     = errors.New("plugin call exceeded its deadline")
	ErrCrashed     = errors.New("plugin crashed") // a trap, a panic, a dead process
	ErrOutOfMemory = errors.New("plugin exceeded its memory limit")
	ErrUnavailable = errors.New("plugin unavailable") // restarting, unhealthy
	ErrClosed      = errors.New("plugin runner closed")
	ErrABI         = errors.New("plugin speaks an unsupported ABI")
	ErrChecksum    = errors.New("plugin artefact does not match its checksum")
)
