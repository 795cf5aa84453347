// Package wasmrttest warms a WASM compilation cache for tests.
//
// The test suites run under the race detector, where wazero's compiler is
// instrumented too and compiling one Go guest takes tens of seconds instead
// of one or two. The compiled code does not depend on the race detector, so
// the suites have the host binary (built without it, CITYCODE_BIN) compile
// their modules into the cache their hosts then load from.
package wasmrttest

import (
	"fmt"
	"os"
	"os/exec"
)

// Warm compiles the modules into the compilation cache at dir with
// `$CITYCODE_BIN plugin precompile`. Without CITYCODE_BIN it does nothing:
// the runtime then compiles in the test's process, only slower.
func Warm(dir string, modules ...string) error {
	bin := os.Getenv("CITYCODE_BIN")
	if bin == "" || len(modules) == 0 {
		return nil
	}
	out, err := exec.Command(bin, append([]string{"plugin", "precompile", "--cache", dir}, modules...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("warming the WASM cache with %s: %v\n%s", bin, err, out)
	}
	return nil
}
