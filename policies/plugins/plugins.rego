# Which host capabilities a plugin may use on a platform.
#
# Input:
#
#   {"plugin": {"name": "checkin", "capabilities": ["records.write", ...],  # from its manifest
#               "enabled": true},                                          # enabled on platform_id
#    "platform_id": "P0002",
#    "capability": "records.write"}
#
# data.plugins.decision is {"allow": bool, "reason": "why not, empty when allowed"}:
# a plugin may use a capability iff its manifest lists it and the plugin is
# enabled on the platform the call is made for.
package plugins

plugin := p if {
	p := input.plugin
	is_object(p)
} else := {}

capability := c if {
	c := input.capability
	is_string(c)
} else := ""

declared if {
	some c in plugin.capabilities
	c == capability
}

default reason := ""

reason := "capability is required" if {
	capability == ""
} else := sprintf("plugin %s is not enabled on platform %s", [object.get(plugin, "name", ""), object.get(input, "platform_id", "")]) if {
	not plugin.enabled == true
} else := sprintf("capability %s not declared in the manifest of plugin %s", [capability, object.get(plugin, "name", "")]) if {
	not declared
}

default allow := false

allow if reason == ""

decision := {"allow": allow, "reason": reason}
