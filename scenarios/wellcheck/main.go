// Command wellcheck is the 一码核查 scenario plugin for groundwater
// monitoring wells (监测井): citizens and inspectors who scan a well's
// object code see its information (编号, 位置, 类型, 深度, 权属单位, 监测项目,
// 状态); a logged-in visitor applies to correct it (信息更新申请) and follows
// the application by its number; the platform's operators review
// applications in the console, and an approved change is written to the
// object code. It builds as a native plugin (plugin.json says runtime
// native).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// Registration belongs in init, as in a WASM reactor: the same source could
// be rebuilt for the other runtime.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
