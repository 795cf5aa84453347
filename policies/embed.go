// Package policies is the default Rego policy bundle of the host.
//
// Each directory is one Rego package with its own *_test.rego tests:
//
//	authz    console RBAC and data scope (data.authz.decision, data.authz.grant)
//	openapi  which capabilities an app may call (data.openapi.decision)
//	plugins  which host capabilities a plugin may use (data.plugins.decision)
//	risk     allow, flag or intercept an event by its indicators (data.risk.decision)
//
// The host's policy engine loads this bundle unless it is configured with a
// directory of its own; either way a bundle whose modules fail to compile or
// whose tests fail is refused. Only the policy engine reads these files.
package policies

import (
	"embed"
	"io/fs"
)

//go:embed authz openapi plugins risk
var files embed.FS

// FS returns the embedded bundle: the policy directories above, each holding
// its *.rego files.
func FS() fs.FS { return files }
