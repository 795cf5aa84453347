// Package nativert runs native plugins: each plugin version is a separate
// process spoken to over hashicorp/go-plugin (gRPC), implementing
// runner.Runner with the protocol of package sdk/native.
//
// A Runner owns one process at a time. Before every start it recomputes
// the executable's SM3 checksum and refuses a file that does not match. A
// supervisor restarts a process that exits, with exponential backoff, and
// reports the runner unhealthy meanwhile. The process dies with the host:
// it gets a parent-death signal (SIGKILL), and sdk/native's Serve also
// exits when its parent changes. What the process prints reaches the host
// log with the attribute plugin=<name>.
//
// See RATIONALE.md beside this file for the decisions behind it.
package nativert
