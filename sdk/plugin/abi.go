package plugin

// Outcome is a plugin's answer on the wire: a Response, or an Error when
// the handler failed.
type Outcome struct {
	Response *Response `json:"response,omitempty"`
	Error    *Error    `json:"error,omitempty"`
}

// The WASM ABI, version 1. Guests built with sdk/wasm implement it; other
// toolchains may follow it too. All integers are i32 unless noted; strings
// and documents are UTF-8 JSON in the guest's linear memory.
//
// The guest exports:
//
//	citycode_abi() -> i32             ABIMajor<<16 | ABIMinor
//	citycode_alloc(size) -> ptr       a guest-owned buffer of size bytes, kept until freed
//	citycode_free(ptr)                releases a buffer from citycode_alloc or citycode_handle
//	citycode_handle(ptr, len) -> i64  handles the Request JSON at ptr (a buffer from
//	                                  citycode_alloc, which the guest frees); answers
//	                                  outPtr<<32 | outLen of the Outcome JSON, which the
//	                                  host reads and then frees with citycode_free
//	citycode_handle_body(ptr, len, jsonLen) -> i64
//	                                  (since 1.1, optional) the same, but the buffer holds
//	                                  the Request JSON without its body in its first
//	                                  jsonLen bytes and the raw body after them: a guest
//	                                  need not scan an upload of megabytes as a JSON
//	                                  string, which costs WASM code ~0.4 s per MB
//
// The host exports, in module "citycode":
//
//	call(ptr, len) -> i32             makes the capability Call JSON at ptr; answers the
//	                                  length of the CallResult JSON, kept by the host
//	take(ptr)                         copies that pending CallResult to ptr (a buffer of
//	                                  at least the answered length)
//
// The module is a reactor (built with -buildmode=c-shared); the host runs
// _initialize once per instance. An instance serves one call at a time.
const (
	WASMModule       = "citycode"
	WASMExportABI    = "citycode_abi"
	WASMExportAlloc  = "citycode_alloc"
	WASMExportFree   = "citycode_free"
	WASMExportHandle = "citycode_handle"
	// WASMExportHandleBody is optional (ABI 1.1): hosts use it, when the
	// guest has it, for requests with a body.
	WASMExportHandleBody = "citycode_handle_body"
	WASMImportCall       = "call"
	WASMImportTake       = "take"
)

// The native protocol: a go-plugin (gRPC) plugin named NativePluginName,
// with the go-plugin handshake ProtocolVersion = ABIMajor and the cookie
// below; sdk/native implements both ends. Messages are
// google.protobuf.BytesValue holding JSON. The plugin's gRPC service
// NativeService has
//
//	Init(BytesValue) BytesValue       {"broker": N} -> {"abi": "1.0"}
//	Handle(BytesValue) BytesValue     Request JSON -> Outcome JSON
//
// and the host serves NativeHostService through the go-plugin broker, on
// broker id N, with
//
//	Call(BytesValue) BytesValue       Call JSON -> CallResult JSON
//
// The host calls Init once, right after the handshake and before any
// Handle; the plugin dials broker id N there and then (go-plugin forgets a
// broker offer that is not dialled within seconds, so a lazy dial on the
// first capability call would fail on an idle plugin), and answers the ABI
// it was built for. Every Handle carries the gRPC metadata entry
// NativeCallHeader, an id the host gives that one call; a Call must carry
// the NativeCallHeader of the Handle it is made for: the host answers it
// with that request's capabilities only, and refuses ids not in flight. A
// Handle whose gRPC deadline passed answers the status DEADLINE_EXCEEDED,
// not an Outcome.
const (
	NativePluginName  = "citycode"
	NativeCookieKey   = "CITYCODE_PLUGIN"
	NativeCookieValue = "d1f4c2a8-city-code-plugin"
	NativeService     = "citycode.plugin.v1.Plugin"
	NativeHostService = "citycode.plugin.v1.Host"
	NativeCallHeader  = "x-citycode-call"
)
