// Command citycode is the City Code Platform host.
//
//	citycode serve              run the platform
//	citycode migrate up|status  apply or list database migrations
//	citycode audit verify       check the audit trail's SM3 hash chain
//	citycode policy test [dir]  run the Rego tests of the policy bundle, with coverage
//	citycode keys sm2           generate an SM2 key pair (for apps signing with SM2)
//	citycode demo [--json]      register a demo app and print its credentials
//	citycode plugin ...         scaffold, build, test, install, activate, enable, bind plugins
//	citycode version
//
// Every subcommand takes --config FILE and the configuration flags; see
// `citycode serve --help` and deploy/citycode.example.yaml.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/server"
	"github.com/opencitycode/citycode/host/internal/store"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "citycode:", err)
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		os.Exit(1)
	}
}

type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `usage: citycode <command> [flags]

commands:
  serve              run the platform
  migrate up|status  apply or list database migrations
  audit verify       check the audit trail's hash chain
  policy test [dir]  run the Rego tests of the policy bundle with coverage
  keys sm2           generate an SM2 key pair
  demo [--json]      register a demo app and print its credentials
  plugin ...         scaffold, build, install, enable and bind plugins (citycode plugin help)
  testdb create|drop a throwaway database on the DATABASE_URL server (plugin tests)
  version            print the version
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "migrate":
		return migrate(rest, stdout)
	case "audit":
		return auditCmd(rest, stdout)
	case "policy":
		return policyCmd(rest, stdout)
	case "keys":
		return keysCmd(rest, stdout)
	case "demo":
		return demoCmd(rest, stdout)
	case "plugin":
		return pluginCmd(rest, stdout)
	case "testdb":
		return testdbCmd(rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "citycode", server.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// loadConfig parses the flags of a subcommand and loads the configuration.
func loadConfig(name string, args []string) (config.Config, *pflag.FlagSet, error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, err
	}
	cfg, err := config.Load(fs, os.Environ())
	return cfg, fs, err
}

func serve(args []string, stdout, stderr io.Writer) error {
	cfg, _, err := loadConfig("serve", args)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "City Code Platform %s is running.\n", server.Version)
	fmt.Fprintf(stdout, "  Console API: %sconsole/  (log in: GET console/captcha, POST console/login)\n", srv.ConsoleURL(ln))
	fmt.Fprintf(stdout, "  API docs:    %sopenapi.json\n", srv.ConsoleURL(ln))
	if srv.FirstStart {
		fmt.Fprintf(stdout, "  Initial administrator: admin / %s\n", srv.InitialPassword)
		fmt.Fprintln(stdout, "  (one-time password: it must be changed at first login and is not shown again)")
	}
	log.Info("listening", "addr", ln.Addr().String())
	return srv.Run(ctx, ln)
}

func openStore(args []string) (*config.Config, func(), *storeConn, error) {
	return openStoreFor(args, 30*time.Second)
}

// openStoreFor is openStore with a deadline for the whole command.
func openStoreFor(args []string, timeout time.Duration) (*config.Config, func(), *storeConn, error) {
	cfg, _, err := loadConfig("store", args)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.Database.URL == "" {
		return nil, nil, nil, errors.New("no database configured (DATABASE_URL)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	pool, err := store.Open(ctx, cfg.Database.URL, 4)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return &cfg, func() { pool.Close(); cancel() }, &storeConn{ctx: ctx, pool: pool}, nil
}

func migrate(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: citycode migrate up|status")
	}
	_, done, sc, err := openStore(args[1:])
	if err != nil {
		return err
	}
	defer done()
	if args[0] == "up" {
		n, err := store.Migrate(sc.ctx, sc.pool, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		return nil
	}
	st, err := store.Status(sc.ctx, sc.pool)
	if err != nil {
		return err
	}
	pending := 0
	for _, m := range st {
		state := "applied " + m.AppliedAt.Format(time.RFC3339)
		if !m.Applied {
			state = "pending"
			pending++
		}
		fmt.Fprintf(stdout, "%05d  %-45s %s\n", m.Version, m.Source, state)
	}
	fmt.Fprintf(stdout, "%d migration(s), %d pending\n", len(st), pending)
	return nil
}

func randomBytes(b []byte) error { _, err := rand.Read(b); return err }
