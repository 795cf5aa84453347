// Command loop is a test plugin that never answers its "loop" route: it
// spins without yielding. It answers ok otherwise.
package main

import (
	"context"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/wasm"
)

func init() { wasm.Handle(plugin.HandlerFunc(serve)) }

func main() {}

var sink int

func serve(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	if req.Route == "loop" {
		for i := 0; ; i++ {
			sink = i
		}
	}
	return plugin.HTML(200, "ok"), nil
}
