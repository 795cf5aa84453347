// Command badabi is a test module that exports the ABI's functions but
// claims a major version this host does not speak. It does not use
// sdk/wasm, which would export the right version.
package main

//go:wasmexport citycode_abi
func abi() uint32 { return 99<<16 | 3 }

//go:wasmexport citycode_alloc
func alloc(size uint32) uint32 { return 0 }

//go:wasmexport citycode_free
func free(ptr uint32) {}

//go:wasmexport citycode_handle
func handle(ptr, size uint32) uint64 { return 0 }

func main() {}
