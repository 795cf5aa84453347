package policy

import (
	"context"
	"fmt"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
)

type scopeKey struct{}

// WithScope returns ctx carrying the data scope of the request's authorized
// action; the HTTP layer sets it before a console handler runs.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope in ctx. Without one it returns the zero Scope,
// which contains nothing: a list built from a missing scope is empty, never
// everything.
func ScopeFrom(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}

// Require decides action for the actor in ctx, on res when given, and
// returns the decision's scope. A denial is a *fault.Error
// (UnauthorizedOperation, 403) carrying the policy's reason; an evaluation
// failure is an internal error and also denies.
func (e *Engine) Require(ctx context.Context, action string, res *Resource) (Scope, error) {
	a := actor.From(ctx)
	if a == nil {
		return Scope{}, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "no authenticated caller")
	}
	d, err := e.Authorize(ctx, AuthzInput{Subject: SubjectFromActor(a), Action: action, Resource: res})
	if err != nil {
		return Scope{}, fmt.Errorf("policy: authorize %s: %w", action, err)
	}
	if !d.Allow {
		reason := d.Reason
		if reason == "" {
			reason = "not permitted"
		}
		return Scope{}, fault.Deniedf("%s: %s", action, reason)
	}
	return d.Scope, nil
}

// AuthorizeAction implements the HTTP layer's authorizer: it requires action
// for the caller and puts the decision's scope in the returned context.
func (e *Engine) AuthorizeAction(ctx context.Context, action string) (context.Context, error) {
	s, err := e.Require(ctx, action, nil)
	if err != nil {
		return ctx, err
	}
	return WithScope(ctx, s), nil
}
