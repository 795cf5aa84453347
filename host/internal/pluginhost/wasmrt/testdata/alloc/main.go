// Command alloc is a test plugin that allocates without bound on its
// "alloc" route. It answers ok otherwise.
package main

import (
	"context"
	"strconv"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/wasm"
)

func init() { wasm.Handle(plugin.HandlerFunc(serve)) }

func main() {}

var kept [][]byte

func serve(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	if req.Route == "alloc" {
		for {
			b := make([]byte, 1<<20)
			b[len(b)-1] = 1
			kept = append(kept, b)
		}
	}
	return plugin.HTML(200, "ok, holding "+strconv.Itoa(len(kept))+" MB"), nil
}
