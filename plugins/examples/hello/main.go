// Command hello is an example plugin: the landing page of an object code
// shows what the code is, how often it was visited, and a message board.
// It builds as a WASM guest (plugin.json says runtime wasm) and, unchanged,
// as a native plugin.
package main

import "github.com/opencitycode/citycode/sdk/serve"

func init() { serve.Register(handler{}) }

func main() { serve.Main() }
