package main

import (
	"errors"
	"io"
)

func auditCmd(args []string, stdout io.Writer) error  { return errors.New("audit: not wired yet") }
func policyCmd(args []string, stdout io.Writer) error { return errors.New("policy: not wired yet") }
func keysCmd(args []string, stdout io.Writer) error   { return errors.New("keys: not wired yet") }
