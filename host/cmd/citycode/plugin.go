package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/pluginhost"
	"github.com/opencitycode/citycode/host/internal/pluginhost/wasmrt"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/server"
	"github.com/opencitycode/citycode/host/internal/tenancy"
	"github.com/opencitycode/citycode/sdk/plugin"
)

const pluginUsage = `usage: citycode plugin <command> [flags]

  new NAME [--runtime wasm|native] [--dir DIR] [--sdk PATH]
                         scaffold a plugin that builds and passes its test at once
  build [DIR] [--sign KEY.pem]
                         build the entry plugin.json names (GOOS=wasip1 for wasm);
                         --sign writes plugin.sig, the SM2 signature of the package
  test [DIR]             build, then run the plugin's Go tests
  install [DIR]          install (or add a version of) the plugin in DIR
  activate NAME VERSION  run VERSION on every node (upgrade or rollback, zero downtime)
  enable|disable NAME [--platform P]
  config NAME --json '{...}' [--platform P]
                         the platform's configuration of the plugin (checked against its schema)
  bind NAME [--platform P] [--kind object|enterprise] [--type TYPE] [--code TOKEN]
                         route codes to the plugin's landing page (put online at once)
  list [--platform P]    installed plugins
  admin NAME METHOD PATH[?q=…] [--json BODY] [--platform P]
                         call the plugin's admin route as the operator "cli" (answers its JSON)
  records NAME COLLECTION [--platform P] [--export FILE.xlsx]
                         the plugin's records (JSON lines, newest first), or an xlsx export
  logs NAME [--file F]   the plugin's lines in a host log (JSON lines; default stdin)
  precompile --cache DIR MODULE.wasm...
                         compile WASM modules into a compilation cache (plugins.cache_dir)
                         that hosts then load instead of compiling
  dev DIR [--interval 1s]
                         rebuild-free dev loop: reinstall and activate DIR's .wasm
                         whenever it changes (a running host reloads it without restart)
`

// pluginFlags splits the plugin command's own flags from the configuration
// flags.
func pluginFlags(args []string, names ...string) (map[string]string, []string, []string) {
	own := map[string]string{}
	var pos, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
			continue
		}
		k, v, hasV := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		known := false
		for _, n := range names {
			known = known || n == k
		}
		if !known {
			rest = append(rest, a)
			if !hasV && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		if !hasV && i+1 < len(args) {
			v = args[i+1]
			i++
		}
		own[k] = v
	}
	return own, pos, rest
}

func pluginCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, pluginUsage)
		return exitCode(2)
	}
	cmd, args := args[0], args[1:]
	flags, pos, rest := pluginFlags(args, "runtime", "dir", "sdk", "sign", "platform", "kind", "type", "code", "file", "interval", "json", "export", "cache")
	arg := func(i int, def string) string {
		if i < len(pos) {
			return pos[i]
		}
		return def
	}
	switch cmd {
	case "new":
		if len(pos) != 1 {
			return errors.New("usage: citycode plugin new NAME [--runtime wasm|native] [--dir DIR] [--sdk PATH]")
		}
		return scaffold(pos[0], flags, stdout)
	case "build":
		return buildPlugin(arg(0, "."), flags["sign"], stdout)
	case "test":
		dir := arg(0, ".")
		if err := buildPlugin(dir, "", stdout); err != nil {
			return err
		}
		// The plugin's real-runtime tests (sdk/plugintest) run this very
		// host binary.
		var env []string
		if self, err := os.Executable(); err == nil && os.Getenv("CITYCODE_BIN") == "" {
			env = append(env, "CITYCODE_BIN="+self)
		}
		return goTool(dir, env, stdout, "test", "-count=1", "./...")
	case "precompile":
		if flags["cache"] == "" || len(pos) == 0 {
			return errors.New("usage: citycode plugin precompile --cache DIR MODULE.wasm...")
		}
		return precompile(flags["cache"], pos)
	case "logs":
		if len(pos) != 1 {
			return errors.New("usage: citycode plugin logs NAME [--file F]")
		}
		return pluginLogs(pos[0], flags["file"], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, pluginUsage)
		return nil
	}
	ph, ctx, done, err := openPluginHost(rest)
	if err != nil {
		return err
	}
	defer done()
	platform := flags["platform"]
	if platform == "" {
		platform = tenancy.MainPlatformID
	}
	switch cmd {
	case "install":
		p, err := pluginhost.ReadDir(arg(0, "."))
		if err != nil {
			return err
		}
		v, err := ph.Install(ctx, p, "cli")
		if err != nil {
			return err
		}
		state := "installed; activate it with: citycode plugin activate " + v.Name + " " + v.Version
		if v.Active {
			state = "installed and active"
		}
		fmt.Fprintf(stdout, "%s %s (sm3 %s, signed %v): %s\n", v.Name, v.Version, v.SM3[:16], v.Signed, state)
		return nil
	case "activate":
		if len(pos) != 2 {
			return errors.New("usage: citycode plugin activate NAME VERSION")
		}
		return ph.Activate(ctx, pos[0], pos[1])
	case "enable", "disable":
		if len(pos) != 1 {
			return fmt.Errorf("usage: citycode plugin %s NAME [--platform P]", cmd)
		}
		return ph.Enable(ctx, platform, pos[0], cmd == "enable")
	case "config":
		if len(pos) != 1 || flags["json"] == "" {
			return errors.New("usage: citycode plugin config NAME --json '{...}' [--platform P]")
		}
		return ph.Configure(ctx, platform, pos[0], json.RawMessage(flags["json"]))
	case "bind":
		if len(pos) != 1 {
			return errors.New("usage: citycode plugin bind NAME [--platform P] [--kind K] [--type T] [--code TOKEN]")
		}
		in := &pluginhost.BindingIn{PlatformID: platform, Plugin: pos[0], Title: pos[0]}
		switch {
		case flags["code"] != "":
			in.Scope, in.CodeToken = "code", flags["code"]
		case flags["type"] != "":
			in.Scope, in.TypeID = "type", flags["type"]
		default:
			in.Scope, in.CodeKind = "kind", cmp(flags["kind"], "object")
		}
		b, err := ph.CreateBinding(ctx, in, "cli")
		if err != nil {
			return err
		}
		for _, st := range []string{"review", "online"} {
			if b, err = ph.SetBindingState(ctx, b.ID, st); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "landing binding %d: %s %s%s%s → %s (online)\n", b.ID, b.Scope, b.CodeToken, b.TypeID, b.CodeKind, b.Plugin)
		return nil
	case "list":
		list, err := ph.List(ctx, platform)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVERSION\tRUNTIME\tENABLED\tHEALTH\tTITLE")
		for _, p := range list.Items {
			health := "ok"
			if !p.Healthy {
				health = p.HealthError
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", p.Name, p.ActiveVersion, p.Runtime, p.Enabled, health, p.Title)
		}
		return tw.Flush()
	case "admin":
		if len(pos) != 3 {
			return errors.New("usage: citycode plugin admin NAME METHOD PATH [--json BODY] [--platform P]")
		}
		// The plugin runs in this process for the call.
		if err := ph.Start(ctx); err != nil {
			return err
		}
		var body []byte
		if flags["json"] != "" {
			body = []byte(flags["json"])
		}
		path, rawQuery, _ := strings.Cut(pos[2], "?")
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			return fmt.Errorf("query of %s: %w", pos[2], err)
		}
		out, err := ph.Admin(ctx, pos[0], platform, strings.ToUpper(pos[1]), path, query, body, "cli")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	case "records":
		if len(pos) != 2 {
			return errors.New("usage: citycode plugin records NAME COLLECTION [--platform P] [--export FILE.xlsx]")
		}
		if f := flags["export"]; f != "" {
			out, err := os.Create(f)
			if err != nil {
				return err
			}
			n, err := ph.ExportCollection(ctx, pos[0], platform, pos[1], out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d records written to %s\n", n, f)
			return nil
		}
		page, err := ph.Records(ctx, pos[0], platform, plugin.RecordQuery{Collection: pos[1], Newest: true, Limit: 500})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, r := range page.Items {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case "dev":
		// The command's context has a deadline; the dev loop runs until
		// interrupted.
		dctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return devLoop(dctx, ph, arg(0, "."), flags["interval"], stdout)
	}
	fmt.Fprint(stdout, pluginUsage)
	return fmt.Errorf("unknown plugin command %q", cmd)
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// openPluginHost opens the configured database and a plugin host on it
// (not started: the CLI changes the registry; running hosts follow it).
func openPluginHost(args []string) (*pluginhost.Service, context.Context, func(), error) {
	// Installing compiles and starts the plugin once, which takes seconds
	// for a large module on a cold cache.
	cfg, done, sc, err := openStoreFor(args, 5*time.Minute)
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*pluginhost.Service, context.Context, func(), error) {
		done()
		return nil, nil, nil, err
	}
	keyText, err := cfg.MasterKeyText(func(b []byte) error { _, err := rand.Read(b); return err })
	if err != nil {
		return fail(err)
	}
	key, err := codec.ParseMasterKey(keyText)
	if err != nil {
		return fail(err)
	}
	sealer, err := codec.NewSealer(key)
	if err != nil {
		return fail(err)
	}
	ctx := actor.With(sc.ctx, actor.System())
	engine, err := policy.New(ctx, policy.Config{Dir: cfg.Policy.Dir, PollInterval: -1})
	if err != nil {
		return fail(err)
	}
	evw, err := events.New(ctx, events.Config{Pool: sc.pool})
	if err != nil {
		engine.Close()
		return fail(err)
	}
	ten, err := tenancy.New(tenancy.Config{Pool: sc.pool, Authz: engine, Sealer: sealer})
	if err != nil {
		return fail(err)
	}
	rules, err := codeengine.New(codeengine.Config{Pool: sc.pool, Authz: engine, Tenancy: ten, MainPlatformID: tenancy.MainPlatformID})
	if err != nil {
		return fail(err)
	}
	objects, err := codeengine.NewObjects(rules, evw, cfg.HTTP.PublicBaseURL)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ph, err := pluginhost.New(pluginhost.Config{Pool: sc.pool, Authz: engine, Events: evw, Codes: server.PluginCodes(objects), Log: log,
		Runtimes:     pluginhost.DefaultRuntimes{Dir: cfg.Plugins.Dir, CacheDir: cfg.Plugins.CacheDir, Log: log},
		PseudonymKey: []byte(sealer.BlindIndex("plugin visitor pseudonyms", "pluginhost.pseudonym"))})
	if err != nil {
		return fail(err)
	}
	return ph, ctx, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ph.Close(cctx)
		_ = evw.Close(cctx)
		engine.Close()
		done()
	}, nil
}

