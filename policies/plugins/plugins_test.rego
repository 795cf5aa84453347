package plugins_test

import data.plugins

plugin := {"name": "checkin", "capabilities": ["records.write", "code.resolve"], "enabled": true}

test_declared_and_enabled if {
	d := plugins.decision with input as {"plugin": plugin, "platform_id": "P0002", "capability": "records.write"}
	d == {"allow": true, "reason": ""}
}

test_undeclared_capability if {
	d := plugins.decision with input as {"plugin": plugin, "platform_id": "P0002", "capability": "files.write"}
	d == {"allow": false, "reason": "capability files.write not declared in the manifest of plugin checkin"}
}

test_not_enabled_on_platform if {
	p := object.union(plugin, {"enabled": false})
	d := plugins.decision with input as {"plugin": p, "platform_id": "P0003", "capability": "records.write"}
	d == {"allow": false, "reason": "plugin checkin is not enabled on platform P0003"}
}

test_missing_capability if {
	d := plugins.decision with input as {"plugin": plugin}
	d.reason == "capability is required"
}

test_missing_plugin if {
	d := plugins.decision with input as {"plugin": "checkin", "platform_id": "P0002", "capability": "records.write"}
	d == {"allow": false, "reason": "plugin  is not enabled on platform P0002"}
}
