package wasmrt

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// The guest's exports, from the ABI.
const (
	exportABI    = plugin.WASMExportABI
	exportAlloc  = plugin.WASMExportAlloc
	exportFree   = plugin.WASMExportFree
	exportHandle = plugin.WASMExportHandle
	// exportHandleBody is optional: guests of ABI 1.0 lack it.
	exportHandleBody = plugin.WASMExportHandleBody
)

var i32, i64 = api.ValueTypeI32, api.ValueTypeI64

// exports lists the functions the ABI requires, with their signatures.
var exports = []struct {
	name            string
	params, results []api.ValueType
}{
	{exportABI, nil, []api.ValueType{i32}},
	{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
	{exportFree, []api.ValueType{i32}, nil},
	{exportHandle, []api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// takesBody reports whether the module exports citycode_handle_body with
// its signature.
func takesBody(code wazero.CompiledModule) bool {
	fn, ok := code.ExportedFunctions()[exportHandleBody]
	return ok && slices.Equal(fn.ParamTypes(), []api.ValueType{i32, i32, i32}) && slices.Equal(fn.ResultTypes(), []api.ValueType{i64})
}

// checkExports refuses a module that lacks an export of the ABI or gives
// it another signature.
func checkExports(code wazero.CompiledModule) error {
	have := code.ExportedFunctions()
	for _, want := range exports {
		fn, ok := have[want.name]
		if !ok {
			return fmt.Errorf("%w: the module does not export %s (was it built with sdk/wasm and -buildmode=c-shared?)", runner.ErrABI, want.name)
		}
		if !slices.Equal(fn.ParamTypes(), want.params) || !slices.Equal(fn.ResultTypes(), want.results) {
			return fmt.Errorf("%w: %s has the signature %s, want %s", runner.ErrABI, want.name,
				signature(fn.ParamTypes(), fn.ResultTypes()), signature(want.params, want.results))
		}
	}
	if _, ok := code.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: the module does not export its memory", runner.ErrABI)
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) []string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return s
	}
	return fmt.Sprintf("(%s) -> (%s)", names(params), names(results))
}

// instantiateHost defines the host module the guests import: call and
// take. They find the instance they serve in the call's context.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(plugin.WASMModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostCall), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").
		Export(plugin.WASMImportCall).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostTake), []api.ValueType{i32}, nil).
		WithParameterNames("ptr").
		Export(plugin.WASMImportTake).
		Instantiate(ctx)
	return err
}

// hostCall is call(ptr, len) -> len: it makes the capability call in the
// guest's memory and keeps the answer for take. A panic here traps the
// guest, which fails the call as a crash.
func hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	in, ok := ctx.Value(instanceKey{}).(*instance)
	if !ok {
		panic(fmt.Errorf("%w: call outside a call of the host", errABIViolation))
	}
	ptr, size := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	call, ok := mod.Memory().Read(ptr, size)
	if !ok {
		panic(fmt.Errorf("%w: call of %d bytes at %#x, outside the guest's memory", errABIViolation, size, ptr))
	}
	res := in.capability(ctx, bytes.Clone(call))
	stack[0] = api.EncodeU32(uint32(len(res)))
}

// hostTake is take(ptr): it copies the pending answer of call to ptr.
func hostTake(ctx context.Context, mod api.Module, stack []uint64) {
	in, ok := ctx.Value(instanceKey{}).(*instance)
	if !ok {
		panic(fmt.Errorf("%w: take outside a call of the host", errABIViolation))
	}
	ptr := api.DecodeU32(stack[0])
	if !mod.Memory().Write(ptr, in.pending) {
		panic(fmt.Errorf("%w: take of %d bytes to %#x, outside the guest's memory", errABIViolation, len(in.pending), ptr))
	}
	in.pending = nil
}
