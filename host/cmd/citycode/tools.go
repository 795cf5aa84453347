package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/policies"
)

// auditCmd: citycode audit verify — exits 1 when the chain is broken, naming
// the first broken entry.
func auditCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: citycode audit verify")
	}
	_, done, sc, err := openStore(args[1:])
	if err != nil {
		return err
	}
	defer done()
	l := audit.New(audit.Config{Pool: sc.pool})
	defer l.Close(sc.ctx)
	ctx, cancel := context.WithTimeout(sc.ctx, 30*time.Minute)
	defer cancel()
	res, err := l.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, audit.VerifyReport(res))
	if !res.OK {
		return exitCode(1)
	}
	return nil
}

// policyCmd: citycode policy test [DIR] — runs the Rego tests of DIR (default:
// the embedded bundle) with coverage; exits 1 when any test fails.
func policyCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: citycode policy test [DIR]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var rep policy.Report
	var err error
	if len(args) > 1 {
		rep, err = policy.RunTests(ctx, os.DirFS(args[1]))
	} else {
		rep, err = policy.RunTests(ctx, policies.FS())
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.String())
	if !rep.OK() {
		return exitCode(1)
	}
	return nil
}

// keysCmd: citycode keys sm2 — prints a new SM2 key pair in PEM: the private
// key stays with the app, the public key is registered with the platform.
func keysCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "sm2" {
		return errors.New("usage: citycode keys sm2")
	}
	priv, pub, err := codec.GenerateSM2Key()
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, priv, pub)
	return nil
}
