// Command exiter is a test plugin whose route exit ends the process with
// status 3 in the middle of the call; other routes answer {"pid"}.
package main

import (
	"context"
	"os"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func main() {
	native.Serve(plugin.HandlerFunc(func(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
		if req.Route == "exit" {
			os.Exit(3)
		}
		return plugin.JSON(200, map[string]any{"pid": os.Getpid()})
	}))
}
