package nativert

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr makes the kernel SIGKILL the plugin when the thread that
// forked it ends (see spawner), above all when the host dies without
// cleaning up. The plugin stays in the host's process group (Setpgid
// false), so a terminal's Ctrl-C or a service manager's group kill reaches
// it too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: false}
}

// limitMemory caps the plugin's address space (RLIMIT_AS): a plugin that
// allocates without bound fails its own allocation (the Go runtime exits
// with "out of memory") instead of pushing the host into the OOM killer.
func limitMemory(pid int, bytes uint64) error {
	return unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: bytes, Max: bytes}, nil)
}
