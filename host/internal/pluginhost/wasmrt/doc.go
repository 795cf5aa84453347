// Package wasmrt runs WASM plugins in-process with wazero: it implements
// runner.Runner for modules built with sdk/wasm (or any module following
// the ABI of package plugin).
//
// Why it is shaped this way:
//
//   - Compile once, cache on disk. Compiling a Go guest costs most of a
//     second; a Runner compiles its module once in New and, given a
//     CacheDir, wazero keeps the machine code on disk so that a restart
//     pays tens of milliseconds instead.
//
//   - A pool of warm instances. An instance serves one call at a time, and
//     instantiating a Go guest costs milliseconds and megabytes (its runtime
//     initializes, its heap is allocated), so New instantiates
//     Config.Instances of them up front and calls reuse them. The pool size
//     bounds both the plugin's concurrency and its memory: a call waits,
//     bounded by its context, while every instance is busy.
//
//   - Discard on failure. A trap, a panic, a timeout or an exhausted memory
//     limit leaves the guest's state (heap, globals, a half-done handler)
//     untrustworthy, so that instance is closed and never reused; only the
//     call it was serving fails. The pool replaces it lazily, when a later
//     call finds no idle instance, so a crashing plugin costs instantiations
//     only when it is actually used.
//
//   - Deadlines are enforced by the runtime, not the guest: wazero closes
//     the instance when the call's context ends (WithCloseOnContextDone),
//     which interrupts even a loop that never yields. Guest sleeps end with
//     the call's context too.
//
// The price of interruptible guests: with WithCloseOnContextDone, wazero
// v1.12 leaves compiled code for Go at every loop header to check whether
// the instance was closed (wazero issue #2466). Go guests pay it far more
// often than their loops suggest, since Go's wasm backend routes jumps
// between a function's basic blocks through a loop: guest code runs about
// three times slower than without the check (a small request's JSON round
// trip in a Go guest takes ~270 µs instead of ~85 µs on a 2-core machine).
// wazero offers no other way to stop a runaway guest; a release that tests
// the closed state inline would remove most of the cost with no change
// here.
//
// The guest's stdout and stderr go to the log line by line, tagged with the
// plugin's name; the last "panic: ..." or "fatal error: ..." line the guest
// printed names the failure in the error a crashed call returns.
package wasmrt
