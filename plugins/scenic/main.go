// Command scenic is the 景点打卡 service template: citizens who scan a
// scenic spot's object code see the spot (name, introduction, opening
// hours, address, cover) and the others' check-ins, newest first, and
// check in themselves with a description and, as the spot allows, a photo
// or a short video; logged-in citizens like check-ins, once each. The
// platform's operators set each spot's information and allowed check-in
// modes, review check-ins when the platform holds them for review, and
// search and export them. It builds as a WASM guest (plugin.json says
// runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
