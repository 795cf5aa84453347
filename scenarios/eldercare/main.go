// Command eldercare is the 码上养老 scenario plugin for elderly-care
// institutions (养老服务机构): citizens who scan an institution's object
// code see the institution — one of the seven kinds of the requirements,
// each with its own information — and its caregivers (养老护理员: masked
// name, gender, age, skill level, comprehensive evaluation level,
// specialities, honours and competition awards, photo); a logged-in
// citizen evaluates a caregiver's service with stars, overall and by item,
// and a comment. The institution's staff maintain its caregivers through
// admin routes; the evaluations are shown, through admin routes, to that
// institution's staff and to the civil-affairs authority (民政, the
// 业务主管单位) of its region, and to no other institution. It builds as a
// WASM guest (plugin.json says runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
