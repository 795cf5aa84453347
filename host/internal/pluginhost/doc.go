// Package pluginhost runs the city's scenario plugins: it keeps the
// registry of plugins and their versions in PostgreSQL, loads the active
// version of each into its runtime (WASM in-process through wazero, or a
// native process through go-plugin), routes a scanned code to the plugin
// that serves its landing page, and answers the capability calls plugins
// make, each checked by policies/plugins.
//
// # Registry and nodes
//
// A version's artefact is stored with its manifest, SM3 checksum and
// optional vendor signature, so every node loads the same bytes. Activating
// a version bumps the plugin's generation; each node polls the generations
// and reloads what changed, so an upgrade reaches every node within the
// poll interval without a restart.
//
// # Zero-downtime upgrade
//
// A new version is started and warmed before it is swapped in; the old one
// is then closed, which waits for its calls in flight. A call that picked
// the old runner just as it closed (ErrClosed) is retried once on the new
// one, so no request fails during an upgrade.
//
// # Isolation
//
// A plugin reaches data only through capabilities, scoped to itself and to
// the platform of the request it is serving: the host takes the plugin and
// the platform from the request in flight, never from the plugin's
// arguments. Every call passes data.plugins.decision (declared in the
// manifest, enabled on the platform); a denial is audited.
package pluginhost
