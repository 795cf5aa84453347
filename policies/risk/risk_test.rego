package risk_test

import data.risk

test_quiet_event_allowed if {
	d := risk.decision with input as {"indicators": {"user_1m": 1, "ip_1m": 2}}
	d == {"action": "allow", "indicators": []}
}

test_exceeding_indicator_intercepted if {
	d := risk.decision with input as {"indicators": {"user_1m": 31, "ip_1m": 121, "code_1m": 59}}
	d == {"action": "intercept", "indicators": ["ip_1m", "user_1m"]}
}

test_near_threshold_flagged if {
	d := risk.decision with input as {"indicators": {"user_1m": 24, "ip_1m": 10}}
	d == {"action": "flag", "indicators": ["user_1m"]}
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
