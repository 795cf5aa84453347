// Command parking is the 停车指南 service template: citizens who scan a car
// park's object code see its guide (location, fees, total and remaining
// spaces, opening hours, time limits, entrances, contact) and leave
// feedback; the platform's operators set the car park's information and
// components, keep its remaining spaces current, and answer and export the
// feedback in the console. It builds as a WASM guest (plugin.json says
// runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
