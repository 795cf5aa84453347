// Command repair is the 部件报修 (component repair report) service
// template: a component's object code shows what the component is (name,
// model, serial number, install location, from the code's attributes and
// the operators' component settings); a citizen reports a fault with a
// description, the time it happened, a category and a photo or short
// video, anonymously or under their name as the platform configured; the
// platform's staff move reports through 待受理 → 处理中 → 已完成 (or 已驳回)
// in the console, query and export them. It builds as a native plugin
// (plugin.json says runtime native).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// Registration belongs in init, as in a WASM reactor: the same source could
// be rebuilt for the other runtime.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
