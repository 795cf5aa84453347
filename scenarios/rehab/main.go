// Command rehab is the 康复辅具 scenario plugin for rental service points
// of rehabilitation aids (康复辅具租赁服务点): citizens who scan a service
// point's object code see the point (name, address, opening hours,
// contact), the rental policy (eligibility, deposit, fees, duration, and
// the policy documents) and the catalogue of aids; a logged-in citizen
// applies to rent an aid and follows the application by its number; the
// platform's operators approve or reject applications in the console. It
// builds as a WASM guest (plugin.json says runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
