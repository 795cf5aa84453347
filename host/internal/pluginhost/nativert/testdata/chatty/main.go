// Command chatty is a test plugin that prints to stdout, to stderr and
// through the log package on every request.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func main() {
	native.Serve(plugin.HandlerFunc(func(_ context.Context, _ *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
		fmt.Println("chatty says hello on stdout for " + req.ID)
		fmt.Fprintln(os.Stderr, "chatty says hello on stderr for "+req.ID)
		log.Printf("chatty says hello through log for %s", req.ID)
		return plugin.HTML(200, "ok"), nil
	}))
}
