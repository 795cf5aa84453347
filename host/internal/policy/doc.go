// Package policy is the host's OPA engine: it loads the Rego bundle
// (policies/ embedded in the binary, or a directory), tests it, serves
// decisions from queries prepared once per bundle, and hot-reloads it.
//
// A bundle is accepted only when every module compiles and every test in its
// *_test.rego files passes; otherwise it is refused with an error wrapping
// ErrBundleRejected and the serving bundle stays. Accepted bundles are
// swapped atomically, so an evaluation never sees a half-loaded bundle.
//
// Console authorization has a typed API: Authorize answers
// data.authz.decision with a Decision whose Scope becomes SQL (Scope.SQL) so
// lists are filtered in the database, and Scope.Contains checks one record
// by the same rules; CheckGrant answers data.authz.grant for sub-accounts and
// role grants. Other packages' policies (openapi, plugins, risk) are
// evaluated with Eval. RunTests runs a bundle's tests with coverage for the
// command line.
//
// This is the only package that imports OPA.
package policy
