// Package actor carries who is calling through a request's context: a console
// operator with a session, a developer of the open platform with a portal
// session, or an app authenticated by its request signature.
//
// The values are set by httpapi's authentication middleware and read by the
// services, which hand them to the policy engine. Nothing here does I/O.
package actor

import "context"

// Kind tells what authenticated the request.
type Kind string

const (
	KindOperator Kind = "operator" // console session
	KindApp      Kind = "app"      // signed open-API call
	KindSystem   Kind = "system"   // the host itself (CLI, start-up seeding)
	// KindDeveloper is a developer of the open platform with a portal
	// session: Account is its account, DeveloperID its id; it holds no
	// console permissions and no data scope.
	KindDeveloper Kind = "developer"
)

// OperatorType is the account class of a console operator.
type OperatorType string

const (
	// Root is the initial administrator created at first start. It manages
	// main-platform administrators and sees everything.
	Root OperatorType = "root"
	// PlatformAdmin administers one platform (main or sub).
	PlatformAdmin OperatorType = "platform_admin"
	// Staff is an ordinary operator whose permissions come from roles and
	// whose scope may be narrowed to a region and to its parent's grants.
	Staff OperatorType = "staff"
)

// Actor is the authenticated caller.
type Actor struct {
	Kind Kind

	// Operator fields.
	OperatorID         int64
	Account            string
	OperatorType       OperatorType
	PlatformID         string // the operator's or app's platform
	MainPlatform       bool   // PlatformID is the main platform
	RegionCode         string // non-empty for region accounts: scope is this prefix
	ParentID           int64  // non-zero for sub-accounts
	Permissions        []string
	ObjectTypes        []string // object types a sub-account is limited to; empty = any
	SessionID          string
	MustChangePassword bool

	// App fields.
	AppID string // cityCodeAppId

	// Developer fields.
	DeveloperID string

	// Request context.
	SourceIP  string
	RequestID string
}

type ctxKey struct{}

// With returns ctx carrying a.
func With(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// From returns the actor in ctx, or nil.
func From(ctx context.Context) *Actor {
	a, _ := ctx.Value(ctxKey{}).(*Actor)
	return a
}

// System is the actor used by the host's own start-up and CLI work.
func System() *Actor {
	return &Actor{Kind: KindSystem, Account: "system", OperatorType: Root, MainPlatform: true}
}

// AccountOf answers the account of the actor in ctx, or "" when none.
func AccountOf(ctx context.Context) string {
	if a := From(ctx); a != nil {
		return a.Account
	}
	return ""
}

// OnMainPlatform reports whether the actor in ctx acts for the main
// platform (whose administrators keep what spans every platform).
func OnMainPlatform(ctx context.Context) bool {
	a := From(ctx)
	return a != nil && a.MainPlatform
}
