// Command floorguide is the 楼层导览 (floor guide) service template: a
// citizen who scans a building's object code (a government service hall,
// a hospital, an office block) sees its floors in order, each floor's
// rooms (number, name, department, opening hours), functional areas and
// floor plan, and can search the rooms; anyone may report a mistake in the
// guide (纠错), and the platform's operators set the guides, upload floor
// plans and handle the corrections in the console. It builds as a WASM
// guest (plugin.json says runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