// goTool runs the go command in dir.
func goTool(dir string, env []string, stdout io.Writer, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %w", strings.Join(args, " "), dir, err)
	}
	return nil
}

// buildPlugin builds the entry of the plugin in dir for its runtime.
func buildPlugin(dir, signKey string, stdout io.Writer) error {
	raw, err := os.ReadFile(filepath.Join(dir, "plugin.json"))
	if err != nil {
		return fmt.Errorf("no plugin.json in %s", dir)
	}
	m, err := plugin.ParseManifest(raw)
	if err != nil {
		return err
	}
	switch m.Runtime {
	case plugin.WASM:
		err = goTool(dir, []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, stdout, "build", "-buildmode=c-shared", "-trimpath", "-o", m.Entry, ".")
	default:
		err = goTool(dir, []string{"CGO_ENABLED=0"}, stdout, "build", "-trimpath", "-o", m.Entry, ".")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s (%s)\n", filepath.Join(dir, m.Entry), m.Runtime)
	if signKey == "" {
		return nil
	}
	pem, err := os.ReadFile(signKey)
	if err != nil {
		return err
	}
	priv, err := codec.ParseSM2PrivateKey(string(pem))
	if err != nil {
		return fmt.Errorf("--sign: %w", err)
	}
	art, err := os.ReadFile(filepath.Join(dir, m.Entry))
	if err != nil {
		return err
	}
	sig, err := codec.SM2Sign(priv, pluginhost.Digest(raw, art, m.Name, m.Version))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.sig"), []byte(hex.EncodeToString(sig)+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signed: plugin.sig")
	return nil
}

// pluginLogs prints the lines of a JSON host log that a plugin wrote or
// that name it.
func pluginLogs(name, file string, stdout io.Writer) error {
	var in io.Reader = os.Stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line["plugin"] == name {
			fmt.Fprintln(stdout, sc.Text())
		}
	}
	return sc.Err()
}

// devLoop reinstalls the plugin in dir as a new dev version whenever its
// entry changes, and activates it: running hosts swap it in without a
// restart.
func devLoop(ctx context.Context, ph *pluginhost.Service, dir, interval string, stdout io.Writer) error {
	every := time.Second
	if interval != "" {
		d, err := time.ParseDuration(interval)
		if err != nil {
			return fmt.Errorf("--interval: %w", err)
		}
		every = d
	}
	var last string
	for n := 1; ; n++ {
		p, err := pluginhost.ReadDir(dir)
		if err == nil {
			sum := codec.SM3Hex(p.Artefact)
			if sum != last {
				if err := installDev(ctx, ph, p, n); err != nil {
					fmt.Fprintln(stdout, "dev:", err)
				} else {
					fmt.Fprintf(stdout, "dev: reloaded %s\n", sum[:16])
				}
				last = sum
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func installDev(ctx context.Context, ph *pluginhost.Service, p *pluginhost.Package, n int) error {
	var m map[string]any
	if err := json.Unmarshal(p.Manifest, &m); err != nil {
		return err
	}
	v := fmt.Sprintf("%v-dev.%d.%d", m["version"], time.Now().Unix(), n)
	m["version"] = v
	p.Manifest, _ = json.Marshal(m)
	p.Signature = ""
	iv, err := ph.Install(ctx, p, "dev")
	if err != nil {
		return err
	}
	if iv.Active {
		return nil
	}
	return ph.Activate(ctx, iv.Name, v)
}

// precompile fills a WASM compilation cache (plugins.cache_dir) with the
// modules, so that hosts that share the cache load them instead of
// compiling; the test suites use it to keep the compiling out of their
// race-detector builds, where it costs ten times more.
func precompile(dir string, files []string) error {
	ctx := context.Background()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := wasmrt.Precompile(ctx, dir, b); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}
