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
	"key.rotate",
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

# Root and the main platform's administrators see and do everything.
unlimited(s) if s.type == "root"

unlimited(s) if {
	s.type == "platform_admin"
	s.main_platform == true
}

platform_limited(s) if {
	s.type in {"platform_admin", "staff"}
	not s.main_platform == true
}

# region_of(s) is the region prefix s is confined to, undefined when none.
# A region code that is not a string is kept: it matches no resource, and the
# host refuses such a scope as malformed.
region_of(s) := region_prefix(r) if {
	s.type in {"platform_admin", "staff"}
	not unlimited(s)
	r := s.region_code
	r != ""
}

# region_prefix(code) is the significant prefix of a national administrative
# code (2 digits province, 2 city, 2 county, 3 township, 3 village): the
# trailing all-zero levels name "the whole of the level above", so the
# municipality 310000 covers every code starting 31, the city district level
# 310100 every code starting 3101, and the district 310104 itself and its
# streets 310104xxx. Codes of another shape are used as they are.
region_prefix(code) := trim_level(trim_level(trim_level(trim_level(code)))) if is_string(code)
else := code

trim_level(c) := substring(c, 0, 9) if {
	count(c) == 12
	endswith(c, "000")
} else := substring(c, 0, 6) if {
	count(c) == 9
	endswith(c, "000")
} else := substring(c, 0, 4) if {
	count(c) == 6
	endswith(c, "00")
} else := substring(c, 0, 2) if {
	count(c) == 4
	endswith(c, "00")
} else := c

# types_of(s) are the object types a staff member is confined to, undefined
# when unrestricted.
types_of(s) := sort(ts) if {
	s.type == "staff"
	ts := list(s.object_types)
	count(ts) > 0
}

# grants(p, a) holds when permission p covers action (or permission) a:
# the same name, "*", or "<prefix>.*" for any name under prefix.
grants(p, a) if p == a

grants(p, _) if p == "*"

grants(p, a) if {
	endswith(p, ".*")
	startswith(a, trim_suffix(p, "*"))
}

# ---- data.authz.decision ---------------------------------------------------

scope_of(s) := {
	"all": scope_all(s),
	"platform_ids": platform_ids(s),
	"region_prefixes": region_prefixes(s),
	"object_types": object_types(s),
}

scope_all(s) if {
	s.type in known_types
	not platform_limited(s)
	not region_of(s)
	not types_of(s)
} else := false

platform_ids(s) := [object.get(s, "platform_id", "")] if platform_limited(s)
else := []

region_prefixes(s) := [region_of(s)] if region_of(s)
else := []

object_types(s) := types_of(s) if types_of(s)
else := []

scope := scope_of(subject)

permitted if unlimited(subject)

permitted if {
	subject.type == "platform_admin"
	not action in main_only_actions
}

permitted if {
	subject.type == "staff"
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
	not object.get(subject, "type", "") in known_types
} else := "subject has no platform" if {
	platform_limited(subject)
	object.get(subject, "platform_id", "") == ""
} else := "action is required" if {
	action == ""
} else := "action requires the main platform" if {
	action in main_only_actions
	not unlimited(subject)
	not subject.main_platform == true
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
	pr := region_of(parent)
	r := text(object.get(requested, "region_code", ""))
	not startswith(r, pr)
}

grant_violations contains sprintf("object type %s outside parent", [t]) if {
	pts := types_of(parent)
	some t in list(requested.object_types)
	not t in pts
}

grant_violations contains "object types (all) outside parent" if {
	types_of(parent)
	count(list(object.get(requested, "object_types", []))) == 0
}

default grant_allow := false

grant_allow if count(grant_violations) == 0

grant := {"allow": grant_allow, "violations": sort([v | some v in grant_violations])}
