# Console RBAC and data scope.
#
# data.authz.decision answers whether input.subject may perform input.action
# (on input.resource, when given) and which data the subject sees:
#
#   {"allow": bool, "reason": "why not, empty when allowed",
#    "scope": {"all": bool, "platform_ids": [...], "region_prefixes": [...], "object_types": [...]}}
#
# A scope list that is empty does not restrict its dimension; "all" is true
# when no dimension is restricted. The host turns the scope into SQL so lists
# are filtered in the database. A denied subject of an unknown type gets a
# scope with "all" false and no lists, which the host reads as "nothing".
#
# data.authz.grant answers whether a parent may give a sub-account or a role
# the requested permissions, object types and region: never more than the
# parent itself has and sees.
package authz

# Actions that change what every platform shares (platforms, menus, regions,
# industries, dictionaries, policies, code specs and rules): only operators of
# the main platform may perform them, whatever their permissions say.
main_only_actions := {
	"platform.create", "platform.delete", "platform.enable", "platform.disable",
	"menu.create", "menu.update", "menu.delete",
	"region.create", "region.update", "region.delete",
	"industry.create", "industry.update", "industry.delete",
	"dict.create", "dict.update", "dict.delete",
	"policy.update",
	"spec.create", "spec.update", "spec.delete",
	"rule.create", "rule.update", "rule.delete", "rule.publish", "rule.push",
	"rule.enable", "rule.disable", "rule.remove",
	"key.rotate",
	"plugin.install",
}

known_types := {"root", "platform_admin", "staff"}

# ---- subjects ------------------------------------------------------------

subject := s if {
	s := input.subject
	is_object(s)
} else := {}

action := a if {
	a := input.action
	is_string(a)
} else := ""

# list(x) is x when it is an array, else empty: missing or null lists in the
# input mean "none", never an error that would leave a rule undefined.
list(x) := x if is_array(x)
else := []

text(x) := x if is_string(x)
else := ""

# The subject's attributes, as complete rules: each is evaluated once per
# decision however often it is referred to (functions would be re-evaluated
# on every call), and data.authz.grant reuses them for the parent with
# "with input.subject as parent".
subject_type := object.get(subject, "type", "")

default subject_main := false

subject_main if subject.main_platform == true

# Root and the main platform's administrators see and do everything.
default subject_unlimited := false

subject_unlimited if subject_type == "root"

subject_unlimited if {
	subject_type == "platform_admin"
	subject_main
}

default subject_platform_limited := false

subject_platform_limited if {
	subject_type in {"platform_admin", "staff"}
	not subject_main
}

# subject_region is the region prefix the subject is confined to, undefined
# when none. A region code that is not a string is kept: it matches no
# resource, and the host refuses such a scope as malformed.
subject_region := region_prefix(r) if {
	subject_type in {"platform_admin", "staff"}
	not subject_unlimited
	r := subject.region_code
	r != ""
}

# subject_types are the object types a staff member is confined to,
# undefined when unrestricted.
subject_types := sort(ts) if {
	subject_type == "staff"
	ts := list(subject.object_types)
	count(ts) > 0
}

# region_prefix(code) is the significant prefix of a national administrative
# code (2 digits province, 2 city, 2 county, 3 township, 3 village): the
# trailing all-zero levels name "the whole of the level above", so the
# municipality 310000 covers every code starting 31, the city district level
# 310100 every code starting 3101, and the district 310104 itself and its
# streets 310104xxx. Codes of another shape are used as they are.
region_prefix(code) := substring(code, 0, level_end[count(trim_right(code, "0"))]) if {
	is_string(code)
	count(code) in {2, 4, 6, 9, 12}
} else := code

# level_end[n] is the length of the shortest level prefix (2, 4, 6, 9 or 12
# digits) that holds n digits: n counts a code's digits up to its last
# non-zero one.
level_end := [2, 2, 2, 4, 4, 6, 6, 9, 9, 9, 12, 12, 12]

