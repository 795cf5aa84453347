//go:build !linux

package nativert

import "syscall"

// sysProcAttr has no parent-death signal off Linux: there, sdk/native's
// parent watchdog alone keeps plugins from outliving the host.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// limitMemory is a no-op where RLIMIT_AS cannot be set on another process.
func limitMemory(int, uint64) error { return nil }
