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

// limitMemory caps the plugin's writable private memory (RLIMIT_DATA,
// which Linux counts for anonymous mappings since 4.7): a plugin that
// allocates without bound fails its own allocation (the Go runtime exits
// with "out of memory") instead of pushing the host into the OOM killer.
// Not RLIMIT_AS: the Go runtime reserves far more address space than it
// uses, so an address-space cap fails healthy plugins at random.
func limitMemory(pid int, bytes uint64) error {
	return unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: bytes, Max: bytes}, nil)
}
