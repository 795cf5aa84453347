//go:build !wasip1

package serve

import (
	"fmt"
	"os"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func register(plugin.Handler) {}

// Main serves the registered handler as a native plugin process; it
// returns only when the host ends the plugin.
func Main() {
	if handler == nil {
		fmt.Fprintln(os.Stderr, "serve: no handler registered (call serve.Register in init)")
		os.Exit(2)
	}
	native.Serve(handler)
}
