package authz_test

import data.authz

# ---- fixtures --------------------------------------------------------------

root := {"type": "root", "platform_id": "P0001", "main_platform": true}

main_admin := {"type": "platform_admin", "platform_id": "P0001", "main_platform": true}

sub_admin := {"type": "platform_admin", "platform_id": "P0002", "main_platform": false}

sub_region_admin := object.union(sub_admin, {"region_code": "310104"})

main_staff := {
	"type": "staff", "platform_id": "P0001", "main_platform": true,
	"permissions": ["app.read", "rule.publish"],
}

sub_staff := {
	"type": "staff", "platform_id": "P0002", "main_platform": false,
	"permissions": ["app.read", "code.*", "rule.publish"],
}

scope_all := {"all": true, "platform_ids": [], "region_prefixes": [], "object_types": []}

scope_none := {"all": false, "platform_ids": [], "region_prefixes": [], "object_types": []}

decide(s, a) := d if {
	d := authz.decision with input as {"subject": s, "action": a}
}

decide_on(s, a, r) := d if {
	d := authz.decision with input as {"subject": s, "action": a, "resource": r}
}

grant(p, r) := g if {
	g := authz.grant with input as {"parent": p, "requested": r}
}

# ---- root and main-platform administrators --------------------------------

test_root_allows_everything if {
	d := decide(root, "platform.delete")
	d.allow
	d.reason == ""
	d.scope == scope_all
}

test_root_resource_anywhere if {
	decide_on(root, "app.delete", {"platform_id": "P0009", "region_code": "", "object_type": "toilet"}).allow
}

test_main_admin_allows_main_only_actions if {
	every a in authz.main_only_actions {
		decide(main_admin, a).allow
	}
}

test_main_admin_sees_all_platforms if {
	d := decide_on(main_admin, "app.update", {"platform_id": "P0005", "region_code": "320000"})
	d.allow
	d.scope == scope_all
}

test_main_admin_region_is_ignored if {
	d := decide(object.union(main_admin, {"region_code": "310104"}), "app.read")
	d.scope == scope_all
}

# ---- sub-platform administrators ------------------------------------------

test_sub_admin_allows_platform_actions if {
	d := decide(sub_admin, "app.delete")
	d.allow
	d.scope == {"all": false, "platform_ids": ["P0002"], "region_prefixes": [], "object_types": []}
}

test_sub_admin_denied_main_only if {
	every a in authz.main_only_actions {
		d := decide(sub_admin, a)
		not d.allow
		d.reason == "action requires the main platform"
	}
}

# Specs and rules are the city's common configuration: only the main
# platform changes them. A sub-platform administrator reads them and binds
# its own apps to rules of its pool.
test_code_rule_writes_are_main_only if {
	every a in {
		"spec.create", "spec.update", "spec.delete",
		"rule.create", "rule.update", "rule.delete", "rule.publish",
		"rule.push", "rule.enable", "rule.disable", "rule.remove",
	} {
		a in authz.main_only_actions
		decide(main_admin, a).allow
		decide(sub_admin, a).reason == "action requires the main platform"
	}
}

test_sub_admin_binds_own_apps_to_rules if {
	decide(sub_admin, "rule.read").allow
	decide(sub_admin, "spec.read").allow
	decide_on(sub_admin, "rule.bind", {"platform_id": "P0002"}).allow
	decide_on(sub_admin, "rule.bind", {"platform_id": "P0003"}).reason == "resource outside your platform"
}

test_sub_admin_own_platform_resource if {
	decide_on(sub_admin, "app.update", {"platform_id": "P0002"}).allow
}

test_sub_admin_other_platform_resource if {
	d := decide_on(sub_admin, "app.update", {"platform_id": "P0003"})
	not d.allow
	d.reason == "resource outside your platform"
}

test_sub_admin_resource_without_platform if {
	d := decide_on(sub_admin, "app.update", {"region_code": "310104"})
	d.reason == "resource outside your platform"
}

test_sub_region_admin_scope if {
	d := decide(sub_region_admin, "code.read")
	d.allow
	d.scope == {"all": false, "platform_ids": ["P0002"], "region_prefixes": ["310104"], "object_types": []}
}

test_sub_region_admin_inside_region if {
	decide_on(sub_region_admin, "code.read", {"platform_id": "P0002", "region_code": "310104001"}).allow
}

test_sub_region_admin_outside_region if {
	d := decide_on(sub_region_admin, "code.read", {"platform_id": "P0002", "region_code": "310105"})
	not d.allow
	d.reason == "resource outside your region"
}

test_sub_region_admin_resource_without_region if {
	d := decide_on(sub_region_admin, "code.read", {"platform_id": "P0002", "region_code": ""})
	d.reason == "resource outside your region"
}

test_sub_admin_without_platform_denied if {
	d := decide({"type": "platform_admin", "main_platform": false}, "app.read")
	not d.allow
	d.reason == "subject has no platform"
}

