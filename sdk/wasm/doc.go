// Package wasm serves a plugin.Handler from a WASM guest built for
// GOOS=wasip1 GOARCH=wasm: it implements the guest side of the ABI that
// package plugin describes (see plugin.WASMModule), so a plugin author
// writes a Handler and never touches linear memory.
//
// A plugin registers its handler from an init function of its main package
// and is built as a reactor:
//
//	func init() { wasm.Handle(myPlugin{}) }
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The host instantiates the module once per pooled instance and runs
// _initialize, which runs the init functions; then it hands the instance
// one Request at a time through citycode_handle. While serving it, the
// handler's capability calls (plugin.Host) go to the host through the
// imports "call" and "take" of module "citycode".
//
// Failures. An error the handler returns becomes the Outcome's Error: a
// *plugin.Error keeps its code, any other error is reported as
// plugin.ErrInternal with its message. A panic is deliberately not
// recovered: the Go runtime prints "panic: ..." and its stack trace to
// stderr and the module traps. The host fails the call as a crash, naming
// that panic line, and discards the instance, because after a panic the
// guest's state (globals, half-done work) can no longer be trusted; turning
// the panic into an ordinary error answer would keep a possibly corrupt
// instance in the pool.
//
// The package has code only for GOOS=wasip1; this file exists so that
// tools run on other targets still see the package.
package wasm
