package policy_test

import (
	"context"
	"fmt"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// A district administrator may read its own platform's apps and is refused
// another platform's; its scope becomes a parameterized SQL condition.
func Example() {
	ctx := context.Background()
	e, err := policy.New(ctx, policy.Config{})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	xuhui := policy.Subject{Type: actor.PlatformAdmin, PlatformID: "P0001"}

	d, _ := e.Authorize(ctx, policy.AuthzInput{Subject: xuhui, Action: "app.read"})
	where, args := d.Scope.SQL(policy.ScopeColumns{Platform: "a.platform_id", Region: "a.region_code"}, 1)
	fmt.Println(d.Allow, where, args)

	d, _ = e.Authorize(ctx, policy.AuthzInput{Subject: xuhui, Action: "app.update",
		Resource: &policy.Resource{PlatformID: "P0002"}})
	fmt.Println(d.Allow, d.Reason)
	// Output:
	// true a.platform_id = $1 [P0001]
	// false resource outside your platform
}
