package openapi_test

import data.openapi

app := {"id": "A001", "enabled": true, "capabilities": ["code.issue", "code.verify"], "quotas": {"code.issue": 100}}

test_granted_capability if {
	d := openapi.decision with input as {"app": app, "capability": "code.verify"}
	d == {"allow": true, "reason": "", "code": ""}
}

test_capability_not_granted if {
	d := openapi.decision with input as {"app": app, "capability": "code.revoke"}
	d == {"allow": false, "reason": "capability code.revoke not granted to the app", "code": "UnauthorizedOperation"}
}

test_disabled_app if {
	d := openapi.decision with input as {"app": object.union(app, {"enabled": false}), "capability": "code.verify"}
	d.reason == "app is disabled"
	d.code == "UnauthorizedOperation"
}

test_quota if {
	openapi.decision.allow with input as {"app": app, "capability": "code.issue", "usage": {"code.issue": 99}}
	d := openapi.decision with input as {"app": app, "capability": "code.issue", "usage": {"code.issue": 100}}
	d.reason == "quota of code.issue exhausted"
	d.code == "LimitExceeded.Quota"
}

test_missing_input_denied if {
	d := openapi.decision with input as {}
	d == {"allow": false, "reason": "capability is required", "code": "UnauthorizedOperation"}
	d2 := openapi.decision with input as {"capability": "code.issue"}
	d2.reason == "app is disabled"
}

test_disclosure_full_when_authorized if {
	openapi.disclosure.full with input as {"org_id": "H001", "authorized": true, "family": "identity"}
}

test_disclosure_masked_without_authorization if {
	not openapi.disclosure.full with input as {"org_id": "H001", "authorized": false, "family": "identity"}
}

test_disclosure_masked_without_org if {
	not openapi.disclosure.full with input as {"org_id": "", "authorized": true}
}
