// Command attendance is the 考勤签到 service template: managers keep a
// roster of staff in the console and hand each a one-time bind code; a
// logged-in staff member scans the check-in point's object code, binds
// once, then checks in and out there (optionally within a geo-fence);
// shifts decide late arrivals and early departures, and the console lists
// the day, counts the month (absences included) and exports the records.
// It builds as a WASM guest (plugin.json says runtime wasm).
package main

import (
	"crypto/rand"
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now, rand: rand.Reader}) }

func main() { serve.Main() }
