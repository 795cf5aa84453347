// Command sleeper is a test plugin whose route sleep sleeps 3 s, deaf to
// its deadline; other routes answer {"pid"} at once.
package main

import (
	"context"
	"os"
	"time"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func main() {
	native.Serve(plugin.HandlerFunc(func(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
		if req.Route == "sleep" {
			time.Sleep(3 * time.Second)
		}
		return plugin.JSON(200, map[string]any{"pid": os.Getpid()})
	}))
}
