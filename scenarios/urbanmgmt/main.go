// Command urbanmgmt is the 码上城管 scenario plugin for street-front shops
// (沿街经营单位), served on their object codes (一物一码) and enterprise codes
// (一企一码).
//
// Citizens who scan a shop see its public information, the supervising
// unit and the notices about it; logged in, they complain (投诉举报), make
// suggestions that reach the merchant without their identity, report how a
// problem was put right (码上改) and rate it (码上评). Merchants, bound to
// their shop's code by a one-time code an operator issues, sign pledges
// online (码上签), see their own inspections, penalties and suggestions,
// and report corrections of their information. Inspectors (城管队员) and
// supervisors (督察队员), bound the same way, log patrols, correct the
// shop's information, register rectifications and record supervisions,
// whose problems a supervision system pulls as a signed list. Operators
// publish notices and penalties, map codes to the enforcement system's
// objects and list everything through the admin routes. It builds as a
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
