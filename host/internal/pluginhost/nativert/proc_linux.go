package nativert

import "syscall"

// sysProcAttr makes the kernel SIGKILL the plugin when the thread that
// forked it ends (see spawner), above all when the host dies without
// cleaning up. The plugin stays in the host's process group (Setpgid
// false), so a terminal's Ctrl-C or a service manager's group kill reaches
// it too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: false}
}
