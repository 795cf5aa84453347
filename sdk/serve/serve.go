// Package serve lets one plugin source build for both runtimes: as a WASM
// guest (GOOS=wasip1, served by sdk/wasm) or as a native process (served by
// sdk/native over go-plugin). A plugin's main package registers its handler
// in init and calls Main from main:
//
//	func init() { serve.Register(myPlugin{}) }
//	func main() { serve.Main() }
//
// A WASM reactor never runs main (the host calls its exports after
// _initialize, which runs init), so registration must happen in init.
package serve

import "github.com/opencitycode/citycode/sdk/plugin"

var handler plugin.Handler

// Register sets the plugin's handler. Call it from an init function.
func Register(h plugin.Handler) {
	if h == nil {
		panic("serve: nil handler")
	}
	handler = h
	register(h)
}