# ---- staff -------------------------------------------------------------------

test_staff_exact_permission if {
	decide(sub_staff, "app.read").allow
}

test_staff_missing_permission if {
	d := decide(sub_staff, "app.delete")
	not d.allow
	d.reason == "permission app.delete not granted"
}

test_staff_resource_wildcard if {
	decide(sub_staff, "code.issue").allow
	decide(sub_staff, "code.batch.export").allow
}

test_staff_wildcard_needs_dot_boundary if {
	d := decide(object.union(sub_staff, {"permissions": ["app.*"]}), "application.read")
	d.reason == "permission application.read not granted"
}

test_staff_star_permission if {
	decide(object.union(sub_staff, {"permissions": ["*"]}), "anything.goes").allow
}

test_staff_star_cannot_pass_main_only if {
	d := decide(object.union(sub_staff, {"permissions": ["*"]}), "platform.create")
	d.reason == "action requires the main platform"
}

test_sub_staff_main_only_with_permission if {
	d := decide(sub_staff, "rule.publish")
	not d.allow
	d.reason == "action requires the main platform"
}

test_main_staff_main_only_with_permission if {
	decide(main_staff, "rule.publish").allow
}

test_main_staff_main_only_without_permission if {
	d := decide(main_staff, "rule.push")
	d.reason == "permission rule.push not granted"
}

test_main_staff_without_region_sees_all if {
	decide(main_staff, "app.read").scope == scope_all
}

test_main_staff_with_region if {
	s := object.union(main_staff, {"region_code": "3101"})
	d := decide(s, "app.read")
	d.scope == {"all": false, "platform_ids": [], "region_prefixes": ["3101"], "object_types": []}
	decide_on(s, "app.read", {"platform_id": "P0007", "region_code": "310104"}).allow
	decide_on(s, "app.read", {"platform_id": "P0007", "region_code": "320104"}).reason == "resource outside your region"
}

test_sub_staff_scope if {
	d := decide(object.union(sub_staff, {"region_code": "310104", "object_types": ["well", "toilet"]}), "code.read")
	d.scope == {"all": false, "platform_ids": ["P0002"], "region_prefixes": ["310104"], "object_types": ["toilet", "well"]}
}

test_staff_object_types if {
	s := object.union(main_staff, {"object_types": ["toilet"]})
	d := decide(s, "app.read")
	d.scope == {"all": false, "platform_ids": [], "region_prefixes": [], "object_types": ["toilet"]}
	decide_on(s, "app.read", {"platform_id": "P0003", "object_type": "toilet"}).allow
	decide_on(s, "app.read", {"platform_id": "P0003", "object_type": ""}).allow
	decide_on(s, "app.read", {"platform_id": "P0003"}).allow
	d2 := decide_on(s, "app.read", {"platform_id": "P0003", "object_type": "well"})
	not d2.allow
	d2.reason == "resource outside your object types"
}

test_admin_object_types_ignored if {
	decide(object.union(sub_admin, {"object_types": ["toilet"]}), "app.read").scope.object_types == []
}

test_staff_null_lists_deny_not_error if {
	d := decide(object.union(sub_staff, {"permissions": null, "object_types": null}), "app.read")
	not d.allow
	d.reason == "permission app.read not granted"
	d.scope.object_types == []
}

test_platform_checked_before_region if {
	s := object.union(sub_staff, {"region_code": "310104"})
	d := decide_on(s, "app.read", {"platform_id": "P0003", "region_code": "320000"})
	d.reason == "resource outside your platform"
}

# ---- malformed input ----------------------------------------------------------

test_unknown_subject_type if {
	d := decide({"type": "app", "platform_id": "P0001", "main_platform": true}, "app.read")
	not d.allow
	d.reason == "unknown subject type"
	d.scope == scope_none
}

test_missing_subject if {
	d := authz.decision with input as {"action": "app.read"}
	not d.allow
	d.reason == "unknown subject type"
	d.scope == scope_none
}

test_missing_action if {
	d := authz.decision with input as {"subject": root}
	not d.allow
	d.reason == "action is required"
}

test_non_string_action if {
	decide(root, 42).reason == "action is required"
}

test_main_platform_must_be_boolean_true if {
	d := decide({"type": "platform_admin", "platform_id": "P0002", "main_platform": "true"}, "platform.create")
	d.reason == "action requires the main platform"
}

test_non_string_region_matches_nothing if {
	s := object.union(sub_admin, {"region_code": 310104})
	d := decide_on(s, "app.read", {"platform_id": "P0002", "region_code": "310104"})
	not d.allow
	d.reason == "resource outside your region"
	d.scope.region_prefixes == [310104]
}

test_null_resource_is_no_resource if {
	decide_on(sub_admin, "app.read", null).allow
}

# ---- grants -----------------------------------------------------------------

test_root_grants_anything if {
	g := grant(root, {"permissions": ["*"], "object_types": [], "region_code": ""})
	g == {"allow": true, "violations": []}
}

