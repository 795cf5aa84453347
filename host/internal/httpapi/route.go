package httpapi

import (
	"context"
	"io"
	"net/http"
	"reflect"
)

// Auth says how a route authenticates its caller.
type Auth int

const (
	// Public routes need no credentials (health, login, captcha, docs).
	Public Auth = iota
	// Console routes need an operator session; the route's Action is
	// authorized by the policy engine before the handler runs, and the
	// decision's data scope is put in the context for the service.
	Console
	// App routes are the signed open API: the request signature, timestamp
	// and nonce are verified, and SM4-GCM bodies are decrypted, before the
	// handler runs.
	App
	// Developer routes are the open platform's developer portal: they need
	// a developer session (Config.Developers), never an operator's; the
	// services decide what a developer may see of its own.
	Developer
)

func (a Auth) String() string {
	switch a {
	case Console:
		return "console"
	case App:
		return "app"
	case Developer:
		return "developer"
	default:
		return "public"
	}
}

// Route is one endpoint declared as data: where it is, how it is
// authenticated and authorized, what it takes and returns, and which error
// codes it may answer. The OpenAPI document and the echo routes are both
// built from the same declarations.
type Route struct {
	Method      string
	Path        string // echo syntax: /console/apps/:appId
	Summary     string
	Description string
	Tags        []string
	Auth        Auth
	// Action is the policy action a Console route requires (e.g. "app.read").
	// Empty means any authenticated operator may call it.
	Action string
	// AllowPendingPassword lets an operator whose one-time password is not yet
	// changed call the route (change password, logout, who-am-i).
	AllowPendingPassword bool
	// Codes are the route-specific error codes, beyond the ones every route
	// of its Auth class may answer.
	Codes []string
	// ReadOnly marks an app route that changes nothing (show, decode,
	// look-ups): its successful calls are usage events, not audit entries.
	ReadOnly bool
	// CacheSeconds, when set, lets clients and proxies cache a successful
	// answer that long (public data such as the code verification keys).
	CacheSeconds int
	// Lenient accepts unknown JSON fields instead of refusing them; for the
	// manual's app API, whose clients send extra fields.
	Lenient bool
	// MaxBodyBytes, when set, replaces the API's body size limit for this
	// route (uploads of plugin packages).
	MaxBodyBytes int64
	// Conditional routes answer a strong ETag of their data and 304 Not
	// Modified to a request whose If-None-Match names it (the clients'
	// configuration pages, polled often and rarely changed).
	Conditional bool
	// Capability names the open-platform capability an App route belongs
	// to (what an app is granted and given a quota of); empty means the
	// route's first tag.
	Capability string

	in, out reflect.Type
	invoke  func(ctx context.Context, in any) (any, error)
	newIn   func() any
}

// Handle declares a route whose handler takes a decoded *In and returns an
// *Out that becomes the envelope's Data.
//
// In's fields are filled from the JSON body (json tags), the path (`path:"x"`)
// and the query string (`query:"x"`), then validated (`validate:"..."`, the
// go-playground/validator syntax); a failure answers 400 with
// MissingParameter or InvalidParameter naming the parameter. If *Out
// implements Download, it is streamed as a file instead of enveloped.
func Handle[In, Out any](method, path string, fn func(ctx context.Context, in *In) (*Out, error)) *Route {
	return &Route{
		Method: method,
		Path:   path,
		in:     reflect.TypeFor[In](),
		out:    reflect.TypeFor[Out](),
		newIn:  func() any { return new(In) },
		invoke: func(ctx context.Context, in any) (any, error) {
			out, err := fn(ctx, in.(*In))
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

// MaxBody sets the route's own body size limit.
func (r *Route) MaxBody(n int64) *Route { r.MaxBodyBytes = n; return r }

// Doc sets the summary and description shown in the API documentation.
func (r *Route) Doc(summary, description string) *Route {
	r.Summary, r.Description = summary, description
	return r
}

// Tag adds documentation tags (the module the route belongs to).
func (r *Route) Tag(tags ...string) *Route { r.Tags = append(r.Tags, tags...); return r }

// Public marks the route as needing no credentials.
func (r *Route) Public() *Route { r.Auth = Public; return r }

// Console marks the route as a console route requiring action.
func (r *Route) Console(action string) *Route { r.Auth = Console; r.Action = action; return r }

// App marks the route as part of the signed open API.
func (r *Route) App() *Route { r.Auth = App; return r }

// Developer marks the route as needing a developer session.
func (r *Route) Developer() *Route { r.Auth = Developer; return r }

// PendingPasswordOK lets operators who must still change their one-time
// password call the route.
func (r *Route) PendingPasswordOK() *Route { r.AllowPendingPassword = true; return r }

// Errors adds route-specific error codes to the documentation.
func (r *Route) Errors(codes ...string) *Route { r.Codes = append(r.Codes, codes...); return r }

// Cache lets clients cache successful answers for seconds.
func (r *Route) Cache(seconds int) *Route { r.CacheSeconds = seconds; return r }

// Reads marks the route as changing nothing.
func (r *Route) Reads() *Route { r.ReadOnly = true; return r }

// ETag makes the route conditional: a strong ETag of its data, 304 to a
// matching If-None-Match. Encrypted answers carry none (their bytes differ
// each time and say nothing to a cache).
func (r *Route) ETag() *Route { r.Conditional = true; return r }

// Needs names the capability an App route belongs to, when it is not the
// route's first tag (decoding is granted apart from issuing).
func (r *Route) Needs(capability string) *Route { r.Capability = capability; return r }

// CapabilityName is the capability an App route belongs to: Capability, or
// the first tag.
func (r *Route) CapabilityName() string {
	if r.Capability != "" {
		return r.Capability
	}
	if len(r.Tags) > 0 {
		return r.Tags[0]
	}
	return ""
}

// AcceptUnknownFields makes JSON decoding ignore unknown fields.
func (r *Route) AcceptUnknownFields() *Route { r.Lenient = true; return r }

// Empty is the In or Out of routes that take or return nothing.
type Empty struct{}

// Download is implemented by handler results that are files (exports,
// images): they are streamed with their content type instead of enveloped.
type Download interface {
	ContentType() string
	Filename() string // "" for inline content
	WriteTo(ctx context.Context, w io.Writer) error
}

// RouteSet is implemented by every service that exposes endpoints.
type RouteSet interface {
	Routes() []*Route
}

// StatusOf exposes the HTTP status of a declared route's successes: 200.
const statusOK = http.StatusOK
