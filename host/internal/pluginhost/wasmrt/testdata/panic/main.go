// Command panic is a test plugin that panics on its "panic" route and
// answers ok otherwise.
package main

import (
	"context"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/wasm"
)

func init() { wasm.Handle(plugin.HandlerFunc(serve)) }

func main() {}

func serve(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	if req.Route == "panic" {
		panic("kaput at " + req.Path)
	}
	return plugin.HTML(200, "ok"), nil
}