test_admin_grants_any_permission if {
	grant(sub_admin, {"permissions": ["app.delete", "code.*"]}).allow
}

test_region_admin_grants_inside_region if {
	grant(sub_region_admin, {"permissions": ["app.read"], "region_code": "31010401"}).allow
}

test_region_admin_grant_outside_region if {
	g := grant(sub_region_admin, {"region_code": "3101"})
	not g.allow
	g.violations == ["region 3101 outside parent region 310104"]
}

test_region_admin_grant_unlimited_region if {
	g := grant(sub_region_admin, {"permissions": []})
	g.violations == ["region (all) outside parent region 310104"]
}

test_staff_grant_exceeds if {
	g := grant(sub_staff, {"permissions": ["app.read", "app.delete"]})
	not g.allow
	g.violations == ["permission app.delete exceeds parent"]
}

test_staff_grant_within_wildcard if {
	grant(sub_staff, {"permissions": ["code.issue", "code.*", "code.batch.*"]}).allow
}

test_staff_cannot_widen_to_wildcard if {
	g := grant(sub_staff, {"permissions": ["app.*"]})
	g.violations == ["permission app.* exceeds parent"]
}

test_staff_star_parent_grants_star if {
	grant(object.union(sub_staff, {"permissions": ["*"]}), {"permissions": ["*", "x.y"]}).allow
}

test_object_types_subset if {
	p := object.union(sub_staff, {"object_types": ["toilet", "well"]})
	grant(p, {"object_types": ["well"]}).allow
	g := grant(p, {"object_types": ["well", "shop"]})
	g.violations == ["object type shop outside parent"]
}

test_restricted_parent_cannot_grant_unrestricted if {
	p := object.union(sub_staff, {"object_types": ["toilet"]})
	grant(p, {"object_types": []}).violations == ["object types (all) outside parent"]
	grant(p, {}).violations == ["object types (all) outside parent"]
}

test_unrestricted_parent_grants_any_types if {
	grant(sub_staff, {"object_types": ["shop"]}).allow
}

test_malformed_request if {
	g := grant(sub_region_admin, {"region_code": 310104})
	g.violations == ["region (all) outside parent region 310104"]
	g2 := authz.grant with input as {"parent": sub_staff, "requested": "app.read"}
	g2 == {"allow": true, "violations": []}
}

test_unknown_parent if {
	g := grant({"type": "app"}, {"permissions": ["app.read"]})
	g.violations == ["unknown parent type"]
	grant(null, {}).violations == ["unknown parent type"]
}

test_all_violations_reported_sorted if {
	p := object.union(sub_staff, {"region_code": "310104", "object_types": ["toilet"]})
	g := grant(p, {"permissions": ["app.delete", "menu.update"], "object_types": ["well"], "region_code": "3102"})
	not g.allow
	g.violations == [
		"object type well outside parent",
		"permission app.delete exceeds parent",
		"permission menu.update exceeds parent",
		"region 3102 outside parent region 310104",
	]
}

# ---- administrative-code prefixes -----------------------------------------

test_region_prefix_levels if {
	authz.region_prefix("310000") == "31"
	authz.region_prefix("310100") == "3101"
	authz.region_prefix("310104") == "310104"
	authz.region_prefix("310110") == "310110"
	authz.region_prefix("310104001") == "310104001"
	authz.region_prefix("310104000") == "310104"
	authz.region_prefix("310104001000") == "310104001"
	authz.region_prefix("310000000000") == "31"
	authz.region_prefix("31") == "31"
	authz.region_prefix("3100") == "31"
	authz.region_prefix("310104010000") == "310104010"
	authz.region_prefix("300000") == "30"
	authz.region_prefix("000000") == "00"
	authz.region_prefix("31000") == "31000"
	authz.region_prefix("3101040010000") == "3101040010000"
	authz.region_prefix(310000) == 310000
}

test_municipal_region_account_sees_its_districts if {
	city := object.union(sub_staff, {"region_code": "310000"})
	d := decide(city, "app.read")
	d.scope.region_prefixes == ["31"]
	decide_on(city, "app.read", {"platform_id": "P0002", "region_code": "310104"}).allow
	not decide_on(city, "app.read", {"platform_id": "P0002", "region_code": "320104"}).allow
}

test_district_prefix_does_not_cover_a_sibling if {
	# 310110 (杨浦区) must not cover 310115 (浦东新区): no trimming of a
	# level that is not all zeros.
	yp := object.union(sub_staff, {"region_code": "310110"})
	not decide_on(yp, "app.read", {"platform_id": "P0002", "region_code": "310115"}).allow
}

test_grant_within_municipal_parent if {
	parent := object.union(sub_staff, {"region_code": "310000", "permissions": ["app.read"]})
	grant(parent, {"permissions": ["app.read"], "region_code": "310104"}).allow
	not grant(parent, {"permissions": ["app.read"], "region_code": "320000"}).allow
}
