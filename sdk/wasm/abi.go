//go:build wasip1

package wasm

import (
	"sync"
	"unsafe"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The exports and imports of the ABI (plugin.WASMModule). Pointers are
// guest addresses; Go's garbage collector does not move objects, so a
// buffer's address stays valid while buffers holds it.

//go:wasmexport citycode_abi
func exportABI() uint32 { return plugin.ABIMajor<<16 | plugin.ABIMinor }

//go:wasmexport citycode_alloc
func exportAlloc(size uint32) uint32 { return buffers.alloc(size) }

//go:wasmexport citycode_free
func exportFree(ptr uint32) { buffers.free(ptr) }

//go:wasmexport citycode_handle
func exportHandle(ptr, size uint32) uint64 {
	req := buffers.take(ptr, size)
	out := handle(req, nil)
	return uint64(buffers.keep(out))<<32 | uint64(len(out))
}

//go:wasmexport citycode_handle_body
func exportHandleBody(ptr, size, jsonLen uint32) uint64 {
	in := buffers.take(ptr, size)
	var out []byte
	if jsonLen > size {
		out = encode(failure(&plugin.Error{Code: plugin.ErrInvalid, Message: "request JSON longer than its buffer"}))
	} else {
		out = handle(in[:jsonLen], in[jsonLen:])
	}
	return uint64(buffers.keep(out))<<32 | uint64(len(out))
}

//go:wasmimport citycode call
func importCall(ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport citycode take
func importTake(ptr unsafe.Pointer)

// heap keeps the buffers the host holds a pointer to alive until they are
// freed or taken back.
type heap struct {
	mu   sync.Mutex
	live map[uint32][]byte
}

var buffers = heap{live: map[uint32][]byte{}}

// alloc answers a new buffer of size bytes, kept until freed.
func (h *heap) alloc(size uint32) uint32 {
	return h.keep(make([]byte, max(size, 1))) // never a zero-length buffer: it has no address
}

// keep holds b until it is freed and answers its address.
func (h *heap) keep(b []byte) uint32 {
	if len(b) == 0 {
		b = make([]byte, 1)
	}
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	h.mu.Lock()
	h.live[ptr] = b
	h.mu.Unlock()
	return ptr
}

// free releases a buffer; unknown addresses are ignored.
func (h *heap) free(ptr uint32) {
	h.mu.Lock()
	delete(h.live, ptr)
	h.mu.Unlock()
}

// take releases a buffer and answers its first size bytes, now owned by
// the caller. An unknown address or a size beyond the buffer answers nil,
// which decodes as a bad request.
func (h *heap) take(ptr, size uint32) []byte {
	h.mu.Lock()
	b, ok := h.live[ptr]
	delete(h.live, ptr)
	h.mu.Unlock()
	if !ok || int(size) > len(b) {
		return nil
	}
	return b[:size]
}
