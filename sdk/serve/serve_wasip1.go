//go:build wasip1

package serve

import (
	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/wasm"
)

func register(h plugin.Handler) { wasm.Handle(h) }

// Main does nothing in a WASM reactor: the host drives the exports.
func Main() {}
