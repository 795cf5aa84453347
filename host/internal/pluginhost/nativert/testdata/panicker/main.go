// Command panicker is a test plugin whose route panic panics; other routes
// answer {"pid"}.
package main

import (
	"context"
	"os"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func main() {
	native.Serve(plugin.HandlerFunc(func(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
		if req.Route == "panic" {
			panic("boom at " + req.Path)
		}
		return plugin.JSON(200, map[string]any{"pid": os.Getpid()})
	}))
}
