# Risk control over one event and its indicators.
#
# Input:
#
#   {"event": {"type": "verify", "appId": ..., ...},
#    "indicators": {"user_1m": 12, "ip_1m": 40, "org_1m": 0, "code_1m": 3},  # counts in sliding windows
#    "rules": [{"id": 7, "indicator": "ip_1m", "threshold": 500, "action": "intercept"}],
#    "thresholds": {"ip_1m": 60}}                                           # optional overrides
#
# "rules" are the enabled risk rules (风控规则) the console keeps for the
# event's app and model; the host sends those that apply. A rule replaces
# the default threshold of its indicator for this event: an app may allow
# more, or less, than the city's defaults. Indicators no rule names keep
# the default thresholds.
#
# data.risk.decision is {"action": "allow" | "flag" | "intercept", "indicators": [names], "rules": [ids]}:
# intercept when an indicator exceeds its threshold (or an intercepting
# rule's), flag when one reaches flag_ratio of it (or exceeds a flagging
# rule's); "indicators" names the ones that triggered the action and
# "rules" the rules among them.
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

rules := [r |
	some r in input.rules
	is_string(r.indicator)
	is_number(r.threshold)
	r.action in {"flag", "intercept"}
]

ruled := {r.indicator | some r in rules}

# Rules crossing their lines, by the action they ask for.
rule_exceeded contains r if {
	some r in rules
	r.action == "intercept"
	v := indicators[r.indicator]
	is_number(v)
	v > r.threshold
}

rule_near contains r if {
	some r in rules
	v := indicators[r.indicator]
	is_number(v)
	r.action == "flag"
	v > r.threshold
}

rule_near contains r if {
	some r in rules
	v := indicators[r.indicator]
	is_number(v)
	r.action == "intercept"
	v >= r.threshold * flag_ratio
	v <= r.threshold
}

exceeded contains name if {
	some name, limit in thresholds
	not name in ruled
	v := indicators[name]
	is_number(v)
	v > limit
}

exceeded contains r.indicator if some r in rule_exceeded

near contains name if {
	some name, limit in thresholds
	not name in ruled
	v := indicators[name]
	is_number(v)
	v >= limit * flag_ratio
	not name in exceeded
}

near contains r.indicator if {
	some r in rule_near
	not r.indicator in exceeded
}

rule_ids(set) := sort([r.id | some r in set; r.id])

decision := {"action": "intercept", "indicators": sort([n | some n in exceeded]), "rules": rule_ids(rule_exceeded)} if {
	count(exceeded) > 0
} else := {"action": "flag", "indicators": sort([n | some n in near]), "rules": rule_ids(rule_near)} if {
	count(near) > 0
} else := {"action": "allow", "indicators": [], "rules": []}
