# Risk control over one event and its indicators.
#
# Input:
#
#   {"event": {"type": "verify", ...},
#    "indicators": {"user_1m": 12, "ip_1m": 40, "org_1m": 0, "code_1m": 3},  # counts in sliding windows
#    "thresholds": {"ip_1m": 60}}                                           # optional overrides
#
# data.risk.decision is {"action": "allow" | "flag" | "intercept", "indicators": [names]}:
# intercept when an indicator exceeds its threshold, flag when one reaches
# flag_ratio of it; "indicators" names the ones that triggered the action.
package risk

default_thresholds := {"user_1m": 30, "ip_1m": 120, "org_1m": 600, "code_1m": 60}

flag_ratio := 0.8

thresholds := object.union(default_thresholds, t) if {
	t := input.thresholds
	is_object(t)
} else := default_thresholds

indicators := i if {
	i := input.indicators
	is_object(i)
} else := {}

exceeded contains name if {
	some name, limit in thresholds
	v := indicators[name]
	is_number(v)
	v > limit
}

near contains name if {
	some name, limit in thresholds
	v := indicators[name]
	is_number(v)
	v >= limit * flag_ratio
	not name in exceeded
}

decision := {"action": "intercept", "indicators": sort([n | some n in exceeded])} if {
	count(exceeded) > 0
} else := {"action": "flag", "indicators": sort([n | some n in near])} if {
	count(near) > 0
} else := {"action": "allow", "indicators": []}