# grants(p, a) holds when permission p covers action (or permission) a:
# the same name, "*", or "<prefix>.*" for any name under prefix.
grants(p, a) if p == a

grants(p, _) if p == "*"

grants(p, a) if {
	endswith(p, ".*")
	startswith(a, trim_suffix(p, "*"))
}

# ---- data.authz.decision ---------------------------------------------------

default scope_all := false

scope_all if {
	subject_type in known_types
	not subject_platform_limited
	not subject_region
	not subject_types
}

platform_ids := [id | subject_platform_limited; id := object.get(subject, "platform_id", "")]

region_prefixes := [r | r := subject_region]

object_types := [t | some t in subject_types]

scope := {
	"all": scope_all,
	"platform_ids": platform_ids,
	"region_prefixes": region_prefixes,
	"object_types": object_types,
}

permitted if subject_unlimited

permitted if {
	subject_type == "platform_admin"
	not action in main_only_actions
}

permitted if {
	subject_type == "staff"
	some p in list(subject.permissions)
	grants(p, action)
}

resource := r if {
	r := input.resource
	is_object(r)
}

outside_platform if {
	res := resource
	count(scope.platform_ids) > 0
	not object.get(res, "platform_id", "") in scope.platform_ids
}

outside_region if {
	res := resource
	count(scope.region_prefixes) > 0
	not in_region(object.get(res, "region_code", ""))
}

in_region(code) if {
	code != ""
	some p in scope.region_prefixes
	p != ""
	startswith(code, p)
}

outside_object_type if {
	res := resource
	count(scope.object_types) > 0
	t := object.get(res, "object_type", "")
	t != ""
	not t in scope.object_types
}

# The first reason that applies is the one reported; none means allowed.
default reason := ""

reason := "unknown subject type" if {
	not subject_type in known_types
} else := "subject has no platform" if {
	subject_platform_limited
	object.get(subject, "platform_id", "") == ""
} else := "action is required" if {
	action == ""
} else := "action requires the main platform" if {
	action in main_only_actions
	not subject_unlimited
	not subject_main
} else := sprintf("permission %s not granted", [action]) if {
	not permitted
} else := "resource outside your platform" if {
	outside_platform
} else := "resource outside your region" if {
	outside_region
} else := "resource outside your object types" if {
	outside_object_type
}

default allow := false

allow if reason == ""

decision := {"allow": allow, "reason": reason, "scope": scope}

# ---- data.authz.grant ------------------------------------------------------

parent := p if {
	p := input.parent
	is_object(p)
} else := {}

requested := r if {
	r := input.requested
	is_object(r)
} else := {}

parent_grants(_) if parent.type in {"root", "platform_admin"}

parent_grants(q) if {
	parent.type == "staff"
	some p in list(parent.permissions)
	grants(p, q)
}

shown(r) := r if r != ""
else := "(all)"

grant_violations contains "unknown parent type" if not object.get(parent, "type", "") in known_types

grant_violations contains sprintf("permission %s exceeds parent", [q]) if {
	parent.type in known_types
	some q in list(requested.permissions)
	not parent_grants(q)
}

grant_violations contains sprintf("region %s outside parent region %s", [shown(r), pr]) if {
	pr := subject_region with input.subject as parent
	r := text(object.get(requested, "region_code", ""))
	not startswith(r, pr)
}

grant_violations contains sprintf("object type %s outside parent", [t]) if {
	pts := subject_types with input.subject as parent
	some t in list(requested.object_types)
	not t in pts
}

grant_violations contains "object types (all) outside parent" if {
	subject_types with input.subject as parent
	count(list(object.get(requested, "object_types", []))) == 0
}

default grant_allow := false

grant_allow if count(grant_violations) == 0

grant := {"allow": grant_allow, "violations": sort([v | some v in grant_violations])}
