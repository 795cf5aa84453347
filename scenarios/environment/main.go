// Command environment is the 码上环境 scenario plugin for garbage transfer
// stations (垃圾中转站) and public toilets (公共厕所): citizens who scan a
// facility's object code see its information, report problems with a
// photo and follow them, and rate the facility; cleaners enrolled by the
// platform check in daily, record cleanings, read their monthly report and
// their training materials. It builds as a WASM guest (plugin.json says
// runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
