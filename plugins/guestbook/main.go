// Command guestbook is the 留言板 service template: citizens leave a
// message (at most 500 characters, no login needed) on an object code;
// messages are published only once an operator approved them in the
// console; logged-in citizens like published messages, once each, and
// anyone comments on them (at most 200 characters, reviewed as messages
// are). It builds as a WASM guest (plugin.json says runtime wasm).
package main

import (
	"time"

	"github.com/opencitycode/citycode/sdk/serve"
)

// A WASM reactor runs init, never main: registration belongs here.
func init() { serve.Register(handler{now: time.Now}) }

func main() { serve.Main() }
