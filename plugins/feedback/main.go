// Command feedback is the 意见反馈 service template: citizens scan an
// object code to write feedback (logged-in citizens keep a draft), rate the
// service with stars over configurable items, and answer the
// questionnaires the platform's operators built, published and bound to
// the code, along the questionnaire's skip logic. Operators query and
// export what was submitted, and summarise questionnaires and ratings. It
// builds as a native plugin (plugin.json says runtime native).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// Registration belongs in init, as in a WASM reactor: the same source could
// be rebuilt for the other runtime.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
