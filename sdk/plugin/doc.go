// Package plugin is the contract between the city code host and its
// scenario plugins: the manifest a plugin ships, the request it is handed
// for a landing visit or an action, the response it gives back, and the
// host capabilities it may call.
//
// One contract serves both runtimes. A plugin implements Handler once and
// is built either as a WASM guest (GOOS=wasip1, served by package
// sdk/wasm) or as a native process (served by package sdk/native over
// hashicorp/go-plugin); package sdk/serve picks the right one by build
// target, so the same source builds both ways:
//
//	func init() { serve.Register(myPlugin{}) }
//	func main() { serve.Main() }
//
// On the wire every message is JSON: the host sends a Request, the plugin
// answers a Response, and a capability call is a Call answered by a
// CallResult. Both runtimes carry exactly these bytes, which is what lets a
// vendor switch runtime without rewriting.
//
// The host checks every capability call against the manifest and the
// platform's enablement (policies/plugins) and scopes its data to the
// plugin and the platform of the request being served: a plugin can never
// reach another plugin's records or another platform's data, whatever it
// puts in its arguments.
package plugin
