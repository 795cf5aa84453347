// Package native runs a plugin as a separate process spoken to over
// hashicorp/go-plugin (gRPC), the "native" runtime of sdk/plugin. Both ends
// live here so that they cannot drift apart: a plugin's main calls Serve,
// and the host starts the executable with a go-plugin client configured by
// Handshake and ClientPlugins, then talks to it through Connect's Client.
//
//	func main() { native.Serve(myPlugin{}) }
//
// The wire is the protocol documented beside plugin.NativeService: JSON
// documents of sdk/plugin in protobuf BytesValue messages, with gRPC
// services declared by hand (no generated code, no protoc in the build).
// Capability calls travel back to the host over a second gRPC connection
// opened through the go-plugin broker once per process; each carries the id
// of the Handle it belongs to, so the host answers it with that request's
// capabilities and no other's.
//
// A plugin process never outlives its host: Serve exits when its parent
// process changes (the host died and the process was re-parented), which
// backs up the parent-death signal a Linux host sets on the child.
package native
