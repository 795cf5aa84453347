package policy

import (
	"slices"
	"strconv"
	"strings"
)

// Scope is the data a subject may see, from data.authz.decision. Each
// non-empty list restricts one dimension; All means none is restricted.
// A Scope that is neither All nor restricted (the zero Scope, a denied
// unknown subject) contains nothing.
type Scope struct {
	All            bool
	PlatformIDs    []string // the record's platform is one of these
	RegionPrefixes []string // the record's region code starts with one of these
	ObjectTypes    []string // the record's object type, if it has one, is one of these
}

func (s Scope) restricted() bool {
	return len(s.PlatformIDs) > 0 || len(s.RegionPrefixes) > 0 || len(s.ObjectTypes) > 0
}

// Contains reports whether a record with these attributes is in the scope,
// with the same rules as policies/authz and as SQL: an empty platform or
// region is outside a scope restricted on it, an empty object type is not
// an object and is inside. Empty platform IDs and region prefixes in the
// scope match nothing.
func (s Scope) Contains(platformID, regionCode, objectType string) bool {
	if s.All {
		return true
	}
	if !s.restricted() {
		return false
	}
	if len(s.PlatformIDs) > 0 && (platformID == "" || !slices.Contains(s.PlatformIDs, platformID)) {
		return false
	}
	if len(s.RegionPrefixes) > 0 && !slices.ContainsFunc(s.RegionPrefixes, func(p string) bool {
		return p != "" && regionCode != "" && strings.HasPrefix(regionCode, p)
	}) {
		return false
	}
	if len(s.ObjectTypes) > 0 && objectType != "" && !slices.Contains(s.ObjectTypes, objectType) {
		return false
	}
	return true
}

// ScopeColumns names a table's columns for each scope dimension; "" means
// the table has no such column. The names are written into SQL as given:
// they must be constants of the calling code, never input.
type ScopeColumns struct {
	Platform   string
	Region     string
	ObjectType string
}

// SQL renders the scope as a WHERE condition over cols, with $n parameters
// numbered from argStart and their values in args (pgx encodes []string as
// text[]). It matches Contains row for row; NULL platform or region columns
// are outside a scope restricted on them, a NULL object type is inside.
//
// Restrictions never silently vanish: a scope restricting a dimension the
// table has no column for yields "FALSE", as does a scope that is neither
// All nor restricted. A table whose rows genuinely have no object type is
// listed under an object-type-restricted scope only if the caller clears
// ObjectTypes on purpose.
func (s Scope) SQL(cols ScopeColumns, argStart int) (clause string, args []any) {
	if s.All {
		return "TRUE", nil
	}
	if !s.restricted() {
		return "FALSE", nil
	}
	n := argStart
	param := func(v any) string {
		args = append(args, v)
		n++
		return "$" + strconv.Itoa(n-1)
	}
	var conds []string
	if len(s.PlatformIDs) > 0 {
		if cols.Platform == "" {
			return "FALSE", nil
		}
		ids := slices.DeleteFunc(slices.Clone(s.PlatformIDs), func(id string) bool { return id == "" })
		switch len(ids) {
		case 0:
			return "FALSE", nil
		case 1:
			conds = append(conds, cols.Platform+" = "+param(ids[0]))
		default:
			conds = append(conds, cols.Platform+" = ANY("+param(ids)+")")
		}
	}
	if len(s.RegionPrefixes) > 0 {
		if cols.Region == "" {
			return "FALSE", nil
		}
		var ors []string
		for _, p := range s.RegionPrefixes {
			if p != "" { // an empty prefix would match every region: it matches none
				ors = append(ors, cols.Region+" LIKE "+param(escapeLike(p)+"%"))
			}
		}
		if len(ors) == 0 {
			return "FALSE", nil
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(s.ObjectTypes) > 0 {
		if cols.ObjectType == "" {
			return "FALSE", nil
		}
		c := cols.ObjectType
		conds = append(conds, "("+c+" IS NULL OR "+c+" = '' OR "+c+" = ANY("+param(s.ObjectTypes)+"))")
	}
	return strings.Join(conds, " AND "), args
}

// escapeLike escapes LIKE's metacharacters with PostgreSQL's default escape
// character, the backslash, so a prefix matches only itself.
func escapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == '%' || r == '_' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
