# Which capabilities (open APIs) an app may call.
#
# Input:
#
#   {"app": {"id": "A001", "enabled": true, "capabilities": ["code.issue", ...],
#            "quotas": {"code.issue": 10000}},        # optional, per capability per period
#    "capability": "code.issue",
#    "usage": {"code.issue": 9999}}                     # optional, calls so far this period
#
# data.openapi.decision is {"allow": bool, "reason": "why not, empty when allowed",
# "code": the error code to answer, empty when allowed}: UnauthorizedOperation
# for a capability not granted (or a disabled app), LimitExceeded.Quota for
# an exhausted quota.
package openapi

app := a if {
	a := input.app
	is_object(a)
} else := {}

capability := c if {
	c := input.capability
	is_string(c)
} else := ""

granted if {
	some c in app.capabilities
	c == capability
}

quota_exhausted if {
	limit := app.quotas[capability]
	is_number(limit)
	object.get(object.get(input, "usage", {}), capability, 0) >= limit
}

default reason := ""

reason := "capability is required" if {
	capability == ""
} else := "app is disabled" if {
	not app.enabled == true
} else := sprintf("capability %s not granted to the app", [capability]) if {
	not granted
} else := sprintf("quota of %s exhausted", [capability]) if {
	quota_exhausted
}

default allow := false

allow if reason == ""

default code := ""

code := "LimitExceeded.Quota" if {
	not allow
	granted
	app.enabled == true
	quota_exhausted
} else := "UnauthorizedOperation" if {
	not allow
}

decision := {"allow": allow, "reason": reason, "code": code}

# ---- data.openapi.disclosure -------------------------------------------------
#
# Whether a verifier sees a person's identity in full when it decodes their
# code, or only desensitized (脱敏). Input:
#
#   {"org_id": "the acceptOrgId decoding", "authorized": true|false,
#    "family": "identity" | "health" | "payment", "verifier_app": "cc..."}
#
# "authorized" is whether the person allowed this scene (org) to see them and
# that permission is still valid. Default: full only when authorized.
default disclosure := {"full": false, "reason": "the person has not authorized this scene"}

disclosure := {"full": true, "reason": ""} if {
	input.authorized == true
	is_string(input.org_id)
	input.org_id != ""
}
