package codeengine

import (
	"context"
	"encoding/json"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Scan resolves an object code scanned by a citizen's phone for its landing
// page: the code and the platform that owns it. Unlike Verify it records no
// event: the landing records its own (the landing type, with the plugin that
// served it). A cancelled code answers FailedOperation.CodeRevoked; an empty
// or unreviewed one FailedOperation.CodeNotActive.
func (o *Objects) Scan(ctx context.Context, code string) (*ObjectCode, string, error) {
	c, platform, err := o.load(ctx, nil, code, false)
	if err != nil {
		return nil, "", err
	}
	switch c.Status {
	case "active":
		return c, platform, nil
	case "cancelled":
		return c, platform, fault.Conflictf(fault.CodeCodeRevoked, "object code %d was cancelled (注销)", c.Number)
	default:
		return c, platform, fault.Conflictf(fault.CodeCodeNotActive, "object code %d is not active", c.Number)
	}
}

// MergeAttributes merges patch (a JSON object; null values remove keys)
// into the attributes of an active object code of the platform, as a
// plugin granted object.write does: Modify's rules (required attributes,
// industry-code uniqueness, review) apply. Another platform's code is not
// found.
func (o *Objects) MergeAttributes(ctx context.Context, plugin, platformID, code string, patch json.RawMessage) (*ObjectCode, error) {
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return nil, fault.Invalidf("attributes must be a JSON object")
	}
	c, owner, err := o.load(ctx, nil, code, false)
	if err != nil {
		return nil, err
	}
	if owner != platformID {
		return nil, fault.NotFoundf("no object code %s", code)
	}
	if c.Status != "active" {
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "object code %d is %s, not active", c.Number, c.Status)
	}
	return o.Modify(ctx, "plugin:"+plugin, platformID, c.Token, &ModifyIn{Attributes: p})
}
