// Command visitor is the 访客登记 service template: a registration point
// (登记点) on an object code. Visitors scan the code and register without
// an account, with the form fields the platform configured; an optional
// geo-fence refuses registrations made away from the point. Operators list
// the registrations by day in the console and export them. It builds as a
// native plugin (plugin.json says runtime native).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// Registration belongs in init, as in a WASM reactor: the same source could
// be rebuilt for the other runtime.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
