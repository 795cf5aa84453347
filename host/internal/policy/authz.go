package policy

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/opencitycode/citycode/host/internal/actor"
)

// Subject is the console operator a question is asked about, as
// policies/authz reads it.
type Subject struct {
	Type         actor.OperatorType `json:"type"` // root | platform_admin | staff; anything else is denied
	PlatformID   string             `json:"platform_id"`
	MainPlatform bool               `json:"main_platform"`
	RegionCode   string             `json:"region_code"`  // "" = no region limit
	Permissions  []string           `json:"permissions"`  // "app.read", "app.*", "*"
	ObjectTypes  []string           `json:"object_types"` // empty = any object type
}

// Resource is the record an action applies to. Empty fields mean the record
// has no such attribute: it is then outside a scope limited on that
// attribute, except ObjectType, where "" means "not an object" and is inside.
type Resource struct {
	PlatformID string `json:"platform_id"`
	RegionCode string `json:"region_code"`
	ObjectType string `json:"object_type"`
}

// AuthzInput asks whether Subject may perform Action ("app.read"), on
// Resource when given. Without a Resource (lists, creation) the answer's
// Scope says which records the subject may see or create.
type AuthzInput struct {
	Subject  Subject   `json:"subject"`
	Action   string    `json:"action"`
	Resource *Resource `json:"resource,omitempty"`
}

// Decision is the answer of data.authz.decision. Reason explains a denial
// in English and is empty when allowed. Scope is given for denials too, but
// only an allowed decision's scope means anything.
type Decision struct {
	Allow  bool
	Reason string
	Scope  Scope
}

// Grant is what a parent wants to give a sub-account or a role.
type Grant struct {
	Permissions []string `json:"permissions"`
	ObjectTypes []string `json:"object_types"`
	RegionCode  string   `json:"region_code"`
}

// GrantInput asks whether Parent may give Requested.
type GrantInput struct {
	Parent    Subject `json:"parent"`
	Requested Grant   `json:"requested"`
}

// GrantDecision is the answer of data.authz.grant: allowed iff there are no
// violations, each an English sentence ("permission app.delete exceeds
// parent").
type GrantDecision struct {
	Allow      bool
	Violations []string
}

// SubjectFromActor describes a for policies/authz. The host itself (system
// actor) is root; apps and a nil actor get no type, which the policy denies.
func SubjectFromActor(a *actor.Actor) Subject {
	if a == nil {
		return Subject{}
	}
	s := Subject{
		PlatformID:   a.PlatformID,
		MainPlatform: a.MainPlatform,
		RegionCode:   a.RegionCode,
		Permissions:  a.Permissions,
		ObjectTypes:  a.ObjectTypes,
	}
	switch a.Kind {
	case actor.KindSystem:
		s.Type = actor.Root
	case actor.KindOperator:
		s.Type = a.OperatorType
	}
	return s
}

// Authorize evaluates data.authz.decision. An error (evaluation failure,
// malformed decision) must be treated as a denial by the caller.
func (e *Engine) Authorize(ctx context.Context, in AuthzInput) (Decision, error) {
	v, err := first(ctx, e.cur.Load().decision, queryDecision, rego.EvalParsedInput(in.value()))
	if err != nil {
		return Decision{}, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Decision{}, malformed(queryDecision, "not an object")
	}
	var d Decision
	var scope map[string]any
	if d.Allow, ok = m["allow"].(bool); !ok {
		return Decision{}, malformed(queryDecision, "allow is not a boolean")
	}
	if d.Reason, ok = m["reason"].(string); !ok {
		return Decision{}, malformed(queryDecision, "reason is not a string")
	}
	if scope, ok = m["scope"].(map[string]any); !ok {
		return Decision{}, malformed(queryDecision, "scope is not an object")
	}
	all, _ := scope["all"].(bool)
	for key, dst := range map[string]*[]string{
		"platform_ids":    &d.Scope.PlatformIDs,
		"region_prefixes": &d.Scope.RegionPrefixes,
		"object_types":    &d.Scope.ObjectTypes,
	} {
		if *dst, ok = stringList(scope[key]); !ok {
			return Decision{}, malformed(queryDecision, "scope."+key+" is not a list of strings")
		}
	}
	// "all" only stands when nothing is restricted; a contradictory scope
	// keeps its restrictions.
	d.Scope.All = all && !d.Scope.restricted()
	return d, nil
}

// CheckGrant evaluates data.authz.grant.
func (e *Engine) CheckGrant(ctx context.Context, in GrantInput) (GrantDecision, error) {
	v, err := first(ctx, e.cur.Load().grant, queryGrant, rego.EvalParsedInput(ast.NewObject(
		ast.Item(ast.InternedTerm("parent"), ast.NewTerm(in.Parent.value())),
		ast.Item(ast.InternedTerm("requested"), ast.NewTerm(ast.NewObject(
			ast.Item(ast.InternedTerm("permissions"), stringArray(in.Requested.Permissions)),
			ast.Item(ast.InternedTerm("object_types"), stringArray(in.Requested.ObjectTypes)),
			ast.Item(ast.InternedTerm("region_code"), ast.StringTerm(in.Requested.RegionCode)),
		))),
	)))
	if err != nil {
		return GrantDecision{}, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return GrantDecision{}, malformed(queryGrant, "not an object")
	}
	var g GrantDecision
	if g.Allow, ok = m["allow"].(bool); !ok {
		return GrantDecision{}, malformed(queryGrant, "allow is not a boolean")
	}
	if g.Violations, ok = stringList(m["violations"]); !ok {
		return GrantDecision{}, malformed(queryGrant, "violations is not a list of strings")
	}
	if g.Allow && len(g.Violations) > 0 {
		return GrantDecision{}, malformed(queryGrant, "allowed with violations")
	}
	return g, nil
}

func malformed(query, why string) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, query, why)
}

// stringList converts a decoded JSON list of strings; nil (absent) is empty.
func stringList(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	if len(list) == 0 {
		return nil, true
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// value builds the input as an AST value directly: it avoids the JSON round
// trip OPA would do for a Go struct on every decision.
func (in AuthzInput) value() ast.Value {
	items := [][2]*ast.Term{
		ast.Item(ast.InternedTerm("subject"), ast.NewTerm(in.Subject.value())),
		ast.Item(ast.InternedTerm("action"), ast.StringTerm(in.Action)),
	}
	if r := in.Resource; r != nil {
		items = append(items, ast.Item(ast.InternedTerm("resource"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("platform_id"), ast.StringTerm(r.PlatformID)),
			ast.Item(ast.InternedTerm("region_code"), ast.StringTerm(r.RegionCode)),
			ast.Item(ast.InternedTerm("object_type"), ast.StringTerm(r.ObjectType)),
		)))
	}
	return ast.NewObject(items...)
}

func (s Subject) value() ast.Value {
	return ast.NewObject(
		ast.Item(ast.InternedTerm("type"), ast.StringTerm(string(s.Type))),
		ast.Item(ast.InternedTerm("platform_id"), ast.StringTerm(s.PlatformID)),
		ast.Item(ast.InternedTerm("main_platform"), ast.BooleanTerm(s.MainPlatform)),
		ast.Item(ast.InternedTerm("region_code"), ast.StringTerm(s.RegionCode)),
		ast.Item(ast.InternedTerm("permissions"), stringArray(s.Permissions)),
		ast.Item(ast.InternedTerm("object_types"), stringArray(s.ObjectTypes)),
	)
}

func stringArray(list []string) *ast.Term {
	terms := make([]*ast.Term, len(list))
	for i, s := range list {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}
