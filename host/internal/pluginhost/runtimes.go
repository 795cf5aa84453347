package pluginhost

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/opencitycode/citycode/host/internal/pluginhost/nativert"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// DefaultRuntimes starts WASM plugins with wazero and native ones as
// go-plugin processes.
type DefaultRuntimes struct {
	// Dir holds the wazero compilation cache and the unpacked native
	// executables; a node-local directory.
	Dir string
	// CacheDir holds the wazero compilation cache instead of Dir/wazero.
	CacheDir string
	Log      *slog.Logger
	// Timeout caps a plugin call inside the runtime (the host also
	// bounds it); 0: 5 s.
	Timeout time.Duration
}

// Start runs a plugin version.
func (d DefaultRuntimes) Start(ctx context.Context, m *plugin.Manifest, artefact []byte, sm3 string) (runner.Runner, error) {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if ms := m.Limits.TimeoutMS; ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	switch m.Runtime {
	case plugin.WASM:
		mem := m.Limits.MemoryMB
		if mem > 512 {
			mem = 512
		}
		inst := m.Limits.Instances
		if inst > 16 {
			inst = 16
		}
		cache := d.CacheDir
		if cache == "" {
			cache = filepath.Join(d.Dir, "wazero")
		}
		return wasmrt.New(ctx, wasmrt.Config{Name: m.Name, Module: artefact, CacheDir: cache,
			MemoryLimitMB: mem, Timeout: timeout, Instances: inst, Log: log})
	case plugin.Native:
		// Each version gets its own file: an upgrade never rewrites the
		// executable a running process was started from.
		dir := filepath.Join(d.Dir, "native", m.Name+"-"+m.Version+"-"+sm3[:16])
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, m.Entry)
		if err := writeExecutable(path, artefact); err != nil {
			return nil, err
		}
		// Writable memory: the heap the manifest asks for (default 512 MB)
		// plus room for the runtime, gRPC and stacks.
		mem := 512 + 128
		if m.Limits.MemoryMB > 0 {
			mem = min(m.Limits.MemoryMB, 4096) + 128
		}
		return nativert.New(ctx, nativert.Config{Name: m.Name, Path: path, SM3: sm3, Log: log, Timeout: timeout, MemoryLimitMB: mem})
	}
	return nil, fmt.Errorf("unknown runtime %q", m.Runtime)
}

// writeExecutable writes the file atomically (temp file, then rename), so
// a concurrent start never runs half a binary.
func writeExecutable(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o750); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
