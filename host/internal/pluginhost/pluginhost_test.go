package pluginhost_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/pluginhost"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt/wasmrttest"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/sdk/plugin"
)

var (
	_, thisFile, _, _ = runtime.Caller(0)
	helloDir          = filepath.Join(filepath.Dir(thisFile), "..", "..", "..", "plugins", "examples", "hello")
	wasmOnce          sync.Once
	helloWasm         []byte
	wasmErr           error
	// One compilation cache for the package's tests: compiling a Go guest
	// cold takes most of a second.
	runtimeDir = filepath.Join(os.TempDir(), "citycode-pluginhost-test")
)

func hello(t *testing.T) ([]byte, []byte) {
	t.Helper()
	wasmOnce.Do(func() {
		out := filepath.Join(t.TempDir(), "hello.wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir, cmd.Env = helloDir, append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			wasmErr = fmt.Errorf("%v: %s", err, b)
			return
		}
		if wasmErr = wasmrttest.Warm(filepath.Join(runtimeDir, "wazero"), out); wasmErr != nil {
			return
		}
		helloWasm, wasmErr = os.ReadFile(out)
	})
	if wasmErr != nil {
		t.Fatal(wasmErr)
	}
	man, err := os.ReadFile(filepath.Join(helloDir, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	return man, helloWasm
}

func withVersion(t *testing.T, man []byte, v string) []byte {
	var m map[string]any
	if err := json.Unmarshal(man, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = v
	b, _ := json.Marshal(m)
	return b
}

// codes is the code engine as the plugin host sees it: a few object codes.
type codes map[string]struct {
	c        plugin.Code
	platform string
}

func (c codes) Resolve(_ context.Context, code string) (*plugin.Code, string, error) {
	x, ok := c[code]
	if !ok {
		return nil, "", fault.NotFoundf("no code %s", code)
	}
	return &x.c, x.platform, nil
}

func (c codes) MergeAttributes(context.Context, string, string, string, []byte) (*plugin.Code, error) {
	return nil, errors.New("unused")
}

var quiet = slog.New(slog.DiscardHandler)

func newService(t *testing.T) (*pluginhost.Service, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.New(t)
	ctx := context.Background()
	engine, err := policy.New(ctx, policy.Config{PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Close)
	evw, err := events.New(ctx, events.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evw.Close(context.Background()) })
	s, err := pluginhost.New(pluginhost.Config{Pool: pool, Authz: engine, Events: evw, Codes: codes{},
		Runtimes: pluginhost.DefaultRuntimes{Dir: runtimeDir, Log: quiet}, PseudonymKey: []byte("k"), PublicBase: "https://code.example.cn",
		Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, pool
}

func wantFault(t *testing.T, err error, code, msg string) {
	t.Helper()
	f, ok := fault.As(err)
	if !ok || f.Code != code || !strings.Contains(f.Message, msg) {
		t.Fatalf("got %v, want %s containing %q", err, code, msg)
	}
}

func TestInstall(t *testing.T) {
	s, pool := newService(t)
	ctx := context.Background()
	man, wasm := hello(t)

	_, err := s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: []byte("\x7fELF not wasm")}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "not a WebAssembly module")
	_, err = s.Install(ctx, &pluginhost.Package{Manifest: []byte(`{"name":"xy"}`), Artefact: wasm}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "version")
	// A module that is WASM but not a plugin does not start: refused.
	_, err = s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: []byte("\x00asm\x01\x00\x00\x00")}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "does not start")

	v, err := s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: wasm}, "t")
	if err != nil || !v.Active || v.SM3 != codec.SM3Hex(wasm) {
		t.Fatalf("install: %+v %v", v, err)
	}
	_, err = s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: wasm}, "t")
	wantFault(t, err, fault.CodeResourceAlreadyExists, "already installed")
	_, err = s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: append(append([]byte{}, wasm...), 0)}, "t")
	wantFault(t, err, fault.CodeResourceAlreadyExists, "other contents")

	t.Run("signatures", func(t *testing.T) {
		privPEM, pubPEM, _ := codec.GenerateSM2Key()
		otherPEM, _, _ := codec.GenerateSM2Key()
		if err := s.AddVendorKey(ctx, "acme", "ACME 科技", pubPEM); err != nil {
			t.Fatal(err)
		}
		wantFault(t, s.AddVendorKey(ctx, "bad", "x", "not a key"), fault.CodeInvalidParameter, "SM2")
		if err := s.SetRequireSignature(ctx, "P0002", true); err != nil {
			t.Fatal(err)
		}
		m2 := withVersion(t, man, "1.1.0")
		_, err := s.Install(ctx, &pluginhost.Package{Manifest: m2, Artefact: wasm}, "t")
		wantFault(t, err, fault.CodeSignatureFailure, "requires signed plugins")

		sign := func(pemText string, manifest, art []byte) string {
			k, _ := codec.ParseSM2PrivateKey(pemText)
			sig, _ := codec.SM2Sign(k, pluginhost.Digest(manifest, art, "hello", "1.1.0"))
			return hex.EncodeToString(sig)
		}
		_, err = s.Install(ctx, &pluginhost.Package{Manifest: m2, Artefact: wasm, Signature: sign(otherPEM, m2, wasm)}, "t")
		wantFault(t, err, fault.CodeSignatureFailure, "does not verify")
		// Signed, then tampered: one byte of the module changed.
		tampered := append([]byte{}, wasm...)
		tampered[len(tampered)/2] ^= 1
		_, err = s.Install(ctx, &pluginhost.Package{Manifest: m2, Artefact: tampered, Signature: sign(privPEM, m2, wasm)}, "t")
		wantFault(t, err, fault.CodeSignatureFailure, "does not verify")
		v, err := s.Install(ctx, &pluginhost.Package{Manifest: m2, Artefact: wasm, Signature: sign(privPEM, m2, wasm)}, "t")
		if err != nil || !v.Signed || v.Signer != "acme" || v.Active {
			t.Fatalf("signed install: %+v %v", v, err)
		}
	})

	t.Run("a tampered stored artefact is refused at start; the old version keeps serving", func(t *testing.T) {
		m3 := withVersion(t, man, "1.2.0")
		priv, pub, _ := codec.GenerateSM2Key()
		_ = pub
		k, _ := codec.ParseSM2PrivateKey(priv)
		_ = k
		if _, err := s.Install(ctx, &pluginhost.Package{Manifest: m3, Artefact: wasm}, "t"); err == nil {
			t.Fatal("unsigned install while a platform requires signatures")
		}
		if err := s.SetRequireSignature(ctx, "P0002", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Install(ctx, &pluginhost.Package{Manifest: m3, Artefact: wasm}, "t"); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE plugin_versions SET artefact = overlay(artefact placing '\x00'::bytea from 100) WHERE version = '1.2.0'`); err != nil {
			t.Fatal(err)
		}
		err := s.Activate(ctx, "hello", "1.2.0")
		if err == nil || !strings.Contains(err.Error(), "SM3") {
			t.Fatalf("activate tampered: %v", err)
		}
		list, err := s.List(ctx, "P0001")
		if err != nil || len(list.Items) != 1 || !list.Items[0].Healthy {
			t.Fatalf("list: %+v %v", list, err)
		}
	})

	t.Run("config is validated against the manifest's schema", func(t *testing.T) {
		if err := s.Configure(ctx, "P0001", "hello", json.RawMessage(`{"greeting":"你好"}`)); err != nil {
			t.Fatal(err)
		}
		wantFault(t, s.Configure(ctx, "P0001", "hello", json.RawMessage(`{"greeting":1}`)), fault.CodeInvalidParameter, "schema")
		wantFault(t, s.Configure(ctx, "P0001", "hello", json.RawMessage(`{"other":1}`)), fault.CodeInvalidParameter, "schema")
		wantFault(t, s.Configure(ctx, "P0001", "hello", json.RawMessage(`[1]`)), fault.CodeInvalidParameter, "object")
		wantFault(t, s.Configure(ctx, "P0001", "nobody", json.RawMessage(`{}`)), fault.CodeResourceNotFound, "not installed")
	})
}

func TestBindings(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	man, wasm := hello(t)
	if _, err := s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: wasm}, "t"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "type", Plugin: "hello"}, "t")
	wantFault(t, err, fault.CodeMissingParameter, "typeId")
	_, err = s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "type", TypeID: "T1", CodeKind: "object", Plugin: "hello"}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "codeKind does not belong")
	_, err = s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "person", Plugin: "hello"}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "does not serve person")
	_, err = s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "object", Plugin: "ghost"}, "t")
	wantFault(t, err, fault.CodeInvalidParameter, "not installed")

	b, err := s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "object", Plugin: "hello"}, "t")
	if err != nil || b.State != "draft" {
		t.Fatalf("%+v %v", b, err)
	}
	_, err = s.SetBindingState(ctx, b.ID, "online")
	wantFault(t, err, fault.CodeFailedOperation, "cannot go from draft to online")
	for _, st := range []string{"review", "online"} {
		if b, err = s.SetBindingState(ctx, b.ID, st); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.UpdateBinding(ctx, b.ID, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "object", Plugin: "hello", Title: "x"})
	wantFault(t, err, fault.CodeFailedOperation, "take it offline")
	wantFault(t, s.DeleteBinding(ctx, b.ID, "P0001"), fault.CodeFailedOperation, "online")
	wantFault(t, s.DeleteBinding(ctx, b.ID, "P0002"), fault.CodeResourceNotFound, "not found")

	dup, err := s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "object", Plugin: "hello"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	s.SetBindingState(ctx, dup.ID, "review")
	_, err = s.SetBindingState(ctx, dup.ID, "online")
	wantFault(t, err, fault.CodeResourceInUse, "same scope")
}

func TestAccessTokenRedeemsOnce(t *testing.T) {
	s, pool := newService(t)
	ctx := context.Background()
	// A token as a landing visit mints it (stored hashed).
	tok := "tok-abcdefghijklmnopqrstuvwxyz"
	_, err := pool.Exec(ctx, `INSERT INTO landing_tokens (token_hash, platform_id, plugin, code, visitor, expires_at)
		VALUES ($1, 'P0001', 'hello', '{"token":"c1","kind":"object"}', '{"tourist":true}', now() + interval '5 minutes')`, codec.SM3Hex([]byte(tok)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Redeem(ctx, "other", "P0001", tok); !plugin.IsCode(err, "FailedOperation.TokenInvalid") {
		t.Fatalf("another plugin redeemed it: %v", err)
	}
	if _, err := s.Redeem(ctx, "hello", "P0002", tok); !plugin.IsCode(err, "FailedOperation.TokenInvalid") {
		t.Fatalf("another platform redeemed it: %v", err)
	}
	info, err := s.Redeem(ctx, "hello", "P0001", tok)
	if err != nil || info.Code.Token != "c1" || !info.Visitor.Tourist {
		t.Fatalf("redeem: %+v %v", info, err)
	}
	if _, err := s.Redeem(ctx, "hello", "P0001", tok); !plugin.IsCode(err, "FailedOperation.TokenInvalid") {
		t.Fatalf("second redeem: %v", err)
	}
}

// TestLandingPrecedence: the most specific online binding wins — the code
// itself, owner unit + object type, region + object type (longest region
// prefix), object type, code kind — and offline or other platforms'
// bindings never count.
func TestLandingPrecedence(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	man, wasm := hello(t)
	if _, err := s.Install(ctx, &pluginhost.Package{Manifest: man, Artefact: wasm}, "t"); err != nil {
		t.Fatal(err)
	}
	code := &plugin.Code{Token: "tok1", Kind: "object", TypeID: "T0001", RegionCode: "310104001", OwnerUnit: "徐汇环卫所"}
	online := func(in pluginhost.BindingIn) int64 {
		t.Helper()
		in.Plugin = "hello"
		b, err := s.CreateBinding(ctx, &in, "t")
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{"review", "online"} {
			if _, err := s.SetBindingState(ctx, b.ID, st); err != nil {
				t.Fatal(err)
			}
		}
		return b.ID
	}
	want := func(id int64, scope string) {
		t.Helper()
		gotID, gotScope, err := s.BindingFor(ctx, "P0001", code)
		if err != nil || gotID != id || gotScope != scope {
			t.Fatalf("binding %d %q (%v), want %d %q", gotID, gotScope, err, id, scope)
		}
	}
	want(0, "")
	// Bindings of another platform and bindings not online never count.
	online(pluginhost.BindingIn{PlatformID: "P0002", Scope: "code", CodeToken: "tok1"})
	if _, err := s.CreateBinding(ctx, &pluginhost.BindingIn{PlatformID: "P0001", Scope: "code", CodeToken: "tok1", Plugin: "hello"}, "t"); err != nil {
		t.Fatal(err)
	}
	want(0, "")
	kind := online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "kind", CodeKind: "object"})
	want(kind, "kind")
	typ := online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "type", TypeID: "T0001"})
	want(typ, "type")
	online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "region_type", RegionCode: "31", TypeID: "T0001"})
	district := online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "region_type", RegionCode: "310104", TypeID: "T0001"})
	online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "region_type", RegionCode: "310105", TypeID: "T0001"})
	want(district, "region_type") // the longest matching prefix
	owner := online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "owner_type", OwnerUnit: "徐汇环卫所", TypeID: "T0001"})
	want(owner, "owner_type")
	own := online(pluginhost.BindingIn{PlatformID: "P0001", Scope: "code", CodeToken: "tok1"})
	want(own, "code")
	// Taking the most specific offline falls back to the next.
	if _, err := s.SetBindingState(ctx, own, "offline"); err != nil {
		t.Fatal(err)
	}
	want(owner, "owner_type")
	// Another object type matches only the kind binding.
	other := *code
	other.TypeID = "T0002"
	if id, scope, _ := s.BindingFor(ctx, "P0001", &other); id != kind || scope != "kind" {
		t.Fatalf("other type: %d %s", id, scope)
	}
}
