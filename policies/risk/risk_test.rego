package risk_test

import data.risk

test_quiet_event_allowed if {
	d := risk.decision with input as {"indicators": {"user_1m": 1, "ip_1m": 2}}
	d == {"action": "allow", "indicators": [], "rules": []}
}

test_exceeding_indicator_intercepted if {
	d := risk.decision with input as {"indicators": {"user_1m": 31, "ip_1m": 121, "code_1m": 59}}
	d == {"action": "intercept", "indicators": ["ip_1m", "user_1m"], "rules": []}
}

test_near_threshold_flagged if {
	d := risk.decision with input as {"indicators": {"user_1m": 24, "ip_1m": 10}}
	d == {"action": "flag", "indicators": ["user_1m"], "rules": []}
}

test_threshold_override_from_input if {
	d := risk.decision with input as {"indicators": {"ip_1m": 61}, "thresholds": {"ip_1m": 60}}
	d.action == "intercept"
}

test_at_threshold_is_not_exceeded if {
	d := risk.decision with input as {"indicators": {"user_1m": 30}}
	d.action == "flag"
}

test_missing_indicators_allowed if {
	d := risk.decision with input as {}
	d.action == "allow"
	d2 := risk.decision with input as {"indicators": {"user_1m": "many"}}
	d2.action == "allow"
}

# An app's rule raises its indicator's line above the default: 200
# verifies a minute from one IP pass where the default (120) intercepts.
test_rule_replaces_default_threshold if {
	d := risk.decision with input as {"indicators": {"ip_1m": 200}, "rules": [{"id": 3, "indicator": "ip_1m", "threshold": 500, "action": "intercept"}]}
	d.action == "allow"
	d2 := risk.decision with input as {"indicators": {"ip_1m": 501}, "rules": [{"id": 3, "indicator": "ip_1m", "threshold": 500, "action": "intercept"}]}
	d2 == {"action": "intercept", "indicators": ["ip_1m"], "rules": [3]}
}

test_rule_lowers_threshold_and_near_flags if {
	d := risk.decision with input as {"indicators": {"ip_1m": 9}, "rules": [{"id": 4, "indicator": "ip_1m", "threshold": 10, "action": "intercept"}]}
	d == {"action": "flag", "indicators": ["ip_1m"], "rules": [4]}
}

test_flag_rule_never_intercepts if {
	d := risk.decision with input as {"indicators": {"scan_1h": 1000}, "rules": [{"id": 5, "indicator": "scan_1h", "threshold": 100, "action": "flag"}]}
	d == {"action": "flag", "indicators": ["scan_1h"], "rules": [5]}
}

test_other_indicators_keep_defaults if {
	d := risk.decision with input as {"indicators": {"ip_1m": 200, "user_1m": 31}, "rules": [{"id": 3, "indicator": "ip_1m", "threshold": 500, "action": "intercept"}]}
	d == {"action": "intercept", "indicators": ["user_1m"], "rules": []}
}

test_malformed_rules_ignored if {
	d := risk.decision with input as {"indicators": {"ip_1m": 10}, "rules": [{"indicator": "ip_1m", "threshold": "1", "action": "intercept"}, {"indicator": "ip_1m", "threshold": 1, "action": "ban"}]}
	d.action == "allow"
}
