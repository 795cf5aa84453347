package policy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/policy"
)

var (
	root      = policy.Subject{Type: actor.Root, PlatformID: "P0001", MainPlatform: true}
	mainAdmin = policy.Subject{Type: actor.PlatformAdmin, PlatformID: "P0001", MainPlatform: true}
	subAdmin  = policy.Subject{Type: actor.PlatformAdmin, PlatformID: "P0002"}
	regAdmin  = policy.Subject{Type: actor.PlatformAdmin, PlatformID: "P0002", RegionCode: "310104"}
	mainStaff = policy.Subject{Type: actor.Staff, PlatformID: "P0001", MainPlatform: true,
		Permissions: []string{"app.read", "rule.publish"}}
	mainRegionStaff = policy.Subject{Type: actor.Staff, PlatformID: "P0001", MainPlatform: true, RegionCode: "3101",
		Permissions: []string{"code.*"}}
	subStaff = policy.Subject{Type: actor.Staff, PlatformID: "P0002", RegionCode: "310104",
		Permissions: []string{"app.read", "code.*", "rule.publish"}, ObjectTypes: []string{"well", "toilet"}}
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	e := newEngine(t, policy.Config{})
	all := policy.Scope{All: true}
	res := func(p, r, o string) *policy.Resource {
		return &policy.Resource{PlatformID: p, RegionCode: r, ObjectType: o}
	}
	tests := []struct {
		name string
		in   policy.AuthzInput
		want policy.Decision
	}{
		{"root/main-only", policy.AuthzInput{Subject: root, Action: "platform.delete"},
			policy.Decision{Allow: true, Scope: all}},
		{"root/any resource", policy.AuthzInput{Subject: root, Action: "app.delete", Resource: res("P0009", "", "shop")},
			policy.Decision{Allow: true, Scope: all}},
		{"main admin/main-only", policy.AuthzInput{Subject: mainAdmin, Action: "rule.push"},
			policy.Decision{Allow: true, Scope: all}},
		{"main admin/other platform", policy.AuthzInput{Subject: mainAdmin, Action: "app.update", Resource: res("P0005", "320000", "")},
			policy.Decision{Allow: true, Scope: all}},
		{"sub admin/own platform", policy.AuthzInput{Subject: subAdmin, Action: "app.delete"},
			policy.Decision{Allow: true, Scope: policy.Scope{PlatformIDs: []string{"P0002"}}}},
		{"sub admin/main-only", policy.AuthzInput{Subject: subAdmin, Action: "platform.create"},
			policy.Decision{Reason: "action requires the main platform", Scope: policy.Scope{PlatformIDs: []string{"P0002"}}}},
		{"sub admin/other platform", policy.AuthzInput{Subject: subAdmin, Action: "app.read", Resource: res("P0003", "", "")},
			policy.Decision{Reason: "resource outside your platform", Scope: policy.Scope{PlatformIDs: []string{"P0002"}}}},
		{"region admin/scope", policy.AuthzInput{Subject: regAdmin, Action: "code.read"},
			policy.Decision{Allow: true, Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}}}},
		{"region admin/inside", policy.AuthzInput{Subject: regAdmin, Action: "code.read", Resource: res("P0002", "310104007", "")},
			policy.Decision{Allow: true, Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}}}},
		{"region admin/outside", policy.AuthzInput{Subject: regAdmin, Action: "code.read", Resource: res("P0002", "310105", "")},
			policy.Decision{Reason: "resource outside your region", Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}}}},
		{"main staff/granted", policy.AuthzInput{Subject: mainStaff, Action: "app.read"},
			policy.Decision{Allow: true, Scope: all}},
		{"main staff/not granted", policy.AuthzInput{Subject: mainStaff, Action: "app.delete"},
			policy.Decision{Reason: "permission app.delete not granted", Scope: all}},
		{"main staff/main-only granted", policy.AuthzInput{Subject: mainStaff, Action: "rule.publish"},
			policy.Decision{Allow: true, Scope: all}},
		{"main region staff/wildcard", policy.AuthzInput{Subject: mainRegionStaff, Action: "code.batch.export", Resource: res("P0007", "310115", "")},
			policy.Decision{Allow: true, Scope: policy.Scope{RegionPrefixes: []string{"3101"}}}},
		{"sub staff/scope", policy.AuthzInput{Subject: subStaff, Action: "code.issue"},
			policy.Decision{Allow: true, Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}, ObjectTypes: []string{"toilet", "well"}}}},
		{"sub staff/main-only granted", policy.AuthzInput{Subject: subStaff, Action: "rule.publish"},
			policy.Decision{Reason: "action requires the main platform", Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}, ObjectTypes: []string{"toilet", "well"}}}},
		{"sub staff/other object type", policy.AuthzInput{Subject: subStaff, Action: "code.read", Resource: res("P0002", "310104", "shop")},
			policy.Decision{Reason: "resource outside your object types", Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}, ObjectTypes: []string{"toilet", "well"}}}},
		{"sub staff/no object type", policy.AuthzInput{Subject: subStaff, Action: "app.read", Resource: res("P0002", "31010401", "")},
			policy.Decision{Allow: true, Scope: policy.Scope{PlatformIDs: []string{"P0002"}, RegionPrefixes: []string{"310104"}, ObjectTypes: []string{"toilet", "well"}}}},
		{"attacker/app posing as operator", policy.AuthzInput{Subject: policy.SubjectFromActor(&actor.Actor{Kind: actor.KindApp, PlatformID: "P0001", MainPlatform: true}), Action: "app.read"},
			policy.Decision{Reason: "unknown subject type"}},
		{"attacker/forged type", policy.AuthzInput{Subject: policy.Subject{Type: "superuser", MainPlatform: true}, Action: "app.read"},
			policy.Decision{Reason: "unknown subject type"}},
		{"attacker/empty action", policy.AuthzInput{Subject: root},
			policy.Decision{Reason: "action is required", Scope: all}},
		{"attacker/sub admin without platform", policy.AuthzInput{Subject: policy.Subject{Type: actor.PlatformAdmin}, Action: "app.read"},
			policy.Decision{Reason: "subject has no platform", Scope: policy.Scope{PlatformIDs: []string{""}}}},
		{"attacker/wildcard across dot boundary", policy.AuthzInput{Subject: policy.Subject{Type: actor.Staff, PlatformID: "P0002", Permissions: []string{"app*", "app.*"}}, Action: "application.delete"},
			policy.Decision{Reason: "permission application.delete not granted", Scope: policy.Scope{PlatformIDs: []string{"P0002"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := e.Authorize(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			if tt.in.Resource != nil && got.Allow != (got.Reason == "") {
				t.Fatalf("allow %v with reason %q", got.Allow, got.Reason)
			}
			// The Go view of the scope agrees with the policy's resource check.
			if r := tt.in.Resource; r != nil && (got.Allow || strings.HasPrefix(got.Reason, "resource outside")) {
				if in := got.Scope.Contains(r.PlatformID, r.RegionCode, r.ObjectType); in != got.Allow {
					t.Fatalf("Scope.Contains = %v, policy allow = %v", in, got.Allow)
				}
			}
		})
	}
}

func TestCheckGrant(t *testing.T) {
	t.Parallel()
	e := newEngine(t, policy.Config{})
	tests := []struct {
		name   string
		parent policy.Subject
		req    policy.Grant
		want   []string
	}{
		{"root grants all", root, policy.Grant{Permissions: []string{"*"}}, nil},
		{"admin grants any permission", subAdmin, policy.Grant{Permissions: []string{"app.delete", "platform.create"}}, nil},
		{"region admin inside region", regAdmin, policy.Grant{RegionCode: "31010401"}, nil},
		{"region admin wider region", regAdmin, policy.Grant{RegionCode: "3101"},
			[]string{"region 3101 outside parent region 310104"}},
		{"region admin unlimited region", regAdmin, policy.Grant{},
			[]string{"region (all) outside parent region 310104"}},
		{"staff within wildcard", subStaff, policy.Grant{Permissions: []string{"code.issue", "code.*"}, ObjectTypes: []string{"well"}, RegionCode: "310104"}, nil},
		{"staff exceeds", subStaff, policy.Grant{Permissions: []string{"app.read", "app.delete", "*"}, ObjectTypes: []string{"well"}, RegionCode: "310104"},
			[]string{"permission * exceeds parent", "permission app.delete exceeds parent"}},
		{"staff widens object types", subStaff, policy.Grant{ObjectTypes: []string{"shop"}, RegionCode: "310104"},
			[]string{"object type shop outside parent"}},
		{"staff grants unrestricted types", subStaff, policy.Grant{RegionCode: "310104"},
			[]string{"object types (all) outside parent"}},
		{"app parent", policy.SubjectFromActor(&actor.Actor{Kind: actor.KindApp}), policy.Grant{},
			[]string{"unknown parent type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := e.CheckGrant(t.Context(), policy.GrantInput{Parent: tt.parent, Requested: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			want := policy.GrantDecision{Allow: len(tt.want) == 0, Violations: tt.want}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestSubjectFromActor(t *testing.T) {
	t.Parallel()
	op := &actor.Actor{Kind: actor.KindOperator, OperatorType: actor.Staff, PlatformID: "P0002", RegionCode: "3101",
		Permissions: []string{"app.read"}, ObjectTypes: []string{"well"}}
	tests := []struct {
		name string
		a    *actor.Actor
		want policy.Subject
	}{
		{"nil", nil, policy.Subject{}},
		{"operator", op, policy.Subject{Type: actor.Staff, PlatformID: "P0002", RegionCode: "3101",
			Permissions: []string{"app.read"}, ObjectTypes: []string{"well"}}},
		{"system is root", actor.System(), policy.Subject{Type: actor.Root, MainPlatform: true}},
		// An app's signature never makes it a console operator, whatever
		// operator fields it carries.
		{"app", &actor.Actor{Kind: actor.KindApp, OperatorType: actor.Root, PlatformID: "P0001"},
			policy.Subject{PlatformID: "P0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := policy.SubjectFromActor(tt.a); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	e := newEngine(t, policy.Config{})
	type verdict struct {
		Allow  bool   `json:"allow"`
		Reason string `json:"reason"`
	}
	app := map[string]any{"id": "A001", "enabled": true, "capabilities": []string{"code.verify"}}
	t.Run("openapi granted", func(t *testing.T) {
		t.Parallel()
		var v verdict
		if err := e.Eval(t.Context(), "data.openapi.decision", map[string]any{"app": app, "capability": "code.verify"}, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Allow {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("openapi not granted", func(t *testing.T) {
		t.Parallel()
		var v verdict
		if err := e.Eval(t.Context(), "data.openapi.decision", map[string]any{"app": app, "capability": "code.issue"}, &v); err != nil {
			t.Fatal(err)
		}
		if v.Allow || v.Reason != "capability code.issue not granted to the app" {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("plugins", func(t *testing.T) {
		t.Parallel()
		var v verdict
		in := map[string]any{"plugin": map[string]any{"name": "checkin", "capabilities": []string{"records.write"}, "enabled": true},
			"platform_id": "P0002", "capability": "records.write"}
		if err := e.Eval(t.Context(), "data.plugins.decision", in, &v); err != nil || !v.Allow {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("risk", func(t *testing.T) {
		t.Parallel()
		var v struct {
			Action     string   `json:"action"`
			Indicators []string `json:"indicators"`
		}
		in := map[string]any{"indicators": map[string]int{"ip_1m": 500}}
		if err := e.Eval(t.Context(), "data.risk.decision", in, &v); err != nil || v.Action != "intercept" {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("whole package", func(t *testing.T) {
		t.Parallel()
		var v map[string]any
		if err := e.Eval(t.Context(), "data.risk", nil, &v); err != nil || v["decision"] == nil {
			t.Fatalf("%v %v", v, err)
		}
	})
	t.Run("undefined", func(t *testing.T) {
		t.Parallel()
		if err := e.Eval(t.Context(), "data.authz.resource", map[string]any{}, nil); !errors.Is(err, policy.ErrUndefined) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, q := range []string{
		"data.authz.nonexistent", "data.nothere", "input.x", "1 + 1", "data.authz.decision; x := 1",
		`data.authz[input.k]`, "data.authz_test.test_root_allows_everything", "", "data.authz.decision.allow",
	} {
		t.Run("refused "+q, func(t *testing.T) {
			t.Parallel()
			if err := e.Eval(t.Context(), q, nil, nil); !errors.Is(err, policy.ErrUnknownQuery) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
